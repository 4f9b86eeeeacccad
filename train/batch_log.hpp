// `loom train --log-batches FILE`: every training batch, as Loom trains on
// it, written as one JSON object per line, after a first line describing
// the model. Another program can then train on exactly Loom's batches in
// Loom's order (bench/compare_pytorch.py replays them through PyTorch to
// compare real training throughput on the same data).
#pragma once
#include <fstream>
#include <string>

#include "models/seq2seq.hpp"
#include "text/batcher.hpp"

namespace loom::models {

class BatchLog {
 public:
  // Throws std::runtime_error naming the file when it cannot be created.
  BatchLog(const std::string& path, const Seq2SeqConfig& model);
  // Throws std::runtime_error naming the file when the write fails (a full disk).
  void write(const text::Batch& batch);

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace loom::models
