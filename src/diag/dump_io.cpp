#include "diag/dump_io.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "diag/eval_callback.h"

namespace ember {
namespace {

using nlohmann::json;

constexpr char kMagic[8] = {'E', 'M', 'B', 'E', 'R', 'D', 'M', 'P'};

json StatsJson(const TensorStats& s) {
  return {{"mean", s.mean}, {"std", s.std},         {"min", s.min},
          {"max", s.max},   {"sum", s.sum},         {"sum_abs", s.sum_abs},
          {"count", s.count}, {"nonfinite", s.n_nonfinite}};
}

TensorStats StatsFrom(const json& j) {
  TensorStats s;
  s.mean = j.at("mean").get<double>();
  s.std = j.at("std").get<double>();
  s.min = j.at("min").get<double>();
  s.max = j.at("max").get<double>();
  s.sum = j.at("sum").get<double>();
  s.sum_abs = j.value("sum_abs", 0.0);
  s.count = j.value("count", int64_t{0});
  s.n_nonfinite = j.value("nonfinite", int64_t{0});
  return s;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail("cannot open '{}'", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Dump ReadJsonDump(const std::string& path, const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    Fail("{}: not valid JSON: {}", path, e.what());
  }
  Dump d;
  try {
    if (j.value("format", "") != "ember-dump") Fail("{}: not an ember dump (no \"format\": \"ember-dump\")", path);
    d.source = j.value("source", "ember");
    d.model = j.value("model", "");
    d.prompt = j.value("prompt", "");
    d.tokens = j.value("tokens", std::vector<int32_t>{});
    std::string values_file;
    if (j.contains("values_file") && j["values_file"].is_string()) {
      values_file = j["values_file"].get<std::string>();
      if (std::filesystem::path(values_file).is_relative()) {
        values_file = (std::filesystem::path(path).parent_path() / values_file).string();
      }
    }
    std::string values;
    if (!values_file.empty()) {
      values = ReadFile(values_file);
      if (values.size() < 16 || std::memcmp(values.data(), kMagic, 8) != 0) {
        Fail("{}: values file '{}' does not start with EMBERDMP", path, values_file);
      }
    }
    for (const json& jt : j.at("tensors")) {
      DumpTensor t;
      t.name = jt.at("name").get<std::string>();
      t.layer = jt.value("layer", int64_t{-1});
      const auto shape = jt.at("shape").get<std::vector<int64_t>>();
      if (shape.size() != 2 || shape[0] < 0 || shape[1] < 0) Fail("{}: tensor {}: shape must be [rows, cols]", path, t.FullName());
      t.rows = shape[0];
      t.cols = shape[1];
      t.first_pos = jt.value("first_pos", int64_t{0});
      t.stats = StatsFrom(jt.at("stats"));
      if (jt.contains("positions")) {
        for (const json& js : jt["positions"]) t.row_stats.push_back(StatsFrom(js));
        if (static_cast<int64_t>(t.row_stats.size()) != t.rows) Fail("{}: tensor {}: {} position stats for {} rows", path, t.FullName(), t.row_stats.size(), t.rows);
      }
      if (!values.empty() && jt.contains("values_offset")) {
        const uint64_t off = jt["values_offset"].get<uint64_t>();
        const uint64_t n = static_cast<uint64_t>(t.rows * t.cols);
        if (off > values.size() || n * 4 > values.size() - off) {
          Fail("{}: tensor {}: values at offset {} run past the end of '{}' ({} bytes)", path, t.FullName(), off, values_file, values.size());
        }
        t.values.resize(n);
        std::memcpy(t.values.data(), values.data() + off, n * 4);
      }
      d.tensors.push_back(std::move(t));
    }
  } catch (const json::exception& e) {
    Fail("{}: malformed ember dump: {}", path, e.what());
  }
  return d;
}

}  // namespace

void WriteDump(const Dump& dump, const std::string& json_path, const std::string& values_path) {
  bool any_values = false;
  for (const auto& t : dump.tensors) any_values |= !t.values.empty();
  json j;
  j["format"] = "ember-dump";
  j["version"] = 1;
  j["source"] = dump.source;
  j["model"] = dump.model;
  j["prompt"] = dump.prompt;
  j["tokens"] = dump.tokens;
  j["values_file"] = nullptr;
  std::ofstream bin;
  uint64_t offset = 16;
  if (any_values) {
    if (values_path.empty()) Fail("dump has values but no values file was named");
    bin.open(values_path, std::ios::binary);
    if (!bin) Fail("cannot write '{}'", values_path);
    bin.write(kMagic, 8);
    const uint32_t header[2] = {1, static_cast<uint32_t>(dump.tensors.size())};
    bin.write(reinterpret_cast<const char*>(header), sizeof(header));
    // The JSON names the sidecar relative to itself when they share a folder.
    const auto jp = std::filesystem::absolute(json_path).parent_path();
    const auto vp = std::filesystem::absolute(values_path);
    j["values_file"] = vp.parent_path() == jp ? vp.filename().string() : vp.string();
  }
  json tensors = json::array();
  for (const auto& t : dump.tensors) {
    json jt = {{"name", t.name},         {"layer", t.layer},
               {"full_name", t.FullName()}, {"shape", {t.rows, t.cols}},
               {"first_pos", t.first_pos}, {"stats", StatsJson(t.stats)}};
    json pos = json::array();
    for (const auto& s : t.row_stats) pos.push_back(StatsJson(s));
    jt["positions"] = std::move(pos);
    if (!t.values.empty()) {
      jt["values_offset"] = offset;
      bin.write(reinterpret_cast<const char*>(t.values.data()),
                static_cast<std::streamsize>(t.values.size() * sizeof(float)));
      offset += t.values.size() * sizeof(float);
    }
    tensors.push_back(std::move(jt));
  }
  j["tensors"] = std::move(tensors);
  if (any_values && !bin) Fail("writing '{}' failed", values_path);
  std::ofstream out(json_path);
  if (!out) Fail("cannot write '{}'", json_path);
  out << j.dump(1) << "\n";
  if (!out) Fail("writing '{}' failed", json_path);
}

Dump ReadDump(const std::string& path) {
  const std::string text = ReadFile(path);
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') return ReadJsonDump(path, text);
  return ParseEvalCallback(text, path);
}

}  // namespace ember
