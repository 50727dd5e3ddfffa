#!/usr/bin/env bash
# bench/device-prepare.sh -- prepares, on a machine with network and a built ember, everything
# bench/device.sh needs on the bare GPU machine, in git-ignored folders to carry there:
#   .deb/        ember's build dependencies as .deb files (scripts/bundle-debs)
#   .devtree/    the committed tree (git archive HEAD): half-written files of a working copy
#                cannot break the GPU build
#   .devcarry/   vocab.gguf, a tiny model carrying SmolLM2's tokenizer (the synthetic models'
#                vocabulary; the real 94 MB model is over the 64 MiB a device call carries)
# Then, on the GPU machine: bash bench/device.sh OUTDIR   (carry: .deb .devtree .devcarry)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
ember="${EMBER_BIN:-$repo/build/bin/ember}"
for d in /.devtree/ /.devcarry/; do
  grep -qx "$d" .git/info/exclude 2>/dev/null || echo "$d" >> .git/info/exclude
done
scripts/bundle-debs
rm -rf .devtree && mkdir .devtree && git archive HEAD | tar -x -C .devtree
mkdir -p .devcarry
"$ember" synth -o .devcarry/vocab.gguf --vocab-from "${EMBER_VOCAB_FROM:-models/SmolLM2-135M-Instruct.Q4_1.gguf}" \
  --embd 64 --layers 1 --heads 1 --kv-heads 1 --ff 64 --type q8_0
du -sh .deb .devtree .devcarry
