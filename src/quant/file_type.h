// llama.cpp's file types ("Q4_K_M", "Q8_0", ...): the mix a whole model is quantized to.
//
// The numeric ids are llama.h's enum llama_ftype and are what GGUF stores in general.file_type.
// A file type names a default tensor type; the per-tensor choices that make the _S / _M / _L
// mixes live in tensor_plan.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/ggml_type.h"

namespace ember {

enum class LlamaFileType : uint32_t {
  ALL_F32 = 0,
  MOSTLY_F16 = 1,
  MOSTLY_Q4_0 = 2,
  MOSTLY_Q4_1 = 3,
  MOSTLY_Q8_0 = 7,
  MOSTLY_Q5_0 = 8,
  MOSTLY_Q5_1 = 9,
  MOSTLY_Q2_K = 10,
  MOSTLY_Q3_K_S = 11,
  MOSTLY_Q3_K_M = 12,
  MOSTLY_Q3_K_L = 13,
  MOSTLY_Q4_K_S = 14,
  MOSTLY_Q4_K_M = 15,
  MOSTLY_Q5_K_S = 16,
  MOSTLY_Q5_K_M = 17,
  MOSTLY_Q6_K = 18,
  MOSTLY_IQ2_XXS = 19,
  MOSTLY_IQ2_XS = 20,
  MOSTLY_Q2_K_S = 21,
  MOSTLY_IQ3_XS = 22,
  MOSTLY_IQ3_XXS = 23,
  MOSTLY_IQ1_S = 24,
  MOSTLY_IQ4_NL = 25,
  MOSTLY_IQ3_S = 26,
  MOSTLY_IQ3_M = 27,
  MOSTLY_IQ2_S = 28,
  MOSTLY_IQ2_M = 29,
  MOSTLY_IQ4_XS = 30,
  MOSTLY_IQ1_M = 31,
  MOSTLY_BF16 = 32,
  MOSTLY_TQ1_0 = 36,
  MOSTLY_TQ2_0 = 37,
  MOSTLY_MXFP4_MOE = 38,
};

struct FileTypeInfo {
  std::string_view name;  // as llama-quantize spells it
  LlamaFileType ftype;
  GgmlType default_type;
  bool supported;         // ember can make it (its tensor types have quantizers, no imatrix needed)
};

// Parses a llama-quantize type name (case-insensitive; "Q4_K" is an alias of "Q4_K_M") or a
// numeric file type id. nullopt if unknown.
std::optional<FileTypeInfo> ParseFileType(std::string_view name);
const FileTypeInfo& FileTypeInfoOf(LlamaFileType ftype);
// Every name ParseFileType accepts, for --help and error messages.
std::vector<std::string_view> FileTypeNames(bool supported_only);

}  // namespace ember
