// SentencePiece model files (.model) -> vocabulary-only GGUF, as llama.cpp's converter writes one
// for Llama-2 (`ember convert-tokenizer`).
//
// A .model file is a protobuf ModelProto. Only field 1 matters here:
//   ModelProto  { repeated SentencePiece pieces = 1; ... }
//   SentencePiece { string piece = 1; float score = 2; Type type = 3; }
//   Type: NORMAL=1 UNKNOWN=2 CONTROL=3 USER_DEFINED=4 UNUSED=5 BYTE=6 (protobuf default NORMAL)
// Wire format: each field is a varint key (field_number << 3 | wire_type) then a payload: wire type
// 0 varint, 1 fixed 8 bytes, 2 varint length + bytes, 5 fixed 4 bytes (3/4 are obsolete groups).
// SentencePiece token types and GGUF token types happen to share their numbering.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ember {

struct SpmPiece {
  std::string piece;
  float score = 0.0f;
  int32_t type = 1;
};

// Parses the pieces of a ModelProto. Throws ember::Error on malformed input (`source` names it).
std::vector<SpmPiece> ParseSentencePieceModel(std::span<const uint8_t> bytes, const std::string& source);

// Writes a vocabulary-only GGUF (Llama-2 conventions) for the pieces.
void WriteSpmVocabGguf(const std::vector<SpmPiece>& pieces, const std::string& out_path,
                       const std::string& name);

}  // namespace ember
