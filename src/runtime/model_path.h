// Where `ember run` / `ember logits` find a model when -m is not given: the default model in
// $EMBER_MODELS, or in the repository's models/ folder next to the build (build/bin/../../models).
#pragma once

#include <string>

namespace ember {

inline constexpr const char* kDefaultModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf";

// `requested` if non-empty; else the first existing default location; else an ember::Error
// listing the places looked at.
std::string ResolveModelPath(const std::string& requested);

}  // namespace ember
