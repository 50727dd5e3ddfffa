#!/usr/bin/env bash
# bench/device.sh OUTDIR -- ember's one-shot run on a bare GPU machine (H100/H200 class, no
# network, CUDA toolkit, CMake, ninja, python3). OUTDIR gets summary.txt, table.txt and the full
# logs as logs.tgz (three files, refreshed after every step); one compact table is printed last.
# Budget: under 8 minutes; later steps are skipped once 7 minutes have passed, and no step runs
# past 9 minutes.
#
#   1. print what the machine has (GPU, nvcc, cmake, ninja, compiler, pkg-config)
#   2. unpack ember's build dependencies from .deb/ (scripts/bundle-debs) with dpkg -x into a
#      private prefix, configure with CMAKE_PREFIX_PATH there (PCRE2 found without pkg-config)
#   3. build ember and the GPU tests for sm_90 only
#   4. ctest -L gpu; compute-sanitizer memcheck on the op tests and a synthetic-model test
#   5. random-weight models made there with `ember fast-synth` (TinyLlama-1.1B, Llama-2-7B,
#      Llama-3-8B shapes; Q4_0, Q4_K_M, Q8_0, F16), each run by `ember gpu-bench -ngl 99`
#      (pp512, tg128, GB/s against the measured copy bandwidth); TinyLlama ones also compared
#      with the CPU backend (logits NMSE, top-1, greedy continuation)
#
# Source: .devtree/ when present (a `git archive` of the committed tree, so half-written files
# of a working copy cannot break the build), else the repository itself. Vocabulary for the
# synthetic models: .devcarry/vocab.gguf (a tiny model carrying SmolLM2's tokenizer).
set -uo pipefail
out="${1:?usage: bench/device.sh OUTDIR}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
# The logs are written in a folder of their own; OUTDIR gets summary.txt, table.txt and all logs
# as logs.tgz, refreshed at every step: the device tool brings back at most 8 files, and a run
# killed at its time limit still returns what it had.
logs="${EMBER_DEVICE_LOGS:-/tmp/ember-device-logs}"
rm -rf "$logs" && mkdir -p "$logs"
publish() {
  cp -f "$logs/summary.txt" "$out/" 2>/dev/null
  [ -f "$logs/table.txt" ] && cp -f "$logs/table.txt" "$out/"
  tar czf "$out/logs.tgz.part" -C "$logs" . 2>/dev/null && mv -f "$out/logs.tgz.part" "$out/logs.tgz"
  return 0
}
trap publish EXIT
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$repo"
[ -f "$repo/.devtree/CMakeLists.txt" ] && src="$repo/.devtree"
t0=$(date +%s)
elapsed() { echo $(( $(date +%s) - t0 )); }
say() { echo "[$(elapsed)s] $*" | tee -a "$logs/summary.txt"; publish; }
budget_left() { [ "$(elapsed)" -lt "${EMBER_DEVICE_BUDGET_S:-420}" ]; }
# Seconds a step may take: at most $1, and never past the hard deadline (a device call is
# stopped at 600 s; the table must be written before that).
step_limit() {
  local left=$(( ${EMBER_DEVICE_DEADLINE_S:-540} - $(elapsed) ))
  [ "$left" -lt 5 ] && left=5
  [ "$left" -lt "$1" ] && echo "$left" || echo "$1"
}

# 1. The machine. The host CPU's SIMD flags too: the CPU issue's AVX-512 / VNNI / AMX kernels
# need a machine that has them to be tested on, and the 2-core development VM does not.
simd="$(grep -o -w -E 'avx2|avx512f|avx512bw|avx512vl|avx512_vnni|avx_vnni|avx512_bf16|avx512_fp16|amx_tile|amx_int8|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
{
  echo "== uname"; uname -a
  echo "== nvidia-smi"; nvidia-smi 2>&1
  echo "== nvcc"; nvcc --version 2>&1
  echo "== cmake"; cmake --version 2>&1
  echo "== ninja"; ninja --version 2>&1
  echo "== c++"; c++ --version 2>&1
  echo "== python3"; python3 --version 2>&1
  echo "== pkg-config"; command -v pkg-config pkgconf 2>&1 || echo "none"
  echo "== compute-sanitizer"; command -v compute-sanitizer 2>&1 || ls /usr/local/cuda/bin/compute-sanitizer 2>&1
  echo "== cpus / memory / disk"; nproc; free -g; df -h /tmp
  echo "== cpu model and SIMD flags"; grep -m1 'model name' /proc/cpuinfo; echo "$simd"
} > "$logs/env.txt" 2>&1
gpu="$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)"
say "gpu: ${gpu:-none}; nvcc $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*' | cut -d' ' -f2); cmake $(cmake --version | head -1 | awk '{print $3}'); ninja $(ninja --version); $(c++ --version | head -1); pkg-config: $(command -v pkg-config || echo none); $(nproc) cpus ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); ${simd:-no AVX2}); source: $src"
export PATH="$PATH:/usr/local/cuda/bin"

# 2. Dependencies from .deb files.
prefix=/tmp/ember-deps
rm -rf "$prefix" && mkdir -p "$prefix"
n_deb=0
for f in "$repo"/.deb/*.deb; do
  [ -f "$f" ] || continue
  dpkg -x "$f" "$prefix" && n_deb=$((n_deb + 1))
done
say "unpacked $n_deb .deb files into $prefix"
libdir="$prefix/usr/lib/x86_64-linux-gnu"
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# 3. Configure and build (sm_90 only: one nvcc pass per kernel file).
build=/tmp/ember-build
if ! cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix/usr" -DCMAKE_LIBRARY_PATH="$libdir" \
    -DPKG_CONFIG_EXECUTABLE=/nonexistent/pkg-config \
    -DEMBER_CUDA=ON -DEMBER_CUDA_ARCHS=90 -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DEMBER_BENCHMARKS=OFF -DEMBER_WERROR=OFF > "$logs/configure.log" 2>&1; then
  say "configure FAILED (tail of configure.log follows)"; tail -30 "$logs/configure.log"; exit 1
fi
if ! ninja -C "$build" ember test_cuda_ops test_cuda_model test_cpu_kernels > "$logs/build.log" 2>&1; then
  say "build FAILED (errors follow)"; grep -B2 -A12 -m5 'error' "$logs/build.log" | head -80
  ninja -C "$build" ember test_cuda_ops >> "$logs/build.log" 2>&1 || exit 1
fi
say "built ember + GPU tests"
ember="$build/bin/ember"

vocab="$repo/.devcarry/vocab.gguf"
export EMBER_CUDA_VOCAB="$vocab"

# 4. GPU tests and memcheck.
(cd "$build" && timeout "$(step_limit 200)" ctest -L gpu --output-on-failure --timeout 150) > "$logs/ctest.log" 2>&1
ctest_rc=$?
say "ctest -L gpu: rc=$ctest_rc; $(grep -E 'tests passed|tests failed' "$logs/ctest.log" | tail -1); skipped: $(grep -c '(Skipped)' "$logs/ctest.log")"
grep -E '\(Failed\)|\(Skipped\)|\*\*\*' "$logs/ctest.log" | head -20 | tee -a "$logs/summary.txt"
if command -v compute-sanitizer >/dev/null 2>&1; then
  timeout 90 compute-sanitizer --tool memcheck --error-exitcode 9 "$build/bin/test_cuda_ops" \
    > "$logs/memcheck_ops.log" 2>&1
  say "memcheck test_cuda_ops: rc=$? ($(grep -m1 'ERROR SUMMARY' "$logs/memcheck_ops.log"))"
  timeout 60 compute-sanitizer --tool memcheck --error-exitcode 9 "$build/bin/test_cuda_model" \
    --gtest_filter='*Synthetic*' > "$logs/memcheck_model.log" 2>&1
  say "memcheck test_cuda_model (synthetic): rc=$? ($(grep -m1 'ERROR SUMMARY' "$logs/memcheck_model.log"))"
else
  say "compute-sanitizer not found: memcheck skipped"
fi

# 4b. The CPU kernels on this host. Where it has AVX-512 VNNI (and AMX), that is the first run of
# the VNNI prompt tiles (and the AMX tile) on the instructions themselves (the development VM has
# only models of them): the tests compare them with the AVX2 tiles bit for bit.
host_vnni=0 host_amx=0
case " $simd " in *" avx512_vnni "*) host_vnni=1 ;; esac
case " $simd " in *" amx_int8 "*) case " $simd " in *" amx_tile "*) host_amx=$host_vnni ;; esac ;; esac
if [ -x "$build/bin/test_cpu_kernels" ]; then
  timeout 120 "$build/bin/test_cpu_kernels" > "$logs/cpu_kernels.log" 2>&1
  say "CPU kernel tests (host VNNI=$host_vnni AMX=$host_amx): rc=$? $(grep -E '^\[  (PASSED|FAILED)' "$logs/cpu_kernels.log" | tr '\n' ' ') $(grep -o 'note: no usable AMX[^;]*' "$logs/cpu_kernels.log" | head -1)"
fi

# CPU prompt speed by ISA: AVX2 against the VNNI tiles (and the AMX tile, the default where the
# host allows it), same file, alternating; called for the TinyLlama Q4_0 and Q8_0 files below.
cpu_vnni_compare() {
  [ "$host_vnni" = 1 ] || return 0
  local f=$1 tag=$2 i isas="avx2 avx512"
  [ "$host_amx" = 1 ] && isas="$isas amx"
  for i in 1 2; do
    for isa in $isas; do
      budget_left || break 2
      EMBER_CPU_ISA=$isa timeout "$(step_limit 60)" "$ember" bench -m "$f" -p 512 -n 0 -t "$(nproc)" -r 2 -o csv \
        2>>"$logs/cpu_bench.log" | tail -1 | awk -F, -v isa=$isa -v tag="$tag" '{print tag, isa, $(NF-4), $(NF-3)}' \
        >> "$logs/cpu_vnni.txt"
    done
  done
  say "CPU pp512 $tag (isa t/s sd): $(grep "^$tag " "$logs/cpu_vnni.txt" | cut -d' ' -f2- | tr '\n' ';')"
}

# 5. Synthetic models, in priority order (the issue's goals first).
models=/tmp/ember-models
mkdir -p "$models"
runs=(
  "tinyllama q4_0 compare" "llama2-7b q4_k_m" "llama2-7b q4_0" "llama3-8b q4_k_m"
  "tinyllama q4_k_m compare" "tinyllama q8_0 compare" "tinyllama f16 compare"
  "llama2-7b q8_0" "llama2-7b f16" "llama3-8b q4_0" "llama3-8b q8_0" "llama3-8b f16"
)
: > "$logs/results.txt"
for r in "${runs[@]}"; do
  set -- $r
  shape=$1 type=$2 cmp=${3:-}
  if ! budget_left; then say "time budget reached: skipping $shape $type"; continue; fi
  f="$models/$shape-$type.gguf"
  ts=$(date +%s)
  if ! timeout "$(step_limit 120)" "$ember" fast-synth -o "$f" --vocab-from "$vocab" --shape "$shape" --type "$type" \
      >> "$logs/synth.log" 2>&1; then
    say "fast-synth $shape $type FAILED"; continue
  fi
  extra=(-r 3)
  case "$shape" in llama*) extra=(-r 2) ;; esac
  [ -n "$cmp" ] && extra+=(--compare-cpu)
  # A hung kernel must not take the whole device call.
  timeout "$(step_limit 180)" "$ember" gpu-bench -m "$f" -p 512 -n 128 --ngl 99 "${extra[@]}" > "$logs/bench-$shape-$type.log" 2>&1
  rc=$?
  case "$shape-$type" in tinyllama-q4_0|tinyllama-q4_k_m|tinyllama-q8_0) cpu_vnni_compare "$f" "$shape-$type" ;; esac
  line="$(grep '^RESULT' "$logs/bench-$shape-$type.log" | tail -1)"
  [ -n "$line" ] && echo "$shape $type $line" >> "$logs/results.txt"
  say "$shape $type: rc=$rc $(echo "${line:-no result}" | cut -c1-200) ($(( $(date +%s) - ts ))s)"
  [ $rc -ne 0 ] && tail -5 "$logs/bench-$shape-$type.log"
  rm -f "$f"
done

# 6. One compact table.
{
  echo
  echo "ember on ${gpu:-?} ($(date -u +%Y-%m-%dT%H:%MZ)); copy bandwidth measured per run (read+write)"
  printf '%-10s %-7s %10s %9s %8s %6s  %s\n' model type pp512_t/s tg128_t/s tg_GB/s bw_% "GPU vs CPU"
  while read -r shape type _ rest; do
    kv() { echo "$rest" | tr ' ' '\n' | grep "^$1=" | head -1 | cut -d= -f2; }
    cmpres=""
    [ -n "$(kv nmse)" ] && cmpres="nmse=$(kv nmse) top1=$(kv top1) greedy=$(kv greedy)"
    printf '%-10s %-7s %10s %9s %8s %6s  %s\n' "$shape" "$type" "$(kv pp512)" "$(kv tg128)" \
      "$(kv tg_gbs)" "$(kv bw_pct)" "$cmpres"
  done < "$logs/results.txt"
  echo "copy bandwidth: $(grep -h 'device copy bandwidth' "$logs"/bench-*.log 2>/dev/null | awk '{print $4}' | sort -n | tail -1) GB/s (best of runs)"
  echo "ctest -L gpu rc=$ctest_rc; total $(elapsed)s"
} | tee "$logs/table.txt"
