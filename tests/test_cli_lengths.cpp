// `loom lengths` refuses a data file with a sentence over the 1000-token cap,
// naming that file and the line (not a generic "corpus"), before it decodes
// anything; a good file gives the Markdown table.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/checkpoint_files.hpp"
#include "tests/support/run_loom.hpp"

namespace {

using loom::test::run_loom;

// A checkpoint of a toy run, trained for one step.
std::string toy_checkpoint(const loom::test::TempDir& dir) {
  const std::string out = dir.file("model");
  auto run = run_loom("train --train data/toy.tsv --valid data/toy.tsv --embed 8 --hidden 16 --batch 4 "
                      "--bleu-sentences 0 --max-steps 1 --out '" + out + "'");
  EXPECT_EQ(run.status, 0) << run.all;
  return out + "/last.safetensors";
}

TEST(CliLengths, ASentenceOverTheTokenCapNamesTheDataFileAndLine) {
  loom::test::TempDir dir;
  const std::string checkpoint = toy_checkpoint(dir);
  std::string words;
  for (int i = 0; i < 1001; ++i) words += "w ";
  const std::string data = dir.file("long.tsv");
  loom::test::write_bytes(data, "a b\tc d\n\n" + words + "\tshort\n");
  auto run = run_loom("lengths --checkpoint '" + checkpoint + "' --data '" + data + "'");
  EXPECT_EQ(run.status, 1) << run.all;
  EXPECT_NE(run.err.find(data + ":3:"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("1001 tokens"), std::string::npos) << run.err;
  EXPECT_EQ(run.err.find("corpus:"), std::string::npos) << run.err;
  EXPECT_EQ(run.out, "") << "nothing is decoded before the data is checked";
}

TEST(CliLengths, AGoodFileGivesTheTable) {
  loom::test::TempDir dir;
  auto run = run_loom("lengths --checkpoint '" + toy_checkpoint(dir) + "' --data data/toy.tsv --width 4");
  EXPECT_EQ(run.status, 0) << run.all;
  EXPECT_NE(run.out.find("| source length |"), std::string::npos) << run.out;
}

}  // namespace
