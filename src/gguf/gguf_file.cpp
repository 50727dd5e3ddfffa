#include "gguf/gguf_file.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string_view>

#include "core/error.h"

namespace ember {
namespace {

// A name from the file as it may appear in a one-line error: control characters escaped (a key
// holding "\n" must not split the message) and very long names shortened.
std::string Printable(std::string_view s) {
  constexpr size_t kMaxShown = 96;
  std::string out;
  for (size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f || c == '\\') {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMaxShown) out += fmt::format("...({} bytes)", s.size());
  return out;
}

}  // namespace

// Reads the byte stream of a GGUF file with a cursor; every read is checked against the end.
class GgufParser {
 public:
  GgufParser(GgufFile& file) : f_(file), bytes_(file.bytes_) {}

  void Run() {
    ParseHeader();
    ParseMetadata();
    ParseAlignment();
    ParseTensorInfos();
    LayOutData();
  }

 private:
  template <typename... Args>
  [[noreturn]] void Bad(uint64_t offset, fmt::format_string<Args...> format, Args&&... args) {
    throw Error(fmt::format("{}: offset {}: {}", f_.source_name_, offset,
                            fmt::format(format, std::forward<Args>(args)...)));
  }

  uint64_t Remaining() const { return bytes_.size() - pos_; }

  void Need(uint64_t n, const char* what) {
    if (n > Remaining()) {
      Bad(pos_, "file truncated: {} needs {} bytes, only {} remain", what, n, Remaining());
    }
  }

  // Every allocation the parse makes is charged here first. Counts are already checked against
  // the bytes that remain, but one byte of file can become a 48-byte GgufValue: the budget keeps a
  // hostile file from turning into many times its size in memory.
  void Charge(uint64_t n_bytes, uint64_t at, std::string_view what) {
    if (n_bytes > kGgufMaxParsedBytes - charged_) {
      Bad(at, "{} would take the parsed metadata past {} MiB of memory", what,
          kGgufMaxParsedBytes >> 20);
    }
    charged_ += n_bytes;
  }

  template <typename T>
  T Read(const char* what) {
    Need(sizeof(T), what);
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));  // never cast bytes to structs
    pos_ += sizeof(T);
    return v;
  }

  std::string ReadString(const char* what) {
    const uint64_t at = pos_;
    const uint64_t len = Read<uint64_t>(what);
    if (len > Remaining()) {
      Bad(at, "{} has length {} but only {} bytes remain", what, len, Remaining());
    }
    Charge(len, at, what);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), static_cast<size_t>(len));
    pos_ += len;
    return s;
  }

  void ParseHeader() {
    const uint32_t magic = Read<uint32_t>("magic");
    if (magic != kGgufMagic) {
      Bad(0, "not a GGUF file (magic {:02x} {:02x} {:02x} {:02x}, expected \"GGUF\")",
          magic & 0xff, (magic >> 8) & 0xff, (magic >> 16) & 0xff, magic >> 24);
    }
    const uint64_t at = pos_;
    f_.version_ = Read<uint32_t>("version");
    if (f_.version_ == 1) Bad(at, "GGUF version 1 is not supported (versions 2 and 3 are)");
    if ((f_.version_ & 0xffff) == 0 && f_.version_ != 0) {
      Bad(at, "big-endian GGUF files are not supported");
    }
    if (f_.version_ != 2 && f_.version_ != 3) {
      Bad(at, "unsupported GGUF version {} (versions 2 and 3 are supported)", f_.version_);
    }
    tensor_count_at_ = pos_;
    tensor_count_ = Read<uint64_t>("tensor count");
    kv_count_at_ = pos_;
    kv_count_ = Read<uint64_t>("metadata count");
  }

  // Minimum bytes one item of this type occupies: lets counts be checked before allocating.
  static uint64_t MinItemSize(GgufValueType t) {
    if (t == GgufValueType::STRING) return 8;
    if (t == GgufValueType::ARRAY) return 12;
    return GgufScalarSize(t);
  }

  GgufValue ReadValue(GgufValueType type, int depth, const std::string& key) {
    switch (type) {
      case GgufValueType::UINT8: return GgufValue::U8(Read<uint8_t>("u8 value"));
      case GgufValueType::INT8: return GgufValue::I8(Read<int8_t>("i8 value"));
      case GgufValueType::UINT16: return GgufValue::U16(Read<uint16_t>("u16 value"));
      case GgufValueType::INT16: return GgufValue::I16(Read<int16_t>("i16 value"));
      case GgufValueType::UINT32: return GgufValue::U32(Read<uint32_t>("u32 value"));
      case GgufValueType::INT32: return GgufValue::I32(Read<int32_t>("i32 value"));
      case GgufValueType::UINT64: return GgufValue::U64(Read<uint64_t>("u64 value"));
      case GgufValueType::INT64: return GgufValue::I64(Read<int64_t>("i64 value"));
      case GgufValueType::FLOAT32: return GgufValue::F32(Read<float>("f32 value"));
      case GgufValueType::FLOAT64: return GgufValue::F64(Read<double>("f64 value"));
      case GgufValueType::BOOL: {
        const uint64_t at = pos_;
        uint8_t b = Read<uint8_t>("bool value");
        if (b > 1) Bad(at, "key '{}': bool value {} is neither 0 nor 1", Printable(key), b);
        return GgufValue::Bool(b != 0);
      }
      case GgufValueType::STRING: return GgufValue::String(ReadString("string value"));
      case GgufValueType::ARRAY: {
        const uint64_t at = pos_;
        if (depth >= kGgufMaxArrayNesting) {
          Bad(at, "key '{}': arrays nested deeper than {}", Printable(key), kGgufMaxArrayNesting);
        }
        const uint32_t elem_id = Read<uint32_t>("array type");
        if (!IsValidGgufValueType(elem_id)) {
          Bad(at, "key '{}': unknown array item type {}", Printable(key), elem_id);
        }
        const auto elem = static_cast<GgufValueType>(elem_id);
        const uint64_t count_at = pos_;
        const uint64_t count = Read<uint64_t>("array length");
        const uint64_t min_size = MinItemSize(elem);
        if (count > Remaining() / min_size) {
          Bad(count_at, "key '{}': array of {} {} items cannot fit in the {} bytes that remain",
              Printable(key), count, GgufValueTypeName(elem), Remaining());
        }
        Charge(count * sizeof(GgufValue), count_at, fmt::format("key '{}': array of {} items",
                                                                 Printable(key), count));
        GgufValue::Array items;
        items.reserve(static_cast<size_t>(count));
        for (uint64_t i = 0; i < count; ++i) items.push_back(ReadValue(elem, depth + 1, key));
        return GgufValue::MakeArray(elem, std::move(items));
      }
    }
    Bad(pos_, "key '{}': unknown value type {}", Printable(key), static_cast<uint32_t>(type));
  }

  void ParseMetadata() {
    // Each entry takes at least 8 (key length) + 4 (type) + 1 bytes.
    if (kv_count_ > Remaining() / 13) {
      Bad(kv_count_at_, "metadata count {} cannot fit in the {} bytes that remain", kv_count_,
          Remaining());
    }
    Charge(kv_count_ * (sizeof(f_.metadata_[0]) + 64), kv_count_at_,  // + hash index node
           fmt::format("metadata count {}", kv_count_));
    f_.metadata_.reserve(static_cast<size_t>(kv_count_));
    for (uint64_t i = 0; i < kv_count_; ++i) {
      const uint64_t at = pos_;
      std::string key = ReadString("metadata key");
      const uint64_t type_at = pos_;
      const uint32_t type_id = Read<uint32_t>("value type");
      if (!IsValidGgufValueType(type_id)) {
        Bad(type_at, "key '{}': unknown value type {}", Printable(key), type_id);
      }
      if (key == "general.alignment") alignment_at_ = type_at;
      GgufValue value = ReadValue(static_cast<GgufValueType>(type_id), 0, key);
      if (f_.metadata_index_.count(key) != 0) Bad(at, "duplicate metadata key '{}'", Printable(key));
      f_.metadata_index_.emplace(key, f_.metadata_.size());
      f_.metadata_.emplace_back(std::move(key), std::move(value));
    }
  }

  void ParseAlignment() {
    const GgufValue* a = f_.Find("general.alignment");
    if (a == nullptr) return;
    if (a->type() != GgufValueType::UINT32) {
      Bad(alignment_at_, "general.alignment must be u32, found {}", GgufValueTypeName(a->type()));
    }
    const uint64_t v = a->as_unsigned();
    if (v == 0 || (v & (v - 1)) != 0) {
      Bad(alignment_at_ + 4, "general.alignment {} is not a power of two", v);
    }
    f_.alignment_ = v;
  }

  void ParseTensorInfos() {
    // Each info takes at least 8 (name length) + 4 (n_dims) + 8 (one dim) + 4 (type) + 8 (offset).
    if (tensor_count_ > Remaining() / 32) {
      Bad(tensor_count_at_, "tensor count {} cannot fit in the {} bytes that remain", tensor_count_,
          Remaining());
    }
    // Per tensor: the info, its shape (up to 4 dims), its offset and a hash index node.
    Charge(tensor_count_ * (sizeof(GgufTensorInfo) + 32 + 8 + 64), tensor_count_at_,
           fmt::format("tensor count {}", tensor_count_));
    f_.tensors_.reserve(static_cast<size_t>(tensor_count_));
    tensor_offset_at_.reserve(static_cast<size_t>(tensor_count_));
    for (uint64_t i = 0; i < tensor_count_; ++i) {
      const uint64_t at = pos_;
      GgufTensorInfo t;
      t.name = ReadString("tensor name");
      const std::string name = Printable(t.name);
      const uint64_t dims_at = pos_;
      const uint32_t n_dims = Read<uint32_t>("tensor dimension count");
      if (n_dims == 0 || n_dims > kGgufMaxDims) {
        Bad(dims_at, "tensor '{}' has {} dimensions (1 to {} allowed)", name, n_dims, kGgufMaxDims);
      }
      uint64_t n = 1;
      for (uint32_t d = 0; d < n_dims; ++d) {
        const uint64_t dim_at = pos_;
        const uint64_t ne = Read<uint64_t>("tensor dimension");
        if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          Bad(dim_at, "tensor '{}' dimension {} is {} (negative or too large)", name, d, ne);
        }
        if (ne != 0 && n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / ne) {
          Bad(dim_at, "tensor '{}': element count overflows", name);
        }
        n *= ne;
        t.shape.push_back(ne);
      }
      t.n_elements = n;
      const uint64_t type_at = pos_;
      const uint32_t type_id = Read<uint32_t>("tensor type");
      const auto traits = FindGgmlType(type_id);
      if (!traits) {
        if (IsRemovedGgmlType(type_id)) {
          Bad(type_at, "tensor '{}' uses ggml type {}, which ggml removed; re-convert the model",
              name, type_id);
        }
        Bad(type_at, "tensor '{}' has unknown ggml type {}", name, type_id);
      }
      t.type = traits->type;
      if (t.shape[0] % traits->block_size != 0) {
        Bad(dims_at, "tensor '{}': row length {} is not a multiple of {}'s block size {}", name,
            t.shape[0], traits->name, traits->block_size);
      }
      // n_bytes = n / block * bytes_per_block, checked for overflow.
      const uint64_t blocks = n / traits->block_size;
      if (blocks != 0 && traits->bytes_per_block > std::numeric_limits<uint64_t>::max() / blocks) {
        Bad(dims_at, "tensor '{}': byte size overflows", name);
      }
      t.n_bytes = blocks * traits->bytes_per_block;
      const uint64_t offset_at = pos_;
      t.offset = Read<uint64_t>("tensor offset");
      if (t.offset % f_.alignment_ != 0) {
        Bad(offset_at, "tensor '{}': data offset {} is not a multiple of the alignment {}", name,
            t.offset, f_.alignment_);
      }
      if (f_.tensor_index_.count(t.name) != 0) Bad(at, "duplicate tensor name '{}'", name);
      f_.tensor_index_.emplace(t.name, f_.tensors_.size());
      tensor_offset_at_.push_back(offset_at);
      f_.tensors_.push_back(std::move(t));
    }
  }

  void LayOutData() {
    const uint64_t a = f_.alignment_;
    const uint64_t header_end = pos_;
    f_.data_offset_ = (header_end + a - 1) / a * a;
    if (f_.tensors_.empty()) return;  // vocabulary-only files may end right after the header
    if (f_.data_offset_ > bytes_.size()) {
      Bad(header_end, "file truncated: tensor data should start at {} but the file has {} bytes",
          f_.data_offset_, bytes_.size());
    }
    const uint64_t data_size = bytes_.size() - f_.data_offset_;
    std::vector<size_t> order(f_.tensors_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (size_t i : order) {
      GgufTensorInfo& t = f_.tensors_[i];
      if (t.offset > data_size || t.n_bytes > data_size - t.offset) {
        Bad(tensor_offset_at_[i],
            "tensor '{}' ({} bytes at data offset {}) extends past the end of the file (data "
            "section has {} bytes)",
            Printable(t.name), t.n_bytes, t.offset, data_size);
      }
      t.data = bytes_.data() + f_.data_offset_ + t.offset;
    }
    // Ties broken by index so that the error names the same pair on every platform.
    std::sort(order.begin(), order.end(), [&](size_t x, size_t y) {
      const uint64_t ox = f_.tensors_[x].offset, oy = f_.tensors_[y].offset;
      return ox != oy ? ox < oy : x < y;
    });
    // Zero-byte tensors take no room; the others must not share a byte with the one before.
    uint64_t end = 0;
    size_t end_owner = 0;
    for (size_t k = 0; k < order.size(); ++k) {
      const auto& cur = f_.tensors_[order[k]];
      if (cur.n_bytes == 0) continue;
      if (cur.offset < end) {
        Bad(tensor_offset_at_[order[k]], "tensor '{}' overlaps tensor '{}'", Printable(cur.name),
            Printable(f_.tensors_[end_owner].name));
      }
      end = cur.offset + cur.n_bytes;
      end_owner = order[k];
    }
  }

  GgufFile& f_;
  std::span<const uint8_t> bytes_;
  uint64_t pos_ = 0;
  uint64_t charged_ = 0;
  uint64_t tensor_count_ = 0, kv_count_ = 0;
  uint64_t tensor_count_at_ = 0, kv_count_at_ = 0;
  uint64_t alignment_at_ = 0;
  std::vector<uint64_t> tensor_offset_at_;
};

GgufFile GgufFile::Open(const std::string& path) {
  GgufFile f;
  f.mapping_ = std::make_shared<MappedFile>(path);
  f.bytes_ = f.mapping_->bytes();
  f.source_name_ = path;
  f.ParseAll();
  return f;
}

GgufFile GgufFile::Parse(std::span<const uint8_t> bytes, const std::string& source_name) {
  GgufFile f;
  f.bytes_ = bytes;
  f.source_name_ = source_name;
  f.ParseAll();
  return f;
}

void GgufFile::ParseAll() {
  GgufParser parser(*this);
  parser.Run();
}

const GgufValue* GgufFile::Find(const std::string& key) const {
  auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

void GgufFile::KeyError(const std::string& key, const std::string& what) const {
  throw Error(fmt::format("{}: metadata key '{}': {}", source_name_, key, what));
}

const GgufValue& GgufFile::Get(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) KeyError(key, "missing");
  return *v;
}

uint64_t GgufFile::GetUnsigned(const std::string& key) const {
  const GgufValue& v = Get(key);
  if (v.is_unsigned()) return v.as_unsigned();
  if (v.is_signed()) {
    if (v.as_signed() < 0) KeyError(key, fmt::format("value {} is negative", v.as_signed()));
    return static_cast<uint64_t>(v.as_signed());
  }
  KeyError(key, fmt::format("expected an integer, found {}", GgufValueTypeName(v.type())));
}

uint32_t GgufFile::GetU32(const std::string& key) const {
  const uint64_t v = GetUnsigned(key);
  if (v > std::numeric_limits<uint32_t>::max()) KeyError(key, fmt::format("value {} is out of range", v));
  return static_cast<uint32_t>(v);
}

int64_t GgufFile::GetInt(const std::string& key) const {
  const GgufValue& v = Get(key);
  if (v.is_signed()) return v.as_signed();
  if (v.is_unsigned()) {
    if (v.as_unsigned() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      KeyError(key, fmt::format("value {} is out of range", v.as_unsigned()));
    }
    return static_cast<int64_t>(v.as_unsigned());
  }
  KeyError(key, fmt::format("expected an integer, found {}", GgufValueTypeName(v.type())));
}

double GgufFile::GetFloat(const std::string& key) const {
  const GgufValue& v = Get(key);
  if (v.is_float()) return v.as_float();
  if (v.is_unsigned()) return static_cast<double>(v.as_unsigned());
  if (v.is_signed()) return static_cast<double>(v.as_signed());
  KeyError(key, fmt::format("expected a number, found {}", GgufValueTypeName(v.type())));
}

bool GgufFile::GetBool(const std::string& key) const {
  const GgufValue& v = Get(key);
  if (!v.is_bool()) KeyError(key, fmt::format("expected bool, found {}", GgufValueTypeName(v.type())));
  return v.as_bool();
}

const std::string& GgufFile::GetString(const std::string& key) const {
  const GgufValue& v = Get(key);
  if (!v.is_string()) KeyError(key, fmt::format("expected a string, found {}", GgufValueTypeName(v.type())));
  return v.as_string();
}

const GgufValue::Array& GgufFile::GetArray(const std::string& key) const {
  const GgufValue& v = Get(key);
  if (!v.is_array()) KeyError(key, fmt::format("expected an array, found {}", GgufValueTypeName(v.type())));
  return v.as_array();
}

std::vector<std::string> GgufFile::GetStringArray(const std::string& key) const {
  const GgufValue& v = Get(key);
  if (!v.is_array() || v.elem_type() != GgufValueType::STRING) KeyError(key, "expected an array of strings");
  std::vector<std::string> out;
  out.reserve(v.as_array().size());
  for (const auto& item : v.as_array()) out.push_back(item.as_string());
  return out;
}

std::vector<float> GgufFile::GetF32Array(const std::string& key) const {
  const GgufValue& v = Get(key);
  if (!v.is_array() || !(v.elem_type() == GgufValueType::FLOAT32 || v.elem_type() == GgufValueType::FLOAT64)) {
    KeyError(key, "expected an array of floats");
  }
  std::vector<float> out;
  out.reserve(v.as_array().size());
  for (const auto& item : v.as_array()) out.push_back(static_cast<float>(item.as_float()));
  return out;
}

std::vector<int32_t> GgufFile::GetI32Array(const std::string& key) const {
  const GgufValue& v = Get(key);
  if (!v.is_array()) KeyError(key, "expected an array of integers");
  std::vector<int32_t> out;
  out.reserve(v.as_array().size());
  for (const auto& item : v.as_array()) {
    int64_t x;
    if (item.is_signed()) x = item.as_signed();
    else if (item.is_unsigned() && item.as_unsigned() <= static_cast<uint64_t>(INT64_MAX)) x = static_cast<int64_t>(item.as_unsigned());
    else KeyError(key, "expected an array of integers");
    if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max()) {
      KeyError(key, fmt::format("array item {} is out of range", x));
    }
    out.push_back(static_cast<int32_t>(x));
  }
  return out;
}

uint32_t GgufFile::GetU32Or(const std::string& key, uint32_t fallback) const {
  return Has(key) ? GetU32(key) : fallback;
}
double GgufFile::GetFloatOr(const std::string& key, double fallback) const {
  return Has(key) ? GetFloat(key) : fallback;
}
bool GgufFile::GetBoolOr(const std::string& key, bool fallback) const {
  return Has(key) ? GetBool(key) : fallback;
}
std::string GgufFile::GetStringOr(const std::string& key, const std::string& fallback) const {
  return Has(key) ? GetString(key) : fallback;
}

const GgufTensorInfo* GgufFile::FindTensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensorInfo& GgufFile::GetTensor(const std::string& name) const {
  const GgufTensorInfo* t = FindTensor(name);
  if (t == nullptr) Fail("{}: tensor '{}' is missing", source_name_, name);
  return *t;
}

}  // namespace ember
