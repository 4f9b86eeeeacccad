#include "tests/support/toy_corpus.hpp"

namespace loom::test {

ToyCorpus load_toy_corpus() {
  const char* path = "data/toy.tsv";
  text::TokenizedCorpus corpus = text::tokenize_pairs(text::read_tsv(path), path);
  ToyCorpus toy{text::Vocabulary::build(corpus.sources), text::Vocabulary::build(corpus.targets), {}};
  toy.pairs = text::encode_pairs(corpus, toy.source_vocab, toy.target_vocab);
  return toy;
}

}  // namespace loom::test
