// `loom generate`, run as a user would ($LOOM_BIN, set by CMake), on a small
// character model saved here with runtime::save_model: the output is the
// prompt and its continuation, the same for the same seed and greedy at
// temperature 0 (the Generator's own text); options out of range exit 2 with
// the reason; a translator's checkpoint exits 2 naming both kinds; a missing
// file exits 1 naming it.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "models/lm/generator.hpp"
#include "runtime/model_family.hpp"
#include "tests/support/checkpoint_files.hpp"
#include "tests/support/run_loom.hpp"

namespace loom::models::lm {
namespace {

using test::run_loom;

struct SavedModel {
  test::TempDir dir;
  std::string path = dir.file("lm.safetensors");
  std::unique_ptr<LanguageModel> model;

  SavedModel() {
    LmConfig c;
    c.vocab = 10, c.embed = 6, c.hidden = 8, c.layers = 2, c.dropout = 0.0, c.unit = Unit::Char;
    model = std::make_unique<LanguageModel>(
        c, text::Vocabulary::from_tokens({"<pad>", "<unk>", "<bos>", "<eos>", "a", "b", "c", " ", "d", "e"}));
    std::mt19937_64 rng(17);
    model->params().fill_uniform(rng, 0.8);
    model->params().value("out.bias").ptr<float>()[text::Vocabulary::kEos] = -30;  // long texts
    runtime::save_model(path, *model);
  }
  std::string generate(const std::string& flags) const { return "generate --checkpoint '" + path + "' " + flags; }
};

TEST(LmCli, GenerateContinuesThePromptAsTheGeneratorDoes) {
  SavedModel saved;
  const test::LoomRun a = run_loom(saved.generate("--prompt 'ab c' --max-tokens 30 --seed 4 --threads 1"));
  ASSERT_EQ(a.status, 0) << a.all;
  const test::LoomRun b = run_loom(saved.generate("--prompt 'ab c' --max-tokens 30 --seed 4"));
  EXPECT_EQ(a.out, b.out);
  Generator generator(*saved.model);
  const Generation expected = generator.generate("ab c", {.max_tokens = 30, .temperature = 1.0, .top_k = 0, .seed = 4});
  EXPECT_EQ(a.out, "ab c" + expected.text + "\n");
  EXPECT_EQ(expected.tokens.size(), 30u);

  const test::LoomRun greedy = run_loom(saved.generate("--prompt ab --max-tokens 12 --temperature 0 --seed 9"));
  ASSERT_EQ(greedy.status, 0) << greedy.all;
  const Generation g = generator.generate("ab", {.max_tokens = 12, .temperature = 0.0, .top_k = 0, .seed = 1});
  EXPECT_EQ(greedy.out, "ab" + g.text + "\n");
  const test::LoomRun top1 = run_loom(saved.generate("--prompt ab --max-tokens 12 --top-k 1 --temperature 2"));
  EXPECT_EQ(top1.out, greedy.out);
}

TEST(LmCli, GenerateRefusesBadOptionsAndOtherModels) {
  SavedModel saved;
  for (const auto& [flags, why] : {std::pair{"--temperature -1", "--temperature must be in [0, 1000], got -1"},
                                   std::pair{"--temperature nan", "--temperature must be in [0, 1000], got nan"},
                                   std::pair{"--top-k -3", "--top-k must be >= 0, got -3"},
                                   std::pair{"--max-tokens 0", "--max-tokens must be in [1, 100000], got 0"},
                                   std::pair{"--seed -1", "--seed must be >= 0, got -1"},
                                   std::pair{"--threads 5000", "--threads must be in [0, 1024], got 5000"},
                                   std::pair{"--prompt \"$(printf '\\377')\"", "--prompt: invalid UTF-8"}}) {
    const test::LoomRun r = run_loom(saved.generate(flags));
    EXPECT_EQ(r.status, 2) << flags << ": " << r.all;
    EXPECT_NE(r.err.find(why), std::string::npos) << flags << ": " << r.err;
  }
  const test::LoomRun none = run_loom("generate --prompt hi");
  EXPECT_EQ(none.status, 2) << none.all;
  EXPECT_NE(none.err.find("checkpoint"), std::string::npos) << none.err;

  const test::LoomRun translator =
      run_loom("generate --checkpoint tests/fuzz/corpus/checkpoint/toy_model.safetensors --prompt hi");
  EXPECT_EQ(translator.status, 2) << translator.all;
  EXPECT_NE(translator.err.find("holds a 'seq2seq' model; generate needs a language model (lm)"), std::string::npos)
      << translator.err;
  const std::string missing = saved.dir.file("missing.safetensors");
  const test::LoomRun gone = run_loom("generate --checkpoint '" + missing + "'");
  EXPECT_EQ(gone.status, 1) << gone.all;
  EXPECT_NE(gone.err.find(missing), std::string::npos) << gone.err;
}

}  // namespace
}  // namespace loom::models::lm
