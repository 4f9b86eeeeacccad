// Optimisers against scalar reference updates written out here; clipping;
// schedules; state round trip gives identical continuation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "optim/optimizer.hpp"
#include "optim/schedule.hpp"

using namespace loom;
using namespace loom::optim;

namespace {

// Two parameters of odd sizes, so that layout padding is exercised.
ParameterStore make_store(DType dt = DType::F64) {
  ParameterStore p(dt);
  p.declare("a", {3});
  p.declare("b", {2, 5});
  std::mt19937_64 rng(3);
  p.fill_uniform(rng, 1.0);
  return p;
}

void set_grads(ParameterStore& p, double t) {
  for (const auto& e : p.entries()) {
    TensorRef g = p.grad(e.name);
    for (int64_t i = 0; i < g.numel(); ++i) g.ptr<double>()[i] = std::sin(0.3 * double(i) + t);
  }
}

std::vector<double> flat(ParameterStore& p) {
  std::vector<double> out;
  for (const auto& e : p.entries()) {
    TensorRef v = p.value(e.name);
    for (int64_t i = 0; i < v.numel(); ++i) out.push_back(v.ptr<double>()[i]);
  }
  return out;
}

std::vector<double> flat_grads(ParameterStore& p) {
  std::vector<double> out;
  for (const auto& e : p.entries()) {
    TensorRef g = p.grad(e.name);
    for (int64_t i = 0; i < g.numel(); ++i) out.push_back(g.ptr<double>()[i]);
  }
  return out;
}

// Reference Adam/AdamW for one element over several steps.
struct RefAdam {
  double m = 0, v = 0;
  int t = 0;
  double step(double w, double g, double lr, double wd, bool decoupled) {
    ++t;
    if (decoupled) w -= lr * wd * w;
    else g += wd * w;
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    double mh = m / (1 - std::pow(0.9, t)), vh = v / (1 - std::pow(0.999, t));
    return w - lr * mh / (std::sqrt(vh) + 1e-8);
  }
};

void check_adam(const std::string& kind, bool decoupled) {
  ParameterStore p = make_store();
  OptimizerConfig cfg;
  cfg.kind = kind;
  cfg.weight_decay = 0.1;
  auto opt = make_optimizer(cfg, p);
  std::vector<double> w = flat(p);
  std::vector<RefAdam> ref(w.size());
  for (int s = 0; s < 4; ++s) {
    set_grads(p, s);
    std::vector<double> g = flat_grads(p);
    opt->step(p, 0.01);
    for (size_t i = 0; i < w.size(); ++i) w[i] = ref[i].step(w[i], g[i], 0.01, 0.1, decoupled);
  }
  std::vector<double> got = flat(p);
  for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(got[i], w[i], 1e-12) << kind << " element " << i;
}

}  // namespace

TEST(Optim, AdamMatchesReference) { check_adam("adam", false); }
TEST(Optim, AdamWMatchesReference) { check_adam("adamw", true); }

TEST(Optim, SgdAndMomentumMatchReference) {
  for (std::string kind : {"sgd", "momentum", "nesterov"}) {
    ParameterStore p = make_store();
    OptimizerConfig cfg;
    cfg.kind = kind;
    auto opt = make_optimizer(cfg, p);
    std::vector<double> w = flat(p), vel(w.size(), 0.0);
    for (int s = 0; s < 3; ++s) {
      set_grads(p, s);
      std::vector<double> g = flat_grads(p);
      opt->step(p, 0.1);
      for (size_t i = 0; i < w.size(); ++i) {
        vel[i] = 0.9 * vel[i] + g[i];
        w[i] -= kind == "sgd" ? 0.1 * g[i] : kind == "momentum" ? 0.1 * vel[i] : 0.1 * (g[i] + 0.9 * vel[i]);
      }
    }
    std::vector<double> got = flat(p);
    for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(got[i], w[i], 1e-12) << kind;
  }
}

TEST(Optim, UnknownKindNamesTheChoices) {
  ParameterStore p = make_store();
  OptimizerConfig cfg;
  cfg.kind = "adagrad";
  try {
    make_optimizer(cfg, p);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("adamw"), std::string::npos);
  }
}

// Every registered kind, examples included, descends a quadratic
// (loss = Σ w²/2, gradient w) and leaves the layout padding at zero.
TEST(Optim, EveryRegisteredKindDescendsAQuadratic) {
  ASSERT_GE(optimizer_registry().entries().size(), 5u);
  for (const auto& entry : optimizer_registry().entries()) {
    EXPECT_FALSE(entry.help.empty()) << entry.name;
    ParameterStore p = make_store();
    OptimizerConfig cfg;
    cfg.kind = entry.name;
    std::unique_ptr<Optimizer> opt = make_optimizer(cfg, p);
    auto loss = [&] {
      double sum = 0;
      for (double w : flat(p)) sum += 0.5 * w * w;
      return sum;
    };
    const double before = loss();
    for (int step = 0; step < 20; ++step) {
      for (const auto& e : p.entries())
        std::memcpy(p.grad(e.name).data, p.value(e.name).data, p.value(e.name).type.bytes());
      opt->step(p, 0.01);
    }
    EXPECT_LT(loss(), 0.95 * before) << entry.name;
    const double* values = static_cast<const double*>(p.values_data());
    EXPECT_EQ(values[p.numel() - 1], 0.0) << entry.name << " wrote into the padding";
  }
}

TEST(Optim, ClipGradNormScalesToMaxNorm) {
  ParameterStore p = make_store();
  set_grads(p, 0.5);
  double before = 0;
  for (double g : flat_grads(p)) before += g * g;
  before = std::sqrt(before);
  EXPECT_NEAR(clip_grad_norm(p, 0.0), before, 1e-12);  // measure only
  EXPECT_NEAR(clip_grad_norm(p, 0.5), before, 1e-12);
  double after = 0;
  for (double g : flat_grads(p)) after += g * g;
  EXPECT_NEAR(std::sqrt(after), 0.5, 1e-5);
}

void expect_close(const void* a, const void* b, int64_t n, DType dt, double tol) {
  for (int64_t i = 0; i < n; ++i) {
    double x = dt == DType::F32 ? static_cast<const float*>(a)[i] : static_cast<const double*>(a)[i];
    double y = dt == DType::F32 ? static_cast<const float*>(b)[i] : static_cast<const double*>(b)[i];
    ASSERT_NEAR(x, y, tol * (1 + std::abs(y))) << "element " << i;
  }
}

// clip_and_step folds the clipping scale into the update: the weights and
// optimiser state must match clip_grad_norm followed by step, for every
// kind, both dtypes, and a norm above and below the limit.
TEST(Optim, ClipAndStepMatchesClipThenStep) {
  for (DType dt : {DType::F32, DType::F64})
    for (const char* kind : {"sgd", "momentum", "nesterov", "adam", "adamw"})
      for (double max_norm : {0.3, 100.0, 0.0}) {
        SCOPED_TRACE(std::string(kind) + " " + std::string(dtype_name(dt)) + " max_norm " + std::to_string(max_norm));
        ParameterStore fused = make_store(dt), unfused = make_store(dt);
        OptimizerConfig cfg;
        cfg.kind = kind;
        cfg.weight_decay = 0.01;
        auto of = make_optimizer(cfg, fused), ou = make_optimizer(cfg, unfused);
        for (int s = 0; s < 3; ++s) {
          for (ParameterStore* p : {&fused, &unfused})
            for (const auto& e : p->entries()) {
              TensorRef g = p->grad(e.name);
              for (int64_t i = 0; i < g.numel(); ++i) {
                double v = std::sin(0.7 * double(i) + s);
                if (dt == DType::F32) g.ptr<float>()[i] = float(v);
                else g.ptr<double>()[i] = v;
              }
            }
          double norm_unfused = clip_grad_norm(unfused, max_norm);
          ou->step(unfused, 0.05);
          EXPECT_DOUBLE_EQ(clip_and_step(*of, fused, max_norm, 0.05), norm_unfused);
        }
        // Not bitwise: the compiler may fuse g·scale + wd·w into one FMA.
        const double tol = dt == DType::F32 ? 1e-6 : 1e-14;
        expect_close(fused.values_data(), unfused.values_data(), fused.numel(), dt, tol);
        for (size_t k = 0; k < of->state().size(); ++k)
          expect_close(of->state()[k].second->raw(), ou->state()[k].second->raw(), fused.numel(), dt, tol);
      }
}

TEST(Optim, StateRoundTripContinuesIdentically) {
  ParameterStore p1 = make_store(DType::F32), p2 = make_store(DType::F32);
  OptimizerConfig cfg;
  auto o1 = make_optimizer(cfg, p1), o2 = make_optimizer(cfg, p2);
  auto fill = [](ParameterStore& p, double t) {
    for (const auto& e : p.entries()) {
      TensorRef g = p.grad(e.name);
      for (int64_t i = 0; i < g.numel(); ++i) g.ptr<float>()[i] = float(std::cos(double(i) + t));
    }
  };
  for (int s = 0; s < 3; ++s) {
    fill(p1, s);
    o1->step(p1, 0.01);
  }
  // Copy weights and optimiser state into the second run, then continue both.
  std::memcpy(p2.values_data(), p1.values_data(), size_t(p1.numel()) * 4);
  for (size_t k = 0; k < o1->state().size(); ++k) *o2->state()[k].second = *o1->state()[k].second;
  o2->set_steps_taken(o1->steps_taken());
  for (int s = 3; s < 6; ++s) {
    fill(p1, s);
    fill(p2, s);
    o1->step(p1, 0.01);
    o2->step(p2, 0.01);
  }
  EXPECT_EQ(std::memcmp(p1.values_data(), p2.values_data(), size_t(p1.numel()) * 4), 0);
}

TEST(Schedule, ShapesOfTheCurves) {
  LrSchedule warm({"warmup", 1.0, 10});
  EXPECT_NEAR(warm.lr(0), 0.1, 1e-12);
  EXPECT_NEAR(warm.lr(9), 1.0, 1e-12);
  EXPECT_NEAR(warm.lr(100), 1.0, 1e-12);
  LrSchedule isq({"inverse_sqrt", 1.0, 4});
  EXPECT_NEAR(isq.lr(3), 1.0, 1e-12);
  EXPECT_NEAR(isq.lr(15), 0.5, 1e-12);  // sqrt(4/16)
  LrSchedule cos({"cosine", 1.0, 0, 100, 0.1});
  EXPECT_NEAR(cos.lr(49), 0.55, 1e-12);
  EXPECT_NEAR(cos.lr(99), 0.1, 1e-12);
  EXPECT_NEAR(LrSchedule({"constant", 0.3}).lr(1000), 0.3, 1e-12);
  EXPECT_THROW(LrSchedule({"linear"}), std::invalid_argument);
}

// Every registered kind gives a finite rate in (0, base] at every step.
TEST(Schedule, EveryRegisteredKindGivesRatesUpToTheBase) {
  ASSERT_GE(schedule_registry().entries().size(), 5u);
  for (const auto& entry : schedule_registry().entries()) {
    EXPECT_FALSE(entry.help.empty()) << entry.name;
    LrSchedule s({entry.name, 0.5, 10, 100, 0.01});
    for (int64_t step = 0; step < 200; ++step) {
      double lr = s.lr(step);
      ASSERT_TRUE(std::isfinite(lr) && lr > 0 && lr <= 0.5 + 1e-12) << entry.name << " step " << step << ": " << lr;
    }
  }
}

TEST(Schedule, PlateauHalvesAfterPatience) {
  ScheduleConfig c{"plateau", 1.0};
  c.plateau_patience = 2;
  LrSchedule s(c);
  s.observe_validation(3.0);
  s.observe_validation(3.1);
  EXPECT_NEAR(s.lr(0), 1.0, 1e-12);
  s.observe_validation(3.2);
  EXPECT_NEAR(s.lr(0), 0.5, 1e-12);
  s.observe_validation(2.0);
  EXPECT_NEAR(s.lr(0), 0.5, 1e-12);
}
