// The candidate list the sampler stages work on, shaped like llama.cpp's llama_token_data_array.
//
// Stages narrow the list by shrinking `size` (and XTC by moving `data` forward), reorder it, or
// rewrite logits; `sorted` says the list is in descending logit order, so later stages can skip
// sorting. Keeping llama.cpp's shape makes each stage's arithmetic a line-for-line comparison.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ember {

struct TokenData {
  int32_t id;
  float logit;
  float p;
};

struct CandidateArray {
  TokenData* data = nullptr;
  size_t size = 0;
  int64_t selected = -1;  // index into data, set by the final draw
  bool sorted = false;
};

}  // namespace ember
