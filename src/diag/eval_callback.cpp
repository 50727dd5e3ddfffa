#include "diag/eval_callback.h"

#include <cstdlib>
#include <map>
#include <regex>
#include <sstream>

#include "core/error.h"

namespace ember {
namespace {

constexpr int64_t kShown = 3;  // entries llama.cpp prints at each end of each level

struct Pending {
  DumpTensor t;
  int64_t ne[4] = {1, 1, 1, 1};
  int64_t i1 = -1, i2 = -1, i3 = -1;
  bool f32 = false;
};

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

size_t Indent(const std::string& s) {
  const size_t b = s.find_first_not_of(' ');
  return b == std::string::npos ? s.size() : b;
}

// Splits "Qcur-12" into ("Qcur", 12); names without a numeric suffix are layer -1.
void SplitName(const std::string& full, DumpTensor& t) {
  const size_t dash = full.rfind('-');
  if (dash != std::string::npos && dash + 1 < full.size() &&
      full.find_first_not_of("0123456789", dash + 1) == std::string::npos) {
    t.name = full.substr(0, dash);
    t.layer = std::strtoll(full.c_str() + dash + 1, nullptr, 10);
  } else {
    t.name = full;
    t.layer = -1;
  }
}

void ParseRow(const std::string& line, Pending& p) {
  // "[   v0,   v1,   v2,    ...,   vn-3,  vn-2,  vn-1  ],"
  std::string body = line;
  const size_t open = body.find('[');
  const size_t close = body.rfind(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return;
  body = body.substr(open + 1, close - open - 1);
  std::stringstream ss(body);
  std::string item;
  int64_t i0 = 0;
  const int64_t base = p.ne[0] * (p.i1 + p.ne[1] * (p.i2 + p.ne[2] * p.i3));
  while (std::getline(ss, item, ',')) {
    item = Trim(item);
    if (item.empty()) continue;
    if (item == "...") {
      i0 = p.ne[0] - kShown;
      continue;
    }
    char* end = nullptr;
    const float v = std::strtof(item.c_str(), &end);
    if (end == item.c_str()) continue;
    if (i0 < p.ne[0]) p.t.samples.emplace_back(base + i0, v);
    ++i0;
  }
}

}  // namespace

Dump ParseEvalCallback(const std::string& text, const std::string& source_name) {
  // name = (type) OP(src...) = {ne0, ne1, ne2, ne3}
  static const std::regex kHeader(
      R"(^\s*[A-Za-z_]+:\s+(\S+) = \((\w+)\)\s.*= \{(\d+), (\d+), (\d+), (\d+)\}\s*$)");
  Dump dump;
  dump.source = "llama-eval-callback";
  std::vector<DumpTensor> all;
  Pending cur;
  bool in_tensor = false;
  auto finish = [&]() {
    if (in_tensor && cur.f32) all.push_back(std::move(cur.t));
    in_tensor = false;
  };
  std::istringstream in(text);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, kHeader)) {
      finish();
      cur = Pending{};
      in_tensor = true;
      SplitName(m[1].str(), cur.t);
      cur.f32 = m[2].str() == "f32";
      for (int i = 0; i < 4; ++i) cur.ne[i] = std::strtoll(m[3 + i].str().c_str(), nullptr, 10);
      const bool heads = cur.ne[2] > 1;  // (head_dim, n_head, n_tokens): a row is all heads
      cur.t.cols = heads ? cur.ne[0] * cur.ne[1] : cur.ne[0];
      cur.t.rows = heads ? cur.ne[2] * cur.ne[3] : cur.ne[1] * cur.ne[2] * cur.ne[3];
      cur.t.stats.count = cur.ne[0] * cur.ne[1] * cur.ne[2] * cur.ne[3];
      cur.t.sum_only = true;
      continue;
    }
    if (!in_tensor) continue;
    const std::string s = Trim(line);
    const size_t ind = Indent(line);
    if (s.rfind("sum = ", 0) == 0) {
      cur.t.stats.sum += std::strtod(s.c_str() + 6, nullptr);
    } else if (s == "[") {
      if (ind <= 4) {
        ++cur.i3;
        cur.i2 = -1;
      } else {
        ++cur.i2;
        cur.i1 = -1;
      }
    } else if (s.rfind("...", 0) == 0) {
      if (ind <= 8) {
        cur.i2 = cur.ne[2] - kShown - 1;
      } else {
        cur.i1 = cur.ne[1] - kShown - 1;
      }
    } else if (s.size() > 1 && s[0] == '[') {
      ++cur.i1;
      ParseRow(s, cur);
    } else if (s.empty() || s[0] != ']') {
      finish();  // any other line ends the print
    }
  }
  finish();
  if (all.empty()) Fail("{}: no tensors found (expected an ember JSON dump or llama-eval-callback output)", source_name);
  // Keep one occurrence per name (see the header comment), in order of last appearance.
  std::map<std::string, size_t> chosen;
  for (size_t i = 0; i < all.size(); ++i) {
    const std::string full = all[i].FullName();
    const bool keep_first = all[i].name == "ffn_out";
    if (!keep_first || chosen.find(full) == chosen.end()) chosen[full] = i;
  }
  for (size_t i = 0; i < all.size(); ++i) {
    if (chosen[all[i].FullName()] == i) dump.tensors.push_back(std::move(all[i]));
  }
  return dump;
}

}  // namespace ember
