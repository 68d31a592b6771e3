#!/usr/bin/env bash
# mmdigits batch beside a plain Python script, in one run on this machine:
#   bash bench/bench_batch.sh [BUILD_DIR]        (default: build)
# 1. 1-second WAVs (MM_BENCH_FILES FSDD recordings, default 1000; espeak-ng
#    digits without the data): bench/batch_reference.py (scipy + numpy MFCC +
#    AudioNet_CNN in PyTorch, one thread) against `batch --jobs 1`, as files
#    per wall second and per CPU second (the per-core figure on a shared
#    machine), then `--jobs 2` against `--jobs 1`, and `--decode gstreamer`
#    (every file as a stream through the kept pipeline); and whether batch
#    decides every file as eval does (tests/recording_decisions);
# 2. demo videos (16: four demo-media videos, four copies each):
#    `batch --jobs 1` against decoding alone (filesrc ! decodebin ! fakesink
#    per file, the same streams, in one process), in CPU seconds, the two
#    alternated MM_BENCH_ROUNDS times (default 3): a ratio per round, over
#    the 16 files and for one more file (16 files less the first 4);
# 3. memory: peak RSS of `batch --jobs 2` over the file list and over a list
#    MM_BENCH_LONG entries long (default 100000: the files repeated).
# MM_BENCH_PARTS (default "wav video memory") picks the parts.
# Ratios are taken within this run; the machine may be shared, so run it
# twice and look at both.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
MM=$build/tools/mmdigits
M=models
# WAV files go to one AudioNet_CNN file, the network the Python reference runs (the set
# itself gives audio decisions to the network its roles.json names): the study's, whose
# front end is the one the reference computes (it refuses another: the default set's
# AudioNet_CNN is narrowband with CMVN)
MW=$M/study/audionet_cnn.safetensors
n_files=${MM_BENCH_FILES:-1000}
n_long=${MM_BENCH_LONG:-100000}
rounds=${MM_BENCH_ROUNDS:-3}
parts=" ${MM_BENCH_PARTS:-wav video memory} "
PY=/usr/bin/python3
# the build tree's plugin, as meson devenv gives it
export GST_PLUGIN_PATH=${GST_PLUGIN_PATH:-$(realpath "$build")/plugins}
meson compile -C "$build" tools/mmdigits plugins/gstmmdigits tests/recording_decisions > /dev/null
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

data=${MMDIGITS_DATA:-../shared/data}
if [ -d "$data/fsdd/recordings" ]; then
  # awk reads to the end: head would end the pipe early (SIGPIPE under pipefail)
  ls "$data/fsdd/recordings" | awk -v n="$n_files" '/\.wav$/ && k++ < n' \
    | sed "s|^|$(realpath "$data")/fsdd/recordings/|" > "$T/wavs.txt"
  what="FSDD recordings"
else
  words=(zero one two three four five six seven eight nine)
  for i in $(seq 0 $((n_files - 1))); do
    espeak-ng -s $((140 + i % 40)) -w "$T/$i.wav" "${words[$((i % 10))]}"
    echo "$T/$i.wav"
  done > "$T/wavs.txt"
  what="espeak-ng WAVs"
fi
n=$(wc -l < "$T/wavs.txt")
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)"

# "batch: N files (...) in S s (R files/s, J jobs, C CPU s)" -> "S C"
summary () { sed -n 's/.* in \([0-9.]*\) s (.*, \([0-9.]*\) CPU s).*/\1 \2/p' "$1"; }

# ---- 1. WAV files ----
if [[ $parts == *" wav "* ]]; then
# one core: numpy's and PyTorch's thread pools pinned to one thread too
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
  "$PY" bench/batch_reference.py "$MW" "$T/wavs.txt" > "$T/ref.json"
read -r ref_s ref_cpu < <("$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["seconds"], j["cpu_seconds"])' "$T/ref.json")
"$MM" batch --files-from "$T/wavs.txt" --model "$MW" --jobs 1 --out "$T/b1.jsonl" 2> "$T/b1.err"
read -r b1_s b1_cpu < <(summary "$T/b1.err")
"$MM" batch --files-from "$T/wavs.txt" --model "$MW" --jobs 2 --out "$T/b2.jsonl" 2> "$T/b2.err"
read -r b2_s b2_cpu < <(summary "$T/b2.err")
"$MM" batch --files-from "$T/wavs.txt" --model "$MW" --jobs 1 --decode gstreamer \
  --out "$T/bg.jsonl" 2> "$T/bg.err"
read -r bg_s bg_cpu < <(summary "$T/bg.err")
"$build/tests/recording_decisions" "$MW" "$T/wavs.txt" > "$T/eval.tsv"
"$PY" - "$n" "$what" "$ref_s" "$ref_cpu" "$b1_s" "$b1_cpu" "$b2_s" "$b2_cpu" "$bg_s" "$bg_cpu" \
  "$T/ref.json" "$T/b1.jsonl" "$T/eval.tsv" "$T/bg.jsonl" <<'PY'
import collections, json, sys
n, what = int(sys.argv[1]), sys.argv[2]
ref_s, ref_cpu, b1_s, b1_cpu, b2_s, b2_cpu, bg_s, bg_cpu = map(float, sys.argv[3:11])
ref = json.load(open(sys.argv[11]))
impl = ref["impl"]
def decisions(path):
    d = collections.defaultdict(list)
    for line in open(path):
        o = json.loads(line)
        d[o["file"]] += [o["digit"]] if "digit" in o else []
    return d
print(f"\n{n} {what}: files/s (wall)   files per CPU second")
print(f"  Python reference, 1 thread  {n / ref_s:8.1f}   {n / ref_cpu:8.1f}   ({impl})")
print(f"  batch --jobs 1              {n / b1_s:8.1f}   {n / b1_cpu:8.1f}")
print(f"  batch --jobs 2              {n / b2_s:8.1f}   {n / b2_cpu:8.1f}")
print(f"  batch --jobs 1 --decode gstreamer {n / bg_s:8.1f}   {n / bg_cpu:8.1f}")
print(f"  ratio batch/Python per core (CPU): {ref_cpu / b1_cpu:.2f}   (wall, --jobs 1): {ref_s / b1_s:.2f}")
print(f"  ratio --jobs 2 / --jobs 1 (wall): {b1_s / b2_s:.2f}")
# the cut: batch's decisions per file against eval's (the model's cut of
# the recording, tests/recording_decisions)
for name, path in (("batch", sys.argv[12]), ("batch --decode gstreamer", sys.argv[14])):
    dec = decisions(path)
    ev = {l.split("\t")[0]: int(l.split("\t")[1]) for l in open(sys.argv[13])}
    same = sum(dec[f] == [d] for f, d in ev.items())
    none = sum(not dec[f] for f in ev)
    multi = sum(len(dec[f]) > 1 for f in ev)
    print(f"  {name}: one decision, eval's, on {same}/{n} files ({100 * same / n:.2f} %); "
          f"{none} without a decision, {multi} with several")
PY
fi

# ---- 2. video ----
if [[ $parts == *" video "* ]]; then
mkdir -p "$T/vid"
for i in 1 2 3 4; do
  "$MM" demo-media --out "$T/vid/d$i" --digits "$i,$(( (i + 3) % 10 )),$(( (i + 6) % 10 ))" \
    --seed "$i" > /dev/null
  for k in 1 2 3 4; do cp "$T/vid/d$i/demo.webm" "$T/vid/v$i-$k.webm"; done
done
ls "$T"/vid/v*.webm > "$T/vids.txt"
n_vids=$(wc -l < "$T/vids.txt")
cat > "$T/decode.py" <<'PY'
# decoding alone: one filesrc ! decodebin pipeline per file, every stream
# into a fakesink, played to EOS in this process
import resource, sys, time
import gi
gi.require_version("Gst", "1.0")
from gi.repository import Gst
Gst.init(None)
files = [l.strip() for l in open(sys.argv[1])]
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
t0, c0 = time.perf_counter(), cpu()
for f in files:
    p = Gst.Pipeline()
    src, dec = Gst.ElementFactory.make("filesrc"), Gst.ElementFactory.make("decodebin")
    src.set_property("location", f)
    p.add(src); p.add(dec); src.link(dec)
    def added(d, pad, p=p):
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("sync", False)
        p.add(sink); pad.link(sink.get_static_pad("sink")); sink.sync_state_with_parent()
    dec.connect("pad-added", added)
    p.set_state(Gst.State.PLAYING)
    msg = p.get_bus().timed_pop_filtered(Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    assert msg.type == Gst.MessageType.EOS, f
    p.set_state(Gst.State.NULL)
print(time.perf_counter() - t0, cpu() - c0)
PY
# the first four alone too: (16 files − 4 files) / 12 is the cost of one
# more file, without either side's start-up (for batch: its pipelines and
# loading the networks)
head -4 "$T/vids.txt" > "$T/vids4.txt"
echo
echo "$n_vids demo videos (webm, VP8 320x240 10 fps + Vorbis, ~10 s each), alternated $rounds times;"
echo "CPU s of decoding alone and of batch --jobs 1 over 4 and over $n_vids files:"
echo "  round   decode 4  batch 4   decode $n_vids  batch $n_vids   batch/decoding: $n_vids files, one more file   load"
ratios=()
more=()
for r in $(seq "$rounds"); do
  read -r _ d4 < <("$PY" "$T/decode.py" "$T/vids4.txt")
  "$MM" batch --files-from "$T/vids4.txt" --model "$M" --jobs 1 --out "$T/v4.jsonl" 2> "$T/v.err"
  read -r _ b4 < <(summary "$T/v.err")
  read -r _ dn < <("$PY" "$T/decode.py" "$T/vids.txt")
  "$MM" batch --files-from "$T/vids.txt" --model "$M" --jobs 1 --out "$T/v.jsonl" 2> "$T/v.err"
  read -r _ bn < <(summary "$T/v.err")
  read -r ratio marginal < <("$PY" -c "print(f'{$bn / $dn:.2f} {($bn - $b4) / ($dn - $d4):.2f}')")
  ratios+=("$ratio")
  more+=("$marginal")
  printf "  %5d   %7.2f  %7.2f   %8.2f  %8.2f   %6s  %6s   %s\n" "$r" "$d4" "$b4" "$dn" "$bn" \
    "$ratio" "$marginal" "$(cut -d' ' -f1 /proc/loadavg)"
done
median () { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
echo "  batch/decoding, CPU s: $n_vids files median $(median "${ratios[@]}") of ${ratios[*]};" \
  "one more file median $(median "${more[@]}") of ${more[*]}; $(wc -l < "$T/v.jsonl") lines"
fi

# ---- 3. memory over a long list ----
if [[ $parts == *" memory "* ]]; then
for i in $(seq $(( (n_long + n - 1) / n ))); do cat "$T/wavs.txt"; done \
  | awk -v n="$n_long" 'NR <= n' > "$T/long.txt"
/usr/bin/time -f "%M" -o "$T/rss1" "$MM" batch --files-from "$T/wavs.txt" --model "$MW" --jobs 2 \
  --out "$T/m1.jsonl" 2> /dev/null
/usr/bin/time -f "%M" -o "$T/rss2" "$MM" batch --files-from "$T/long.txt" --model "$MW" --jobs 2 \
  --out "$T/m2.jsonl" 2> "$T/m2.err"
echo
echo "peak RSS of batch --jobs 2: $(tail -1 "$T/rss1") KiB over $n files," \
  "$(tail -1 "$T/rss2") KiB over $(wc -l < "$T/long.txt") ($(summary "$T/m2.err" | cut -d' ' -f1) s)"
fi
