// UTF-8 and Unicode helpers for the tokenizer, with llama.cpp's exact conventions.
//
// llama.cpp decodes text leniently (it checks only lead bits and continuation bytes, not overlong
// forms or surrogates) and replaces each byte it cannot decode by U+FFFD; pre-tokenizers then see
// those code points. ember reproduces that decoder so that any byte string splits identically.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ember::unicode {

// Category flags, as llama.cpp's table stores them (one category per code point).
enum CategoryFlag : uint8_t {
  kUndefined = 0x01,
  kNumber = 0x02,       // \p{N}
  kLetter = 0x04,       // \p{L}
  kSeparator = 0x08,    // \p{Z}
  kAccentMark = 0x10,   // \p{M}
  kPunctuation = 0x20,  // \p{P}
  kSymbol = 0x40,       // \p{S}
  kControl = 0x80,      // \p{C}
};

inline constexpr uint32_t kReplacementChar = 0xFFFD;

// Bytes in the sequence that starts with `lead`, from its high bits only (1 for a stray
// continuation byte), as llama.cpp's unicode_len_utf8.
inline size_t Utf8SeqLen(char lead) {
  static constexpr uint8_t kLookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLookup[static_cast<uint8_t>(lead) >> 4];
}

// Lenient decode: one code point per decodable sequence, U+FFFD for each undecodable byte.
std::vector<uint32_t> DecodeUtf8Lenient(std::string_view text);
// Appends the UTF-8 encoding of `cpt`; code points above U+10FFFF become U+FFFD.
void AppendUtf8(uint32_t cpt, std::string& out);
std::string CodepointToUtf8(uint32_t cpt);

// The category flags of a code point (kUndefined beyond U+10FFFF).
uint8_t CategoryOf(uint32_t cpt);
// Unicode White_Space (the set llama.cpp and PCRE2's \s with UCP both use).
bool IsWhitespace(uint32_t cpt);

// GPT-2 byte-level encoding: each byte maps to a printable code point (UTF-8 string).
const std::string& ByteToUnicode(uint8_t byte);
// The inverse: the byte for a code point of that alphabet, or -1.
int UnicodeToByte(uint32_t cpt);

// Length of the longest prefix of `bytes` that is complete, valid UTF-8 (strict: no overlong forms,
// no surrogates, nothing above U+10FFFF). Used by the streaming decoder.
size_t ValidUtf8Prefix(std::string_view bytes);
// Whether `bytes` (non-empty) could still become valid UTF-8 if more bytes followed.
bool IsIncompleteUtf8(std::string_view bytes);

}  // namespace ember::unicode
