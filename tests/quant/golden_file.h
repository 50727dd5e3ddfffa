// Reader of the quantization golden files written by scripts/golden/make_quant_golden.py.
//
// Layout (little-endian): "EMQG", u32 version (1), u32 ggml type id, u32 element count n,
// u32 byte count b; then for dequant_<TYPE>.bin b quantized bytes followed by n float32 values,
// for quant_<TYPE>.bin n float32 inputs followed by b quantized bytes.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace ember::test {

struct QuantGolden {
  uint32_t type = 0;
  std::vector<uint8_t> bytes;
  std::vector<float> floats;
};

inline std::string QuantDataDir() { return std::string(EMBER_SOURCE_DIR) + "/tests/data/quant/"; }

inline QuantGolden ReadQuantGolden(const std::string& name, bool floats_first) {
  std::ifstream in(QuantDataDir() + name, std::ios::binary);
  if (!in) throw std::runtime_error("missing golden file " + name);
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() < 20 || std::memcmp(data.data(), "EMQG", 4) != 0) throw std::runtime_error("bad golden " + name);
  uint32_t header[4];
  std::memcpy(header, data.data() + 4, sizeof(header));
  const uint32_t n = header[2];
  const uint32_t b = header[3];
  if (header[0] != 1 || data.size() != 20 + size_t{b} + size_t{n} * 4) throw std::runtime_error("bad golden " + name);
  QuantGolden g;
  g.type = header[1];
  g.bytes.resize(b);
  g.floats.resize(n);
  const uint8_t* p = data.data() + 20;
  if (floats_first) {
    std::memcpy(g.floats.data(), p, size_t{n} * 4);
    std::memcpy(g.bytes.data(), p + size_t{n} * 4, b);
  } else {
    std::memcpy(g.bytes.data(), p, b);
    std::memcpy(g.floats.data(), p + b, size_t{n} * 4);
  }
  return g;
}

}  // namespace ember::test
