// Included by a test program that needs every extension registered (the
// built-in models, the examples' op, attention kinds, optimiser and model):
// one explicit call before the first test, as the `loom` program's main makes it.
#pragma once
#include <gtest/gtest.h>

#include "examples/register_examples.hpp"
#include "models/register_models.hpp"

namespace loom::testing_support {

class EverythingRegistered : public ::testing::Environment {
 public:
  void SetUp() override {
    models::register_builtin_models();
    examples::register_examples();
  }
};

inline ::testing::Environment* const kEverythingRegistered =
    ::testing::AddGlobalTestEnvironment(new EverythingRegistered);

}  // namespace loom::testing_support
