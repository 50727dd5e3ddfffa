// Reader of the text llama.cpp's `llama-eval-callback` prints: for each graph node a header
//
//   common_debug_cb_eval:   Qcur-0 = (f32)   ROPE(Qcur-0{64, 9, 7, 1}, pos{7, 1, 1, 1}}) = {64, 9, 7, 1}
//
// (older builds say "ggml_debug:"), then the values as nested brackets -- the outer level over
// ne[3], then ne[2], then one line per ne[1] row of ne[0] values -- where each level shows its
// first and last 3 entries around "...", and "sum = S" after each ne[3] slice. ne[0] is the
// contiguous axis, so the flat index of (i0, i1, i2, i3) is i0 + ne0*(i1 + ne1*(i2 + ne2*i3)),
// the same as ember's row-major (position, width) layout.
//
// A name printed more than once (llama.cpp names a tensor again after a reshape or RoPE) keeps
// its last occurrence, except "ffn_out", whose first occurrence is the feed-forward output and
// second the residual sum.
#pragma once

#include <string>

#include "diag/dump.h"

namespace ember {

// Non-F32 tensors and lines that are not part of a tensor print are skipped; a file with no tensor
// at all is an ember::Error naming `source_name`.
Dump ParseEvalCallback(const std::string& text, const std::string& source_name);

}  // namespace ember
