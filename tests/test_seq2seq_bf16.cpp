// The translator trained with bf16 matrix products (Seq2SeqConfig::
// matmul_precision, `loom train --precision bf16`) against the same run in
// f32 on the toy corpus: the first losses agree within 1e-2 relatively (the
// same weights, only the GEMM operands rounded to bf16), the gradients after
// one step within 3e-2 in L2, and the bf16 run trains as well (its last
// losses under a quarter of its first, and within half of f32's). Needs a
// CPU with AVX512-BF16 or AMX; elsewhere it skips, saying why.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "models/seq2seq/seq2seq.hpp"
#include "ops/dnnl/bf16.hpp"
#include "optim/optimizer.hpp"
#include "tests/support/op_test.hpp"
#include "tests/support/toy_corpus.hpp"
#include "models/seq2seq/batcher.hpp"
#include "text/corpus.hpp"

namespace loom {
namespace {

using models::seq2seq::Seq2Seq;
using models::seq2seq::Seq2SeqConfig;

using Toy = test::ToyCorpus;

Seq2SeqConfig toy_config(const Toy& toy, MatmulPrecision precision) {
  Seq2SeqConfig c;
  c.src_vocab = toy.source_vocab.size(), c.tgt_vocab = toy.target_vocab.size();
  c.embed = 16, c.hidden = 32, c.attention = "general";
  c.matmul_precision = precision;
  return c;
}

struct ToyRun {
  std::vector<double> losses;
  Tensor first_grads;  // the whole gradient buffer after step 0
};

ToyRun train_toy(MatmulPrecision precision, int steps) {
  Toy toy = test::load_toy_corpus();
  Seq2Seq model(toy_config(toy, precision));
  model.init_parameters(1);
  auto adam = optim::make_optimizer({.kind = "adam"}, model.params());
  models::seq2seq::Batcher batcher(toy.pairs, {.batch_size = 8, .bucket_width = 2, .seed = 1});
  ToyRun run;
  for (uint64_t epoch = 0; int(run.losses.size()) < steps; ++epoch)
    for (const models::seq2seq::Batch& b : batcher.epoch(epoch)) {
      if (int(run.losses.size()) == steps) break;
      run.losses.push_back(model.train_step_gradients(b));
      if (run.losses.size() == 1) {
        run.first_grads = Tensor(DType::F32, {model.params().numel()});
        std::memcpy(run.first_grads.raw(), model.params().grads_data(), run.first_grads.bytes());
      }
      optim::clip_grad_norm(model.params(), 5.0);
      adam->step(model.params(), 0.02);
    }
  return run;
}

TEST(Seq2SeqBf16, TrainsLikeF32) {
  if (std::string why = bf16_unsupported_reason(); !why.empty()) GTEST_SKIP() << why;
  const int steps = 80;
  ToyRun f32 = train_toy(MatmulPrecision::F32, steps), bf16 = train_toy(MatmulPrecision::BF16, steps);
  EXPECT_NEAR(bf16.losses[0], f32.losses[0], 1e-2 * f32.losses[0]);
  EXPECT_NE(bf16.losses[0], f32.losses[0]) << "the bf16 run computed in f32";
  EXPECT_LT(test::rel_l2_error(bf16.first_grads, f32.first_grads), 3e-2);
  auto mean3 = [](const std::vector<double>& v, size_t from) { return (v[from] + v[from + 1] + v[from + 2]) / 3; };
  const double first = mean3(bf16.losses, 0), last = mean3(bf16.losses, steps - 3);
  EXPECT_LT(last, 0.25 * first) << first << " -> " << last;
  EXPECT_NEAR(last, mean3(f32.losses, steps - 3), 0.5 * mean3(f32.losses, steps - 3) + 0.05);
}

}  // namespace
}  // namespace loom
