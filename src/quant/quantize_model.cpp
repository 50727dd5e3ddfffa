#include "quant/quantize_model.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/progress.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "quant/quant.h"

namespace ember {
namespace {

constexpr uint32_t kGgmlQuantVersion = 2;  // ggml's GGML_QNT_VERSION
// Rows are handed to threads in chunks of at least this many elements (llama.cpp uses 32 * 512).
constexpr int64_t kMinChunkElements = 32 * 512;

int ResolveThreads(int threads) {
  if (threads > 0) return threads;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

}  // namespace

void QuantizeRows(const std::string& name, GgmlType from, const uint8_t* src, GgmlType to, uint8_t* dst,
                  int64_t rows, int64_t n_per_row, int threads) {
  if (rows <= 0 || n_per_row <= 0) return;
  const auto in_row = RowBytes(from, static_cast<uint64_t>(n_per_row));
  const auto out_row = RowBytes(to, static_cast<uint64_t>(n_per_row));
  EMBER_CHECK(in_row.has_value() && out_row.has_value());
  const int64_t rows_per_chunk = std::max<int64_t>(1, (kMinChunkElements + n_per_row - 1) / n_per_row);
  const int64_t n_chunks = (rows + rows_per_chunk - 1) / rows_per_chunk;
  const int n_threads = static_cast<int>(std::clamp<int64_t>(threads, 1, std::max<int64_t>(1, n_chunks)));

  std::atomic<int64_t> next_chunk{0};
  std::mutex error_mutex;
  std::string error;
  std::atomic<bool> failed{false};
  auto work = [&]() {
    std::vector<float> buf(static_cast<size_t>(rows_per_chunk * n_per_row));
    for (;;) {
      const int64_t chunk = next_chunk.fetch_add(1);
      if (chunk >= n_chunks || failed.load()) return;
      const int64_t r0 = chunk * rows_per_chunk;
      const int64_t nr = std::min(rows_per_chunk, rows - r0);
      const int64_t n = nr * n_per_row;
      DequantizeRow(from, src + r0 * static_cast<int64_t>(*in_row), buf.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        if (!std::isfinite(buf[static_cast<size_t>(i)])) {
          std::lock_guard<std::mutex> lock(error_mutex);
          if (!failed.exchange(true)) {
            error = fmt::format("tensor {} has a non-finite value ({}) in row {}", name, buf[static_cast<size_t>(i)],
                                r0 + i / n_per_row);
          }
          return;
        }
      }
      QuantizeRow(to, buf.data(), dst + r0 * static_cast<int64_t>(*out_row), n);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < n_threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (failed.load()) throw Error(error);
}

QuantizeModelReport QuantizeModel(const QuantizeModelOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const FileTypeInfo& ftype = FileTypeInfoOf(options.plan.ftype);
  if (!ftype.supported) Fail("file type {} is not supported by ember quantize", ftype.name);
  const GgufFile in = GgufFile::Open(options.input);
  const int threads = ResolveThreads(options.threads);

  std::vector<std::string> names;
  for (const auto& t : in.tensors()) names.push_back(t.name);
  const std::vector<size_t> order = LlamaTensorOrder(names);
  TensorTypePlanner planner(ReadModelQuantInfo(in), options.plan, names);

  QuantizeModelReport report;
  for (size_t idx : order) {
    const GgufTensorInfo& t = in.tensors()[idx];
    const TensorChoice choice = planner.Choose(t.name, t.shape, t.type);
    QuantizedTensorReport r{t.name, t.shape, t.type, choice.type, t.n_bytes, 0, choice.fell_back};
    if (r.to != r.from) {
      if (IsQuantizedType(r.from) && !options.allow_requantize && !options.dry_run) {
        Fail("{}: tensor {} is already quantized ({}); re-quantizing it to {} compounds the rounding errors. "
             "Quantize from an F32/F16/BF16 model, or pass --allow-requantize",
             options.input, t.name, GgmlTypeName(r.from), GgmlTypeName(r.to));
      }
      if (!CanDequantize(r.from)) Fail("{}: tensor {} has type {}, which ember cannot read", options.input, t.name,
                                       GgmlTypeName(r.from));
      if (!CanQuantize(r.to)) Fail("tensor {}: ember cannot quantize to {}", t.name, GgmlTypeName(r.to));
      const auto bytes = RowBytes(r.to, t.ne(0));
      if (!bytes) Fail("tensor {}: rows of {} do not fit {} blocks", t.name, t.ne(0), GgmlTypeName(r.to));
      r.bytes_out = *bytes * t.n_rows();
    } else {
      r.bytes_out = t.n_bytes;
    }
    report.bytes_in += r.bytes_in;
    report.bytes_out += r.bytes_out;
    report.n_elements += t.n_elements;
    report.tensors.push_back(std::move(r));
  }
  report.n_fallback = planner.n_fallback();
  if (options.dry_run) {
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
  }

  GgufWriter writer(static_cast<uint32_t>(in.alignment()));
  for (const auto& [key, value] : in.metadata()) writer.Set(key, value);
  // Like gguf_set_val_u32 in llama.cpp, setting a key moves it to the end: same key order.
  writer.Remove("general.quantization_version");
  writer.Set("general.quantization_version", GgufValue::U32(kGgmlQuantVersion));
  writer.Remove("general.file_type");
  writer.Set("general.file_type", GgufValue::U32(static_cast<uint32_t>(options.plan.ftype)));
  writer.Remove("split.no");
  writer.Remove("split.count");
  writer.Remove("split.tensors.count");

  for (size_t k = 0; k < order.size(); ++k) {
    const GgufTensorInfo& t = in.tensors()[order[k]];
    const QuantizedTensorReport& r = report.tensors[k];
    if (r.to == r.from) {
      writer.AddTensor(t.name, t.type, t.shape, t.bytes());
      continue;
    }
    const GgufTensorInfo* tp = &t;
    writer.AddTensor(t.name, r.to, t.shape, [tp, to = r.to, threads](std::span<uint8_t> dst) {
      QuantizeRows(tp->name, tp->type, tp->data, to, dst.data(), static_cast<int64_t>(tp->n_rows()),
                   static_cast<int64_t>(tp->ne(0)), threads);
    });
  }

  ProgressBar bar("quantizing", report.bytes_out, options.progress);
  try {
    writer.Write(options.output, [&](uint64_t done, uint64_t) { bar.Update(done); });
  } catch (...) {
    std::remove((options.output + ".tmp").c_str());
    throw;
  }
  bar.Finish();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace ember
