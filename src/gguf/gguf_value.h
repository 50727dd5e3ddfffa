// A GGUF metadata value: a typed scalar, a string, or an array of values (arrays may nest).
//
// Integers are held widened (uint64 or int64 by signedness) and floats as double; type() keeps the
// type written in the file, so that a value read and written again is byte-identical.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ember {

enum class GgufValueType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};

std::string_view GgufValueTypeName(GgufValueType type);
bool IsValidGgufValueType(uint32_t id);
// Bytes a scalar of this type takes in the file (0 for STRING and ARRAY).
uint32_t GgufScalarSize(GgufValueType type);

class GgufValue {
 public:
  using Array = std::vector<GgufValue>;

  GgufValue() : type_(GgufValueType::UINT8), data_(uint64_t{0}) {}

  static GgufValue U8(uint8_t v) { return {GgufValueType::UINT8, uint64_t{v}}; }
  static GgufValue I8(int8_t v) { return {GgufValueType::INT8, int64_t{v}}; }
  static GgufValue U16(uint16_t v) { return {GgufValueType::UINT16, uint64_t{v}}; }
  static GgufValue I16(int16_t v) { return {GgufValueType::INT16, int64_t{v}}; }
  static GgufValue U32(uint32_t v) { return {GgufValueType::UINT32, uint64_t{v}}; }
  static GgufValue I32(int32_t v) { return {GgufValueType::INT32, int64_t{v}}; }
  static GgufValue U64(uint64_t v) { return {GgufValueType::UINT64, v}; }
  static GgufValue I64(int64_t v) { return {GgufValueType::INT64, v}; }
  static GgufValue F32(float v) { return {GgufValueType::FLOAT32, double{v}}; }
  static GgufValue F64(double v) { return {GgufValueType::FLOAT64, v}; }
  static GgufValue Bool(bool v) { return {GgufValueType::BOOL, v}; }
  static GgufValue String(std::string v) { return {GgufValueType::STRING, std::move(v)}; }
  // An array whose items all have type `elem_type`.
  static GgufValue MakeArray(GgufValueType elem_type, Array items);
  static GgufValue StringArray(const std::vector<std::string>& items);
  static GgufValue F32Array(const std::vector<float>& items);
  static GgufValue I32Array(const std::vector<int32_t>& items);

  GgufValueType type() const { return type_; }
  GgufValueType elem_type() const { return elem_type_; }  // for arrays

  bool is_unsigned() const { return std::holds_alternative<uint64_t>(data_); }
  bool is_signed() const { return std::holds_alternative<int64_t>(data_); }
  bool is_integer() const { return is_unsigned() || is_signed(); }
  bool is_float() const { return std::holds_alternative<double>(data_); }
  bool is_bool() const { return std::holds_alternative<bool>(data_); }
  bool is_string() const { return std::holds_alternative<std::string>(data_); }
  bool is_array() const { return std::holds_alternative<Array>(data_); }

  uint64_t as_unsigned() const { return std::get<uint64_t>(data_); }
  int64_t as_signed() const { return std::get<int64_t>(data_); }
  double as_float() const { return std::get<double>(data_); }
  bool as_bool() const { return std::get<bool>(data_); }
  const std::string& as_string() const { return std::get<std::string>(data_); }
  const Array& as_array() const { return std::get<Array>(data_); }

  // A short human-readable rendering; arrays longer than `max_items` are shortened with "...".
  std::string ToString(size_t max_items = 8) const;

  bool operator==(const GgufValue& other) const = default;

 private:
  using Data = std::variant<uint64_t, int64_t, double, bool, std::string, Array>;
  GgufValue(GgufValueType type, Data data) : type_(type), data_(std::move(data)) {}

  GgufValueType type_;
  GgufValueType elem_type_ = GgufValueType::UINT8;
  Data data_;
};

}  // namespace ember
