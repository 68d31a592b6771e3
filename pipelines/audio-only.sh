#!/usr/bin/env bash
# Spoken digits in any audio file → one JSON line per word on stdout.
#
#   pipelines/audio-only.sh FILE [--model FILE|DIR] [--build DIR] [--threshold DB]
#
# FILE is anything GStreamer decodes (WAV, FLAC, Ogg, WebM…), any rate and
# channel count: it is mixed down and resampled to 16 kHz mono, mfccextract
# cuts it into words (one 39×13 MFCC block per word) and mmclassify names
# each word with the audio network the model set serves audio with (default
# models/: the network its roles.json names, as mmdigits predict --audio
# would; a model file given alone is that network).
# --threshold drops words whose loudest frame stays below it (dBFS, default -100:
# none; the word detector adapts to the noise floor by itself).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=$root/build
model=$root/models
threshold=-100
file=

while [ $# -gt 0 ]; do
  case $1 in
    --model) model=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --threshold) threshold=$2; shift 2 ;;
    -h|--help) sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) echo "audio-only.sh: unknown option '$1'" >&2; exit 2 ;;
    *) file=$1; shift ;;
  esac
done
[ -n "$file" ] || { echo "usage: audio-only.sh FILE [--model FILE|DIR] [--build DIR]" >&2; exit 2; }
[ -r "$file" ] || { echo "audio-only.sh: cannot read $file" >&2; exit 1; }
[ -e "$model" ] || { echo "audio-only.sh: no model $model" >&2; exit 1; }

export GST_PLUGIN_PATH="$build/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
exec gst-launch-1.0 -q \
  filesrc location="$file" ! decodebin ! audioconvert ! audioresample \
  ! audio/x-raw,rate=16000,channels=1,format=F32LE \
  ! mfccextract threshold="$threshold" ! mm.audio_sink \
  mmclassify name=mm model="$model" ! fdsink fd=1
