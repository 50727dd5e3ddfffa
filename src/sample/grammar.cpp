// GBNF matcher; a port of llama.cpp's stack machine (see grammar.h) on flat element indices.
#include "sample/grammar.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"

namespace ember {

using GT = GrammarElementType;

std::pair<std::vector<uint32_t>, PartialUtf8> DecodeUtf8(std::string_view src, PartialUtf8 start) {
  static const int kLookup[] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 3, 4};
  std::vector<uint32_t> cps;
  cps.reserve(src.size() + 1);
  size_t pos = 0;
  const size_t n = src.size();
  auto at_end = [&] { return pos >= n || src[pos] == 0; };
  uint32_t value = start.value;
  int n_remain = start.n_remain;
  // Finish a character left open by the previous token.
  while (!at_end() && n_remain > 0) {
    const auto next = static_cast<uint8_t>(src[pos]);
    if ((next >> 6) != 2) {
      cps.push_back(0);
      return {std::move(cps), PartialUtf8{0, -1}};
    }
    value = (value << 6) + (next & 0x3F);
    ++pos;
    --n_remain;
  }
  if (start.n_remain > 0 && n_remain == 0) cps.push_back(value);
  while (!at_end()) {
    const auto first = static_cast<uint8_t>(src[pos]);
    n_remain = kLookup[first >> 4] - 1;
    if (n_remain < 0) {
      cps.clear();
      cps.push_back(0);
      return {std::move(cps), PartialUtf8{0, n_remain}};
    }
    const auto mask = static_cast<uint8_t>((1 << (7 - n_remain)) - 1);
    value = first & mask;
    ++pos;
    while (!at_end() && n_remain > 0) {
      value = (value << 6) + (static_cast<uint8_t>(src[pos]) & 0x3F);
      ++pos;
      --n_remain;
    }
    if (n_remain == 0) cps.push_back(value);
  }
  cps.push_back(0);
  return {std::move(cps), PartialUtf8{value, n_remain}};
}

namespace {

bool IsEnd(GT t) { return t == GT::kEnd || t == GT::kAlt; }

// llama.cpp's llama_grammar_detect_left_recursion.
bool DetectLeftRecursion(const std::vector<GrammarRule>& rules, size_t rule_index,
                         std::vector<bool>& visited, std::vector<bool>& in_progress,
                         std::vector<bool>& may_be_empty) {
  if (in_progress[rule_index]) return true;
  in_progress[rule_index] = true;
  const GrammarRule& rule = rules[rule_index];
  bool at_rule_start = true;
  for (const GrammarElement& e : rule) {
    if (IsEnd(e.type)) {
      if (at_rule_start) {
        may_be_empty[rule_index] = true;
        break;
      }
      at_rule_start = true;
    } else {
      at_rule_start = false;
    }
  }
  bool recurse = true;
  for (const GrammarElement& e : rule) {
    if (e.type == GT::kRuleRef && recurse) {
      if (DetectLeftRecursion(rules, e.value, visited, in_progress, may_be_empty)) return true;
      if (!may_be_empty[e.value]) recurse = false;
    } else if (IsEnd(e.type)) {
      recurse = true;
    } else {
      recurse = false;
    }
  }
  in_progress[rule_index] = false;
  visited[rule_index] = true;
  return false;
}

}  // namespace

Grammar Grammar::Parse(std::string_view gbnf, std::string_view root,
                       const std::vector<std::string>* pieces) {
  ParsedGrammar parsed = ParseGbnf(gbnf, pieces);
  if (parsed.rules.empty()) Fail("grammar: no rules");
  auto root_it = parsed.symbol_ids.find(std::string(root));
  if (root_it == parsed.symbol_ids.end()) Fail("grammar: no rule named '{}' (the start rule)", root);

  const size_t n_rules = parsed.rules.size();
  std::vector<bool> visited(n_rules);
  std::vector<bool> in_progress(n_rules);
  std::vector<bool> may_be_empty(n_rules);
  for (size_t i = 0; i < n_rules; i++) {
    if (visited[i]) continue;
    if (DetectLeftRecursion(parsed.rules, i, visited, in_progress, may_be_empty)) {
      std::string name = std::to_string(i);
      for (const auto& [k, v] : parsed.symbol_ids) {
        if (v == i) name = k;
      }
      Fail("grammar: left recursion in rule '{}' (not supported, as in llama.cpp)", name);
    }
  }

  Grammar g;
  for (const GrammarRule& rule : parsed.rules) {
    g.rule_start_.push_back(static_cast<uint32_t>(g.elements_.size()));
    g.elements_.insert(g.elements_.end(), rule.begin(), rule.end());
  }
  // One initial stack per alternate of the root rule, expanded to terminals.
  uint32_t pos = g.rule_start_[root_it->second];
  while (true) {
    Stack stack;
    if (!g.IsEndOfSequence(pos)) stack.push_back(pos);
    g.AdvanceStack(stack, g.stacks_);
    while (!g.IsEndOfSequence(pos)) pos++;
    if (g.elements_[pos].type == GT::kAlt) {
      pos++;
    } else {
      break;
    }
  }
  return g;
}

bool Grammar::IsEndOfSequence(uint32_t pos) const { return IsEnd(elements_[pos].type); }

std::pair<bool, uint32_t> Grammar::MatchChar(uint32_t pos, uint32_t chr) const {
  bool found = false;
  const bool is_positive = elements_[pos].type == GT::kChar || elements_[pos].type == GT::kCharAny;
  EMBER_CHECK(is_positive || elements_[pos].type == GT::kCharNot);
  do {
    if (elements_[pos + 1].type == GT::kCharRngUpper) {
      found = found || (elements_[pos].value <= chr && chr <= elements_[pos + 1].value);
      pos += 2;
    } else if (elements_[pos].type == GT::kCharAny) {
      found = true;
      pos += 1;
    } else {
      found = found || elements_[pos].value == chr;
      pos += 1;
    }
  } while (elements_[pos].type == GT::kCharAlt);
  return {found == is_positive, pos};
}

bool Grammar::MatchPartialChar(uint32_t pos, PartialUtf8 partial) const {
  const bool is_positive = elements_[pos].type == GT::kChar || elements_[pos].type == GT::kCharAny;
  EMBER_CHECK(is_positive || elements_[pos].type == GT::kCharNot);
  const uint32_t partial_value = partial.value;
  const int n_remain = partial.n_remain;
  // Invalid sequence, or a 7-bit char split over 2 bytes (overlong).
  if (n_remain < 0 || (n_remain == 1 && partial_value < 2)) return false;
  uint32_t low = partial_value << (n_remain * 6);
  const uint32_t high = low | ((1u << (n_remain * 6)) - 1);
  if (low == 0) {
    if (n_remain == 2) {
      low = 1u << 11;
    } else if (n_remain == 3) {
      low = 1u << 16;
    }
  }
  do {
    if (elements_[pos + 1].type == GT::kCharRngUpper) {
      if (elements_[pos].value <= high && low <= elements_[pos + 1].value) return is_positive;
      pos += 2;
    } else if (elements_[pos].type == GT::kCharAny) {
      return true;
    } else {
      if (low <= elements_[pos].value && elements_[pos].value <= high) return is_positive;
      pos += 1;
    }
  } while (elements_[pos].type == GT::kCharAlt);
  return !is_positive;
}

void Grammar::AdvanceStack(const Stack& stack, std::vector<Stack>& new_stacks) const {
  std::vector<Stack> todo;
  todo.push_back(stack);
  std::set<Stack> seen;
  while (!todo.empty()) {
    Stack cur = std::move(todo.back());
    todo.pop_back();
    auto [it, inserted] = seen.insert(std::move(cur));
    if (!inserted) continue;
    const Stack& curr = *it;
    if (curr.empty()) {
      if (std::find(new_stacks.begin(), new_stacks.end(), curr) == new_stacks.end()) {
        new_stacks.push_back(curr);
      }
      continue;
    }
    const uint32_t pos = curr.back();
    switch (elements_[pos].type) {
      case GT::kRuleRef: {
        uint32_t subpos = rule_start_[elements_[pos].value];
        while (true) {
          Stack next(curr.begin(), curr.end() - 1);
          if (!IsEndOfSequence(pos + 1)) next.push_back(pos + 1);
          if (!IsEndOfSequence(subpos)) next.push_back(subpos);
          todo.push_back(std::move(next));
          while (!IsEndOfSequence(subpos)) subpos++;
          if (elements_[subpos].type == GT::kAlt) {
            subpos++;
          } else {
            break;
          }
        }
        break;
      }
      case GT::kChar:
      case GT::kCharNot:
      case GT::kCharAny:
      case GT::kToken:
      case GT::kTokenNot:
        if (std::find(new_stacks.begin(), new_stacks.end(), curr) == new_stacks.end()) {
          new_stacks.push_back(curr);
        }
        break;
      default:
        EMBER_CHECK_MSG(false, "grammar stack on a non-terminal element");
    }
  }
}

void Grammar::AcceptChr(const Stack& stack, uint32_t chr, std::vector<Stack>& new_stacks) const {
  if (stack.empty()) return;
  const uint32_t pos = stack.back();
  const GT type = elements_[pos].type;
  if (type == GT::kToken || type == GT::kTokenNot) return;
  auto [ok, next] = MatchChar(pos, chr);
  if (!ok) return;
  Stack new_stack(stack.begin(), stack.end() - 1);
  if (!IsEndOfSequence(next)) new_stack.push_back(next);
  AdvanceStack(new_stack, new_stacks);
}

bool Grammar::CanEnd() const {
  return std::any_of(stacks_.begin(), stacks_.end(), [](const Stack& s) { return s.empty(); });
}

bool Grammar::AcceptBytes(std::string_view bytes) {
  auto [cps, partial] = DecodeUtf8(bytes, partial_);
  for (size_t i = 0; i + 1 < cps.size(); ++i) {
    std::vector<Stack> next;
    next.reserve(stacks_.size());
    for (const Stack& s : stacks_) AcceptChr(s, cps[i], next);
    stacks_ = std::move(next);
    if (stacks_.empty()) return false;
  }
  partial_ = partial;
  // An invalid UTF-8 sequence can never complete.
  return partial_.n_remain >= 0 && !stacks_.empty();
}

void Grammar::AcceptToken(int32_t token, std::string_view piece, bool is_eog) {
  if (is_eog) {
    if (CanEnd()) return;
    Fail("grammar: end of generation before the grammar is complete");
  }
  auto [cps, partial] = DecodeUtf8(piece, partial_);
  std::vector<Stack> stacks_new;
  stacks_new.reserve(stacks_.size());
  for (const Stack& stack : stacks_) {
    if (stack.empty()) continue;
    const uint32_t pos = stack.back();
    const GT type = elements_[pos].type;
    if (type == GT::kToken || type == GT::kTokenNot) {
      const bool match = type == GT::kToken ? elements_[pos].value == static_cast<uint32_t>(token)
                                            : elements_[pos].value != static_cast<uint32_t>(token);
      if (match) {
        Stack new_stack(stack.begin(), stack.end() - 1);
        if (!IsEndOfSequence(pos + 1)) new_stack.push_back(pos + 1);
        AdvanceStack(new_stack, stacks_new);
      }
      continue;
    }
    std::vector<Stack> current = {stack};
    for (size_t i = 0; i + 1 < cps.size(); ++i) {
      std::vector<Stack> next;
      for (const Stack& s : current) AcceptChr(s, cps[i], next);
      current = std::move(next);
      if (current.empty()) break;
    }
    for (Stack& s : current) {
      if (std::find(stacks_new.begin(), stacks_new.end(), s) == stacks_new.end()) {
        stacks_new.push_back(std::move(s));
      }
    }
  }
  if (stacks_new.empty()) {
    Fail("grammar: token {} ('{}') does not continue the grammar", token, std::string(piece));
  }
  stacks_ = std::move(stacks_new);
  partial_ = partial;
}

std::vector<Grammar::Candidate> Grammar::RejectCandidates(
    const std::vector<Stack>& stacks, const std::vector<Candidate>& candidates) const {
  EMBER_CHECK(!stacks.empty());
  if (candidates.empty()) return {};
  // A candidate survives if any stack accepts it: reject against each stack in turn.
  auto rejects = RejectForStack(stacks.front(), candidates);
  for (size_t i = 1; i < stacks.size(); ++i) rejects = RejectForStack(stacks[i], rejects);
  return rejects;
}

std::vector<Grammar::Candidate> Grammar::RejectForStack(
    const Stack& stack, const std::vector<Candidate>& candidates) const {
  std::vector<Candidate> rejects;
  rejects.reserve(candidates.size());
  if (stack.empty()) {
    for (const Candidate& tok : candidates) {
      if (*tok.code_points != 0 || tok.partial.n_remain != 0) rejects.push_back(tok);
    }
    return rejects;
  }
  const uint32_t stack_pos = stack.back();
  const GT type = elements_[stack_pos].type;
  if (type == GT::kToken || type == GT::kTokenNot) {
    for (const Candidate& tok : candidates) {
      if (*tok.code_points == 0) {
        if (tok.partial.n_remain != 0) rejects.push_back(tok);
      } else {
        const bool match = type == GT::kToken ? elements_[stack_pos].value == static_cast<uint32_t>(tok.id)
                                              : elements_[stack_pos].value != static_cast<uint32_t>(tok.id);
        if (!match) rejects.push_back(tok);
      }
    }
    return rejects;
  }
  std::vector<Candidate> next_candidates;
  next_candidates.reserve(candidates.size());
  for (const Candidate& tok : candidates) {
    if (*tok.code_points == 0) {
      // The token's full characters are consumed; a trailing partial character must be able
      // to satisfy this position.
      if (tok.partial.n_remain != 0 && !MatchPartialChar(stack_pos, tok.partial)) {
        rejects.push_back(tok);
      }
    } else if (MatchChar(stack_pos, *tok.code_points).first) {
      next_candidates.push_back({tok.index, tok.code_points + 1, tok.partial, tok.id});
    } else {
      rejects.push_back(tok);
    }
  }
  if (next_candidates.empty()) return rejects;
  const uint32_t after = MatchChar(stack_pos, 0).second;
  Stack stack_after(stack.begin(), stack.end() - 1);
  if (!IsEndOfSequence(after)) stack_after.push_back(after);
  std::vector<Stack> next_stacks;
  AdvanceStack(stack_after, next_stacks);
  for (const Candidate& tok : RejectCandidates(next_stacks, next_candidates)) {
    rejects.push_back({tok.index, tok.code_points - 1, tok.partial, tok.id});
  }
  return rejects;
}

void Grammar::CacheVocabulary(const std::vector<std::string>& pieces) {
  vocab_cps_.resize(pieces.size());
  vocab_partial_.resize(pieces.size());
  for (size_t i = 0; i < pieces.size(); ++i) {
    auto [cps, partial] = DecodeUtf8(pieces[i], PartialUtf8{});
    vocab_cps_[i] = std::move(cps);
    vocab_partial_[i] = partial;
  }
}

void Grammar::Apply(CandidateArray& cur, const std::vector<std::string>& pieces,
                    const std::vector<uint8_t>& is_eog) const {
  const bool allow_eog = CanEnd();
  const bool use_cache = partial_.n_remain == 0 && partial_.value == 0 &&
                         vocab_cps_.size() == pieces.size();
  std::vector<std::vector<uint32_t>> decoded;
  decoded.reserve(use_cache ? 0 : cur.size);
  std::vector<Candidate> candidates;
  candidates.reserve(cur.size);
  for (size_t i = 0; i < cur.size; ++i) {
    const int32_t id = cur.data[i].id;
    EMBER_CHECK(id >= 0 && static_cast<size_t>(id) < pieces.size());
    const std::string& piece = pieces[static_cast<size_t>(id)];
    if (is_eog[static_cast<size_t>(id)]) {
      if (!allow_eog) cur.data[i].logit = -INFINITY;
    } else if (piece.empty() || piece[0] == 0) {
      cur.data[i].logit = -INFINITY;
    } else if (use_cache) {
      candidates.push_back({i, vocab_cps_[static_cast<size_t>(id)].data(),
                            vocab_partial_[static_cast<size_t>(id)], id});
    } else {
      auto [cps, partial] = DecodeUtf8(piece, partial_);
      decoded.push_back(std::move(cps));
      candidates.push_back({i, decoded.back().data(), partial, id});
    }
  }
  if (stacks_.empty()) {
    for (const Candidate& c : candidates) cur.data[c.index].logit = -INFINITY;
    return;
  }
  for (const Candidate& reject : RejectCandidates(stacks_, candidates)) {
    cur.data[reject.index].logit = -INFINITY;
  }
}

}  // namespace ember
