#!/bin/bash
# Bad input to the CLI: every case gives one line on stderr and the
# documented exit status (2 usage, 1 failure), never a crash, a silent
# default, a partial file or an output written over an input.
# Usage: bash cli_badinput.sh PATH/TO/mmdigits [yes|no: the plugin is built]
# Needs no data set: commands that want one get an empty --data directory,
# since the checks run before any data is read.
set -u -o pipefail
MM=$(realpath "$1")
PLUGIN=${2:-yes}
HERE=$(cd "$(dirname "$0")" && pwd)
MODELS=$HERE/../models
# the build tree's plugin (an uninstalled CLI looks only in the install's)
unset GST_PLUGIN_PATH_1_0
export GST_PLUGIN_PATH=$(dirname "$(dirname "$MM")")/plugins
# Making inputs needs none of our elements: gst-launch-1.0 runs without the
# build's plugins, so that a registry update never loads a sanitizer build's
# plugin into the uninstrumented gst-launch-1.0 (ASan aborts that process)
gst_make () { GST_PLUGIN_PATH= gst-launch-1.0 -q "$@"; }
T=$(mktemp -d)
. "$HERE/checks.sh"

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

# refused_input DESCRIPTION COMMAND...: exit 1, one line saying the output
# is an input (not some other failure that happened to come first)
refused_input () {
  local what=$1
  expect 1 "$@"
  grep -q "is the input" "$T/err" || fail "$what: not refused as an input"
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
# the audio front end's options (train and mfcc share them): -1 and nan were
# taken for "not given"
for opt in "--nfft 700" "--nfft -1" "--filters -1" "--lifter -1" "--preemph 1.5" \
    "--low-freq nan" "--high-freq 9000"; do
  # shellcheck disable=SC2086
  expect 2 "mfcc $opt" "$MM" mfcc "$T/none.wav" --json $opt
done
# MMDIGITS_THREADS that is not a thread count: atoi read "abc" and "-3" as
# "all cores" and "99999" as 64, silently
for v in abc 0 -3 99999 " 2"; do
  expect 2 "MMDIGITS_THREADS='$v'" env MMDIGITS_THREADS="$v" "$MM" models
  grep -q "MMDIGITS_THREADS" "$T/err" || fail "MMDIGITS_THREADS='$v': not named"
done
MMDIGITS_THREADS=2 "$MM" models > /dev/null 2>&1 && ok "MMDIGITS_THREADS=2 is taken" \
  || fail "MMDIGITS_THREADS=2 was refused"
expect 2 "batch --jobs -1" "$MM" batch --jobs -1 --out "$T/o.jsonl" "$T/none.png"
# batch's usage errors name the one thing wrong (one catch-all line listed
# every rule before)
for args in "--shard 3/2|--shard must be I/N with 1 <= I <= N, not '3/2'" \
    "--shard x|--shard must be I/N" "--decode fast|--decode must be auto or gstreamer, not 'fast'" \
    "--merge --shard 1/2|--merge goes without --shard and --resume"; do
  # shellcheck disable=SC2086
  expect 2 "batch ${args%%|*}" "$MM" batch ${args%%|*} --out "$T/o.jsonl" "$T/none.png"
  grep -qF -e "${args#*|}" "$T/err" || fail "batch ${args%%|*}: the message does not say '${args#*|}'"
done
expect 2 "batch without --out" "$MM" batch "$T/none.png"
grep -q "needs --out OUT" "$T/err" || fail "batch without --out: not named"
expect 2 "batch without files" "$MM" batch --out "$T/o.jsonl"
grep -q "needs FILE... or --files-from LIST" "$T/err" || fail "batch without files: not named"
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
  printf '%s\n' "$T/x.png" > "$T/list.txt"
  expect 1 "batch --files-from list.txt --out list.txt" "$MM" batch --files-from "$T/list.txt" \
    --model "$T/m.safetensors" --out "$T/list.txt"
  cp "$T/list.txt" "$T/part1.jsonl"
  expect 1 "batch --merge part1.jsonl --out part1.jsonl" "$MM" batch --merge "$T/part1.jsonl" \
    --out "$T/part1.jsonl"
  mkdir "$T/mdir" && cp "$T/m.safetensors" "$T/mdir/image.safetensors"
  expect 1 "batch --model DIR --out DIR/image.safetensors" "$MM" batch "$T/x.png" \
    --model "$T/mdir" --out "$T/mdir/./image.safetensors"
  expect 1 "eval --model m.safetensors --predictions m.safetensors" "$MM" eval \
    --data "$T/data" --model "$T/m.safetensors" --predictions "$T/m.safetensors"
  expect 1 "eval --predictions into a missing directory (before loading anything)" "$MM" \
    eval --data "$T/data" --model "$T/m.safetensors" --predictions "$T/nodir/p.tsv"
  # a model directory's roles.json is read as well; eval takes a directory
  # holding one model (its file was written over, exit 0)
  echo '{"image": "image.safetensors"}' > "$T/mdir/roles.json"
  cp "$T/mdir/roles.json" "$T/roles.orig"
  refused_input "batch --model DIR --out DIR/roles.json" "$MM" batch "$T/x.png" \
    --model "$T/mdir" --out "$T/mdir/roles.json"
  refused_input "eval --model DIR --predictions DIR/image.safetensors" "$MM" eval \
    --data "$T/data" --model "$T/mdir" --predictions "$T/mdir/image.safetensors"
  # OUT.part, which batch writes first, named as an input: it was replaced,
  # then renamed away
  cp "$T/seven.wav" "$T/w.jsonl.part"
  refused_input "batch x.png w.jsonl.part --out w.jsonl (OUT.part an input)" "$MM" batch \
    "$T/x.png" "$T/w.jsonl.part" --model "$T/m.safetensors" --out "$T/w.jsonl"
  grep -q "working file" "$T/err" || fail "batch: the message does not name OUT.part"
  mkfifo "$T/f.jsonl.part"
  expect 1 "batch --out f.jsonl with a FIFO f.jsonl.part" "$MM" batch "$T/x.png" \
    --model "$T/m.safetensors" --out "$T/f.jsonl"
  # --resume of another run's part: its last file's lines were cut off and
  # the run went on, the part emptied without a word
  printf '{"file":"%s","decisions":0}\n' "$T/other.wav" > "$T/r.jsonl.part"
  expect 1 "batch --resume of a part whose one file is not in the list" "$MM" batch "$T/x.png" \
    --model "$T/m.safetensors" --resume --out "$T/r.jsonl"
  grep -q "not among the files to run" "$T/err" || fail "batch --resume: not refused as another run's"
  # lists read whole that are devices: /dev/zero was read until memory ran
  # out (here: a 4 GB limit, which ASan's reservations cannot run under)
  if built_with_asan "$MM"; then
    skip "lists that are /dev/zero (no memory limit under ASan)"
  else
    for args in "predict --model $T/m.safetensors --list|--list /dev/zero: is a character device" \
        "batch --out $T/z.jsonl --model $T/m.safetensors --files-from|--files-from: /dev/zero: is a character device" \
        "batch --out $T/z.jsonl --merge|--merge: /dev/zero: is a character device"; do
      # shellcheck disable=SC2086
      expect 1 "${args%%|*} /dev/zero" bash -c 'ulimit -v 4000000; exec "$@"' - "$MM" \
        ${args%%|*} /dev/zero
      grep -qF -e "${args#*|}" "$T/err" || fail "${args%%|*} /dev/zero: not refused as a device"
    done
  fi
  # --print-pipeline's FILE.jsonl is truncated by filesink when the printed
  # pipeline starts: it was printed over the media or the model, exit 0
  if [ "$PLUGIN" = yes ]; then
    refused_input "predict --print-pipeline over the --audio it reads" "$MM" predict \
      --model "$MODELS" --audio "$T/seven.wav" --print-pipeline "$T/seven.wav"
    refused_input "predict --print-pipeline over the --media it reads" "$MM" predict \
      --model "$T/m.safetensors" --media "$T/x.png" --print-pipeline "$T/./x.png"
    refused_input "predict --print-pipeline over the model" "$MM" predict \
      --model "$T/mdir" --image "$T/x.png" --print-pipeline "$T/mdir/image.safetensors"
    refused_input "predict --print-pipeline over the set's roles.json" "$MM" predict \
      --model "$T/mdir" --image "$T/x.png" --print-pipeline "$T/mdir/roles.json"
    expect 1 "predict --print-pipeline into a missing directory" "$MM" predict \
      --model "$T/m.safetensors" --image "$T/x.png" --print-pipeline "$T/nodir/p.jsonl"
    expect 1 "predict --print-pipeline ''" "$MM" predict \
      --model "$T/m.safetensors" --image "$T/x.png" --print-pipeline ""
    "$MM" predict --model "$T/m.safetensors" --image "$T/x.png" --print-pipeline /dev/stdout \
      > "$T/pp.args" 2> "$T/err"
    rc=$?
    [ $rc -eq 0 ] && grep -qx "location=/dev/stdout" "$T/pp.args" \
      && ok "predict --print-pipeline /dev/stdout (a stream, not a file to replace) is printed" \
      || fail "predict --print-pipeline /dev/stdout: rc $rc: $(cat "$T/err")"
  else
    skip "no plugin (predict --print-pipeline outputs)"
  fi
  cmp -s "$T/m.safetensors" "$T/m.orig" && cmp -s "$T/x.png" "$T/seven.wav" \
    && cmp -s "$T/mdir/image.safetensors" "$T/m.orig" && cmp -s "$T/list.txt" "$T/part1.jsonl" \
    && cmp -s "$T/mdir/roles.json" "$T/roles.orig" && cmp -s "$T/w.jsonl.part" "$T/seven.wav" \
    && cmp -s "$T/seven.wav" "$T/seven.orig" && [ -p "$T/f.jsonl.part" ] \
    && ok "the inputs are intact" || fail "an input was changed"
else
  skip "no shipped models (batch/eval output checks)"
fi

mkdir -p "$T/data/mnist"
cp "$T/seven.wav" "$T/data/mnist/t10k-labels-idx1-ubyte.gz"
expect 1 "train --out (the MNIST file it reads)" "$MM" train --arch ImageNet_CNN \
  --data "$T/data" --out "$T/data/mnist/t10k-labels-idx1-ubyte.gz"
expect 1 "train --out ''" "$MM" train --arch ImageNet_CNN --data "$T/data" --out ""
expect 1 "train --out DIR" "$MM" train --arch ImageNet_CNN --data "$T/data" --out "$T/data"
# train --synthetic's recordings are inputs too (one was written over,
# exit 0); a missing --synthetic fails before any data is read
mkdir "$T/syn"
cp "$T/seven.wav" "$T/syn/7_syn-a_0.wav"
refused_input "train --synthetic DIR --out DIR/7_syn-a_0.wav" "$MM" train --arch AudioNet_CNN \
  --data "$T/data" --synthetic "$T/syn" --out "$T/syn/7_syn-a_0.wav"
cmp -s "$T/syn/7_syn-a_0.wav" "$T/seven.wav" && ok "the synthetic recording is intact" \
  || fail "train --synthetic: the recording was changed"
expect 1 "train --synthetic into a missing directory" "$MM" train --arch AudioNet_CNN \
  --data "$T/data" --synthetic "$T/nosyn" --out "$T/x.safetensors"
grep -q "^mmdigits: --synthetic .*nosyn: not a directory" "$T/err" \
  || fail "train --synthetic: not refused before the data"

# demo-media's outputs are checked before the encoding: a directory named
# demo.webm made the final rename fail after all the work
mkdir -p "$T/dm/demo.webm"
expect 1 "demo-media --out DIR with a directory DIR/demo.webm" "$MM" demo-media --out "$T/dm" \
  --digits 7
grep -q "demo.webm: is a directory" "$T/err" || fail "demo-media: not refused before the work"
[ -z "$(ls -A "$T/dm/demo.webm")" ] && [ ! -e "$T/dm/.demo.webm.part" ] \
  && ok "demo-media left nothing behind" || fail "demo-media left files in $T/dm"

# ---- media that do not decode fully, models whose outputs are not finite ----
# A 7 drawn by demo-media, as JPEG and PNG; cut copies of it and of a WAV.
# Skipped only for what this machine lacks (the plugin, the shipped models,
# espeak-ng, which demo-media speaks with); a demo-media or encoding that
# fails here stops the script, failing: the ~20 checks below were skipped
# silently when the condition ran demo-media itself.
if [ "$PLUGIN" != yes ]; then
  skip "no plugin (media and model checks)"
elif [ ! -f "$MODELS/imagenet_cnn.safetensors" ] || [ ! -f "$MODELS/audionet_cnn.safetensors" ]; then
  skip "no shipped models (media and model checks)"
elif ! command -v espeak-ng > /dev/null; then
  skip "no espeak-ng for demo-media (media and model checks)"
else
  need "demo-media draws a 7" "$MM" demo-media --out "$T/d7" --digits 7 --seed 2
  need "the demo video's frames as JPEG" gst_make filesrc location="$T/d7/demo.webm" ! decodebin \
    ! videoconvert ! jpegenc ! multifilesink location="$T/f-%03d.jpg"
  need "a frame showing the 7" cp "$T/f-020.jpg" "$T/seven.jpg"
  need "the 7 as PNG" gst_make filesrc location="$T/seven.jpg" ! jpegdec ! videoconvert \
    ! pngenc ! filesink location="$T/seven.png"
  cut_to () { head -c $(( $(stat -c %s "$1") * $2 / 100 )) "$1" > "$3"; }
  cut_to "$T/seven.jpg" 50 "$T/half.jpg"       # jpegdec pads the rest with grey
  head -c 300 "$T/seven.jpg" > "$T/head.jpg"    # cut inside the header
  cut_to "$T/seven.png" 50 "$T/half.png"       # pngdec drops it silently
  cut_to "$T/seven.wav" 33 "$T/third.wav"      # wavparse plays what is there
  out=$("$MM" predict --model "$MODELS" --image "$T/seven.jpg" 2>&1)
  grep -q "digit 7" <<<"$out" && ok "predict of the intact JPEG: $out" \
    || fail "predict of the intact JPEG: $out"
  for f in half.jpg head.jpg half.png; do
    expect 1 "predict --image $f" "$MM" predict --model "$MODELS" --image "$T/$f"
    grep -q "could not decode" "$T/err" || fail "predict --image $f: not a decode error"
  done
  # cut videos: matroskademux and qtdemux play what there is, silently
  need "the demo video as MOV" gst_make filesrc location="$T/d7/demo.webm" ! matroskademux \
    ! vp8dec ! videoconvert ! jpegenc ! qtmux ! filesink location="$T/seven.mov"
  cut_to "$T/d7/demo.webm" 60 "$T/cut.webm"
  cut_to "$T/seven.mov" 60 "$T/cut.mov"
  for f in d7/demo.webm seven.mov; do
    "$MM" predict --model "$MODELS" --image "$T/$f" > /dev/null 2> "$T/err"
    grep -q "could not decode" "$T/err" && fail "predict --image $f (intact): $(cat "$T/err")" \
      || ok "predict --image $f (intact) decodes"
  done
  for f in cut.webm cut.mov; do
    expect 1 "predict --image $f" "$MM" predict --model "$MODELS" --image "$T/$f"
    grep -q "could not decode: truncated" "$T/err" || fail "predict --image $f: not a decode error"
  done
  expect 1 "predict --audio cut.webm" "$MM" predict --model "$MODELS" --audio "$T/cut.webm"
  expect 1 "predict --audio third.wav" "$MM" predict --model "$MODELS" --audio "$T/third.wav"
  expect 1 "mfcc third.wav" "$MM" mfcc "$T/third.wav" --json
  # recordings without a total size: a Matroska written live (Segment size
  # "unknown") and an Ogg file. Cut inside an element or page, or an Ogg
  # stream cut between two pages (no end-of-stream page), they are refused;
  # before, each decoded to its cut silently, exit 0.
  for mux in "matroskamux streamable=true|live.mka" "oggmux|seven.ogg"; do
    need "encoding the WAV with ${mux%%|*}" gst_make filesrc location="$T/seven.wav" \
      ! wavparse ! audioconvert ! audioresample ! vorbisenc ! ${mux%%|*} \
      ! filesink location="$T/${mux##*|}"
  done
  cut_to "$T/live.mka" 50 "$T/cut.mka"
  cut_to "$T/seven.ogg" 50 "$T/cut.ogg"
  last_page=$(python3 -c 'import sys; print(open(sys.argv[1], "rb").read().rfind(b"OggS"))' \
    "$T/seven.ogg")
  head -c "$last_page" "$T/seven.ogg" > "$T/page.ogg"
  for f in live.mka seven.ogg; do
    "$MM" predict --model "$MODELS" --audio "$T/$f" > /dev/null 2> "$T/err"
    rc=$?
    [ $rc -eq 0 ] && ok "predict --audio $f (intact) decodes" \
      || fail "predict --audio $f (intact): rc $rc: $(cat "$T/err")"
  done
  for f in cut.mka:Matroska cut.ogg:Ogg page.ogg:end-of-stream; do
    expect 1 "predict --audio ${f%%:*}" "$MM" predict --model "$MODELS" --audio "$T/${f%%:*}"
    grep -q "could not decode: truncated or corrupt .*${f##*:}" "$T/err" \
      || fail "predict --audio ${f%%:*}: not a decode error naming ${f##*:}"
  done
  "$MM" batch --model "$MODELS" --out "$T/live.jsonl" "$T/live.mka" "$T/cut.mka" \
    "$T/seven.ogg" "$T/cut.ogg" "$T/page.ogg" 2> "$T/err"
  rc=$?
  python3 - "$T/live.jsonl" <<'PY' && [ $rc -eq 1 ] \
    && ok "batch: the cut live Matroska and Ogg files are errors in place, the intact ones decided, exit 1" \
    || fail "batch of cut live/Ogg files: rc $rc: $(cat "$T/live.jsonl" "$T/err")"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for o in objs:
    by.setdefault(o["file"].rsplit("/", 1)[-1], []).append(o)
assert list(by) == ["live.mka", "cut.mka", "seven.ogg", "cut.ogg", "page.ogg"], list(by)
for f in ("live.mka", "seven.ogg"):
    assert all("error" not in o for o in by[f]), by[f]
for f in ("cut.mka", "cut.ogg", "page.ogg"):
    assert len(by[f]) == 1 and "could not decode: truncated" in by[f][0]["error"], by[f]
PY
  "$MM" batch --model "$MODELS" --out "$T/b.jsonl" "$T/seven.jpg" "$T/half.jpg" \
    "$T/half.png" "$T/cut.webm" 2> "$T/err"
  rc=$?
  python3 - "$T/b.jsonl" <<'PY' && [ $rc -eq 1 ] \
    && ok "batch: the cut JPEG, PNG and WebM are errors in place, the intact one a 7, exit 1" \
    || fail "batch of cut files: rc $rc: $(cat "$T/b.jsonl" "$T/err")"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
assert [o["file"].rsplit("/", 1)[-1] for o in objs] == ["seven.jpg", "half.jpg", "half.png",
                                                        "cut.webm"], objs
assert objs[0]["digit"] == 7 and all("could not decode" in o["error"] for o in objs[1:]), objs
PY

  # every weight of image.fc = 3e38: finite, so the file loads; the logits are not
  python3 - "$MODELS/imagenet_cnn.safetensors" "$T/broken.safetensors" <<'PY'
import json, struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack("<Q", data[:8])[0]
a, b = json.loads(data[8:8 + n])["image.fc.weight"]["data_offsets"]
data[8 + n + a:8 + n + b] = struct.pack("<f", 3e38) * ((b - a) // 4)
open(sys.argv[2], "wb").write(data)
PY
  expect 1 "predict with a model whose outputs are not finite" "$MM" predict \
    --model "$T/broken.safetensors" --image "$T/seven.jpg"
  grep -q "broken.safetensors.*non-finite outputs" "$T/err" \
    || fail "the message does not name the model and the cause"
  DATA=${MMDIGITS_DATA:-$HERE/../../shared/data}
  if [ -f "$DATA/mnist/train-labels-idx1-ubyte.gz" ]; then
    expect 1 "eval of a model whose outputs are not finite" "$MM" eval --data "$DATA" \
      --model "$T/broken.safetensors"
    grep -q "non-finite outputs" "$T/err" || fail "eval: the message does not say why"
  else
    skip "no data (eval of a model with non-finite outputs)"
  fi
fi

checks_done
