// Model: a loaded GGUF model -- the mapped file, its config and the weight views into it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "gguf/gguf_file.h"
#include "model/model_config.h"
#include "model/weights.h"

namespace ember {

class Model {
 public:
  // Maps and checks the file. With `show_progress`, pages the weights in under a progress bar
  // (drawn only on a terminal) so the first token does not pay for page faults.
  static std::unique_ptr<Model> Load(const std::string& path, bool show_progress = false);

  const GgufFile& file() const { return file_; }
  const ModelConfig& config() const { return config_; }
  // For diagnostics only (ember doctor tries other hyper-parameters on the loaded weights).
  ModelConfig& mutable_config() { return config_; }
  const Weights& weights() const { return weights_; }

 private:
  explicit Model(GgufFile file);

  GgufFile file_;
  ModelConfig config_;
  Weights weights_;
};

}  // namespace ember
