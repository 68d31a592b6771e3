#!/usr/bin/env bash
# Speed of mmdigits beside PyTorch, in one run on this machine:
#   bash bench/run.sh [BUILD_DIR]        (default: build)
# Prints training samples/s and batch-1 latency of the five networks for both,
# and the ratios (mmdigits / PyTorch for throughput, PyTorch / mmdigits for
# latency: above 1 means mmdigits is faster), then MFCC throughput.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
threads=${MM_BENCH_THREADS:-$(nproc)}
meson compile -C "$build" bench/bench_train bench/bench_mfcc >/dev/null
ours=$(mktemp); theirs=$(mktemp)
trap 'rm -f "$ours" "$theirs"' EXIT
echo "threads: $threads   $(lscpu | sed -n 's/^Model name: *//p')"
"$build/bench/bench_train" --threads "$threads" --json > "$ours"
if /usr/bin/python3 bench/bench_pytorch.py --threads "$threads" > "$theirs"; then :; else
  echo "(PyTorch not installed: no reference run)"; : > "$theirs"; fi
/usr/bin/python3 - "$ours" "$theirs" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
peak = next(j["sgemm_gflops_per_core"] for j in rows if "sgemm_gflops_per_core" in j)
ours = {j["arch"]: j for j in rows if "arch" in j}
ref = {j["arch"]: j for j in map(json.loads, open(sys.argv[2]))}
impl = next(iter(ref.values()))["impl"] if ref else "PyTorch"
print(f"sgemm on one core: {peak:.1f} GFLOP/s; 'floor' = a sample's multiply-adds on every "
      "thread at that rate")
print(f"{'network':20} {'train/s':>9} {'ref/s':>9} {'ratio':>6}   {'lat ms':>7} {'ref ms':>7} "
      f"{'ratio':>6} {'floor':>7} {'ref/10':>7}")
for arch, o in ours.items():
    r = ref.get(arch)
    if r:
        print(f"{arch:20} {o['train_samples_per_s']:9.0f} {r['train_samples_per_s']:9.0f} "
              f"{o['train_samples_per_s'] / r['train_samples_per_s']:6.2f}   "
              f"{o['latency_ms']:7.3f} {r['latency_ms']:7.3f} {r['latency_ms'] / o['latency_ms']:6.1f} "
              f"{o['latency_floor_ms']:7.3f} {r['latency_ms'] / 10:7.3f}")
    else:
        print(f"{arch:20} {o['train_samples_per_s']:9.0f} {'-':>9} {'-':>6}   {o['latency_ms']:7.3f} "
              f"{'-':>7} {'-':>6} {o['latency_floor_ms']:7.3f}")
print(f"reference: {impl}")
PY
"$build/bench/bench_mfcc"
