// Compares a GgufFile with golden JSON from the reference reader (see gguf_golden_compare.h).
#include "gguf/gguf_golden_compare.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "gguf/sha256.h"

namespace ember::test {
namespace {

void EncodeValue(const GgufValue& v, std::string& out) {
  auto put = [&](auto x) { out.append(reinterpret_cast<const char*>(&x), sizeof(x)); };
  switch (v.type()) {
    case GgufValueType::UINT8: put(static_cast<uint8_t>(v.as_unsigned())); break;
    case GgufValueType::INT8: put(static_cast<int8_t>(v.as_signed())); break;
    case GgufValueType::UINT16: put(static_cast<uint16_t>(v.as_unsigned())); break;
    case GgufValueType::INT16: put(static_cast<int16_t>(v.as_signed())); break;
    case GgufValueType::UINT32: put(static_cast<uint32_t>(v.as_unsigned())); break;
    case GgufValueType::INT32: put(static_cast<int32_t>(v.as_signed())); break;
    case GgufValueType::UINT64: put(v.as_unsigned()); break;
    case GgufValueType::INT64: put(v.as_signed()); break;
    case GgufValueType::FLOAT32: put(static_cast<float>(v.as_float())); break;
    case GgufValueType::FLOAT64: put(v.as_float()); break;
    case GgufValueType::BOOL: put(static_cast<uint8_t>(v.as_bool() ? 1 : 0)); break;
    case GgufValueType::STRING:
      put(static_cast<uint64_t>(v.as_string().size()));
      out += v.as_string();
      break;
    case GgufValueType::ARRAY:
      put(static_cast<uint32_t>(v.elem_type()));
      put(static_cast<uint64_t>(v.as_array().size()));
      out += EncodeItems(v);
      break;
  }
}

std::string FromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

void ExpectValue(const GgufValue& v, const nlohmann::json& g, const std::string& where);

void ExpectItems(const GgufValue::Array& items, size_t first, const nlohmann::json& g,
                 const std::string& where) {
  ASSERT_TRUE(g.is_array()) << where;
  for (size_t i = 0; i < g.size(); ++i) {
    ASSERT_LT(first + i, items.size()) << where;
    ExpectValue(items[first + i], g[i], where + "[" + std::to_string(first + i) + "]");
  }
}

void ExpectValue(const GgufValue& v, const nlohmann::json& g, const std::string& where) {
  switch (v.type()) {
    case GgufValueType::UINT8:
    case GgufValueType::UINT16:
    case GgufValueType::UINT32:
    case GgufValueType::UINT64:
      ASSERT_TRUE(g.is_number_integer()) << where << ": golden " << g.dump();
      EXPECT_EQ(v.as_unsigned(), g.get<uint64_t>()) << where;
      return;
    case GgufValueType::INT8:
    case GgufValueType::INT16:
    case GgufValueType::INT32:
    case GgufValueType::INT64:
      ASSERT_TRUE(g.is_number_integer()) << where << ": golden " << g.dump();
      EXPECT_EQ(v.as_signed(), g.get<int64_t>()) << where;
      return;
    case GgufValueType::FLOAT32:
    case GgufValueType::FLOAT64: {
      const double x = v.as_float();
      if (g.is_string()) {  // non-finite values are written as text
        const auto s = g.get<std::string>();
        if (s == "nan") {
          EXPECT_TRUE(std::isnan(x)) << where << ": " << x;
        } else if (s == "inf" || s == "-inf") {
          EXPECT_EQ(x, s == "inf" ? INFINITY : -INFINITY) << where;
        } else {
          ADD_FAILURE() << where << ": golden float " << s;
        }
        return;
      }
      ASSERT_TRUE(g.is_number()) << where << ": golden " << g.dump();
      EXPECT_EQ(x, g.get<double>()) << where;  // exact: both are the same double
      return;
    }
    case GgufValueType::BOOL:
      ASSERT_TRUE(g.is_boolean()) << where << ": golden " << g.dump();
      EXPECT_EQ(v.as_bool(), g.get<bool>()) << where;
      return;
    case GgufValueType::STRING:
      if (g.is_object()) {
        EXPECT_EQ(v.as_string(), FromHex(g.at("hex").get<std::string>())) << where;
      } else {
        ASSERT_TRUE(g.is_string()) << where << ": golden " << g.dump();
        EXPECT_EQ(v.as_string(), g.get<std::string>()) << where;
      }
      return;
    case GgufValueType::ARRAY: {
      ASSERT_TRUE(g.is_object()) << where << ": golden " << g.dump();
      EXPECT_EQ(GgufValueTypeName(v.elem_type()), g.at("elem_type").get<std::string>()) << where;
      const auto& items = v.as_array();
      ASSERT_EQ(items.size(), g.at("length").get<uint64_t>()) << where;
      const std::string encoded = EncodeItems(v);
      EXPECT_EQ(Sha256Hex({reinterpret_cast<const uint8_t*>(encoded.data()), encoded.size()}),
                g.at("sha256").get<std::string>())
          << where << ": the items' bytes differ";
      if (g.contains("items")) {
        ASSERT_EQ(g.at("items").size(), items.size()) << where;
        ExpectItems(items, 0, g.at("items"), where);
      } else {
        ExpectItems(items, 0, g.at("head"), where);
        ExpectItems(items, items.size() - g.at("tail").size(), g.at("tail"), where);
      }
      return;
    }
  }
  ADD_FAILURE() << where << ": unknown value type";
}

}  // namespace

std::string EncodeItems(const GgufValue& array) {
  std::string out;
  for (const auto& item : array.as_array()) EncodeValue(item, out);
  return out;
}

void ExpectMatchesGolden(const GgufFile& f, const nlohmann::json& g, bool check_data) {
  EXPECT_EQ(f.file_size(), g.at("file_size").get<uint64_t>());
  EXPECT_EQ(f.version(), g.at("version").get<uint32_t>());
  EXPECT_EQ(f.alignment(), g.at("alignment").get<uint64_t>());
  EXPECT_EQ(f.data_offset(), g.at("data_offset").get<uint64_t>());
  EXPECT_EQ(f.metadata().size(), g.at("kv_count").get<uint64_t>());
  EXPECT_EQ(f.tensors().size(), g.at("tensor_count").get<uint64_t>());

  const auto& meta = g.at("metadata");
  ASSERT_EQ(f.metadata().size(), meta.size());
  for (size_t i = 0; i < meta.size(); ++i) {
    const auto& [key, value] = f.metadata()[i];
    const std::string where = "metadata #" + std::to_string(i) + " '" + key + "'";
    EXPECT_EQ(key, meta[i].at("key").get<std::string>()) << where;
    EXPECT_EQ(GgufValueTypeName(value.type()), meta[i].at("type").get<std::string>()) << where;
    ExpectValue(value, meta[i].at("value"), where);
    EXPECT_EQ(f.Find(key), &value) << where << ": lookup by name finds another entry";
  }

  const auto& tensors = g.at("tensors");
  ASSERT_EQ(f.tensors().size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const GgufTensorInfo& t = f.tensors()[i];
    const auto& gt = tensors[i];
    const std::string where = "tensor #" + std::to_string(i) + " '" + t.name + "'";
    EXPECT_EQ(t.name, gt.at("name").get<std::string>()) << where;
    EXPECT_EQ(GgmlTypeName(t.type), gt.at("type").get<std::string>()) << where;
    EXPECT_EQ(static_cast<uint32_t>(t.type), gt.at("type_id").get<uint32_t>()) << where;
    EXPECT_EQ(t.shape, gt.at("shape").get<std::vector<uint64_t>>()) << where;
    EXPECT_EQ(t.offset, gt.at("offset").get<uint64_t>()) << where;
    EXPECT_EQ(t.n_bytes, gt.at("n_bytes").get<uint64_t>()) << where;
    uint64_t n = 1;
    for (uint64_t d : t.shape) n *= d;
    EXPECT_EQ(t.n_elements, n) << where;
    EXPECT_EQ(t.data, f.tensors()[0].data - f.tensors()[0].offset + t.offset) << where;
    EXPECT_EQ(f.FindTensor(t.name), &t) << where;
    if (check_data) {
      EXPECT_EQ(Sha256Hex(t.bytes()), gt.at("data_sha256").get<std::string>())
          << where << ": tensor data differs";
    }
  }
}

nlohmann::json ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return nlohmann::json::object();
  }
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    ADD_FAILURE() << path << ": " << e.what();
    return nlohmann::json::object();
  }
}

}  // namespace ember::test
