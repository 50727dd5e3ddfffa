#!/usr/bin/env bash
# cpu-vs-llamacpp.sh: ember's CPU speed side by side with llama.cpp's llama-bench on the same
# GGUF files and thread count, run ALTERNATELY (llama pp, ember pp, llama tg, ember tg per model)
# so load drifts hit both alike. Prints a markdown table of ratios (ember / llama.cpp for ppN and
# tgN) and ember's tg GB/s of weights against the machine's measured streaming read bandwidth.
# The bandwidth is read at the start and again just before each of ember's tg runs: on a VM whose
# bandwidth moves with other tenants, the "% of read BW" column compares ember's tg with the
# reading of its own minute (the last column gives that reading).
#
# Environment (all optional):
#   EMBER         ember binary                  (default: build/bin/ember, then build-*/bin/ember)
#   LLAMA_BENCH   llama-bench binary            (default: cached build, else built from the sdist)
#   EMBER_CACHE   cache folder                  (default: ~/.cache/ember)
#   THREADS=2 REPS=3 PP=512 TG=128              llama-bench's -t, -r, -p, -n
#   ROUNDS=1      alternating rounds per model; with more than one, the ratio columns give the
#                 median of the rounds' ratios (each round's own ratios listed in the column
#                 "ratios per round"), the t/s columns the mean and deviation over all rounds' runs
#   MODELS        space-separated list of: smollm2 gemma3 tinyllama-TYPE, TYPE any type
#                 `ember fast-synth --type` writes (q4_0, q4_k_m, q8_0, q2_k, iq4_xs, bf16, ...;
#                 every matrix of that type). Default: smollm2 gemma3 tinyllama-q4_0
#                 tinyllama-q4_k_m tinyllama-q8_0, the issue's table
#   OUT           also write the table there (markdown)
# llama.cpp is built (llama-bench only, CPU, native) from llama-cpp-python 0.3.36's sdist,
# fetched with `pip download` into $EMBER_CACHE/sdist when absent. Synthetic TinyLlama-1.1B
# models come from `ember fast-synth` (random weights: speed only) into $EMBER_CACHE/synth.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${EMBER_CACHE:-$HOME/.cache/ember}
THREADS=${THREADS:-2}
REPS=${REPS:-3}
PP=${PP:-512}
TG=${TG:-128}
ROUNDS=${ROUNDS:-1}
MODELS=${MODELS:-"smollm2 gemma3 tinyllama-q4_0 tinyllama-q4_k_m tinyllama-q8_0"}
PY=${PYTHON:-python3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

die() { echo "cpu-vs-llamacpp: $*" >&2; exit 1; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# --- ember -----------------------------------------------------------------------------------
if [[ -z "${EMBER:-}" ]]; then
  for c in "$ROOT"/build/bin/ember "$ROOT"/build-*/bin/ember; do
    [[ -x "$c" ]] && { EMBER=$c; break; }
  done
fi
[[ -x "${EMBER:-}" ]] || die "no ember binary: build it or set EMBER=path"
"$EMBER" bench --help >/dev/null 2>&1 || die "$EMBER has no 'bench' command"

# --- llama-bench: env, cache, the oracle build, else build from the sdist ---------------------
find_llama_bench() {
  local c
  for c in "${LLAMA_BENCH:-}" "$CACHE/llama-bench/build/bin/llama-bench" \
           "$CACHE/llama.cpp/llama_cpp_python-0.3.36/vendor/llama.cpp/build/bin/llama-bench"; do
    [[ -n "$c" && -x "$c" ]] && { echo "$c"; return 0; }
  done
  return 1
}
if ! LLAMA_BENCH=$(find_llama_bench); then
  echo "building llama-bench (once) into $CACHE/llama-bench ..." >&2
  mkdir -p "$CACHE/sdist" "$CACHE/llama-bench"
  sdist=$(ls "$CACHE"/sdist/llama_cpp_python-0.3.36.tar.gz 2>/dev/null || true)
  if [[ -z "$sdist" ]]; then
    "$PY" -m pip download --no-deps --no-binary :all: llama-cpp-python==0.3.36 -d "$CACHE/sdist" >&2
    sdist="$CACHE/sdist/llama_cpp_python-0.3.36.tar.gz"
  fi
  tar -xzf "$sdist" -C "$WORK"
  src="$WORK/llama_cpp_python-0.3.36/vendor/llama.cpp"
  cmake -S "$src" -B "$CACHE/llama-bench/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
    -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF -DGGML_CUDA=OFF >&2
  cmake --build "$CACHE/llama-bench/build" --target llama-bench -j "$(nproc)" >&2
  LLAMA_BENCH="$CACHE/llama-bench/build/bin/llama-bench"
fi

# --- read bandwidth ---------------------------------------------------------------------------
STREAM="$CACHE/stream-bandwidth"
if [[ ! -x "$STREAM" || "$ROOT/bench/stream-bandwidth.cpp" -nt "$STREAM" ]]; then
  mkdir -p "$CACHE"
  g++ -O3 -march=native -pthread "$ROOT/bench/stream-bandwidth.cpp" -o "$STREAM"
fi
BW_LINE=$("$STREAM" "$THREADS" 1024 7)
BW=$(sed -E 's/.*read_gbs=([0-9.]+).*/\1/' <<<"$BW_LINE")
BW_MEDIAN=$(sed -nE 's/.*median_gbs=([0-9.]+).*/\1/p' <<<"$BW_LINE")
echo "read bandwidth ($THREADS threads, 1 GiB buffer, best of 7): $BW GB/s (median ${BW_MEDIAN:-?}); load $(load)" >&2

# --- models -----------------------------------------------------------------------------------
model_path() {
  case "$1" in
    smollm2) echo "$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf" ;;
    gemma3) echo "$ROOT/models/gemma-3-270m-q4_k_m.gguf" ;;
    tinyllama-*)
      local type=${1#tinyllama-}
      local out="$CACHE/synth/tinyllama-1.1b-$type.gguf"
      if [[ ! -f "$out" ]]; then
        mkdir -p "$CACHE/synth"
        "$EMBER" fast-synth -o "$out.tmp" --vocab-from "$ROOT/models/llama2-vocab.gguf" \
          --shape tinyllama --type "$type" >&2 && mv "$out.tmp" "$out"
      fi
      echo "$out" ;;
    *) die "unknown model '$1'" ;;
  esac
}

# Prints the tokens/s samples of one test (comma-separated) from llama-bench's / ember's JSON.
llama_run() {  # model pp tg
  "$LLAMA_BENCH" -m "$1" -p "$2" -n "$3" -t "$THREADS" -r "$REPS" -o json 2>/dev/null |
    "$PY" -c 'import json,sys; r=json.load(sys.stdin)[0]; print(",".join(map(str, r["samples_ts"])))'
}
ember_run() {  # model pp tg -> "samples gbs"
  "$EMBER" bench -m "$1" -p "$2" -n "$3" -t "$THREADS" -r "$REPS" -o json --device cpu 2>/dev/null |
    "$PY" -c 'import json,sys; r=json.load(sys.stdin)[0]; print(",".join(map(str, r["samples_ts"])), r["gbs"])'
}
read_bw() { "$STREAM" "$THREADS" 1024 3 | sed -E 's/.*read_gbs=([0-9.]+).*/\1/'; }

TABLE="$WORK/table.md"
{
  echo "$( "$EMBER" --version 2>/dev/null | head -1 ) vs llama.cpp (llama-cpp-python 0.3.36)," \
       "-t $THREADS -r $REPS; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs);" \
       "read bandwidth $BW GB/s (best of 7; median ${BW_MEDIAN:-?}); $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "| model | llama.cpp pp$PP | ember pp$PP | ratio | llama.cpp tg$TG | ember tg$TG | ratio | ember tg GB/s | % of read BW | load (1/5/15 min) | ratios per round (pp; tg) | read BW at tg (GB/s) |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |"
} >"$TABLE"

for m in $MODELS; do
  path=$(model_path "$m") || { echo "| $m | (could not make the model) |" >>"$TABLE"; continue; }
  [[ -f "$path" ]] || { echo "| $m | (missing: $path) |" >>"$TABLE"; continue; }
  # A model ember cannot run yet is listed with ember's one-line reason, not measured.
  if ! why=$("$EMBER" bench -m "$path" -p 4 -n 0 -r 1 -t "$THREADS" --device cpu 2>&1 >/dev/null); then
    echo "| $m | ember cannot run it: $(tail -1 <<<"$why" | cut -c1-120) |" >>"$TABLE"
    continue
  fi
  l0=$(load)
  rounds=()  # one "lpp epp ltg etg gbs bw" entry per round
  for ((r = 1; r <= ROUNDS; r++)); do
    echo "[$m] round $r/$ROUNDS: llama.cpp pp$PP (load $(load))" >&2; lpp=$(llama_run "$path" "$PP" 0)
    echo "[$m] ember pp$PP" >&2;     read -r epp _ < <(ember_run "$path" "$PP" 0)
    echo "[$m] llama.cpp tg$TG" >&2; ltg=$(llama_run "$path" 0 "$TG")
    bw=$(read_bw)
    echo "[$m] ember tg$TG (read bandwidth now $bw GB/s)" >&2; read -r etg egbs < <(ember_run "$path" 0 "$TG")
    rounds+=("$lpp $epp $ltg $etg $egbs $bw")
  done
  l1=$(load)
  "$PY" - "$m" "$l0 -> $l1" "${rounds[@]}" >>"$TABLE" <<'EOF'
import statistics as st
import sys
m, ld = sys.argv[1:3]
rounds = [r.split() for r in sys.argv[3:]]
xs = lambda i: [[float(v) for v in r[i].split(",")] for r in rounds]  # per round, its samples
lpp, epp, ltg, etg = xs(0), xs(1), xs(2), xs(3)
gbs = [float(r[4]) for r in rounds]
bw = [float(r[5]) for r in rounds]
flat = lambda rs: [v for r in rs for v in r]
sd = lambda v: st.stdev(v) if len(v) > 1 else 0.0
cell = lambda rs: f"{st.mean(flat(rs)):.2f} ± {sd(flat(rs)):.2f}"
pp_ratios = [st.mean(e) / st.mean(l) for e, l in zip(epp, lpp)]
tg_ratios = [st.mean(e) / st.mean(l) for e, l in zip(etg, ltg)]
share = [100 * g / b for g, b in zip(gbs, bw)]
per_round = " / ".join(f"{p:.2f}" for p in pp_ratios) + "; " + " / ".join(f"{t:.2f}" for t in tg_ratios)
print(f"| {m} | {cell(lpp)} | {cell(epp)} | {st.median(pp_ratios):.2f}x "
      f"| {cell(ltg)} | {cell(etg)} | {st.median(tg_ratios):.2f}x "
      f"| {st.median(gbs):.2f} | {st.median(share):.0f}% | {ld} | {per_round} | "
      + " / ".join(f"{b:.1f}" for b in bw) + " |")
EOF
done

cat "$TABLE"
[[ -n "${OUT:-}" ]] && cp "$TABLE" "$OUT"
exit 0
