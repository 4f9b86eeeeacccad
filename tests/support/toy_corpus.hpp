// The bundled toy corpus (data/toy.tsv) encoded with vocabularies built from
// it: the common start of the model tests that train for a few steps.
#pragma once
#include <vector>

#include "text/corpus.hpp"
#include "text/vocabulary.hpp"

namespace loom::test {

struct ToyCorpus {
  text::Vocabulary source_vocab, target_vocab;
  std::vector<text::EncodedPair> pairs;
};

ToyCorpus load_toy_corpus();

}  // namespace loom::test
