// Tokenizer::FromGguf: reads the vocabulary as llama.cpp's llama_vocab::impl::load does, including
// its special-token heuristics (EOT/EOG detection by text, "unused" control tokens, ...), so that
// the same GGUF gives the same ids, EOG set and special-token behaviour.
#include <algorithm>
#include <cctype>
#include <set>
#include <string_view>
#include <unordered_map>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "tokenizer/tokenizer_impl.h"

namespace ember {
namespace {

constexpr const char* kKeyModel = "tokenizer.ggml.model";
constexpr const char* kKeyTokens = "tokenizer.ggml.tokens";
constexpr const char* kKeyScores = "tokenizer.ggml.scores";
constexpr const char* kKeyTypes = "tokenizer.ggml.token_type";
constexpr const char* kKeyMerges = "tokenizer.ggml.merges";

// GGUF token types (llama_token_type) -> attribute bits.
uint32_t AttrFromType(int64_t type) {
  switch (type) {
    case 1: return kAttrNormal;
    case 2: return kAttrUnknown;
    case 3: return kAttrControl;
    case 4: return kAttrUserDefined;
    case 5: return kAttrUnused;
    case 6: return kAttrByte;
    default: return kAttrUndefined;
  }
}

const GgufValue::Array& ArrayOf(const GgufFile& f, const char* key, const char* what) {
  const GgufValue* v = f.Find(key);
  if (!v) Fail("{}: no vocabulary: missing key {}", f.path(), key);
  if (!v->is_array()) Fail("{}: key {} must be an array of {}", f.path(), key, what);
  return v->as_array();
}

bool IsInteger(GgufValueType t) {
  return t == GgufValueType::UINT8 || t == GgufValueType::INT8 || t == GgufValueType::UINT16 ||
         t == GgufValueType::INT16 || t == GgufValueType::UINT32 || t == GgufValueType::INT32 ||
         t == GgufValueType::UINT64 || t == GgufValueType::INT64;
}

}  // namespace

Tokenizer Tokenizer::FromGguf(const GgufFile& f) {
  auto impl = std::make_unique<Impl>();
  Impl& v = *impl;
  {
    const GgufValue* m = f.Find(kKeyModel);
    if (!m || !m->is_string()) Fail("{}: no vocabulary: missing string key {}", f.path(), kKeyModel);
    v.model = m->as_string();
  }
  v.pre = f.GetStringOr("tokenizer.ggml.pre", "");

  PreTokenizerConfig pre_config;
  if (v.model == "llama") {
    v.type = VocabType::kSpm;
    v.bos = 1, v.eos = 2, v.unk = 0;
    v.add_space_prefix = true;
    v.clean_spaces = false;
    v.add_bos = true;
    v.add_eos = false;
  } else if (v.model == "gpt2") {
    v.type = VocabType::kBpe;
    const GgufValue* merges = f.Find(kKeyMerges);
    if (!merges) Fail("{}: gpt2 vocabulary without merges (key {})", f.path(), kKeyMerges);
    if (!merges->is_array() || merges->elem_type() != GgufValueType::STRING) {
      Fail("{}: key {} must be an array of strings", f.path(), kKeyMerges);
    }
    const auto& items = merges->as_array();
    v.bpe_ranks.reserve(items.size());
    std::string key;
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string& word = items[i].as_string();
      // "left right", split at the first space after the first byte; no space -> ("", "").
      std::string_view first, second;
      const size_t pos = word.find(' ', 1);
      if (pos != std::string::npos) {
        first = std::string_view(word).substr(0, pos);
        second = std::string_view(word).substr(pos + 1);
      }
      Impl::MergeKey(key, first, second);
      v.bpe_ranks.try_emplace(key, static_cast<int32_t>(i));
    }
    v.bos = 11, v.eos = 11, v.unk = -1;
    v.add_space_prefix = false;
    v.clean_spaces = true;
    pre_config = PreTokenizerConfigFor(v.pre);
    v.clean_spaces = pre_config.clean_spaces;
    v.ignore_merges = pre_config.ignore_merges;
    if (pre_config.force_add_bos) v.add_bos = true;
    if (pre_config.no_bos) v.bos = -1;
    v.pretokenizer.emplace(pre_config.regexes);
  } else {
    Fail("{}: tokenizer model '{}' ({}) is not supported (ember supports 'llama' and 'gpt2')",
         f.path(), v.model, kKeyModel);
  }
  v.add_space_prefix = f.GetBoolOr("tokenizer.ggml.add_space_prefix", v.add_space_prefix);

  // Tokens, scores and types.
  const auto& tokens = ArrayOf(f, kKeyTokens, "strings");
  if (f.Find(kKeyTokens)->elem_type() != GgufValueType::STRING) {
    Fail("{}: key {} must be an array of strings", f.path(), kKeyTokens);
  }
  const size_t n = tokens.size();
  if (n == 0) Fail("{}: key {} is empty", f.path(), kKeyTokens);
  if (n > static_cast<size_t>(INT32_MAX)) Fail("{}: key {} is too long", f.path(), kKeyTokens);
  const GgufValue::Array* scores = nullptr;
  if (f.Has(kKeyScores)) {
    scores = &ArrayOf(f, kKeyScores, "numbers");
    const GgufValueType t = f.Find(kKeyScores)->elem_type();
    if (t != GgufValueType::FLOAT32 && t != GgufValueType::INT32) {
      Fail("{}: key {} must be an array of float32 or int32", f.path(), kKeyScores);
    }
    if (scores->size() < n) {
      Fail("{}: key {} has {} entries for {} tokens", f.path(), kKeyScores, scores->size(), n);
    }
  }
  const GgufValue::Array* types = nullptr;
  if (f.Has(kKeyTypes)) {
    types = &ArrayOf(f, kKeyTypes, "int32");
    if (f.Find(kKeyTypes)->elem_type() != GgufValueType::INT32) {
      Fail("{}: key {} must be an array of int32", f.path(), kKeyTypes);
    }
    if (types->size() < n) {
      Fail("{}: key {} has {} entries for {} tokens", f.path(), kKeyTypes, types->size(), n);
    }
  }
  v.text.resize(n);
  v.score.assign(n, 0.0f);
  v.attr.assign(n, kAttrNormal);
  for (size_t i = 0; i < n; ++i) {
    std::string word = tokens[i].as_string();
    if (word.empty()) word = "[EMPTY_" + std::to_string(i) + "]";
    v.token_to_id[word] = static_cast<int32_t>(i);
    v.text[i] = std::move(word);
    if (scores) {
      const GgufValue& s = (*scores)[i];
      v.score[i] = s.is_float() ? static_cast<float>(s.as_float())
                                : static_cast<float>(s.is_signed() ? s.as_signed() : 0);
    }
    if (types) v.attr[i] = AttrFromType((*types)[i].as_signed());
  }
  if (v.token_to_id.size() != n) {
    Fail("{}: key {} holds duplicate tokens ({} distinct of {})", f.path(), kKeyTokens,
         v.token_to_id.size(), n);
  }
  const int32_t n_tokens = static_cast<int32_t>(n);

  // The newline token (before the special-token keys are read, as in llama.cpp).
  if (v.type == VocabType::kSpm) {
    v.linefeed = v.ByteToTokenSpm('\n');
    if (v.linefeed < 0) v.linefeed = v.pad;
  } else {
    std::vector<int32_t> ids;
    v.EncodeBpe("\n", ids);
    v.linefeed = ids.empty() ? v.pad : ids[0];
  }

  // Special token ids from the metadata; an id outside the vocabulary is ignored.
  const std::pair<const char*, int32_t*> special_keys[] = {
      {"tokenizer.ggml.bos_token_id", &v.bos},
      {"tokenizer.ggml.eos_token_id", &v.eos},
      {"tokenizer.ggml.eot_token_id", &v.eot},
      {"tokenizer.ggml.eom_token_id", &v.eom},
      {"tokenizer.ggml.unknown_token_id", &v.unk},
      {"tokenizer.ggml.seperator_token_id", &v.sep},
      {"tokenizer.ggml.padding_token_id", &v.pad},
      {"tokenizer.ggml.mask_token_id", &v.mask},
      {"tokenizer.ggml.fim_pre_token_id", &v.fim_pre},
      {"tokenizer.ggml.fim_suf_token_id", &v.fim_suf},
      {"tokenizer.ggml.fim_mid_token_id", &v.fim_mid},
      {"tokenizer.ggml.fim_pad_token_id", &v.fim_pad},
      {"tokenizer.ggml.fim_rep_token_id", &v.fim_rep},
      {"tokenizer.ggml.fim_sep_token_id", &v.fim_sep},
      {"tokenizer.ggml.prefix_token_id", &v.fim_pre},
      {"tokenizer.ggml.suffix_token_id", &v.fim_suf},
      {"tokenizer.ggml.middle_token_id", &v.fim_mid},
  };
  for (const auto& [key, id] : special_keys) {
    if (*id >= n_tokens) *id = -1;
    const GgufValue* val = f.Find(key);
    if (!val || !IsInteger(val->type())) continue;
    const int64_t new_id = val->is_signed() ? val->as_signed() : static_cast<int64_t>(
                                                                      std::min<uint64_t>(val->as_unsigned(), INT64_MAX));
    if (new_id >= 0 && new_id < n_tokens) *id = static_cast<int32_t>(new_id);
  }
  v.add_bos = f.GetBoolOr("tokenizer.ggml.add_bos_token", v.add_bos);
  v.add_eos = f.GetBoolOr("tokenizer.ggml.add_eos_token", v.add_eos);

  // Special tokens recognised by their text (llama.cpp's heuristics, in its map order).
  auto mark_control = [&](int32_t id) { v.attr[id] |= kAttrControl; };
  // llama.cpp checks all of these in one pass over the map; each slot takes the first of its
  // names met in map order.
  struct Detect {
    int32_t* slot;
    std::initializer_list<const char*> names;
  };
  const Detect detects[] = {
      {&v.eot, {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>",
                "<end_of_utterance>"}},
      {&v.eom, {"<|eom_id|>"}},
      {&v.fim_pre, {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>",
                    "▁<PRE>", "<|code_prefix|>", "<|prefix|>"}},
      {&v.fim_suf, {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>",
                    "▁<SUF>", "<|code_suffix|>", "<|suffix|>"}},
      {&v.fim_mid, {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>",
                    "▁<MID>", "<|code_middle|>", "<|middle|>"}},
      {&v.fim_pad, {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}},
      {&v.fim_rep, {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}},
      {&v.fim_sep, {"<|file_sep|>"}},
  };
  std::unordered_map<std::string_view, int32_t*> name_to_slot;
  for (const Detect& d : detects) {
    for (const char* name : d.names) name_to_slot.emplace(name, d.slot);
  }
  // Slots already set by the metadata keep their value.
  std::vector<int32_t*> open_slots;
  for (const Detect& d : detects) {
    if (*d.slot == -1) open_slots.push_back(d.slot);
  }
  if (!open_slots.empty()) {
    for (const auto& [word, id] : v.token_to_id) {
      if (word.size() > 32) continue;
      const auto it = name_to_slot.find(word);
      if (it == name_to_slot.end() || *it->second != -1) continue;
      if (std::find(open_slots.begin(), open_slots.end(), it->second) == open_slots.end()) continue;
      *it->second = id;
      mark_control(id);
    }
  }

  // Control tokens whose text says "unused" are unused.
  for (int32_t id = 0; id < n_tokens; ++id) {
    if ((v.attr[id] & kAttrControl) && v.text[id].find("unused") != std::string::npos) {
      v.attr[id] |= kAttrUnused;
    }
  }

  // End-of-generation tokens.
  std::set<int32_t> eog;
  for (int32_t id : {v.fim_pad, v.fim_rep, v.fim_sep}) {
    if (id != -1) eog.insert(id);
  }
  static const char* const kEogTexts[] = {
      "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
      "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
      "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
      "<｜end▁of▁sentence｜>", "[e~["};
  for (const char* t : kEogTexts) {
    const int32_t id = v.Find(t);
    if (id < 0) continue;
    eog.insert(id);
    mark_control(id);
  }
  for (const char* t : {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}) {
    const int32_t id = v.Find(t);
    if (id >= 0) v.attr[id] = kAttrUserDefined;
  }
  for (int32_t id : {v.eos, v.eot, v.eom}) {
    if (id != -1) eog.insert(id);
  }
  {
    bool has_return = false, has_call = false, has_end = false, has_flush = false;
    int32_t end_id = -1;
    for (int32_t id : eog) {
      const std::string& t = v.text[id];
      if (t == "<|return|>") has_return = true;
      else if (t == "<|call|>" || t == "<|calls|>") has_call = true;
      else if (t == "<|flush|>") has_flush = true;
      else if (t == "<|end|>") has_end = true, end_id = id;
    }
    if ((has_return && has_call && has_end) || (has_call && has_flush && has_end)) {
      eog.erase(end_id);
      v.attr[end_id] = kAttrUserDefined;
    }
  }
  {
    bool has_marker = false;
    int32_t s_id = -1;
    for (int32_t id : eog) {
      const std::string& t = v.text[id];
      if (t == "<|tool_response>" || t == "<|plamo:eos|>") has_marker = true;
      else if (t == "</s>") s_id = id;
    }
    if (has_marker && s_id != -1) {
      eog.erase(s_id);
      v.attr[s_id] = kAttrNormal;
    }
  }
  v.eog.assign(eog.begin(), eog.end());

  // Special tokens, longest first. std::sort (not stable) on ids in ascending order, as llama.cpp
  // does, so that equal-length tokens end up in the same order.
  for (int32_t id = 0; id < n_tokens; ++id) {
    if (v.attr[id] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) v.special_tokens.push_back(id);
  }
  std::sort(v.special_tokens.begin(), v.special_tokens.end(), [&](int32_t a, int32_t b) {
    return v.text[a].size() > v.text[b].size();
  });
  v.special_trie.emplace_back();
  for (int32_t id : v.special_tokens) {
    int32_t node = 0;
    for (char c : v.text[id]) {
      const uint8_t byte = static_cast<uint8_t>(c);
      auto& children = v.special_trie[node].children;
      auto it = std::lower_bound(children.begin(), children.end(), byte,
                                 [](const auto& p, uint8_t b) { return p.first < b; });
      if (it != children.end() && it->first == byte) {
        node = it->second;
      } else {
        const int32_t child = static_cast<int32_t>(v.special_trie.size());
        children.insert(it, {byte, child});
        v.special_trie.emplace_back();
        node = child;
      }
    }
    v.special_trie[node].token = id;
  }

  v.piece_cache.resize(n);
  for (int32_t id = 0; id < n_tokens; ++id) v.piece_cache[id] = v.PieceUncached(id);

  // Per-model attributes llama.cpp sets by name.
  {
    std::string name = f.GetStringOr("general.name", "");
    std::transform(name.begin(), name.end(), name.begin(),
                   [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    const std::string arch = f.GetStringOr("general.architecture", "");
    auto contains = [](const std::string& s, std::initializer_list<const char*> subs) {
      for (const char* sub : subs) {
        if (s.find(sub) != std::string::npos) return true;
      }
      return false;
    };
    auto set_attr = [&](const char* token, uint32_t a, bool on) {
      const int32_t id = v.Find(token);
      if (id < 0) return;
      v.attr[id] = on ? (v.attr[id] | a) : (v.attr[id] & ~a);
    };
    if (contains(v.pre, {"jina-v2-de", "jina-v2-es", "jina-v2-code"}) ||
        contains(arch, {"nomic-bert-moe", "jina-bert-v3"})) {
      set_attr("<mask>", kAttrLstrip, true);
    } else if (contains(name, {"phi-3", "phi3"})) {
      for (int32_t id : v.special_tokens) v.attr[id] |= kAttrRstrip;
      set_attr("</s>", kAttrRstrip, true);
      for (const char* t : {"<unk>", "<s>", "<|endoftext|>"}) set_attr(t, kAttrRstrip, false);
    } else if (contains(name, {"modern-bert"})) {
      set_attr("[MASK]", kAttrLstrip, true);
    }
  }
  return Tokenizer(std::move(impl));
}

}  // namespace ember
