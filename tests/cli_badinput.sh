#!/bin/bash
# Bad input to the CLI: every case gives one line on stderr and the
# documented exit status (2 usage, 1 failure), never a crash, a silent
# default, a partial file or an output written over an input.
# Usage: bash cli_badinput.sh PATH/TO/mmdigits
# Needs no data set: commands that want one get an empty --data directory,
# since the checks run before any data is read.
set -u
MM=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
MODELS=$HERE/../models
unset GST_PLUGIN_PATH GST_PLUGIN_PATH_1_0
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0

ok () { echo "ok: $*"; }
fail () { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect RC DESCRIPTION COMMAND...: the command exits RC with exactly one
# line on stderr (kept in $T/err)
expect () {
  local want=$1 what=$2
  shift 2
  timeout 60 "$@" > "$T/out" 2> "$T/err"
  local rc=$? lines
  lines=$(wc -l < "$T/err")
  if [ $rc -eq "$want" ] && [ "$lines" -eq 1 ]; then
    ok "$what: exit $rc: $(cat "$T/err")"
  else
    fail "$what: exit $rc (want $want), $lines lines: $(head -c 400 "$T/err")"
  fi
}

mkdir "$T/data"
# ---- numeric options: out of range is a usage error ----
for opt in "--epochs -1" "--epochs 0" "--lr -1" "--lr 0" "--lr nan" "--lr inf" \
    "--limit -5" "--limit 0" "--threads -2" "--threads 0" "--threads 100000" \
    "--batch 2147483647" "--batch 1" "--batch 99999999999" "--nfft 700" "--seed -1" \
    "--epochs x"; do
  # shellcheck disable=SC2086
  expect 2 "train $opt" "$MM" train --arch ImageNet_CNN --data "$T/data" \
    --out "$T/x.safetensors" $opt
done
expect 2 "train --modality-dropout 2" "$MM" train --arch HybridNet_CNN --data "$T/data" \
  --out "$T/x.safetensors" --modality-dropout 2
expect 2 "words --on-db nan" "$MM" words --on-db nan "$T/none.wav"
expect 2 "words --jobs -1" "$MM" words --jobs -1 "$T/none.wav"
expect 2 "eval --threads 0" "$MM" eval --model "$T/m.safetensors" --threads 0
expect 2 "mfcc --nfft 700" "$MM" mfcc --nfft 700 "$T/none.wav" --json
expect 2 "batch --jobs -1" "$MM" batch --jobs -1 --out "$T/o.jsonl" "$T/none.png"
expect 2 "demo-media --seed -3" "$MM" demo-media --seed -3 --out "$T/demo"
[ ! -e "$T/demo" ] && ok "demo-media with a bad option made nothing" \
  || fail "demo-media with a bad option made $T/demo"

# ---- outputs that are inputs, or cannot be written: refused before the work ----
espeak-ng -w "$T/seven.wav" "seven" 2> /dev/null \
  || sox -n -r 16000 -c 1 -b 16 "$T/seven.wav" synth 0.6 sine 440 2> /dev/null
cp "$T/seven.wav" "$T/seven.orig"
expect 1 "mfcc seven.wav --out seven.wav" "$MM" mfcc "$T/seven.wav" --out "$T/seven.wav"
grep -q "seven.wav" "$T/err" || fail "the message does not name the input"
ln -s seven.wav "$T/link.wav"
expect 1 "mfcc seven.wav --out (a symlink to seven.wav)" "$MM" mfcc "$T/seven.wav" \
  --out "$T/link.wav"
ln "$T/seven.wav" "$T/hard.wav"
expect 1 "mfcc seven.wav --out (a hard link to seven.wav)" "$MM" mfcc "$T/seven.wav" \
  --out "$T/hard.wav"
expect 1 "mfcc --out ''" "$MM" mfcc "$T/seven.wav" --out ""
expect 1 "mfcc --out into a missing directory" "$MM" mfcc "$T/seven.wav" \
  --out "$T/nodir/x.f32"
mkfifo "$T/fifo"
expect 1 "mfcc --out FIFO" "$MM" mfcc "$T/seven.wav" --out "$T/fifo"
[ -p "$T/fifo" ] && ok "the FIFO is still a FIFO" || fail "the FIFO was replaced"
cmp -s "$T/seven.wav" "$T/seven.orig" && ok "seven.wav is intact" \
  || fail "seven.wav was changed"

if [ -f "$MODELS/imagenet_cnn.safetensors" ]; then
  cp "$MODELS/imagenet_cnn.safetensors" "$T/m.safetensors"
  cp "$T/m.safetensors" "$T/m.orig"
  cp "$T/seven.wav" "$T/x.png"
  expect 1 "batch x.png --out x.png" "$MM" batch "$T/x.png" --model "$T/m.safetensors" \
    --out "$T/x.png"
  expect 1 "batch --shard 2/2 --out (a file of shard 1)" "$MM" batch "$T/x.png" \
    "$T/seven.wav" --shard 2/2 --model "$T/m.safetensors" --out "$T/seven.wav"
  expect 1 "batch --model m.safetensors --out m.safetensors" "$MM" batch "$T/x.png" \
    --model "$T/m.safetensors" --out "$T/m.safetensors"
  mkdir "$T/mdir" && cp "$T/m.safetensors" "$T/mdir/image.safetensors"
  expect 1 "batch --model DIR --out DIR/image.safetensors" "$MM" batch "$T/x.png" \
    --model "$T/mdir" --out "$T/mdir/./image.safetensors"
  expect 1 "eval --model m.safetensors --predictions m.safetensors" "$MM" eval \
    --data "$T/data" --model "$T/m.safetensors" --predictions "$T/m.safetensors"
  expect 1 "eval --predictions into a missing directory (before loading anything)" "$MM" \
    eval --data "$T/data" --model "$T/m.safetensors" --predictions "$T/nodir/p.tsv"
  cmp -s "$T/m.safetensors" "$T/m.orig" && cmp -s "$T/x.png" "$T/seven.wav" \
    && cmp -s "$T/mdir/image.safetensors" "$T/m.orig" \
    && ok "the inputs are intact" || fail "an input was changed"
else
  echo "skipped: no shipped models (batch/eval output checks)"
fi

mkdir -p "$T/data/mnist"
cp "$T/seven.wav" "$T/data/mnist/t10k-labels-idx1-ubyte.gz"
expect 1 "train --out (the MNIST file it reads)" "$MM" train --arch ImageNet_CNN \
  --data "$T/data" --out "$T/data/mnist/t10k-labels-idx1-ubyte.gz"
expect 1 "train --out ''" "$MM" train --arch ImageNet_CNN --data "$T/data" --out ""
expect 1 "train --out DIR" "$MM" train --arch ImageNet_CNN --data "$T/data" --out "$T/data"

[ $fails -eq 0 ] && echo "all bad-input CLI checks passed" || echo "$fails check(s) failed"
exit $(( fails > 0 ))
