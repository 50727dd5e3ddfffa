#include "model/model.h"

#include <algorithm>

#include "core/progress.h"

namespace ember {

Model::Model(GgufFile file)
    : file_(std::move(file)),
      config_(ModelConfig::FromGguf(file_)),
      weights_(Weights::FromGguf(file_, config_)) {}

std::unique_ptr<Model> Model::Load(const std::string& path, bool show_progress) {
  std::unique_ptr<Model> model(new Model(GgufFile::Open(path)));
  if (show_progress) {
    // Touch one byte per page: the mapping stays shared with the page cache (no copy).
    const auto& tensors = model->file_.tensors();
    uint64_t total = 0;
    for (const auto& t : tensors) total += t.n_bytes;
    ProgressBar bar("loading", total);
    uint64_t done = 0;
    volatile uint8_t sink = 0;
    for (const auto& t : tensors) {
      for (uint64_t off = 0; off < t.n_bytes; off += 4096) sink = sink + t.data[off];
      done += t.n_bytes;
      bar.Update(done);
    }
    bar.Finish();
  }
  return model;
}

}  // namespace ember
