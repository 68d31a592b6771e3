#!/bin/bash
# CLI integration test of the speaker-disjoint folds: a tiny model per fold
# (new-speaker:1, new-speaker:2), scored by eval --protocol new-speaker on
# its own fold's unheard speakers (FSDD and licensed extra-speech); and the
# waveform path of augmentation: features made anew from the cached clips
# for every sample train exactly as the cached features do.
# Usage: bash speaker_folds.sh PATH/TO/mmdigits
set -u -o pipefail
MM=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${MMDIGITS_DATA:-$HERE/../../shared/data}
export MMDIGITS_CACHE=$(dirname "$MM")/mmdigits-cache
export MMDIGITS_DATA=$DATA
T=$(mktemp -d)
. "$HERE/checks.sh"

if [ ! -d "$DATA/extra-speech" ] || [ ! -d "$DATA/fsdd" ] || [ ! -d "$DATA/mnist" ]; then
  checks_skip "no data"
fi
"$MM" train --arch AudioNet_CNN --epochs 1 --limit 200 --threads 2 --out "$T/audio.safetensors" \
  2> "$T/clean.err" || fail "train clean: $(tail -1 "$T/clean.err")"
# speaker-disjoint folds: a model per fold, scored on that fold's speakers
# (FSDD and licensed extra-speech); two tiny folds are enough for the plumbing
for k in 1 2; do
  "$MM" train --arch AudioNet_CNN --protocol new-speaker:$k --epochs 1 --limit 200 --threads 2 \
      --out "$T/fold$k.safetensors" 2> "$T/fold$k.err" || fail "train fold $k: $(tail -1 "$T/fold$k.err")"
done
"$MM" eval --protocol new-speaker -m "$T/fold1.safetensors" -m "$T/fold2.safetensors" --json > "$T/folds.json" \
  && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); f=d["folds"]; assert [x["fold"] for x in f]==[1,2] and d["folds_given"]==2 and d["folds_total"]==6 and abs(d["mean_accuracy"]-(f[0]["accuracy"]+f[1]["accuracy"])/2)<1e-6 and d["min_accuracy"]==min(x["accuracy"] for x in f) and all(0<=x["ece"]<=1 for x in f)' "$T/folds.json" \
  && ok "eval --protocol new-speaker scores each fold model on its own unheard speakers" \
  || fail "eval --protocol new-speaker: $(cat "$T/folds.json")"
"$MM" eval --protocol new-speaker -m "$T/audio.safetensors" > /dev/null 2> "$T/nofold.err"
[ $? -eq 1 ] && grep -q "not trained on a new-speaker:K fold" "$T/nofold.err" \
  && ok "eval --protocol new-speaker refuses a model not trained on a fold" \
  || fail "eval new-speaker with a clean model: $(cat "$T/nofold.err")"
"$MM" eval --protocol new-speaker -m "$T/fold1.safetensors" -m "$T/fold1.safetensors" > /dev/null 2> "$T/dup.err"
[ $? -eq 1 ] && grep -q "same fold" "$T/dup.err" \
  && ok "eval --protocol new-speaker refuses two models for one fold" \
  || fail "eval new-speaker with a fold twice: $(cat "$T/dup.err")"

# an audio augmentation kind that is on but never drawn (probability 0)
# makes train load the clips and compute every sample's MFCC from them: the
# weights must come out bit-identical to training on the cached features
"$MM" train --arch AudioNet_CNN --epochs 1 --limit 256 --threads 2 --no-calibrate \
    --out "$T/cached.safetensors" 2> "$T/cached.err" || fail "train cached: $(tail -1 "$T/cached.err")"
"$MM" train --arch AudioNet_CNN --epochs 1 --limit 256 --threads 2 --no-calibrate --augment shift=0 \
    --out "$T/waves.safetensors" 2> "$T/waves.err" || fail "train waves: $(tail -1 "$T/waves.err")"
python3 - "$T/cached.safetensors" "$T/waves.safetensors" <<'PY' \
  && ok "features made from the clips per sample train bit-identically to the cached features" \
  || fail "the waveform path trains differently from the cached features"
import struct, sys
def tensors(f):
    b = open(f, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    return b[8 + n:]
sys.exit(0 if tensors(sys.argv[1]) == tensors(sys.argv[2]) else 1)
PY

checks_done
