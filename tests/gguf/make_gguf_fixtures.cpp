// make_gguf_fixtures: writes the GGUF files that ember's writer makes for outside checks.
//   make_gguf_fixtures --fixture PATH   the writer fixture (scripts/golden/make_gguf_golden.py has
//                                       the reference `gguf` reader check it)
//   make_gguf_fixtures --seeds DIR      small valid files, the fuzzer's seed corpus (scripts/fuzz)
#include <cstdio>
#include <exception>
#include <fstream>
#include <string>

#include "core/error.h"
#include "gguf/gguf_fixtures.h"

namespace {

void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) ember::Fail("{}: cannot write", path);
  std::printf("wrote %s (%zu bytes)\n", path.c_str(), bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 3 && std::string(argv[1]) == "--fixture") {
      ember::test::MakeWriterFixture().Write(argv[2]);
      std::printf("wrote %s\n", argv[2]);
      return 0;
    }
    if (argc == 3 && std::string(argv[1]) == "--seeds") {
      for (const auto& [name, bytes] : ember::test::MakeSeedFiles()) {
        WriteFile(std::string(argv[2]) + "/" + name, bytes);
      }
      return 0;
    }
    std::fprintf(stderr, "usage: make_gguf_fixtures --fixture PATH | --seeds DIR\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_gguf_fixtures: error: %s\n", e.what());
    return 1;
  }
}
