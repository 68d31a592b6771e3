#!/usr/bin/env bash
# Integration test: pipelines/finetune.sh fine-tunes the shipped audio model
# on 30 FSDD recordings of one speaker (theo, indices 0-2 of every digit).
#
#   tests/finetune.sh BUILD_ROOT
#
# Asserts that the script exits 0, that it reports mmtrain-done with as many
# samples as the words mfccextract finds in those recordings (counted by a
# separate gst-launch run; at least 25 of 30), that mmtrain kept every block
# with its own recording's digit, in order (its debug log), and that the
# model it wrote loads (mmdigits inspect --json) as an AudioNet_CNN that
# differs from the model it started from. Skips (77) without the data or the shipped model.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${1:?usage: tests/finetune.sh BUILD_ROOT}
data=${MMDIGITS_DATA:-$root/../shared/data}
recordings=$data/fsdd/recordings
init=$root/models/audionet_cnn.safetensors

T=$(mktemp -d "${TMPDIR:-/tmp}/mmdigits-finetune-test.XXXXXX")
work=$T
. "$here/checks.sh"

[ -d "$recordings" ] || checks_skip "no data"
[ -f "$init" ] || checks_skip "no shipped model"

# FSDD's names, {digit}_{speaker}_{index}.wav, are what finetune.sh expects
mkdir "$work/rec"
for d in 0 1 2 3 4 5 6 7 8 9; do
  for i in 0 1 2; do
    need "the recording ${d}_theo_$i.wav" cp "$recordings/${d}_theo_$i.wav" "$work/rec/"
  done
done
export GST_PLUGIN_PATH="$build/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"

# The words mfccextract finds, each recording alone as in finetune.py's
# branches (the glob's order is finetune.sh's); $expected is the label
# sequence mmtrain should keep: each recording's digit once per word
branches=()
files=("$work"/rec/*.wav)
for k in "${!files[@]}"; do
  branches+=(filesrc location="${files[$k]}" ! decodebin ! audioconvert ! audioresample
    ! audio/x-raw,format=F32LE,rate=16000,channels=1 ! mfccextract name="w$k" model="$init" post-messages=true
    ! fakesink sync=false)
done
count_words () {
  gst-launch-1.0 -m "${branches[@]}" > "$work/words.log" 2>&1 || { cat "$work/words.log"; return 1; }
}
need "counting the words with gst-launch-1.0" count_words
words=0
expected=
for k in "${!files[@]}"; do
  n=$(grep -c "from element \"w$k\" (element): mfcc-utterance" "$work/words.log")
  words=$((words + n))
  for ((j = 0; j < n; j++)); do expected+="$(basename "${files[$k]}" | cut -c1) "; done
done
echo "mfccextract finds $words words in ${#files[@]} recordings"
check "$words words found in ${#files[@]} recordings (expected >= 25)" [ "$words" -ge 25 ]

start=$(date +%s%N)
GST_DEBUG=mmtrain:6 GST_DEBUG_FILE="$work/gst.log" GST_DEBUG_NO_COLOR=1 \
  bash "$root/pipelines/finetune.sh" "$work/rec" --out "$work/tuned.safetensors" --epochs 2 \
  --build "$build" > "$work/out.log" 2> "$work/err.log"
rc=$?
end=$(date +%s%N)
cat "$work/out.log" "$work/err.log"
echo "finetune.sh took $(( (end - start) / 1000000 )) ms"
[ $rc -eq 0 ] || { fail "finetune.sh exited $rc"; checks_done; }
ok "finetune.sh exits 0"

# every block kept with its own recording's digit, in stream order
kept=$(sed -n 's/.*kept sample at .*, label \(-\{0,1\}[0-9]\).*/\1/p' "$work/gst.log" | tr '\n' ' ')
check "mmtrain kept labels '$kept', expected '$expected'" [ "$kept" = "$expected" ]

done_line=$(grep "^mmtrain-done" "$work/out.log")
check "mmtrain-done reported" [ -n "$done_line" ]
samples=$(sed -n 's/.*samples=(int)\([0-9]*\).*/\1/p' <<< "$done_line")
check "mmtrain-done says $samples samples, mfccextract found $words words" [ "$samples" = "$words" ]
check "mmtrain-progress for epoch 1 of 2" \
  grep -q "^mmtrain-progress, epoch=(int)1, epochs=(int)2," "$work/out.log"

need "a model written" test -s "$work/tuned.safetensors"
inspect () { "$build/tools/mmdigits" inspect --json "$work/tuned.safetensors" > "$work/inspect.json"; }
need "mmdigits inspect loads the model" inspect
check "the model is an AudioNet_CNN ($(head -c 200 "$work/inspect.json"))" python3 -c \
  'import json, sys; a = json.load(open(sys.argv[1]))["arch"]; sys.exit(a != "AudioNet_CNN")' \
  "$work/inspect.json"
check "the model differs from the initial one" bash -c '! cmp -s "$1" "$2"' _ "$init" \
  "$work/tuned.safetensors"
checks_done
