// The parameter store: declaring keeps values across growth, re-declaring is
// idempotent or a ShapeError, and many declarations move the buffers only a
// logarithmic number of times (a 1000-layer model once took quadratic time).
#include <gtest/gtest.h>

#include <string>

#include "graph/errors.hpp"
#include "graph/parameters.hpp"

using namespace loom;

TEST(ParameterStore, ManyDeclarationsMoveTheBuffersRarelyAndKeepValues) {
  ParameterStore store;
  int moves = 0;
  const void* last = nullptr;
  for (int i = 0; i < 2000; ++i) {
    store.declare("p" + std::to_string(i), Shape({3, 5}));
    store.value("p" + std::to_string(i)).ptr<float>()[0] = float(i);
    if (store.values_data() != last) ++moves;
    last = store.values_data();
  }
  EXPECT_LE(moves, 16) << "buffers should grow geometrically";
  for (int i = 0; i < 2000; i += 97) EXPECT_EQ(store.value("p" + std::to_string(i)).ptr<float>()[0], float(i));
  EXPECT_EQ(store.entries().size(), 2000u);
  EXPECT_EQ(store.numel(), 2000 * 16);  // 15 elements padded to 16 each
  EXPECT_EQ(store.entry("p1999").offset, 1999 * 16);
}

TEST(ParameterStore, RedeclaringIsIdempotentOrAShapeError) {
  ParameterStore store;
  store.declare("w", Shape({2, 2}));
  uint64_t version = store.layout_version();
  store.declare("w", Shape({2, 2}));
  EXPECT_EQ(store.layout_version(), version);
  EXPECT_THROW(store.declare("w", Shape({4})), ShapeError);
  EXPECT_TRUE(store.has("w"));
  EXPECT_FALSE(store.has("v"));
  EXPECT_THROW(store.entry("v"), GraphError);
}
