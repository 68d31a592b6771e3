#!/usr/bin/env bash
# mmdigits demo: digits drawn on paper and spoken at the same time, read by
# one GStreamer pipeline that fuses what it sees and hears.
#
#   pipelines/demo.sh [--build DIR] [--models DIR] [--out DIR]
#                     [--digits 3,7,1,...] [--seed N] [--no-deps] [--no-build]
#
# 1. installs the Debian packages it needs (scripts/deps.sh), unless --no-deps;
# 2. configures and builds the project in --build (default ./build), unless
#    --no-build;
# 3. makes the demo media with `mmdigits demo-media` (no data set needed):
#    OUT/demo.webm and OUT/script.tsv (what is shown and said, and when);
# 4. plays demo.webm through digitimage + mfccextract into mmclassify, which
#    writes one JSON line per decision to OUT/events.jsonl;
# 5. prints the decisions and, for each scripted digit, the decision that
#    falls in its time window; writes OUT/summary.json.
# The accuracy is reported, not asserted: the script exits 0 whenever the
# pipeline ran (tests/demo.sh asserts).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=$root/build
models=$root/models
out=
digits=
seed=1
deps=1
compile=1

usage () {
  sed -n '2,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
  exit "${1:-0}"
}

while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --digits) digits=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --no-deps) deps=0; shift ;;
    --no-build) compile=0; shift ;;
    -h|--help) usage 0 ;;
    *) echo "demo.sh: unknown option '$1'" >&2; usage 2 >&2 ;;
  esac
done

if [ $deps = 1 ]; then
  # shellcheck source=/dev/null
  . "$root/scripts/deps.sh"
  mm_install_deps "${MM_PACKAGES[@]}"
fi

if [ $compile = 1 ]; then
  # only what the demo runs: the CLI and the plugin
  if ! log=$({ [ -f "$build/build.ninja" ] || meson setup "$build" "$root"; } 2>&1 \
             && meson compile -C "$build" tools/mmdigits:executable plugins/gstmmdigits 2>&1); then
    echo "demo.sh: the build failed:" >&2
    tail -n 20 <<<"$log" >&2
    exit 1
  fi
fi
mmdigits=$build/tools/mmdigits
[ -x "$mmdigits" ] || { echo "demo.sh: no $mmdigits (build first, or drop --no-build)" >&2; exit 1; }
[ -d "$models" ] || { echo "demo.sh: no models directory $models" >&2; exit 1; }

if [ -z "$out" ]; then
  out=$(mktemp -d "${TMPDIR:-/tmp}/mmdigits-demo.XXXXXX")
fi
mkdir -p "$out"

media_args=(--out "$out" --seed "$seed")
[ -n "$digits" ] && media_args+=(--digits "$digits")
"$mmdigits" demo-media "${media_args[@]}" >/dev/null

# The roles the model set of models/ serves, as mmdigits inspect reports
# them (the core's MmModelSet, the policy mmclassify applies: one network
# per role, CNN before LSTM; a file that does not load is skipped) decide
# which branches the pipeline has:
#  - a hybrid network, or an image and an audio network: both branches into
#    one mmclassify, which fuses a crop and a word within its pair-window
#    (with the hybrid) or classifies each alone (without one);
#  - only an image network: the video alone.
# (inspect exits 1 when a file is refused; the others are still listed.)
roles=$("$mmdigits" inspect --json "$models" 2>/dev/null \
        | python3 -c 'import json, sys
for line in sys.stdin:
    print(json.loads(line)["role"])' || true)
has () { grep -qxF "$1" <<<"$roles"; }

# decodebin gives a video and an audio pad; each queue links to the branch
# whose caps fit. -m prints the element messages to gst.log (mmclassify
# posts one per decision, as it writes one line to events.jsonl).
# shellcheck disable=SC2054  # commas belong to caps, not to the array
video=(d. ! queue ! videoconvert ! video/x-raw,format=GRAY8 ! digitimage)
# shellcheck disable=SC2054
audio=(d. ! queue ! audioconvert ! audioresample
       ! audio/x-raw,rate=16000,channels=1,format=F32LE ! mfccextract)
classifier=(mmclassify name=mm model="$models" ! filesink location="$out/events.jsonl")
if has image+audio; then
  mode="fused by mmclassify (hybrid network)"
  branches=("${video[@]}" ! mm.image_sink "${audio[@]}" ! mm.audio_sink "${classifier[@]}")
elif has image && has audio; then
  mode="image and audio decided apart by mmclassify (no hybrid network in $models)"
  branches=("${video[@]}" ! mm.image_sink "${audio[@]}" ! mm.audio_sink "${classifier[@]}")
elif has image; then
  mode="image only (no audio or hybrid network in $models)"
  branches=("${video[@]}" ! mm.image_sink "${classifier[@]}")
else
  echo "demo.sh: $models holds no ImageNet_CNN or hybrid model" >&2
  exit 1
fi
echo "pipeline: $mode"

export GST_PLUGIN_PATH="$build/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
if ! gst-launch-1.0 -m filesrc location="$out/demo.webm" ! decodebin name=d "${branches[@]}" \
    > "$out/gst.log" 2>&1; then
  echo "demo.sh: the pipeline failed; the end of $out/gst.log:" >&2
  tail -n 15 "$out/gst.log" >&2
  exit 1
fi
python3 "$here/demo-score.py" "$out/script.tsv" "$out/events.jsonl" "$out/summary.json"
echo "files: $out (demo.webm, script.tsv, events.jsonl, summary.json, gst.log)"
