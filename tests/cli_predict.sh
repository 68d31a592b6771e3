#!/bin/bash
# CLI integration test: mmdigits predict and batch, through the plugin's
# elements (the build tree's plugin, given by GST_PLUGIN_PATH as meson
# devenv gives it; tests/install.sh checks an install finds its own).
# Usage: bash cli_predict.sh PATH/TO/mmdigits
# Models: trained here (ImageNet_CNN 3,000 samples, AudioNet_CNN 500, one
# epoch each) when the data sets are present, else the shipped models/;
# without either, the model-dependent checks print "skipped: no data".
set -u -o pipefail
MM=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${MMDIGITS_DATA:-$HERE/../../shared/data}
export MMDIGITS_CACHE=$(dirname "$MM")/mmdigits-cache
BUILD=$(dirname "$(dirname "$MM")")
unset GST_PLUGIN_PATH_1_0
T=$(mktemp -d)
. "$HERE/checks.sh"

# ---- inputs, made here: two demo videos, a PNG, a WAV, a silent WAV ----
"$MM" demo-media --out "$T/d31" --digits 3,1 > /dev/null \
  && "$MM" demo-media --out "$T/d7" --digits 7 --seed 2 > /dev/null \
  || need "demo-media" false
need "copying the demo videos" cp "$T/d31/demo.webm" "$T/a31.webm"
need "copying the demo videos" cp "$T/d7/demo.webm" "$T/b7.webm"
# frame 20 of the 10 fps video: the 3, drawn from 1.0 s to 3.0 s
mkdir "$T/frames"
gst-launch-1.0 -q filesrc location="$T/a31.webm" ! decodebin ! videoconvert ! pngenc \
  ! multifilesink location="$T/frames/f-%03d.png" > /dev/null 2>&1
need "making the PNG" cp "$T/frames/f-020.png" "$T/three.png"
need "espeak-ng" espeak-ng -w "$T/seven.wav" "seven" 2> /dev/null
need "making the silent WAV" gst-launch-1.0 -q audiotestsrc wave=silence num-buffers=20 \
  ! audio/x-raw,rate=16000,channels=1 ! wavenc ! filesink location="$T/silence.wav" > /dev/null 2>&1

# ---- an uninstalled CLI refers to no build tree: without GST_PLUGIN_PATH
# (and no install) it says where it looked, in one line ----
if [ ! -e "$(pkg-config --variable=pluginsdir gstreamer-1.0)/libgstmmdigits.so" ]; then
  GST_PLUGIN_PATH= GST_REGISTRY_1_0=$T/empty-registry.bin "$MM" predict --audio "$T/seven.wav" \
    > /dev/null 2> "$T/err"
  rc=$?
  [ $rc -eq 1 ] && [ "$(wc -l < "$T/err")" -eq 1 ] && grep -q GST_PLUGIN_PATH "$T/err" \
    && ok "no plugin on the search path: exit 1, one line naming GST_PLUGIN_PATH" \
    || fail "no plugin on the search path: rc $rc: $(cat "$T/err")"
fi
export GST_PLUGIN_PATH=$BUILD/plugins

# ---- batch: an unwritable --out fails first, leaving nothing ----
"$MM" batch "$T/a31.webm" --out "$T/nodir/events.jsonl" > /dev/null 2> "$T/err"
rc=$?
[ $rc -eq 1 ] && [ ! -e "$T/nodir" ] && [ "$(wc -l < "$T/err")" -eq 1 ] \
  && ok "batch --out into a missing directory: exit 1, one line on stderr, nothing written" \
  || fail "batch --out into a missing directory: rc $rc: $(cat "$T/err")"

# ---- models ----
M=$T/models
mkdir "$M"
if [ -f "$DATA/mnist/train-images-idx3-ubyte.gz" ] && [ -d "$DATA/fsdd/recordings" ]; then
  export MMDIGITS_DATA=$DATA
  "$MM" train --arch ImageNet_CNN --epochs 1 --limit 3000 --out "$M/imagenet_cnn.safetensors" \
      > /dev/null 2> "$T/train.err" \
    && "$MM" train --arch AudioNet_CNN --epochs 1 --limit 500 \
      --out "$M/audionet_cnn.safetensors" > /dev/null 2>> "$T/train.err" \
    || need "training the test models: $(tail -1 "$T/train.err")" false
elif [ -f "$HERE/../models/imagenet_cnn.safetensors" ]; then
  cp "$HERE"/../models/*.safetensors "$M/"
else
  skip "no data (predict and batch need a model)"
  checks_done
fi
IMG=$M/imagenet_cnn.safetensors

# ---- predict ----
"$MM" predict --model "$IMG" --image "$T/three.png" --json > "$T/p.json" 2> "$T/err"
rc=$?
msg=$(python3 - "$T/p.json" <<'PY'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(objs) == 1, "%d decisions" % len(objs)
d = objs[0]
assert d["image"].endswith("three.png") and d["audio"] is None, d
assert d["digit"] in range(10) and d["modality"] == "image" and d["arch"] == "ImageNet_CNN", d
p = d["probabilities"]
assert len(p) == 10 and abs(sum(p) - 1) < 1e-4 and abs(max(p) - d["confidence"]) < 1e-9, p
print("digit %d (%.2f)" % (d["digit"], d["confidence"]))
PY
)
[ $rc -eq 0 ] && [ -n "$msg" ] \
  && ok "predict --image --json: one decision, digit 0-9, probabilities sum to 1: $msg" \
  || fail "predict --image --json: rc $rc: $msg $(cat "$T/err")"

out=$("$MM" predict --model "$IMG" --image "$T/three.png")
grep -Eq '^.*three\.png: digit [0-9] \([01]\.[0-9]{2}, image, ImageNet_CNN\)$' <<<"$out" \
  && ok "predict --image prints 'FILE: digit D (P, image, ImageNet_CNN)'" \
  || fail "predict --image text: '$out'"

"$MM" predict --model "$M" --image "$T/missing.png" > /dev/null 2> "$T/err"
rc=$?
[ $rc -eq 1 ] && [ "$(wc -l < "$T/err")" -eq 1 ] && grep -q "missing.png" "$T/err" \
  && ok "predict of a missing file: exit 1, one line on stderr naming it" \
  || fail "predict of a missing file: rc $rc: $(cat "$T/err")"

"$MM" predict --model "$M" --image "$T/seven.wav" > /dev/null 2> "$T/err"
rc=$?
[ $rc -eq 1 ] && [ "$(wc -l < "$T/err")" -eq 1 ] \
  && ok "predict --image of a WAV: exit 1, one line on stderr: $(cat "$T/err")" \
  || fail "predict --image of a WAV: rc $rc: $(cat "$T/err")"

printf '%s\t-\n-\t%s\n' "$T/three.png" "$T/seven.wav" > "$T/list.tsv"
"$MM" predict --model "$M" --list "$T/list.tsv" --json > "$T/list.json" 2> "$T/err"
rc=$?
python3 - "$T/list.json" <<'PY' && [ $rc -eq 0 ] \
  && ok "predict --list of 2 lines: 2 JSON objects, in order" \
  || fail "predict --list: rc $rc: $(cat "$T/list.json" "$T/err")"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(objs) == 2
assert objs[0]["image"].endswith("three.png") and objs[0]["modality"] == "image"
assert objs[1]["audio"].endswith("seven.wav") and objs[1]["modality"] == "audio"
PY

"$MM" predict --model "$M" --audio "$T/silence.wav" --json > "$T/s.json" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["error"]=="no word found" and "digit" not in d' "$T/s.json" \
  && ok "predict --audio of silence: a result with \"error\": \"no word found\", exit 0" \
  || fail "predict --audio of silence: rc $rc: $(cat "$T/s.json" "$T/err")"

# ---- predict --print-pipeline: the pipeline as gst-launch-1.0 arguments ----
cp "$T/a31.webm" "$T/with space.webm"
"$MM" predict --model "$M" --media "$T/with space.webm" --print-pipeline "$T/pp out.jsonl" \
  > "$T/pp.args" 2> "$T/err"
rc=$?
mapfile -t args < "$T/pp.args"
# a sanitizer build's plugin needs the ASan runtime loaded first, which the
# uninstrumented gst-launch-1.0 does not do by itself
asan_rt=$(ldd "$MM" | awk '/libasan/ { print $3 }')
env ${asan_rt:+LD_PRELOAD="$asan_rt"} gst-launch-1.0 -q "${args[@]}" > /dev/null 2> "$T/pp.err"
grc=$?
python3 - "$T/pp out.jsonl" "$T/pp.args" <<'PY' && [ $rc -eq 0 ] && [ $grc -eq 0 ] \
  && ok "predict --media --print-pipeline: gst-launch-1.0 runs it (a name with a space taken whole), image and audio decisions" \
  || fail "predict --print-pipeline: rc $rc, gst-launch rc $grc: $(cat "$T/err" "$T/pp.err")"
import json, sys
args = open(sys.argv[2]).read().split("\n")
assert any(a.endswith("with space.webm") and a.startswith("location=") for a in args), args
assert "digitimage" in args and "mfccextract" in args, args
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
mods = {o["modality"] for o in objs}
assert "image" in mods and "audio" in mods, mods
PY

mkdir "$T/image-only" && cp "$IMG" "$T/image-only/"
"$MM" predict --model "$T/image-only" --media "$T/a31.webm" --print-pipeline "$T/x.jsonl" \
  > "$T/pp.args" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && grep -qx digitimage "$T/pp.args" && ! grep -qx mfccextract "$T/pp.args" \
  && ok "predict --print-pipeline with an image network only: the video branch alone" \
  || fail "predict --print-pipeline, image only: rc $rc: $(cat "$T/pp.args" "$T/err")"

"$MM" predict --model "$M" --media "$T/a31.webm" > /dev/null 2> "$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q -- "--print-pipeline" "$T/err" \
  && ok "predict --media without --print-pipeline: usage error (exit 2)" \
  || fail "predict --media alone: rc $rc: $(cat "$T/err")"

# ---- batch ----
# input order b7, a31: lines grouped by file in that order, not sorted
start=$(date +%s.%N)
"$MM" batch "$T/b7.webm" "$T/a31.webm" --model "$M" --jobs 2 --out "$T/ev2.jsonl" 2> "$T/err"
rc=$?
took=$(echo "$(date +%s.%N) - $start" | bc)
"$MM" batch "$T/b7.webm" "$T/a31.webm" --model "$M" --jobs 1 --out "$T/ev1.jsonl" 2> /dev/null
msg=$(python3 - "$T/ev2.jsonl" <<'PY'
import json, sys, itertools
objs = [json.loads(l) for l in open(sys.argv[1])]
files = [k.rsplit("/", 1)[-1] for k, _ in itertools.groupby(o["file"] for o in objs)]
assert files == ["b7.webm", "a31.webm"], files
for o in objs:
    assert o["digit"] in range(10) and abs(sum(o["probabilities"]) - 1) < 1e-4, o
print(" ".join("%s:%d" % (o["file"].rsplit("/", 1)[-1], o["digit"]) for o in objs))
PY
)
[ $rc -eq 0 ] && [ -n "$msg" ] \
  && ok "batch --jobs 2 on 2 demo files: lines for both, in input order (${took}s): $msg" \
  || fail "batch --jobs 2: rc $rc: $msg $(cat "$T/err")"
cmp -s "$T/ev1.jsonl" "$T/ev2.jsonl" \
  && ok "batch output is the same with --jobs 1 and --jobs 2" \
  || fail "batch --jobs 1 and --jobs 2 differ"

files=("$T/three.png" "$T/b7.webm" "$T/a31.webm")
"$MM" batch "${files[@]}" --model "$M" --shard 1/2 --out "$T/s1.jsonl" 2> /dev/null \
  && "$MM" batch "${files[@]}" --model "$M" --shard 2/2 --out "$T/s2.jsonl" 2> /dev/null
rc=$?
python3 - "$T/s1.jsonl" "$T/s2.jsonl" <<'PY' && [ $rc -eq 0 ] \
  && ok "batch --shard 1/2 and 2/2 partition the files (sorted a31, b7, three: 1/2 = a31 + three)" \
  || fail "batch --shard: rc $rc"
import json, sys
s1, s2 = ({json.loads(l)["file"].rsplit("/", 1)[-1] for l in open(f)} for f in sys.argv[1:3])
assert s1 == {"a31.webm", "three.png"} and s2 == {"b7.webm"}, (s1, s2)
PY

"$MM" batch "$T/a31.webm" "$T/missing.webm" "$T/b7.webm" --model "$M" --jobs 2 \
    --out "$T/evf.jsonl" 2> "$T/err"
rc=$?
python3 - "$T/evf.jsonl" <<'PY' && [ $rc -eq 1 ] && [ "$(grep -c '^mmdigits: ' "$T/err")" -eq 1 ] \
  && ok "batch with a missing file: exit 1, one error line, recorded in place, others kept" \
  || fail "batch with a missing file: rc $rc: $(cat "$T/err")"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
bad = [o for o in objs if "error" in o]
assert len(bad) == 1 and bad[0]["file"].endswith("missing.webm")
names = [o["file"].rsplit("/", 1)[-1] for o in objs]
i = names.index("missing.webm")
assert set(names[:i]) == {"a31.webm"} and set(names[i + 1:]) == {"b7.webm"}, names
PY
[ -z "$(ls -A "$T" | grep '^\.ev')" ] && ok "batch leaves no temporary file" \
  || fail "batch left $(ls -A "$T" | grep '^\.ev')"

checks_done
