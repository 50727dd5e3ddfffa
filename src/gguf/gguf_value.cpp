#include "gguf/gguf_value.h"

#include <fmt/format.h>

#include "core/error.h"

namespace ember {

std::string_view GgufValueTypeName(GgufValueType type) {
  switch (type) {
    case GgufValueType::UINT8: return "u8";
    case GgufValueType::INT8: return "i8";
    case GgufValueType::UINT16: return "u16";
    case GgufValueType::INT16: return "i16";
    case GgufValueType::UINT32: return "u32";
    case GgufValueType::INT32: return "i32";
    case GgufValueType::FLOAT32: return "f32";
    case GgufValueType::BOOL: return "bool";
    case GgufValueType::STRING: return "str";
    case GgufValueType::ARRAY: return "arr";
    case GgufValueType::UINT64: return "u64";
    case GgufValueType::INT64: return "i64";
    case GgufValueType::FLOAT64: return "f64";
  }
  return "?";
}

bool IsValidGgufValueType(uint32_t id) { return id <= 12; }

uint32_t GgufScalarSize(GgufValueType type) {
  switch (type) {
    case GgufValueType::UINT8:
    case GgufValueType::INT8:
    case GgufValueType::BOOL: return 1;
    case GgufValueType::UINT16:
    case GgufValueType::INT16: return 2;
    case GgufValueType::UINT32:
    case GgufValueType::INT32:
    case GgufValueType::FLOAT32: return 4;
    case GgufValueType::UINT64:
    case GgufValueType::INT64:
    case GgufValueType::FLOAT64: return 8;
    case GgufValueType::STRING:
    case GgufValueType::ARRAY: return 0;
  }
  return 0;
}

GgufValue GgufValue::MakeArray(GgufValueType elem_type, Array items) {
  for (const auto& item : items) {
    EMBER_CHECK_MSG(item.type() == elem_type, "array item of type {} in an array of {}",
                    GgufValueTypeName(item.type()), GgufValueTypeName(elem_type));
  }
  GgufValue v(GgufValueType::ARRAY, std::move(items));
  v.elem_type_ = elem_type;
  return v;
}

GgufValue GgufValue::StringArray(const std::vector<std::string>& items) {
  Array a;
  a.reserve(items.size());
  for (const auto& s : items) a.push_back(String(s));
  return MakeArray(GgufValueType::STRING, std::move(a));
}

GgufValue GgufValue::F32Array(const std::vector<float>& items) {
  Array a;
  a.reserve(items.size());
  for (float f : items) a.push_back(F32(f));
  return MakeArray(GgufValueType::FLOAT32, std::move(a));
}

GgufValue GgufValue::I32Array(const std::vector<int32_t>& items) {
  Array a;
  a.reserve(items.size());
  for (int32_t i : items) a.push_back(I32(i));
  return MakeArray(GgufValueType::INT32, std::move(a));
}

namespace {

std::string EscapeString(const std::string& s, size_t max_len) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max_len; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  if (s.size() > max_len) out += "...";
  return out;
}

}  // namespace

std::string GgufValue::ToString(size_t max_items) const {
  if (is_unsigned()) return fmt::format("{}", as_unsigned());
  if (is_signed()) return fmt::format("{}", as_signed());
  if (is_float()) {
    if (type_ == GgufValueType::FLOAT32) return fmt::format("{}", static_cast<float>(as_float()));
    return fmt::format("{}", as_float());
  }
  if (is_bool()) return as_bool() ? "true" : "false";
  if (is_string()) return "\"" + EscapeString(as_string(), max_items == SIZE_MAX ? SIZE_MAX : 200) + "\"";
  const auto& a = as_array();
  std::string out = "[";
  for (size_t i = 0; i < a.size(); ++i) {
    if (i == max_items) {
      out += fmt::format(", ... ({} items)", a.size());
      break;
    }
    if (i > 0) out += ", ";
    out += a[i].ToString(max_items);
  }
  return out + "]";
}

}  // namespace ember
