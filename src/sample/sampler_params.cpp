// Parsing of sampler names, letters and logit biases, with llama.cpp's spellings
// (common/sampling.cpp: common_sampler_types_from_names / _from_chars).
#include "sample/sampler_params.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <unordered_map>

#include "core/error.h"

namespace ember {

std::string SamplerTypeName(SamplerType type) {
  switch (type) {
    case SamplerType::kPenalties: return "penalties";
    case SamplerType::kDry: return "dry";
    case SamplerType::kTopNSigma: return "top_n_sigma";
    case SamplerType::kTopK: return "top_k";
    case SamplerType::kTypicalP: return "typ_p";
    case SamplerType::kTopP: return "top_p";
    case SamplerType::kMinP: return "min_p";
    case SamplerType::kXtc: return "xtc";
    case SamplerType::kTemperature: return "temperature";
  }
  return "?";
}

std::vector<SamplerType> ParseSamplerNames(std::string_view names) {
  static const std::unordered_map<std::string, SamplerType> kNames = [] {
    const std::pair<const char*, SamplerType> canonical[] = {
        {"penalties", SamplerType::kPenalties}, {"dry", SamplerType::kDry},
        {"top_n_sigma", SamplerType::kTopNSigma}, {"top_k", SamplerType::kTopK},
        {"typ_p", SamplerType::kTypicalP},      {"top_p", SamplerType::kTopP},
        {"min_p", SamplerType::kMinP},          {"xtc", SamplerType::kXtc},
        {"temperature", SamplerType::kTemperature}};
    std::unordered_map<std::string, SamplerType> m;
    for (const auto& [name, type] : canonical) {
      std::string s = name;
      m[s] = type;
      std::string kebab = s;
      std::replace(kebab.begin(), kebab.end(), '_', '-');
      m[kebab] = type;
      std::string no_dash = s;
      no_dash.erase(std::remove(no_dash.begin(), no_dash.end(), '_'), no_dash.end());
      m[no_dash] = type;
    }
    m["nucleus"] = SamplerType::kTopP;
    m["temp"] = SamplerType::kTemperature;
    m["typ"] = SamplerType::kTypicalP;
    return m;
  }();
  std::vector<SamplerType> out;
  size_t start = 0;
  while (start <= names.size()) {
    size_t end = names.find(';', start);
    if (end == std::string_view::npos) end = names.size();
    std::string name(names.substr(start, end - start));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!name.empty()) {
      auto it = kNames.find(name);
      if (it == kNames.end()) {
        Fail("--samplers: unknown sampler '{}' (known: penalties, dry, top_n_sigma, top_k, typ_p, "
             "top_p, min_p, xtc, temperature)", name);
      }
      out.push_back(it->second);
    }
    start = end + 1;
  }
  return out;
}

std::vector<SamplerType> ParseSamplerChars(std::string_view chars) {
  std::vector<SamplerType> out;
  for (char c : chars) {
    switch (c) {
      case 'e': out.push_back(SamplerType::kPenalties); break;
      case 'd': out.push_back(SamplerType::kDry); break;
      case 's': out.push_back(SamplerType::kTopNSigma); break;
      case 'k': out.push_back(SamplerType::kTopK); break;
      case 'y': out.push_back(SamplerType::kTypicalP); break;
      case 'p': out.push_back(SamplerType::kTopP); break;
      case 'm': out.push_back(SamplerType::kMinP); break;
      case 'x': out.push_back(SamplerType::kXtc); break;
      case 't': out.push_back(SamplerType::kTemperature); break;
      default: Fail("--sampling-seq: unknown sampler letter '{}' (known: e d s k y p m x t)", c);
    }
  }
  return out;
}

LogitBias ParseLogitBias(std::string_view text) {
  // TOKEN_ID followed by + or - and a float, e.g. 15043+1, 15043-1.5, 2-inf.
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) i++;
  if (i == 0 || i >= text.size() || (text[i] != '+' && text[i] != '-')) {
    Fail("--logit-bias: expected TOKEN_ID(+|-)BIAS such as 15043+1, got '{}'", text);
  }
  LogitBias lb;
  auto [p, ec] = std::from_chars(text.data(), text.data() + i, lb.token);
  if (ec != std::errc() || p != text.data() + i) Fail("--logit-bias: bad token id in '{}'", text);
  const std::string value(text.substr(i + 1));
  float magnitude = 0.0f;
  try {
    size_t used = 0;
    magnitude = std::stof(value, &used);
    if (used != value.size()) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    Fail("--logit-bias: bad bias value in '{}'", text);
  }
  lb.bias = text[i] == '-' ? -magnitude : magnitude;
  return lb;
}

}  // namespace ember
