// UTF-8 decoding with llama.cpp's conventions, the category table, and the GPT-2 byte alphabet.
#include "tokenizer/unicode.h"

#include <algorithm>
#include <array>

namespace ember::unicode {
namespace {

struct CategoryRange {
  uint32_t first;
  uint8_t flags;
};

constexpr CategoryRange kCategoryRanges[] = {
#include "tokenizer/unicode_categories.inc"
};

constexpr uint32_t kMaxCodepoint = 0x110000;

// One byte per BMP code point, for a lookup without search on the common path.
const std::vector<uint8_t>& BmpCategories() {
  static const std::vector<uint8_t> table = [] {
    std::vector<uint8_t> t(0x10000);
    const size_t n = std::size(kCategoryRanges);
    for (size_t i = 0; i < n; ++i) {
      const uint32_t end = i + 1 < n ? kCategoryRanges[i + 1].first : kMaxCodepoint;
      for (uint32_t c = kCategoryRanges[i].first; c < std::min<uint32_t>(end, 0x10000); ++c) {
        t[c] = kCategoryRanges[i].flags;
      }
    }
    return t;
  }();
  return table;
}

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes map to themselves, the other 68 bytes to
// U+0100.. in byte order.
struct ByteAlphabet {
  std::array<std::string, 256> to_unicode;
  std::array<int16_t, 324> from_unicode;  // code points < 324 only
};

const ByteAlphabet& Alphabet() {
  static const ByteAlphabet alphabet = [] {
    ByteAlphabet a;
    a.from_unicode.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      const uint32_t cpt = printable ? static_cast<uint32_t>(b) : 256u + static_cast<uint32_t>(n++);
      a.to_unicode[b] = CodepointToUtf8(cpt);
      a.from_unicode[cpt] = static_cast<int16_t>(b);
    }
    return a;
  }();
  return alphabet;
}

}  // namespace

std::vector<uint32_t> DecodeUtf8Lenient(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  const size_t n = s.size();
  auto cont = [&](size_t i) { return i < n && (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80; };
  size_t i = 0;
  while (i < n) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      out.push_back(c);
      i += 1;
    } else if ((c & 0x40) == 0) {  // stray continuation byte
      out.push_back(kReplacementChar);
      i += 1;
    } else if ((c & 0x20) == 0) {
      if (cont(i + 1)) {
        out.push_back(((c & 0x1Fu) << 6) | (static_cast<uint8_t>(s[i + 1]) & 0x3Fu));
        i += 2;
      } else {
        out.push_back(kReplacementChar);
        i += 1;
      }
    } else if ((c & 0x10) == 0) {
      if (cont(i + 1) && cont(i + 2)) {
        out.push_back(((c & 0x0Fu) << 12) | ((static_cast<uint8_t>(s[i + 1]) & 0x3Fu) << 6) |
                      (static_cast<uint8_t>(s[i + 2]) & 0x3Fu));
        i += 3;
      } else {
        out.push_back(kReplacementChar);
        i += 1;
      }
    } else if ((c & 0x08) == 0) {
      if (cont(i + 1) && cont(i + 2) && cont(i + 3)) {
        out.push_back(((c & 0x07u) << 18) | ((static_cast<uint8_t>(s[i + 1]) & 0x3Fu) << 12) |
                      ((static_cast<uint8_t>(s[i + 2]) & 0x3Fu) << 6) |
                      (static_cast<uint8_t>(s[i + 3]) & 0x3Fu));
        i += 4;
      } else {
        out.push_back(kReplacementChar);
        i += 1;
      }
    } else {
      out.push_back(kReplacementChar);
      i += 1;
    }
  }
  return out;
}

void AppendUtf8(uint32_t cpt, std::string& out) {
  if (cpt <= 0x7F) {
    out.push_back(static_cast<char>(cpt));
  } else if (cpt <= 0x7FF) {
    out.push_back(static_cast<char>(0xC0 | (cpt >> 6)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  } else if (cpt <= 0xFFFF) {
    out.push_back(static_cast<char>(0xE0 | (cpt >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  } else if (cpt <= 0x10FFFF) {
    out.push_back(static_cast<char>(0xF0 | (cpt >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  } else {
    // llama.cpp throws here (and aborts the process); ember degrades to U+FFFD instead.
    AppendUtf8(kReplacementChar, out);
  }
}

std::string CodepointToUtf8(uint32_t cpt) {
  std::string s;
  AppendUtf8(cpt, s);
  return s;
}

uint8_t CategoryOf(uint32_t cpt) {
  if (cpt < 0x10000) return BmpCategories()[cpt];
  if (cpt >= kMaxCodepoint) return kUndefined;
  const auto it = std::upper_bound(std::begin(kCategoryRanges), std::end(kCategoryRanges), cpt,
                                   [](uint32_t c, const CategoryRange& r) { return c < r.first; });
  return (it - 1)->flags;
}

bool IsWhitespace(uint32_t cpt) {
  if (cpt < 0x80) return cpt == ' ' || (cpt >= 0x09 && cpt <= 0x0D);
  switch (cpt) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
      return true;
    default:
      return cpt >= 0x2000 && cpt <= 0x200A;
  }
}

const std::string& ByteToUnicode(uint8_t byte) { return Alphabet().to_unicode[byte]; }

int UnicodeToByte(uint32_t cpt) {
  return cpt < Alphabet().from_unicode.size() ? Alphabet().from_unicode[cpt] : -1;
}

namespace {
// Length of the strict UTF-8 sequence at s[i] if complete and valid; 0 if invalid; -1 if it is a
// valid prefix cut short by the end of the input.
int StrictSeq(std::string_view s, size_t i) {
  const uint8_t c = static_cast<uint8_t>(s[i]);
  int len;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (int k = 1; k < len; ++k) {
    if (i + k >= s.size()) return -1;
    const uint8_t b = static_cast<uint8_t>(s[i + k]);
    if (k == 1 ? (b < lo || b > hi) : (b & 0xC0) != 0x80) return 0;
  }
  return len;
}
}  // namespace

size_t ValidUtf8Prefix(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const int len = StrictSeq(s, i);
    if (len <= 0) break;
    i += static_cast<size_t>(len);
  }
  return i;
}

bool IsIncompleteUtf8(std::string_view s) { return !s.empty() && StrictSeq(s, 0) == -1; }

}  // namespace ember::unicode
