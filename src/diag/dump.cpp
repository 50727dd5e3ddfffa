#include "diag/dump.h"

#include <fmt/format.h>

#include "core/error.h"

namespace ember {

std::string DumpTensor::FullName() const {
  return layer < 0 ? name : fmt::format("{}-{}", name, layer);
}

std::string LlamaTraceName(const std::string& ember_name) {
  static const std::pair<const char*, const char*> kNames[] = {
      {"q", "Qcur"},      {"k", "Kcur"},
      {"v", "Vcur"},        {"kqv", "kqv_out"},
  };
  for (const auto& [from, to] : kNames) {
    if (ember_name == from) return to;
  }
  return ember_name;
}

DumpRecorder::DumpRecorder(const std::string& pattern, bool keep_values)
    : all_(pattern.empty()), keep_values_(keep_values) {
  dump_.source = "ember";
  if (!all_) {
    try {
      pattern_ = std::regex(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      Fail("--tensors '{}' is not a valid regular expression: {}", pattern, e.what());
    }
  }
}

ForwardTrace DumpRecorder::Callback() {
  return [this](const char* name, int64_t layer, const float* data, int64_t rows, int64_t cols) {
    Record(name, layer, data, rows, cols);
  };
}

void DumpRecorder::Record(const char* name, int64_t layer, const float* data, int64_t rows,
                          int64_t cols) {
  // The embedding always covers every token of the batch; later tensors may hold only the last.
  if (std::string_view(name) == "embd") n_tokens_ = rows;
  DumpTensor t;
  t.name = LlamaTraceName(name);
  t.layer = layer;
  if (!all_ && !std::regex_search(t.FullName(), pattern_)) return;
  t.rows = rows;
  t.cols = cols;
  t.first_pos = std::max<int64_t>(0, n_tokens_ - rows);
  t.stats = ComputeStats(data, rows * cols);
  t.row_stats.reserve(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) t.row_stats.push_back(ComputeStats(data + r * cols, cols));
  if (keep_values_) t.values.assign(data, data + rows * cols);
  dump_.tensors.push_back(std::move(t));
}

}  // namespace ember
