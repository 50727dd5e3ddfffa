// Python str operations on UTF-8 strings (see pystring.h).
#include "chat/pystring.h"

#include <algorithm>

#include "chat/value.h"

namespace ember::jinja::py {
namespace {

// Simple one-to-one case mappings for the scripts chat text commonly uses. Python's full
// mapping also has special cases (German sharp s to "SS"...) that chat templates never meet.
char32_t ToUpper(char32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if (c < 0x80) return c;
  if (c == 0xb5) return 0x39c;
  if ((c >= 0xe0 && c <= 0xfe && c != 0xf7)) return c - 32;
  if (c == 0xff) return 0x178;
  if (c >= 0x100 && c <= 0x17f && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17f) {
    bool odd_lower = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e);
    if (odd_lower ? (c % 2 == 0) : (c % 2 == 1)) return c - 1;
    return c;
  }
  if (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2) return c - 32;
  if (c == 0x3c2) return 0x3a3;
  if (c >= 0x430 && c <= 0x44f) return c - 32;
  if (c >= 0x450 && c <= 0x45f) return c - 80;
  return c;
}

char32_t ToLower(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0x80) return c;
  if (c >= 0xc0 && c <= 0xde && c != 0xd7) return c + 32;
  if (c == 0x178) return 0xff;
  if (c >= 0x100 && c <= 0x17f && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17f) {
    bool odd_lower = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e);
    if (odd_lower ? (c % 2 == 1) : (c % 2 == 0)) return c + 1;
    return c;
  }
  if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) return c + 32;
  if (c >= 0x410 && c <= 0x42f) return c + 32;
  if (c >= 0x400 && c <= 0x40f) return c + 80;
  return c;
}

bool IsCased(char32_t c) { return ToUpper(c) != c || ToLower(c) != c; }

template <typename F>
std::string MapChars(std::string_view s, F f) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : DecodeUtf8(s)) AppendUtf8(out, f(c));
  return out;
}

}  // namespace

std::string Strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right) {
  std::u32string cps = DecodeUtf8(s);
  std::u32string set = chars ? DecodeUtf8(*chars) : std::u32string();
  auto strip_it = [&](char32_t c) { return chars ? set.find(c) != std::u32string::npos : IsPythonSpace(c); };
  size_t b = 0, e = cps.size();
  if (left) {
    while (b < e && strip_it(cps[b])) ++b;
  }
  if (right) {
    while (e > b && strip_it(cps[e - 1])) --e;
  }
  return EncodeUtf8(std::u32string_view(cps).substr(b, e - b));
}

std::vector<std::string> Split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit,
                               bool from_right) {
  std::vector<std::string> parts;
  if (sep) {
    if (sep->empty()) return parts;  // caller reports "empty separator"
    if (!from_right) {
      size_t pos = 0;
      while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
        size_t f = s.find(*sep, pos);
        if (f == std::string_view::npos) break;
        parts.emplace_back(s.substr(pos, f - pos));
        pos = f + sep->size();
      }
      parts.emplace_back(s.substr(pos));
      return parts;
    }
    size_t end = s.size();
    std::vector<std::string> rev;
    while (maxsplit < 0 || static_cast<int64_t>(rev.size()) < maxsplit) {
      if (end < sep->size()) break;
      size_t f = s.rfind(*sep, end - sep->size());
      if (f == std::string_view::npos) break;
      rev.emplace_back(s.substr(f + sep->size(), end - f - sep->size()));
      end = f;
    }
    rev.emplace_back(s.substr(0, end));
    return {rev.rbegin(), rev.rend()};
  }
  std::u32string cps = DecodeUtf8(s);
  std::vector<std::u32string> words;
  if (!from_right) {
    size_t i = 0;
    while (i < cps.size()) {
      while (i < cps.size() && IsPythonSpace(cps[i])) ++i;
      if (i >= cps.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(words.size()) >= maxsplit) {
        size_t e = cps.size();
        while (e > i && IsPythonSpace(cps[e - 1])) --e;
        words.push_back(cps.substr(i, e - i));
        break;
      }
      size_t j = i;
      while (j < cps.size() && !IsPythonSpace(cps[j])) ++j;
      words.push_back(cps.substr(i, j - i));
      i = j;
    }
  } else {
    size_t i = cps.size();
    std::vector<std::u32string> rev;
    while (i > 0) {
      while (i > 0 && IsPythonSpace(cps[i - 1])) --i;
      if (i == 0) break;
      if (maxsplit >= 0 && static_cast<int64_t>(rev.size()) >= maxsplit) {
        size_t b = 0;
        while (b < i && IsPythonSpace(cps[b])) ++b;
        rev.push_back(cps.substr(b, i - b));
        break;
      }
      size_t j = i;
      while (j > 0 && !IsPythonSpace(cps[j - 1])) --j;
      rev.push_back(cps.substr(j, i - j));
      i = j;
    }
    words.assign(rev.rbegin(), rev.rend());
  }
  for (const auto& w : words) parts.push_back(EncodeUtf8(w));
  return parts;
}

std::vector<std::string> SplitLines(std::string_view s, bool keepends) {
  std::u32string cps = DecodeUtf8(s);
  std::vector<std::string> lines;
  size_t start = 0, i = 0;
  auto is_break = [](char32_t c) {
    return c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e ||
           c == 0x85 || c == 0x2028 || c == 0x2029;
  };
  while (i < cps.size()) {
    if (!is_break(cps[i])) {
      ++i;
      continue;
    }
    size_t eol = i;
    if (cps[i] == '\r' && i + 1 < cps.size() && cps[i + 1] == '\n') ++i;
    ++i;
    lines.push_back(EncodeUtf8(std::u32string_view(cps).substr(start, (keepends ? i : eol) - start)));
    start = i;
  }
  if (start < cps.size()) lines.push_back(EncodeUtf8(std::u32string_view(cps).substr(start)));
  return lines;
}

std::string Upper(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : DecodeUtf8(s)) {
    if (c == 0xdf) {
      out += "SS";  // Python's full mapping of the sharp s
    } else {
      AppendUtf8(out, ToUpper(c));
    }
  }
  return out;
}
std::string Lower(std::string_view s) { return MapChars(s, ToLower); }

std::string Title(std::string_view s) {
  std::string out;
  bool prev_cased = false;
  for (char32_t c : DecodeUtf8(s)) {
    if (!prev_cased && c == 0xdf) {
      out += "Ss";
    } else {
      AppendUtf8(out, prev_cased ? ToLower(c) : ToUpper(c));
    }
    prev_cased = IsCased(c) || c == 0xdf;
  }
  return out;
}

std::string Capitalize(std::string_view s) {
  std::string out;
  bool first = true;
  for (char32_t c : DecodeUtf8(s)) {
    if (first && c == 0xdf) {
      out += "Ss";
    } else {
      AppendUtf8(out, first ? ToUpper(c) : ToLower(c));
    }
    first = false;
  }
  return out;
}

std::string Replace(std::string_view s, std::string_view old_sub, std::string_view new_sub, int64_t count) {
  std::string out;
  if (old_sub.empty()) {
    // Python inserts `new` before every character and at the end.
    std::u32string cps = DecodeUtf8(s);
    int64_t done = 0;
    for (char32_t c : cps) {
      if (count < 0 || done < count) {
        out += new_sub;
        ++done;
      }
      AppendUtf8(out, c);
    }
    if (count < 0 || done < count) out += new_sub;
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t f = s.find(old_sub, pos);
    if (f == std::string_view::npos) break;
    out.append(s.substr(pos, f - pos));
    out.append(new_sub);
    pos = f + old_sub.size();
    ++done;
  }
  out.append(s.substr(pos));
  return out;
}

bool IsUpperCased(std::string_view s, bool upper) {
  bool any_cased = false;
  for (char32_t c : DecodeUtf8(s)) {
    if (!IsCased(c)) continue;
    any_cased = true;
    if (upper ? (ToUpper(c) != c) : (ToLower(c) != c)) return false;
  }
  return any_cased;
}

}  // namespace ember::jinja::py
