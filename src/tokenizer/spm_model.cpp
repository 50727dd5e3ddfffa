// SentencePiece ModelProto reader (just the pieces) and the vocabulary-only GGUF writer.
#include "tokenizer/spm_model.h"

#include <cstring>

#include "core/error.h"
#include "gguf/gguf_writer.h"

namespace ember {
namespace {

class WireReader {
 public:
  WireReader(std::span<const uint8_t> bytes, const std::string& source, size_t base)
      : bytes_(bytes), source_(source), base_(base) {}
  bool done() const { return pos_ >= bytes_.size(); }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= bytes_.size()) Error("truncated varint");
      const uint8_t b = bytes_[pos_++];
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    Error("varint longer than 10 bytes");
  }
  std::span<const uint8_t> Bytes(uint64_t n) {
    if (n > bytes_.size() - pos_) Error("length " + std::to_string(n) + " runs past the end");
    auto s = bytes_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  void Skip(uint32_t wire_type) {
    switch (wire_type) {
      case 0: Varint(); break;
      case 1: Bytes(8); break;
      case 2: Bytes(Varint()); break;
      case 5: Bytes(4); break;
      default: Error("unsupported wire type " + std::to_string(wire_type));
    }
  }
  size_t offset() const { return base_ + pos_; }
  [[noreturn]] void Error(const std::string& what) const {
    Fail("{}: offset {}: not a SentencePiece model: {}", source_, base_ + pos_, what);
  }

 private:
  std::span<const uint8_t> bytes_;
  const std::string& source_;
  size_t base_;
  size_t pos_ = 0;
};

SpmPiece ParsePiece(std::span<const uint8_t> bytes, const std::string& source, size_t base) {
  WireReader r(bytes, source, base);
  SpmPiece p;
  while (!r.done()) {
    const uint64_t key = r.Varint();
    const uint32_t field = static_cast<uint32_t>(key >> 3), wire = key & 7;
    if (field == 1 && wire == 2) {
      auto s = r.Bytes(r.Varint());
      p.piece.assign(reinterpret_cast<const char*>(s.data()), s.size());
    } else if (field == 2 && wire == 5) {
      auto s = r.Bytes(4);
      std::memcpy(&p.score, s.data(), 4);  // little-endian float, as protobuf writes it
    } else if (field == 3 && wire == 0) {
      const uint64_t t = r.Varint();
      if (t < 1 || t > 6) r.Error("piece type " + std::to_string(t) + " is not 1..6");
      p.type = static_cast<int32_t>(t);
    } else {
      r.Skip(wire);
    }
  }
  return p;
}

}  // namespace

std::vector<SpmPiece> ParseSentencePieceModel(std::span<const uint8_t> bytes,
                                              const std::string& source) {
  WireReader r(bytes, source, 0);
  std::vector<SpmPiece> pieces;
  while (!r.done()) {
    const uint64_t key = r.Varint();
    const uint32_t field = static_cast<uint32_t>(key >> 3), wire = key & 7;
    if (field == 1 && wire == 2) {
      const size_t len = r.Varint();
      const size_t base = r.offset();
      pieces.push_back(ParsePiece(r.Bytes(len), source, base));
    } else {
      r.Skip(wire);
    }
  }
  if (pieces.empty()) Fail("{}: not a SentencePiece model: no pieces", source);
  return pieces;
}

void WriteSpmVocabGguf(const std::vector<SpmPiece>& pieces, const std::string& out_path,
                       const std::string& name) {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  for (const auto& p : pieces) {
    tokens.push_back(p.piece);
    scores.push_back(p.score);
    types.push_back(p.type);
  }
  GgufWriter w;
  w.Set("general.architecture", GgufValue::String("llama"));
  w.Set("general.name", GgufValue::String(name));
  w.Set("tokenizer.ggml.model", GgufValue::String("llama"));
  w.Set("tokenizer.ggml.pre", GgufValue::String("default"));
  w.Set("tokenizer.ggml.tokens", GgufValue::StringArray(tokens));
  w.Set("tokenizer.ggml.scores", GgufValue::F32Array(scores));
  w.Set("tokenizer.ggml.token_type", GgufValue::I32Array(types));
  w.Set("tokenizer.ggml.bos_token_id", GgufValue::U32(1));
  w.Set("tokenizer.ggml.eos_token_id", GgufValue::U32(2));
  w.Set("tokenizer.ggml.unknown_token_id", GgufValue::U32(0));
  w.Set("tokenizer.ggml.add_bos_token", GgufValue::Bool(true));
  w.Set("tokenizer.ggml.add_eos_token", GgufValue::Bool(false));
  w.Write(out_path);
}

}  // namespace ember
