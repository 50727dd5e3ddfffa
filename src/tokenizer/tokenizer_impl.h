// Internal state of ember::Tokenizer, shared by the loader (tokenizer_load.cpp), the encoders
// (tokenizer_encode.cpp) and the decoder (tokenizer.cpp). Not part of the public API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"

namespace ember {

struct Tokenizer::Impl {
  std::string model;  // tokenizer.ggml.model
  std::string pre;    // tokenizer.ggml.pre
  VocabType type = VocabType::kSpm;

  std::vector<std::string> text;  // id -> vocabulary string
  std::vector<float> score;
  std::vector<uint32_t> attr;  // TokenAttr bits
  // Same container and insertion order as llama.cpp: its special-token detection iterates this
  // map, so the iteration order decides ties (e.g. which of two EOT-looking tokens is the EOT).
  std::unordered_map<std::string, int32_t> token_to_id;
  // BPE merge ranks, keyed by MergeKey(left, right); first occurrence wins, as in llama.cpp.
  std::unordered_map<std::string, int32_t> bpe_ranks;

  int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, sep = -1, pad = -1, mask = -1;
  int32_t fim_pre = -1, fim_suf = -1, fim_mid = -1, fim_pad = -1, fim_rep = -1, fim_sep = -1;
  int32_t linefeed = -1;
  bool add_bos = false, add_eos = false, add_space_prefix = false;
  bool clean_spaces = false, ignore_merges = false;
  std::vector<int32_t> eog;  // sorted

  // Control, user-defined and unknown tokens, longest text first (llama.cpp's order).
  std::vector<int32_t> special_tokens;
  // A byte trie over the special tokens' texts, to find quickly which of them occur in a text.
  struct TrieNode {
    std::vector<std::pair<uint8_t, int32_t>> children;  // sorted by byte
    int32_t token = -1;
  };
  std::vector<TrieNode> special_trie;
  std::vector<std::string> piece_cache;  // TokenToPiece(id, special = true)

  std::optional<PreTokenizer> pretokenizer;  // BPE only

  int32_t Find(const std::string& s) const {
    const auto it = token_to_id.find(s);
    return it == token_to_id.end() ? -1 : it->second;
  }
  static void MergeKey(std::string& key, std::string_view left, std::string_view right) {
    key.clear();
    const uint32_t n = static_cast<uint32_t>(left.size());
    key.append(reinterpret_cast<const char*>(&n), sizeof(n));
    key.append(left);
    key.append(right);
  }
  int32_t ByteToTokenSpm(uint8_t byte) const;

  // Encoders for one raw-text fragment (already split from the special tokens).
  void EncodeSpm(const std::string& text, std::vector<int32_t>& out) const;
  void EncodeBpe(std::string_view text, std::vector<int32_t>& out) const;
  std::string PieceUncached(int32_t id) const;
};

}  // namespace ember
