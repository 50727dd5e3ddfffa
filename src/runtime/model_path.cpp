#include "runtime/model_path.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "core/error.h"

namespace ember {

std::string ResolveModelPath(const std::string& requested) {
  if (!requested.empty()) return requested;
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("EMBER_MODELS"); env != nullptr && *env != '\0') {
    candidates.push_back(fs::path(env) / kDefaultModelFile);
  }
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path() / ".." / ".." / "models" / kDefaultModelFile);
    candidates.push_back(exe.parent_path() / ".." / "models" / kDefaultModelFile);
  }
  candidates.push_back(fs::path("models") / kDefaultModelFile);
  std::string looked;
  for (const fs::path& p : candidates) {
    if (fs::exists(p, ec)) return fs::weakly_canonical(p, ec).string();
    looked += (looked.empty() ? "" : ", ") + p.lexically_normal().string();
  }
  Fail("no model given (-m) and the default model {} was not found (looked in: {}); run "
       "scripts/fetch-models or pass -m MODEL.gguf", kDefaultModelFile, looked);
}

}  // namespace ember
