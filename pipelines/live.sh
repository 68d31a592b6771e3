#!/usr/bin/env bash
# Live: a camera and a microphone → one JSON line per decision on stdout.
# (Needs a camera and a sound card; not run in CI.)
#
#   pipelines/live.sh [--device /dev/video0] [--models DIR] [--build DIR]
#                     [--pair-window MS] [--threshold DB]
#
# Hold a digit written in dark ink on light paper in front of the camera
# and say it. digitimage sends a crop when the digit has been still for
# three frames; mfccextract sends a word when you stop speaking
# (150 ms of silence); mmclassify fuses a crop and a word whose times lie
# within --pair-window ms (default: the element's) and otherwise decides
# on what it has. Decisions appear about 0.5–1.2 s after the word ends
# (mfccextract's latency) and 0.3 s after the digit is held still.
# Bus messages named "mmclassify" carry the same fields (gst-launch -m).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=$root/build
models=$root/models
device=/dev/video0
pair=
threshold=-100

while [ $# -gt 0 ]; do
  case $1 in
    --device) device=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --pair-window) pair=$2; shift 2 ;;
    --threshold) threshold=$2; shift 2 ;;
    -h|--help) sed -n '2,16s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "live.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done

export GST_PLUGIN_PATH="$build/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
exec gst-launch-1.0 -q -e \
  v4l2src device="$device" ! videoconvert ! videoscale ! video/x-raw,format=GRAY8,width=320,height=240 \
  ! queue leaky=downstream max-size-buffers=2 \
  ! digitimage polarity=dark-on-light ! mm.image_sink \
  autoaudiosrc ! audioconvert ! audioresample ! audio/x-raw,rate=16000,channels=1,format=F32LE \
  ! mfccextract threshold="$threshold" ! mm.audio_sink \
  mmclassify name=mm model="$models" ${pair:+pair-window=$pair} ! fdsink fd=1 sync=false
