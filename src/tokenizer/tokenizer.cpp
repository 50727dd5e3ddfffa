// Ids -> text (llama_token_to_piece / llama_detokenize semantics), accessors and the streaming
// decoder. Loading is in tokenizer_load.cpp, encoding in tokenizer_encode.cpp.
#include "tokenizer/tokenizer.h"

#include <algorithm>

#include "core/error.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace ember {
namespace {

void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s, pos, std::string::npos);
  s.swap(out);
}

// A byte-alphabet token text back to bytes; characters outside the alphabet are spelled out as
// llama.cpp's llama_decode_text does.
std::string DecodeByteAlphabet(const std::string& text) {
  std::string out;
  for (uint32_t cpt : unicode::DecodeUtf8Lenient(text)) {
    const int byte = unicode::UnicodeToByte(cpt);
    if (byte >= 0) {
      out.push_back(static_cast<char>(byte));
      continue;
    }
    const std::string utf8 = unicode::CodepointToUtf8(cpt);
    out += "[UNK_BYTE_0x";
    for (char c : utf8) out += fmt::format("{:02x}", static_cast<uint8_t>(c));
    out += text + "]";
  }
  return out;
}

}  // namespace

std::string Tokenizer::Impl::PieceUncached(int32_t id) const {
  const uint32_t a = attr[id];
  const std::string& t = text[id];
  if (a & (kAttrUnknown | kAttrControl | kAttrUserDefined)) return t;
  if (a & kAttrNormal) {
    if (type == VocabType::kSpm) {
      std::string r = t;
      ReplaceAll(r, "\xE2\x96\x81", " ");
      return r;
    }
    return DecodeByteAlphabet(t);
  }
  if (a & kAttrByte) {
    // "<0xXX>": llama.cpp parses the two characters after "<0x" with strtol.
    const std::string hex = t.size() >= 5 ? t.substr(3, 2) : std::string();
    return std::string(1, static_cast<char>(std::strtol(hex.c_str(), nullptr, 16)));
  }
  return {};  // undefined or unused: nothing
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

std::string Tokenizer::TokenToPiece(int32_t id, bool special) const {
  if (id < 0 || id >= n_vocab()) Fail("token id {} is outside the vocabulary (0..{})", id, n_vocab() - 1);
  if (!special && (impl_->attr[id] & (kAttrUnknown | kAttrControl))) return {};
  return impl_->piece_cache[id];
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, bool remove_special,
                              bool unparse_special) const {
  const Impl& v = *impl_;
  bool remove_space = v.add_space_prefix;
  if (remove_special && v.add_bos && !ids.empty() && ids.front() == v.bos) {
    remove_space = false;  // (sic) llama.cpp keeps the space when it drops the BOS
    ids = ids.subspan(1);
  }
  if (remove_special && v.add_eos && !ids.empty() && ids.back() == v.eos) {
    ids = ids.first(ids.size() - 1);
  }
  std::string text;
  for (int32_t id : ids) {
    std::string piece = TokenToPiece(id, unparse_special);
    if (remove_space && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    remove_space = false;
    text += piece;
  }
  if (!v.clean_spaces || text.empty()) return text;

  // llama.cpp's three clean-up passes (clean_up_tokenization_spaces), index for index.
  std::string& s = text;
  int32_t total = static_cast<int32_t>(s.size());
  {  // " ?", " !", " .", " ,"
    const int32_t total1 = total;
    total = total ? 1 : 0;
    for (int32_t i = 1; i < total1; ++i) {
      const char x = s[i];
      if (s[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) --total;
      s[total++] = x;
    }
  }
  {  // " ' " -> "'"
    const int32_t total2 = total;
    total = total ? 1 : 0;
    for (int32_t i = 1; i < total2; ++i) {
      const char x = s[i];
      if (x == '\'' && i + 1 < total2 && s[i - 1] == ' ' && s[i + 1] == ' ') {
        --total;
        s[++i] = '\0';
      }
      s[total++] = x;
    }
  }
  {  // " 's", " 'm", " 're", " 've"
    const int32_t total3 = total;
    total = total ? 1 : 0;
    for (int32_t i = 1; i < total3; ++i) {
      const char x = s[i];
      if (s[i - 1] == ' ' && x == '\'' && i + 1 < total3) {
        const char x1 = s[i + 1];
        if (x1 == 's' || x1 == 'm') {
          --total;
        } else if (x1 != 't' && x1 != 'd' && i + 2 < total3) {
          const char x2 = s[i + 2];
          if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) --total;
        }
      }
      s[total++] = x;
    }
  }
  s.resize(static_cast<size_t>(total));
  return text;
}

int32_t Tokenizer::n_vocab() const { return static_cast<int32_t>(impl_->text.size()); }
int32_t Tokenizer::bos() const { return impl_->bos; }
int32_t Tokenizer::eos() const { return impl_->eos; }
int32_t Tokenizer::eot() const { return impl_->eot; }
int32_t Tokenizer::eom() const { return impl_->eom; }
int32_t Tokenizer::unk() const { return impl_->unk; }
int32_t Tokenizer::pad() const { return impl_->pad; }
int32_t Tokenizer::nl() const { return impl_->linefeed; }
bool Tokenizer::IsEog(int32_t id) const {
  return id >= 0 && std::binary_search(impl_->eog.begin(), impl_->eog.end(), id);
}
const std::vector<int32_t>& Tokenizer::eog_ids() const { return impl_->eog; }
bool Tokenizer::add_bos() const { return impl_->add_bos; }
bool Tokenizer::add_eos() const { return impl_->add_eos; }
bool Tokenizer::add_space_prefix() const { return impl_->add_space_prefix; }
VocabType Tokenizer::type() const { return impl_->type; }
const std::string& Tokenizer::model_name() const { return impl_->model; }
const std::string& Tokenizer::pre_name() const { return impl_->pre; }

const std::string& Tokenizer::TokenText(int32_t id) const {
  if (id < 0 || id >= n_vocab()) Fail("token id {} is outside the vocabulary (0..{})", id, n_vocab() - 1);
  return impl_->text[id];
}
float Tokenizer::TokenScore(int32_t id) const {
  TokenText(id);
  return impl_->score[id];
}
uint32_t Tokenizer::TokenAttrs(int32_t id) const {
  TokenText(id);
  return impl_->attr[id];
}
int32_t Tokenizer::FindToken(std::string_view text) const { return impl_->Find(std::string(text)); }

StreamingDecoder::StreamingDecoder(const Tokenizer& tok, bool special) : tok_(&tok), special_(special) {}

std::string StreamingDecoder::Push(int32_t id) {
  pending_ += tok_->TokenToPiece(id, special_);
  return Drain(false);
}

std::string StreamingDecoder::Flush() { return Drain(true); }

std::string StreamingDecoder::Drain(bool final) {
  std::string out;
  size_t i = 0;
  while (i < pending_.size()) {
    const std::string_view rest = std::string_view(pending_).substr(i);
    const size_t valid = unicode::ValidUtf8Prefix(rest);
    out.append(rest.substr(0, valid));
    i += valid;
    if (i == pending_.size()) break;
    if (!final && unicode::IsIncompleteUtf8(std::string_view(pending_).substr(i))) break;
    out += "\xEF\xBF\xBD";  // a byte that can never start or continue valid UTF-8 here
    ++i;
  }
  pending_.erase(0, i);
  return out;
}

}  // namespace ember
