#!/usr/bin/env bash
# Fine-tunes a network on your own labelled recordings.
#
#   pipelines/finetune.sh DIR --out FILE [--init-model FILE] [--epochs N]
#                         [--lr LR] [--arch NAME] [--build DIR]
#
# DIR holds recordings named {digit}_*.wav (any name after the digit and
# the underscore; any format GStreamer decodes, despite the .wav), one word
# each. Each is decoded, resampled to 16 kHz mono and cut into a 39×13 MFCC
# block by mfccextract, and mmtrain fine-tunes --init-model (default
# models/audionet_cnn.safetensors) on all the blocks at once, labelled with
# their file's digit, then writes --out. Without --init-model and with
# --init-model '' it trains a new --arch network (default AudioNet_CNN).
# mmtrain prints its progress (mmtrain-progress) and result (mmtrain-done).
#
# All recordings go through one pipeline (pipelines/finetune.py explains
# why and how the labels follow the recordings); a few hundred recordings
# are fine, as each is a branch of its own.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=$root/build
init=$root/models/audionet_cnn.safetensors
epochs=5
lr=0
arch=AudioNet_CNN
out=
dir=

while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --init-model) init=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --lr) lr=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -h|--help) sed -n '2,19s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) echo "finetune.sh: unknown option '$1'" >&2; exit 2 ;;
    *) dir=$1; shift ;;
  esac
done
{ [ -n "$dir" ] && [ -n "$out" ]; } || { echo "usage: finetune.sh DIR --out FILE [--init-model FILE]" >&2; exit 2; }
[ -d "$dir" ] || { echo "finetune.sh: no directory $dir" >&2; exit 1; }
[ -z "$init" ] || [ -r "$init" ] || { echo "finetune.sh: no model $init" >&2; exit 1; }

items=()
shopt -s nullglob
for f in "$dir"/[0-9]_*.wav; do
  d=$(basename "$f")
  items+=("$(cd "$(dirname "$f")" && pwd)/$d:${d:0:1}")
done
[ ${#items[@]} -ge 2 ] || { echo "finetune.sh: fewer than two {digit}_*.wav files in $dir" >&2; exit 1; }
echo "fine-tuning on ${#items[@]} recordings of $dir" >&2

export GST_PLUGIN_PATH="$build/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
# Debian's python3: python3-gi and gir1.2-gstreamer-1.0 install for it alone
py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec "$py" "$here/finetune.py" "$out" "$init" "$epochs" "$lr" "$arch" "${items[@]}"
