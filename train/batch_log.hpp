// `loom train --log-batches FILE`: every training batch, as Loom trains on
// it, written as one JSON object per line, after a first line describing
// the model. Another program can then train on exactly Loom's batches in
// Loom's order (bench/compare_pytorch.py replays them through PyTorch to
// compare real training throughput on the same data).
#pragma once
#include <fstream>
#include <string>

#include <map>

#include "runtime/model.hpp"

namespace loom::train {

class BatchLog {
 public:
  // Throws std::runtime_error naming the file when it cannot be created.
  // The first line is the model's config, numbers written as JSON numbers.
  BatchLog(const std::string& path, const std::map<std::string, std::string>& model_config);
  // Throws std::runtime_error naming the file when the write fails (a full
  // disk) or the model does not log its batches (Batch::to_json).
  void write(const runtime::Batch& batch);

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace loom::train
