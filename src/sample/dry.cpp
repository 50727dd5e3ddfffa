// DRY penalty; algorithm and constants as llama.cpp's llama-sampler.cpp (see dry.h).
#include "sample/dry.h"

#include <algorithm>
#include <cmath>

namespace ember {
namespace {

constexpr size_t kMaxBreakerChars = 40;
constexpr size_t kMaxBreakerTail = 20;

// For every token whose text contains the breaker, or ends with a prefix of it, record the
// tokens that must follow to complete the breaker (llama.cpp's get_overlapping_token_sequences).
void AddBreaker(const std::string& str, const std::vector<std::string>& pieces,
                const TokenizeFn& tokenize,
                std::unordered_multimap<int32_t, std::vector<int32_t>>& out) {
  for (size_t id = 0; id < pieces.size(); ++id) {
    const std::string& word = pieces[id];
    const auto token = static_cast<int32_t>(id);
    if (word.find(str) != std::string::npos) {
      out.emplace(token, std::vector<int32_t>());
      continue;
    }
    size_t pos = static_cast<size_t>(-1);
    while ((pos = word.find(str[0], pos + 1)) != std::string::npos) {
      bool match = true;
      size_t i = 1;
      for (; i < str.size() && i + pos < word.size(); ++i) {
        if (word[pos + i] != str[i]) {
          match = false;
          break;
        }
      }
      if (!match) continue;
      std::vector<int32_t> tail = tokenize ? tokenize(str.substr(i)) : std::vector<int32_t>();
      if (tail.size() > kMaxBreakerTail) tail.resize(kMaxBreakerTail);
      auto range = out.equal_range(token);
      bool found = false;
      for (auto it = range.first; it != range.second; ++it) {
        if (it->second == tail) {
          found = true;
          break;
        }
      }
      if (!found) out.emplace(token, std::move(tail));
    }
  }
}

// Without a tokenizer, tokenize a breaker tail greedily by the longest matching piece: exact
// for the single-character default breakers (their tails are always empty).
TokenizeFn GreedyTokenizer(const std::vector<std::string>& pieces) {
  return [&pieces](const std::string& text) {
    std::vector<int32_t> ids;
    size_t at = 0;
    while (at < text.size()) {
      size_t best_len = 0;
      int32_t best = -1;
      for (size_t id = 0; id < pieces.size(); ++id) {
        const std::string& p = pieces[id];
        if (p.size() > best_len && text.compare(at, p.size(), p) == 0) {
          best_len = p.size();
          best = static_cast<int32_t>(id);
        }
      }
      if (best < 0) break;
      ids.push_back(best);
      at += best_len;
    }
    return ids;
  };
}

}  // namespace

DryState::DryState(float multiplier, float base, int32_t allowed_length, int32_t penalty_last_n,
                   const std::vector<std::string>& breakers,
                   const std::vector<std::string>& pieces, const TokenizeFn& tokenize)
    : multiplier_(multiplier),
      base_(base),
      allowed_length_(allowed_length),
      last_n_(std::max(penalty_last_n, 0)) {
  if (!Enabled()) return;
  const TokenizeFn fallback = GreedyTokenizer(pieces);
  for (std::string b : breakers) {
    if (b.empty()) continue;
    if (b.size() > kMaxBreakerChars) b.resize(kMaxBreakerChars);
    AddBreaker(b, pieces, tokenize ? tokenize : fallback, breakers_);
  }
  ring_.resize(static_cast<size_t>(last_n_));
  repeat_count_.assign(static_cast<size_t>(last_n_), 0);
}

bool DryState::Enabled() const { return multiplier_ != 0.0f && base_ >= 1.0f && last_n_ != 0; }

int32_t DryState::Recent(size_t i) const {
  return ring_[(ring_first_ + ring_size_ - i - 1) % ring_.size()];
}

void DryState::Accept(int32_t token) {
  if (!Enabled()) return;
  const size_t cap = ring_.size();
  if (ring_size_ == cap) {
    ring_[ring_first_] = token;
    ring_first_ = (ring_first_ + 1) % cap;
  } else {
    ring_[(ring_first_ + ring_size_) % cap] = token;
    ring_size_++;
  }
}

void DryState::Reset() {
  ring_first_ = 0;
  ring_size_ = 0;
  max_token_repeat_.clear();
}

void DryState::Apply(CandidateArray& cur) {
  if (!Enabled()) return;
  const int last_n_repeat = std::min(static_cast<int>(ring_size_), last_n_);
  if (last_n_repeat <= allowed_length_) return;
  repeat_count_.assign(static_cast<size_t>(last_n_repeat), 0);
  max_token_repeat_.clear();

  // Step 1: the nearest sequence breaker limits how far back a repeat may reach.
  int rep_limit = last_n_repeat;
  for (int i = 0; i < last_n_repeat; ++i) {
    const int32_t token = Recent(static_cast<size_t>(i));
    auto range = breakers_.equal_range(token);
    if (range.first == breakers_.end()) continue;
    int longest_match = -1;
    for (auto it = range.first; it != range.second; ++it) {
      const int seq_len = static_cast<int>(it->second.size());
      if (seq_len > longest_match && seq_len <= i) {
        bool match = true;
        for (int offset = 0; offset < seq_len; ++offset) {
          if (it->second[static_cast<size_t>(offset)] !=
              Recent(static_cast<size_t>(i - offset - 1))) {
            match = false;
            break;
          }
        }
        if (match) longest_match = seq_len;
      }
    }
    if (longest_match >= 0) {
      rep_limit = i - longest_match;
      break;
    }
  }
  if (rep_limit < allowed_length_) return;

  // Step 2: Z-algorithm over the reversed context: repeat_count_[last - k] is the length of the
  // longest suffix of the context that also ends k tokens earlier.
  {
    const int last = last_n_repeat - 1;
    int rt = 0;
    int lt = 0;
    for (int k = 1; k < last_n_repeat; ++k) {
      if (k > rt) {
        int n = 0;
        while (n + k < last_n_repeat &&
               Recent(static_cast<size_t>(n)) == Recent(static_cast<size_t>(n + k))) {
          ++n;
        }
        repeat_count_[static_cast<size_t>(last - k)] = std::min(n, rep_limit);
        if (n > 0) {
          lt = k;
          rt = k + n - 1;
        }
      } else {
        const int p = k - lt;
        const int right_part_len = rt - k + 1;
        if (repeat_count_[static_cast<size_t>(last - p)] < right_part_len) {
          repeat_count_[static_cast<size_t>(last - k)] =
              std::min(repeat_count_[static_cast<size_t>(last - p)], rep_limit);
        } else {
          int i = rt + 1;
          while (i < last_n_repeat &&
                 Recent(static_cast<size_t>(i)) == Recent(static_cast<size_t>(i - k))) {
            i += 1;
          }
          repeat_count_[static_cast<size_t>(last - k)] = std::min(i - k, rep_limit);
          lt = k;
          rt = i - 1;
        }
      }
    }
  }

  // Step 3: the token after each repeat would extend it; keep the longest repeat per token.
  for (int i = 0; i < last_n_repeat - 1; ++i) {
    const int repeat_len = repeat_count_[static_cast<size_t>(i)];
    if (repeat_len >= allowed_length_) {
      const int32_t token = Recent(static_cast<size_t>(last_n_repeat - 2 - i));
      auto it = max_token_repeat_.find(token);
      if (it == max_token_repeat_.end() || it->second < repeat_len) {
        max_token_repeat_[token] = repeat_len;
      }
    }
  }

  // Step 4: penalize, clamping the exponent so base^exp stays finite in float.
  constexpr float kFloatMaxLog = 88.7228391f;
  int max_exponent = 0;
  if (base_ > 1.000001f) max_exponent = static_cast<int>(kFloatMaxLog / std::log(base_));
  for (size_t i = 0; i < cur.size; ++i) {
    auto it = max_token_repeat_.find(cur.data[i].id);
    if (it == max_token_repeat_.end()) continue;
    bool is_single_token_breaker = false;
    auto range = breakers_.equal_range(cur.data[i].id);
    for (auto b = range.first; b != range.second; ++b) {
      if (b->second.empty()) {
        is_single_token_breaker = true;
        break;
      }
    }
    if (is_single_token_breaker) continue;
    int repeat_exp = it->second - allowed_length_;
    if (max_exponent > 0 && repeat_exp > max_exponent) repeat_exp = max_exponent;
    const auto penalty = static_cast<float>(multiplier_ * std::pow(base_, repeat_exp));
    cur.data[i].logit -= penalty;
  }
  cur.sorted = false;
}

}  // namespace ember
