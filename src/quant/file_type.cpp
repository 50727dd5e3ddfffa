#include "quant/file_type.h"

#include <array>
#include <cctype>
#include <charconv>

#include "core/error.h"

namespace ember {
namespace {

using F = LlamaFileType;
using G = GgmlType;

// In llama-quantize's order. Unsupported entries are listed so that their names give a clear
// "not supported" error rather than "unknown type".
constexpr std::array<FileTypeInfo, 36> kFileTypes = {{
    {"Q4_0", F::MOSTLY_Q4_0, G::Q4_0, true},
    {"Q4_1", F::MOSTLY_Q4_1, G::Q4_1, true},
    {"MXFP4_MOE", F::MOSTLY_MXFP4_MOE, G::MXFP4, false},
    {"Q5_0", F::MOSTLY_Q5_0, G::Q5_0, true},
    {"Q5_1", F::MOSTLY_Q5_1, G::Q5_1, true},
    {"IQ2_XXS", F::MOSTLY_IQ2_XXS, G::IQ2_XXS, false},
    {"IQ2_XS", F::MOSTLY_IQ2_XS, G::IQ2_XS, false},
    {"IQ2_S", F::MOSTLY_IQ2_S, G::IQ2_XS, false},
    {"IQ2_M", F::MOSTLY_IQ2_M, G::IQ2_S, false},
    {"IQ1_S", F::MOSTLY_IQ1_S, G::IQ1_S, false},
    {"IQ1_M", F::MOSTLY_IQ1_M, G::IQ1_M, false},
    {"TQ1_0", F::MOSTLY_TQ1_0, G::TQ1_0, false},
    {"TQ2_0", F::MOSTLY_TQ2_0, G::TQ2_0, false},
    {"Q2_K", F::MOSTLY_Q2_K, G::Q2_K, true},
    // Q2_K_S needs an importance matrix in llama.cpp (its Q2_K tensors are garbage without one).
    {"Q2_K_S", F::MOSTLY_Q2_K_S, G::Q2_K, false},
    {"IQ3_XXS", F::MOSTLY_IQ3_XXS, G::IQ3_XXS, false},
    {"IQ3_S", F::MOSTLY_IQ3_S, G::IQ3_S, false},
    {"IQ3_M", F::MOSTLY_IQ3_M, G::IQ3_S, false},
    {"Q3_K", F::MOSTLY_Q3_K_M, G::Q3_K, true},
    {"IQ3_XS", F::MOSTLY_IQ3_XS, G::IQ3_S, false},
    {"Q3_K_S", F::MOSTLY_Q3_K_S, G::Q3_K, true},
    {"Q3_K_M", F::MOSTLY_Q3_K_M, G::Q3_K, true},
    {"Q3_K_L", F::MOSTLY_Q3_K_L, G::Q3_K, true},
    {"IQ4_NL", F::MOSTLY_IQ4_NL, G::IQ4_NL, true},
    {"IQ4_XS", F::MOSTLY_IQ4_XS, G::IQ4_XS, true},
    {"Q4_K", F::MOSTLY_Q4_K_M, G::Q4_K, true},
    {"Q4_K_S", F::MOSTLY_Q4_K_S, G::Q4_K, true},
    {"Q4_K_M", F::MOSTLY_Q4_K_M, G::Q4_K, true},
    {"Q5_K", F::MOSTLY_Q5_K_M, G::Q5_K, true},
    {"Q5_K_S", F::MOSTLY_Q5_K_S, G::Q5_K, true},
    {"Q5_K_M", F::MOSTLY_Q5_K_M, G::Q5_K, true},
    {"Q6_K", F::MOSTLY_Q6_K, G::Q6_K, true},
    {"Q8_0", F::MOSTLY_Q8_0, G::Q8_0, true},
    {"F16", F::MOSTLY_F16, G::F16, true},
    {"BF16", F::MOSTLY_BF16, G::BF16, true},
    {"F32", F::ALL_F32, G::F32, true},
}};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

std::optional<FileTypeInfo> ParseFileType(std::string_view name) {
  for (const auto& t : kFileTypes) {
    if (EqualsIgnoreCase(t.name, name)) return t;
  }
  uint32_t id = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
  if (ec == std::errc() && end == name.data() + name.size() && !name.empty()) {
    for (const auto& t : kFileTypes) {
      if (static_cast<uint32_t>(t.ftype) == id) return t;
    }
  }
  return std::nullopt;
}

const FileTypeInfo& FileTypeInfoOf(LlamaFileType ftype) {
  // The canonical name: the entry that is not an alias (aliases come first in llama's table).
  const FileTypeInfo* found = nullptr;
  for (const auto& t : kFileTypes) {
    if (t.ftype == ftype) found = &t;
  }
  EMBER_CHECK_MSG(found != nullptr, "unknown file type {}", static_cast<uint32_t>(ftype));
  return *found;
}

std::vector<std::string_view> FileTypeNames(bool supported_only) {
  std::vector<std::string_view> names;
  for (const auto& t : kFileTypes) {
    if (!supported_only || t.supported) names.push_back(t.name);
  }
  return names;
}

}  // namespace ember
