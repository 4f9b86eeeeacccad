// NamedRegistry, the idiom behind attention kinds, optimisers and schedules:
// entries sorted by name whatever the order they are added in, duplicates
// and empty names refused, unknown names answered with the known ones, and
// help lines aligned in one column.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "graph/named_registry.hpp"

namespace loom {
namespace {

using Registry = NamedRegistry<int, int>;

Registry three() {
  Registry r("widget");
  r.add("plus-one", "adds one", [](int x) { return x + 1; });
  r.add("double", "doubles", [](int x) { return 2 * x; });
  r.add("negate", "negates", [](int x) { return -x; });
  return r;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST(NamedRegistry, KeepsEntriesSortedAndMakesByName) {
  Registry r = three();
  EXPECT_EQ(r.names(), (std::vector<std::string>{"double", "negate", "plus-one"}));
  EXPECT_EQ(r.names_text(" | "), "double | negate | plus-one");
  EXPECT_EQ(r.make("double", 21), 42);
  EXPECT_EQ(r.make("plus-one", 1), 2);
  EXPECT_TRUE(r.contains("negate"));
  EXPECT_FALSE(r.contains("neg"));
}

TEST(NamedRegistry, RefusesEmptyDuplicateAndFactorylessEntries) {
  Registry r = three();
  std::string duplicate = message_of([&] { r.add("double", "again", [](int x) { return x; }); });
  EXPECT_NE(duplicate.find("'double' is already registered"), std::string::npos) << duplicate;
  EXPECT_NE(duplicate.find("register widget"), std::string::npos) << duplicate;
  EXPECT_THROW(r.add("", "nameless", [](int x) { return x; }), std::invalid_argument);
  EXPECT_THROW(r.add("nothing", "no factory", nullptr), std::invalid_argument);
  EXPECT_EQ(r.entries().size(), 3u);
}

TEST(NamedRegistry, UnknownNameListsTheKnownOnes) {
  std::string unknown = message_of([] { (void)three().get("triple"); });
  EXPECT_NE(unknown.find("unknown widget 'triple'; known: double, negate, plus-one"), std::string::npos) << unknown;
}

TEST(NamedRegistry, HelpLinesAlignTheHelpInOneColumn) {
  EXPECT_EQ(three().help_lines(),
            "  double    doubles\n"
            "  negate    negates\n"
            "  plus-one  adds one\n");
}

}  // namespace
}  // namespace loom
