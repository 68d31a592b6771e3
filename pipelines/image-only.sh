#!/usr/bin/env bash
# Written digits in an image or a video → one JSON line per digit on stdout.
#
#   pipelines/image-only.sh FILE [--model FILE|DIR] [--build DIR] [--polarity P]
#
# FILE is a still image (PNG, JPEG, …: one decision) or a video (one decision
# each time a new digit is held still for three frames). Frames are turned
# to grey, digitimage finds the digit and makes an MNIST-style 28×28 crop,
# and mmclassify names it with the image network the model set serves
# images with (default models/, as mmdigits predict --image would; a model
# file given alone is that network). --polarity (auto, dark-on-light,
# light-on-dark) tells digitimage which side is ink when auto guesses wrong.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=$root/build
model=$root/models
polarity=auto
file=

while [ $# -gt 0 ]; do
  case $1 in
    --model) model=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --polarity) polarity=$2; shift 2 ;;
    -h|--help) sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) echo "image-only.sh: unknown option '$1'" >&2; exit 2 ;;
    *) file=$1; shift ;;
  esac
done
[ -n "$file" ] || { echo "usage: image-only.sh FILE [--model FILE|DIR] [--build DIR]" >&2; exit 2; }
[ -r "$file" ] || { echo "image-only.sh: cannot read $file" >&2; exit 1; }
[ -e "$model" ] || { echo "image-only.sh: no model $model" >&2; exit 1; }

# A still image is one frame: it has to count as stable at once.
case ${file,,} in
  *.png|*.jpg|*.jpeg|*.pgm|*.pnm|*.bmp|*.gif|*.tif|*.tiff|*.webp) stable=1 ;;
  *) stable=3 ;;
esac

export GST_PLUGIN_PATH="$build/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
exec gst-launch-1.0 -q \
  filesrc location="$file" ! decodebin ! videoconvert ! video/x-raw,format=GRAY8 \
  ! digitimage stable-frames=$stable polarity="$polarity" ! mm.image_sink \
  mmclassify name=mm model="$model" ! fdsink fd=1
