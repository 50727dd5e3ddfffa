// Every ggml tensor type id that GGUF files use, with its name, block size and bytes per block.
//
// The ids are part of the file format (ggml.h's enum ggml_type). Ids 4, 5 (Q4_2, Q4_3) and 31-33,
// 36-38 (the Q4_0_x_y / IQ4_NL_x_y repacked types) were removed from ggml: files using them are
// refused. Byte sizes are ggml's sizeof(block_*), which is what llama.cpp uses to lay out files.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ember {

enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
  NVFP4 = 40,
  Q1_0 = 41,
};

struct GgmlTypeTraits {
  GgmlType type;
  std::string_view name;
  uint32_t block_size;      // elements per block
  uint32_t bytes_per_block;
};

// Traits for a known, current type id; nullopt for unknown or removed ids.
std::optional<GgmlTypeTraits> FindGgmlType(uint32_t id);
// Traits for a valid GgmlType (checks the invariant).
const GgmlTypeTraits& TraitsOf(GgmlType type);
std::string_view GgmlTypeName(GgmlType type);
// Parses a name such as "Q4_K" or "q4_k" (case-insensitive).
std::optional<GgmlType> GgmlTypeFromName(std::string_view name);
// True for the ids ggml once had and removed (4, 5, 31-33, 36-38): a clearer error for old files.
bool IsRemovedGgmlType(uint32_t id);
// Bytes for one row of `n` elements; nullopt if n is not a multiple of the block size.
std::optional<uint64_t> RowBytes(GgmlType type, uint64_t n);

}  // namespace ember
