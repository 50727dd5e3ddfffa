#include "diag/model_copy.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/half.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "quant/quant.h"

namespace ember::test {

void CopyModel(const std::string& src, const std::string& dst, const CopyEdits& edits) {
  const GgufFile in = GgufFile::Open(src);
  GgufWriter w(static_cast<uint32_t>(in.alignment()));
  for (const auto& [key, value] : in.metadata()) {
    if (edits.remove.count(key)) continue;
    w.Set(key, value);
  }
  for (const auto& [key, value] : edits.set) w.Set(key, value);
  if (edits.to_f16) w.Set("general.file_type", GgufValue::U32(1));
  for (const auto& t : in.tensors()) {
    auto it = edits.rename.find(t.name);
    const std::string name = it == edits.rename.end() ? t.name : it->second;
    const GgufTensorInfo* info = &t;
    // A renamed tensor keeps its own shape and data: the name is what is wrong.
    if (edits.to_f16 && t.shape.size() >= 2 && t.type != GgmlType::F16) {
      const int64_t n_in = static_cast<int64_t>(t.shape[0]);
      w.AddTensor(name, GgmlType::F16, t.shape, [info, n_in](std::span<uint8_t> dst_bytes) {
        const uint64_t rows = info->n_rows();
        const uint64_t row_bytes = info->n_bytes / rows;
        std::vector<float> row(static_cast<size_t>(n_in));
        auto* out = reinterpret_cast<uint16_t*>(dst_bytes.data());
        for (uint64_t r = 0; r < rows; ++r) {
          DequantizeRow(info->type, info->data + r * row_bytes, row.data(), n_in);
          for (int64_t i = 0; i < n_in; ++i) out[r * n_in + i] = FloatToHalf(row[i]);
        }
      });
    } else if (edits.mutate.count(t.name)) {
      const auto& mut = edits.mutator;
      w.AddTensor(name, t.type, t.shape, [info, mut](std::span<uint8_t> dst_bytes) {
        std::memcpy(dst_bytes.data(), info->data, dst_bytes.size());
        mut(info->name, info->type, dst_bytes);
      });
    } else {
      w.AddTensor(name, t.type, t.shape, t.bytes());
    }
  }
  w.Write(dst);
}

std::string FindModel(const std::string& file_name) {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("EMBER_MODELS")) dirs.push_back(env);
  dirs.push_back(std::string(EMBER_SOURCE_DIR) + "/models");
  for (const auto& d : dirs) {
    const std::string p = d + "/" + file_name;
    if (std::filesystem::exists(p)) return p;
  }
  return "";
}

std::string ScratchDir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("ember-diag-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace ember::test
