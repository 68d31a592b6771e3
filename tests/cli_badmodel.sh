#!/bin/bash
# CLI test: hostile model files. Every command that loads a model refuses
# each one with exit status 1 and one line on stderr naming the cause; none
# crashes (a header nesting 100,000 '[' deep overflowed json-glib's stack)
# or hangs (a FIFO blocked for ever, /dev/zero was read until memory ran out).
# Usage: bash cli_badmodel.sh PATH/TO/mmdigits [yes|no: the plugin was built]
set -u -o pipefail
MM=$(realpath "$1")
PLUGIN=${2:-no}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${MMDIGITS_SOURCE_ROOT:-$HERE/..}
# the uninstalled plugin, as meson devenv gives it (nothing compiled in
# refers to the build tree)
export GST_PLUGIN_PATH=$(dirname "$(dirname "$MM")")/plugins
T=$(mktemp -d)
. "$HERE/checks.sh"

# A safetensors header of 100,000 '[': the 8-byte little-endian length
# (0x186a0), then the text.
printf '\xa0\x86\x01\x00\x00\x00\x00\x00' > "$T/deep.safetensors"
head -c 100000 /dev/zero | tr '\0' '[' >> "$T/deep.safetensors"
mkfifo "$T/fifo.safetensors"
# The shipped image model with one batch-norm variance made negative.
if [ -f "$SRC/models/imagenet_cnn.safetensors" ]; then
  python3 - "$SRC/models/imagenet_cnn.safetensors" "$T/negvar.safetensors" <<'PY'
import json, struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack_from("<Q", b)[0]
begin = json.loads(b[8:8 + n])["image.bn1.running_var"]["data_offsets"][0]
struct.pack_into("<f", b, 8 + n + begin + 4 * 2, -0.5)
open(sys.argv[2], "wb").write(b)
PY
fi

# expect NAME WHAT -- command...: exit 1 within 30 s, one stderr line
# containing WHAT.
expect () {
  local name=$1 what=$2 rc lines
  shift 3
  timeout 30 "$@" > /dev/null 2> "$T/err" < /dev/null
  rc=$?
  lines=$(wc -l < "$T/err")
  if [ $rc -eq 1 ] && [ "$lines" -eq 1 ] && grep -qF -- "$what" "$T/err"; then
    ok "$name: exit 1, '$(cat "$T/err")'"
  else
    fail "$name: exit $rc$([ $rc -eq 124 ] && echo " (hung)"), $lines stderr lines: $(head -c 400 "$T/err")"
  fi
}

for f in deep fifo negvar; do
  [ -e "$T/$f.safetensors" ] || { skip "$f (no shipped model to edit)"; continue; }
  case $f in
    deep) what="nests deeper than 64 levels" ;;
    fifo) what="is a FIFO, not a model file" ;;
    negvar) what="tensor image.bn1.running_var has a negative variance (-0.5) at index 2" ;;
  esac
  expect "inspect $f" "$what" -- "$MM" inspect "$T/$f.safetensors"
  expect "eval $f" "$what" -- "$MM" eval --model "$T/$f.safetensors"
  if [ "$PLUGIN" = yes ] && [ $f != negvar ]; then
    # predict reads the header alone (the arch) before it builds the pipeline
    expect "predict $f" "$what" -- "$MM" predict --model "$T/$f.safetensors" --image "$T/none.png"
  elif [ $f != negvar ]; then
    skip "predict $f (no plugin)"
  fi
done
expect "inspect /dev/zero" "is a character device, not a model file" -- "$MM" inspect /dev/zero

# A model directory where a hostile file sits beside good ones: predict
# names the networks of the good ones and runs (mmclassify skips the bad
# file with a warning); before, the mere presence of the file crashed it.
if [ "$PLUGIN" = yes ] && [ -f "$SRC/models/imagenet_cnn.safetensors" ]; then
  mkdir "$T/models"
  cp "$SRC/models/imagenet_cnn.safetensors" "$T/deep.safetensors" "$T/negvar.safetensors" \
    "$T/models/"
  "$MM" demo-media --out "$T/media" --digits 4 > /dev/null 2>&1 \
    || fail "demo-media"
  timeout 120 "$MM" predict --model "$T/models" --image "$T/media/demo.webm" > "$T/out" 2> "$T/err"
  rc=$?
  [ $rc -eq 0 ] && grep -q . "$T/out" \
    && ok "predict with hostile files in the model directory runs ($(head -1 "$T/out"))" \
    || fail "predict with hostile files in the model directory: exit $rc: $(head -c 400 "$T/err")"
else
  skip "predict with hostile files in a model directory (no plugin or no shipped model)"
fi

checks_done
