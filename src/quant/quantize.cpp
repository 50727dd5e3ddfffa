// QuantizeRow / CanQuantize: dispatch of the reference quantizers by type.
#include <cstring>

#include "core/error.h"
#include "quant/quant.h"
#include "quant/quantize_internal.h"

namespace ember {
namespace quant_internal {

int NearestInt(float v) {
  const float val = v + 12582912.f;  // 1.5 * 2^23: the integer lands in the low mantissa bits
  int32_t i;
  std::memcpy(&i, &val, sizeof(i));
  return (i & 0x007fffff) - 0x00400000;
}

}  // namespace quant_internal

bool CanQuantize(GgmlType type) {
  switch (type) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16:
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q5_0:
    case GgmlType::Q5_1:
    case GgmlType::Q8_0:
    case GgmlType::Q8_1:
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K:
    case GgmlType::Q8_K:
    case GgmlType::IQ4_NL:
    case GgmlType::IQ4_XS:
      return true;
    default:
      return false;
  }
}

void QuantizeRow(GgmlType type, const float* src, void* dst, int64_t n) {
  using namespace quant_internal;
  const auto& traits = TraitsOf(type);
  EMBER_CHECK_MSG(n >= 0 && n % traits.block_size == 0, "{} elements is not a whole number of {} blocks", n,
                  traits.name);
  switch (type) {
    case GgmlType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::F16: return QuantizeF16(src, static_cast<uint16_t*>(dst), n);
    case GgmlType::BF16: return QuantizeBf16(src, static_cast<uint16_t*>(dst), n);
    case GgmlType::Q4_0: return QuantizeQ4_0(src, static_cast<BlockQ4_0*>(dst), n);
    case GgmlType::Q4_1: return QuantizeQ4_1(src, static_cast<BlockQ4_1*>(dst), n);
    case GgmlType::Q5_0: return QuantizeQ5_0(src, static_cast<BlockQ5_0*>(dst), n);
    case GgmlType::Q5_1: return QuantizeQ5_1(src, static_cast<BlockQ5_1*>(dst), n);
    case GgmlType::Q8_0: return QuantizeQ8_0(src, static_cast<BlockQ8_0*>(dst), n);
    case GgmlType::Q8_1: return QuantizeQ8_1(src, static_cast<BlockQ8_1*>(dst), n);
    case GgmlType::Q2_K: return QuantizeQ2K(src, static_cast<BlockQ2K*>(dst), n);
    case GgmlType::Q3_K: return QuantizeQ3K(src, static_cast<BlockQ3K*>(dst), n);
    case GgmlType::Q4_K: return QuantizeQ4K(src, static_cast<BlockQ4K*>(dst), n);
    case GgmlType::Q5_K: return QuantizeQ5K(src, static_cast<BlockQ5K*>(dst), n);
    case GgmlType::Q6_K: return QuantizeQ6K(src, static_cast<BlockQ6K*>(dst), n);
    case GgmlType::Q8_K: return QuantizeQ8K(src, static_cast<BlockQ8K*>(dst), n);
    case GgmlType::IQ4_NL: return QuantizeIQ4NL(src, static_cast<BlockIQ4NL*>(dst), n);
    case GgmlType::IQ4_XS: return QuantizeIQ4XS(src, static_cast<BlockIQ4XS*>(dst), n);
    default:
      Fail("quantization to {} is not supported", traits.name);
  }
}

}  // namespace ember
