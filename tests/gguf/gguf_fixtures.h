// Small GGUF files made with ember's GgufWriter, shared by the tests, the `make_gguf_fixtures`
// tool (which writes the file the reference reader checks, see scripts/golden/make_gguf_golden.py)
// and the fuzzer's seed corpus.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gguf/gguf_writer.h"

namespace ember::test {

// Deterministic pseudo-random bytes for tensor data, different for each name.
std::vector<uint8_t> PatternBytes(const std::string& name, size_t n);
// A Fill that writes PatternBytes(name, size).
GgufWriter::Fill PatternFill(const std::string& name);

// The writer fixture: every metadata value type (boundary values, empty and non-UTF-8 strings,
// NaN/inf floats, empty arrays, arrays of every type, a long array, arrays nested to the limit),
// alignment 64, and tensors of 1 to 4 dimensions in F32, F16, BF16, F64, I8, I32, Q4_0, Q8_0,
// Q4_K and Q6_K. tests/data/gguf/writer_fixture.gguf holds its bytes.
GgufWriter MakeWriterFixture();

// A small file (a few keys incl. a nested array, three tensors, default alignment) cut right after
// the last tensor's data, so that every shorter prefix of it is invalid.
std::vector<uint8_t> MakeSmallFile();

// Small valid files for the fuzzer's seed corpus: (file name, bytes).
std::vector<std::pair<std::string, std::vector<uint8_t>>> MakeSeedFiles();

}  // namespace ember::test
