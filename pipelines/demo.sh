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

# The pipeline comes from the CLI, the one predict and batch run
# (mm_cli_classifier_description): one decodebin feeding the branches the
# model set of $models serves (the video through digitimage if it has an
# image or hybrid network, the sound through mfccextract if it has an audio
# or hybrid one) into one mmclassify, which fuses a crop and a word within
# its pair-window when the set has a hybrid network and decides each alone
# otherwise, writing one JSON line per decision to events.jsonl. The
# arguments come one a line, so file names are taken literally.
if ! launch=$("$mmdigits" predict --model "$models" --media "$out/demo.webm" \
                --print-pipeline "$out/events.jsonl"); then
  echo "demo.sh: no classifier pipeline for the models in $models" >&2
  exit 1
fi
mapfile -t pipeline <<<"$launch"
echo "pipeline: ${pipeline[*]}"

export GST_PLUGIN_PATH="$build/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
# -m prints the element messages to gst.log (mmclassify posts one per
# decision, as it writes one line to events.jsonl).
if ! gst-launch-1.0 -m "${pipeline[@]}" > "$out/gst.log" 2>&1; then
  echo "demo.sh: the pipeline failed; the end of $out/gst.log:" >&2
  tail -n 15 "$out/gst.log" >&2
  exit 1
fi
python3 "$here/demo-score.py" "$out/script.tsv" "$out/events.jsonl" "$out/summary.json"
echo "files: $out (demo.webm, script.tsv, events.jsonl, summary.json, gst.log)"
