// The language model's hyper-parameters (docs/MODEL.md, The language model):
// the config, its checks, its parameter layout worked out without allocating,
// its form in a checkpoint ("loom.config", text values) and the check of a
// checkpoint's config against the tensor shapes its file declares, which
// runs before anything of the model's size is allocated.
// Dims: V vocabulary (the four reserved ids included), E embedding size,
// H hidden size, L layers.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "graph/precision.hpp"
#include "graph/tensor.hpp"
#include "io/safetensors.hpp"

namespace loom::models::lm {

// The language model's name among models ("loom.model") and its vocabulary's key.
inline constexpr const char* kLmKind = "lm";
inline constexpr const char* kVocabKey = "loom.vocab";

// What one token is: a word of the project's tokenizer (lower-cased, docs/DATA.md)
// or one Unicode code point of the text as it is (spaces included).
enum class Unit { Word, Char };
std::string unit_name(Unit unit);  // "word", "char"
// Throws std::invalid_argument naming the accepted names.
Unit unit_from_name(const std::string& name);

struct LmConfig {
  int64_t vocab = 0;          // V, the four reserved ids included
  int64_t embed = 256;        // E
  int64_t hidden = 256;       // H
  int64_t layers = 2;         // L
  double dropout = 0.2;       // on the embeddings and every LSTM layer's output, training graphs only
  bool tie_weights = false;   // the output layer uses embedding.weight (needs E == H)
  Unit unit = Unit::Word;
  DType dtype = DType::F32;   // F64 for gradient checks and the PyTorch parity test
  // Matrix products of training and evaluation plans; a run option, not saved.
  MatmulPrecision matmul_precision = MatmulPrecision::F32;
  uint64_t seed = 1;          // dropout masks derive from it (and a trainer's batch order)
};

// Throws std::invalid_argument saying which field is wrong and why.
void check_config(const LmConfig& config);

// Every parameter in declaration order, docs/MODEL.md's names and shapes:
// embedding.weight, lstm.{weight_ih,weight_hh,bias_ih,bias_hh}_l{k},
// out.weight (absent when tied), out.bias. Checks the config first.
std::vector<std::pair<std::string, Shape>> lm_parameter_shapes(const LmConfig& config);

// loom.config: vocab, embed, hidden, layers, dropout, tie_weights ("yes"/"no"),
// unit ("word"/"char"), seed.
std::map<std::string, std::string> config_to_map(const LmConfig& config);
// Throws CheckpointError naming the file and the missing or malformed key.
LmConfig config_from_map(const std::map<std::string, std::string>& values, const std::string& path);

// Throws CheckpointError naming the file, the key and the tensor when the
// config contradicts the tensors the header declares, and names any tensor
// the config has no place for or lacks.
void check_config_against_file(const LmConfig& config, const io::SafetensorsHeader& header);

}  // namespace loom::models::lm
