// Reading and writing dumps. Format (also in docs/debugging.md):
//
// JSON (ember dump --out FILE.json):
//   {"format": "ember-dump", "version": 1, "source": "ember", "model": PATH, "prompt": TEXT,
//    "tokens": [ids], "values_file": "FILE.bin" or null (relative to the JSON's folder),
//    "tensors": [{"name": "Qcur", "layer": 0, "full_name": "Qcur-0", "shape": [rows, cols],
//                 "first_pos": P, "stats": S, "positions": [S per row],
//                 "values_offset": byte offset in the sidecar (only with values)}]}
//   S = {"mean", "std", "min", "max", "sum", "sum_abs", "count", "nonfinite"}
// Values sidecar (ember dump --values): little-endian
//   bytes 0..7   "EMBERDMP"
//   bytes 8..11  u32 version (1)
//   bytes 12..15 u32 number of tensors
//   then each tensor's rows*cols float32 values, row-major, at its values_offset.
#pragma once

#include <string>

#include "diag/dump.h"

namespace ember {

// Writes FILE (JSON) and, when any tensor has values, the sidecar `values_path`.
void WriteDump(const Dump& dump, const std::string& json_path, const std::string& values_path);

// Reads an ember JSON dump (with its sidecar if named) or the text llama-eval-callback prints;
// the format is told by the content. Errors name the file and what was wrong.
Dump ReadDump(const std::string& path);

}  // namespace ember
