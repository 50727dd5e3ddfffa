#include "gguf/gguf_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include "core/error.h"
#include "gguf/gguf_file.h"

namespace ember {

GgufWriter::GgufWriter(uint32_t alignment) : alignment_(alignment) {
  EMBER_CHECK(alignment != 0 && (alignment & (alignment - 1)) == 0);
  if (alignment != kGgufDefaultAlignment) Set("general.alignment", GgufValue::U32(alignment));
}

void GgufWriter::Set(const std::string& key, GgufValue value) {
  for (auto& kv : metadata_) {
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(key, std::move(value));
}

void GgufWriter::Remove(const std::string& key) {
  std::erase_if(metadata_, [&](const auto& kv) { return kv.first == key; });
}

void GgufWriter::AddTensor(const std::string& name, GgmlType type, std::vector<uint64_t> shape,
                           Fill fill) {
  if (shape.empty() || shape.size() > static_cast<size_t>(kGgufMaxDims)) {
    Fail("tensor '{}': {} dimensions (1 to 4 allowed)", name, shape.size());
  }
  for (const auto& t : tensors_) {
    if (t.name == name) Fail("duplicate tensor name '{}'", name);
  }
  uint64_t n = 1;
  for (uint64_t d : shape) {
    // The reader refuses element counts past INT64_MAX (ggml's int64_t ne), so never write one.
    constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (d > kMax || (d != 0 && n > kMax / d)) Fail("tensor '{}': element count overflows", name);
    n *= d;
  }
  const auto row = RowBytes(type, shape[0]);
  if (!row) {
    Fail("tensor '{}': row length {} is not a multiple of {}'s block size {}", name, shape[0],
         GgmlTypeName(type), TraitsOf(type).block_size);
  }
  const uint64_t n_bytes = shape[0] == 0 ? 0 : *row * (n / shape[0]);
  const uint64_t offset = data_size_;
  data_size_ += (n_bytes + alignment_ - 1) / alignment_ * alignment_;
  tensors_.push_back({name, type, std::move(shape), n_bytes, offset, std::move(fill)});
}

void GgufWriter::AddTensor(const std::string& name, GgmlType type, std::vector<uint64_t> shape,
                           std::span<const uint8_t> data) {
  const std::string n = name;
  AddTensor(name, type, std::move(shape), [data, n](std::span<uint8_t> dst) {
    EMBER_CHECK_MSG(dst.size() == data.size(), "tensor '{}': {} bytes given, {} expected", n,
                    data.size(), dst.size());
    // A zero-byte tensor may come with null pointers, which memcpy must not be given.
    if (!data.empty()) std::memcpy(dst.data(), data.data(), data.size());
  });
}

namespace {

class ByteSink {
 public:
  explicit ByteSink(const std::function<void(const void*, size_t)>& sink) : sink_(sink) {}
  template <typename T>
  void Put(T v) { sink_(&v, sizeof(T)); }
  void PutString(const std::string& s) {
    Put<uint64_t>(s.size());
    sink_(s.data(), s.size());
  }
  void PutValue(const GgufValue& v) {
    switch (v.type()) {
      case GgufValueType::UINT8: Put<uint8_t>(static_cast<uint8_t>(v.as_unsigned())); break;
      case GgufValueType::INT8: Put<int8_t>(static_cast<int8_t>(v.as_signed())); break;
      case GgufValueType::UINT16: Put<uint16_t>(static_cast<uint16_t>(v.as_unsigned())); break;
      case GgufValueType::INT16: Put<int16_t>(static_cast<int16_t>(v.as_signed())); break;
      case GgufValueType::UINT32: Put<uint32_t>(static_cast<uint32_t>(v.as_unsigned())); break;
      case GgufValueType::INT32: Put<int32_t>(static_cast<int32_t>(v.as_signed())); break;
      case GgufValueType::UINT64: Put<uint64_t>(v.as_unsigned()); break;
      case GgufValueType::INT64: Put<int64_t>(v.as_signed()); break;
      case GgufValueType::FLOAT32: Put<float>(static_cast<float>(v.as_float())); break;
      case GgufValueType::FLOAT64: Put<double>(v.as_float()); break;
      case GgufValueType::BOOL: Put<uint8_t>(v.as_bool() ? 1 : 0); break;
      case GgufValueType::STRING: PutString(v.as_string()); break;
      case GgufValueType::ARRAY:
        Put<uint32_t>(static_cast<uint32_t>(v.elem_type()));
        Put<uint64_t>(v.as_array().size());
        for (const auto& item : v.as_array()) PutValue(item);
        break;
    }
  }
  void Zeros(uint64_t n) {
    static constexpr uint8_t kZeros[64] = {};
    while (n > 0) {
      const size_t k = n < sizeof(kZeros) ? static_cast<size_t>(n) : sizeof(kZeros);
      sink_(kZeros, k);
      n -= k;
    }
  }

 private:
  const std::function<void(const void*, size_t)>& sink_;
};

}  // namespace

void GgufWriter::Emit(const std::function<void(const void*, size_t)>& sink,
                      const std::function<void(uint64_t, uint64_t)>& progress) const {
  uint64_t written = 0;
  auto counting = [&](const void* p, size_t n) {
    sink(p, n);
    written += n;
  };
  std::function<void(const void*, size_t)> counting_fn = counting;
  ByteSink out(counting_fn);
  out.Put<uint32_t>(kGgufMagic);
  out.Put<uint32_t>(3);
  out.Put<uint64_t>(tensors_.size());
  out.Put<uint64_t>(metadata_.size());
  for (const auto& [key, value] : metadata_) {
    out.PutString(key);
    out.Put<uint32_t>(static_cast<uint32_t>(value.type()));
    out.PutValue(value);
  }
  for (const auto& t : tensors_) {
    out.PutString(t.name);
    out.Put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (uint64_t d : t.shape) out.Put<uint64_t>(d);
    out.Put<uint32_t>(static_cast<uint32_t>(t.type));
    out.Put<uint64_t>(t.offset);
  }
  const uint64_t data_start = (written + alignment_ - 1) / alignment_ * alignment_;
  out.Zeros(data_start - written);
  std::vector<uint8_t> buffer;
  uint64_t done = 0;
  for (const auto& t : tensors_) {
    EMBER_CHECK(written == data_start + t.offset);
    buffer.assign(static_cast<size_t>(t.n_bytes), 0);
    t.fill(std::span<uint8_t>(buffer.data(), buffer.size()));
    counting_fn(buffer.data(), buffer.size());
    const uint64_t padded = (t.n_bytes + alignment_ - 1) / alignment_ * alignment_;
    out.Zeros(padded - t.n_bytes);
    done += t.n_bytes;
    if (progress) progress(done, data_size_);
  }
}

void GgufWriter::Write(const std::string& path,
                       const std::function<void(uint64_t, uint64_t)>& progress) const {
  const std::string tmp = path + ".tmp";
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(tmp.c_str(), "wb"), &std::fclose);
  if (!f) Fail("{}: cannot create: {}", tmp, std::strerror(errno));
  bool ok = true;
  try {
    Emit([&](const void* p, size_t n) {
      if (ok && n > 0 && std::fwrite(p, 1, n, f.get()) != n) ok = false;
    }, progress);
  } catch (...) {  // a fill callback failed: leave neither a half file nor the .tmp behind
    f.reset();
    std::remove(tmp.c_str());
    throw;
  }
  if (std::fflush(f.get()) != 0) ok = false;
  f.reset();
  if (!ok) {
    std::remove(tmp.c_str());
    Fail("{}: write failed (disk full?)", path);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    Fail("{}: cannot rename from {}: {}", path, tmp, std::strerror(errno));
  }
}

std::vector<uint8_t> GgufWriter::WriteToBuffer() const {
  std::vector<uint8_t> out;
  Emit([&](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  }, nullptr);
  return out;
}

}  // namespace ember
