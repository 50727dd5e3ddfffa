// Test helper: copies a GGUF model with deliberate damage (metadata changed or removed, a tensor's
// values altered, two tensors' names swapped) or with its weights widened to F16, using GgufWriter.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <span>
#include <string>

#include "gguf/ggml_type.h"
#include "gguf/gguf_value.h"

namespace ember::test {

struct CopyEdits {
  std::map<std::string, GgufValue> set;     // metadata to set (or replace)
  std::set<std::string> remove;             // metadata keys to drop
  std::map<std::string, std::string> rename;  // tensor name -> name written (swaps: both ways)
  // Called with a tensor's name, type and bytes (a writable copy) when it is in `mutate`.
  std::set<std::string> mutate;
  std::function<void(const std::string&, GgmlType, std::span<uint8_t>)> mutator;
  bool to_f16 = false;  // every 2-D weight dequantized and stored as F16 (1-D tensors stay F32)
};

void CopyModel(const std::string& src, const std::string& dst, const CopyEdits& edits);

// The models folder (EMBER_MODELS or the repository's models/), "" when the model is absent.
std::string FindModel(const std::string& file_name);

// A fresh scratch folder under the system temp folder.
std::string ScratchDir(const std::string& name);

}  // namespace ember::test
