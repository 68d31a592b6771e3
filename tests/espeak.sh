#!/usr/bin/env bash
# A spoken sentence, "three. seven. one.", from espeak-ng, through
#   decodebin ! audioconvert ! audioresample ! mfccextract ! mmclassify
# with the shipped audio model: exactly three words are found, and they are
# classified as 3, 7, 1 in that order; pipelines/audio-only.sh with its
# default models uses the network predict uses.
#   tests/espeak.sh BUILD_DIR
set -u -o pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
model=$root/models/audionet_cnn.safetensors
T=$(mktemp -d)
tmp=$T
. "$here/checks.sh"
[ -f "$model" ] || checks_skip "no shipped audio model"
command -v espeak-ng >/dev/null || checks_skip "espeak-ng not installed"
need "espeak-ng speaks the sentence" espeak-ng -w "$tmp/sentence.wav" -g 40 "three. seven. one."
GST_PLUGIN_PATH=$build/plugins need "the pipeline runs" gst-launch-1.0 -q filesrc location="$tmp/sentence.wav" ! decodebin ! \
  audioconvert ! audioresample ! audio/x-raw,rate=16000,channels=1,format=F32LE ! \
  mfccextract ! mm.audio_sink mmclassify name=mm model="$model" ! filesink location="$tmp/events.jsonl"
if /usr/bin/python3 - "$tmp/events.jsonl" <<'PY'
import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
digits = [e["digit"] for e in events]
print("decisions:", [(e["digit"], round(e["confidence"], 3), e["time"]) for e in events])
assert all(e["modality"] == "audio" and e["arch"] == "AudioNet_CNN" for e in events), events
assert len(events) == 3, f"expected 3 words, found {len(events)}"
assert digits == [3, 7, 1], f"expected [3, 7, 1], got {digits}"
PY
then
  ok "three audio decisions of AudioNet_CNN: 3, 7, 1"
else
  fail "the decisions (above) are not 3, 7, 1 from AudioNet_CNN"
fi

# pipelines/audio-only.sh with its default models decides each word with the
# network the model set serves audio with, the one predict uses (it used to
# name models/audionet_cnn.safetensors itself, another network than the
# set's roles.json chooses)
want=$(GST_PLUGIN_PATH=$build/plugins "$build/tools/mmdigits" predict --model "$root/models" --audio "$tmp/sentence.wav" --json \
  | /usr/bin/python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["arch"])')
got=$(bash "$root/pipelines/audio-only.sh" "$tmp/sentence.wav" --build "$build" \
  | /usr/bin/python3 -c 'import json, sys; print(" ".join(sorted({json.loads(l)["arch"] for l in sys.stdin})))')
check "pipelines/audio-only.sh decides with the set's audio network, as predict does ($want): $got" \
  test -n "$want" -a "$got" = "$want"
checks_done
