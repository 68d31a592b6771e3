#!/usr/bin/env bash
# The shipped models: the default set of models/ or the study-exact set of
# models/study (see their README.md), one set per run:
#  - each file loads and has a card in its directory's README.md;
#  - default: every audio-using file carries its front end (the file's mfcc
#    metadata), all the same one (a set shares one), and the set serves
#    every role: image, audio and image+audio;
#  - with data: each file's held-out figure on the protocol its provenance
#    records is reproduced (within 0.5 points: OpenBLAS may pick other
#    kernels on another CPU; for the files trained on `voices` that is the
#    unheard-voices validation figure; of the word's block alone, without
#    test-time views, as training measured it), and the paper protocol's split
#    (as the file decides, with its views) stays
#    at or above the study's Table 7 for its network (the study's
#    reproduction, for models/study; a constraint the robust audio and
#    hybrid models kept; the default ImageNet_CNN, when it is not the
#    study's file, was chosen for new writers instead: its paper split is
#    printed, and the rule that chose it is checked again: on
#    `eval -p writers-val` its changed validation split at least 1.0 point
#    above the study's ImageNet_CNN's, its validation split as it is at
#    most 0.2 points below; docs/results.md, "the rule");
#  - with the plugin: predict with the set (the default one: no --model)
#    classifies a spoken word through the elements, which take the set's
#    front end from its files;
#  - default, with data and the plugin (issue 8): FSDD's "7"s, recordings
#    0-4 of every speaker, with a DC offset of +0.3 (not clipped), through
#    predict: with the default set (DC block in its front end) the offset
#    changes no decision (each shifted file is decided as the recording
#    itself: a shifted 7 became a 0 before) and at least 29 of 30 are 7; the
#    study set's count is printed beside it.
#   tests/default_models.sh PATH/TO/mmdigits default|study
set -u -o pipefail
mmdigits=$1
which=${2:?usage: default_models.sh PATH/TO/mmdigits default|study}
root=$(cd "$(dirname "$0")/.." && pwd)
data=${MMDIGITS_DATA:-$root/../shared/data}
export MMDIGITS_CACHE=${MMDIGITS_CACHE:-$(dirname "$mmdigits")/mmdigits-cache}
case $which in
  default) dir=$root/models ;;
  study) dir=$root/models/study ;;
  *) echo "usage: default_models.sh PATH/TO/mmdigits default|study" >&2; exit 2 ;;
esac
T=$(mktemp -d)
tmp=$T
. "$root/tests/checks.sh"
models=("$dir"/*.safetensors)
[ -e "${models[0]}" ] || checks_skip "no models in $dir"

for m in "${models[@]}"; do
  name=$(basename "$m")
  check "$m loads" bash -c "'$mmdigits' inspect --json '$m' > '$tmp/$name.json'"
  check "$m has a card" grep -q "^## $name — " "$dir/README.md"
done
if [ "$which" = default ]; then
  check "the audio networks of models/ carry one front end" /usr/bin/python3 - "$tmp"/*.json <<'PY'
import json, sys
infos = [json.load(open(f)) for f in sys.argv[1:]]
fronts = {json.dumps(i.get("mfcc"), sort_keys=True) for i in infos if i["arch"] != "ImageNet_CNN"}
print("models/ front ends:", fronts)
assert len(fronts) == 1 and "null" not in fronts
PY
  need "inspect the set" bash -c "'$mmdigits' inspect --json '$dir' > '$tmp/set.jsonl'"
  check "models/ serves images, audio and pairs" /usr/bin/python3 - "$tmp/set.jsonl" <<'PY'
import json, sys
roles = {json.loads(l)["role"]: json.loads(l)["arch"] for l in open(sys.argv[1]) if l.strip()}
print("models/ roles:", roles)
# the audio role is the LSTM's because models/roles.json names it (docs/results.md)
assert roles == {"image": "ImageNet_CNN", "audio": "AudioNet_LSTM", "image+audio": "HybridNet_CNN"}
# and it decides alone: the averaging rule, measured again with this LSTM
# (runs SB and SE20), did not adopt the mean (docs/results.md, "Averaging")
partners = {json.loads(l)["role"]: json.loads(l).get("averaged_with", {}).get("arch")
            for l in open(sys.argv[1]) if l.strip()}
assert partners == {"image": None, "audio": None, "image+audio": None}, partners
# pairs its HybridNet_CNN is less than 0.9 sure of go to its ImageNet_CNN
# (the pair rule chosen on voices-cal: docs/results.md, "The image network beside the hybrid")
rules = {json.loads(l)["role"]: json.loads(l).get("image_decides_below") for l in open(sys.argv[1]) if l.strip()}
assert rules == {"image": None, "audio": None, "image+audio": 0.9}, rules
PY
fi

if [ -d "$data/mnist" ] && [ -d "$data/fsdd" ] && [ -d "$data/extra-speech" ]; then
  for m in "${models[@]}"; do
    # the figure training recorded is of the word's block alone: test-time
    # views (the front end's, used by default) are left out to reproduce it
    blocks=()
    grep -q '"mfcc": *{' "$tmp/$(basename "$m").json" && blocks=(--tta none)
    need "eval $m" bash -c "'$mmdigits' eval -m '$m' --data '$data' ${blocks[*]} --json > '$tmp/own.json'"
    # clean's split test is paper's: the same split
    if grep -q '"protocol": *"clean"' "$tmp/own.json"; then cp "$tmp/own.json" "$tmp/paper.json"
    else need "eval $m -p paper" bash -c \
      "'$mmdigits' eval -m '$m' --data '$data' -p paper --json > '$tmp/paper.json'"; fi
    # the default ImageNet_CNN that is not the study's: chosen on writers-val (every shipped
    # network, this one included since RIS30, is at or above Table 7 on the paper split)
    writers_rule=no
    if [ "$which" = default ] && [ "$(basename "$m")" = imagenet_cnn.safetensors ] \
        && ! cmp -s "$m" "$root/models/study/imagenet_cnn.safetensors"; then
      writers_rule=yes
    fi
    if /usr/bin/python3 - "$m" "$tmp/$(basename "$m").json" "$tmp/own.json" "$tmp/paper.json" <<'PY'
import json, sys
info, own, paper = (json.load(open(f)) for f in sys.argv[2:5])
table7 = {"ImageNet_CNN": 0.9913, "AudioNet_CNN": 0.9775, "AudioNet_LSTM": 0.9718,
          "HybridNet_CNN": 0.9974, "HybridNet_CNN_LSTM": 0.9936}[info["arch"]]
recorded = info["provenance"]["heldout_accuracy"]
got, split = own["heldout_test"]["accuracy"], paper["split_test"]["accuracy"]
print(f"{sys.argv[1]}: {own['protocol']} held-out {100 * got:.2f} % (recorded "
      f"{100 * recorded:.2f} %), paper split {100 * split:.2f} % (Table 7: {100 * table7:.2f} %)")
assert own["protocol"] == info["provenance"]["protocol"]
assert abs(got - recorded) < 0.005
assert split >= table7
PY
    then ok "$m's figures"; else fail "$m's figures"; fi
    if [ "$writers_rule" = yes ]; then
      need "eval $m -p writers-val" bash -c \
        "'$mmdigits' eval -m '$m' --data '$data' -p writers-val --json > '$tmp/wval.json'"
      need "eval the study's ImageNet_CNN -p writers-val" bash -c "'$mmdigits' eval -m \
        '$root/models/study/imagenet_cnn.safetensors' --data '$data' -p writers-val --json \
        > '$tmp/wval-study.json'"
      check "$m: still chosen by the rule on writers-val" /usr/bin/python3 - "$tmp/wval.json" \
        "$tmp/wval-study.json" <<'PY'
import json, sys
new, study = (json.load(open(f)) for f in sys.argv[1:3])
nw, sw = new["validation_writers"]["accuracy"], study["validation_writers"]["accuracy"]
nv, sv = new["validation"]["accuracy"], study["validation"]["accuracy"]
print(f"writers-val: changed validation {100 * nw:.2f} % (study {100 * sw:.2f} %), validation "
      f"{100 * nv:.2f} % (study {100 * sv:.2f} %)")
assert nw >= sw + 0.010 and nv >= sv - 0.002
PY
    fi
  done
else
  skip "evaluation: no data"
fi

plugins=$(dirname "$mmdigits")/../plugins
if command -v espeak-ng >/dev/null && [ -d "$plugins" ]; then
  export GST_PLUGIN_PATH=$(cd "$plugins" && pwd)
  export MMDIGITS_MODELS=$root/models
  set_opt=()
  [ "$which" = study ] && set_opt=(-m "$dir")
  need "espeak-ng says seven" espeak-ng -w "$tmp/seven.wav" seven
  need "predict the spoken seven" bash -c '"$@" > "$0"' "$tmp/seven.jsonl" \
    "$mmdigits" predict "${set_opt[@]+"${set_opt[@]}"}" -a "$tmp/seven.wav" --json
  # the default set: its LSTM alone (roles.json names no partner); the study's: its CNN
  audio_arch=AudioNet_LSTM partner=
  [ "$which" = study ] && audio_arch=AudioNet_CNN
  check "predict ($which set) gives one audio decision by $audio_arch${partner:+ + $partner}" /usr/bin/python3 -c '
import json, sys
d = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(sys.argv[2], "set:", [(e["digit"], round(e["confidence"], 3), e["arch"], e.get("averaged_with")) for e in d])
assert len(d) == 1 and d[0]["modality"] == "audio" and d[0]["arch"] == sys.argv[3]
assert d[0].get("averaged_with") == (sys.argv[4] or None), d
assert d[0]["digit"] in range(10), d' "$tmp/seven.jsonl" "$which" "$audio_arch" "$partner"

  if [ "$which" = default ] && [ -d "$data/fsdd/recordings" ]; then
    mkdir "$tmp/dc"
    cat > "$tmp/dcshift.py" <<'PY'
import os, struct, sys, wave
for f in sys.argv[2:]:
    r = wave.open(f); n = r.getnframes()
    x = [v + 9830 for v in struct.unpack("<%dh" % n, r.readframes(n))]   # +0.3 of full scale
    assert max(x) <= 32767, f + " would clip"
    out = os.path.join(sys.argv[1], os.path.basename(f))
    w = wave.open(out, "wb"); w.setnchannels(1); w.setsampwidth(2); w.setframerate(r.getframerate())
    w.writeframes(struct.pack("<%dh" % n, *x)); w.close()
    print("-\t" + out)
PY
    need "FSDD 7s shifted by +0.3" bash -c '"$@" > "$0"' "$tmp/dc.tsv" \
      /usr/bin/python3 "$tmp/dcshift.py" "$tmp/dc" "$data"/fsdd/recordings/7_*_[0-4].wav
    printf -- '-\t%s\n' "$data"/fsdd/recordings/7_*_[0-4].wav > "$tmp/clean.tsv"
    need "predict the 7s as recorded (default set)" bash -c '"$@" > "$0"' "$tmp/clean-default.jsonl" \
      "$mmdigits" predict --list "$tmp/clean.tsv" --json
    need "predict the shifted 7s (default set)" bash -c '"$@" > "$0"' "$tmp/dc-default.jsonl" \
      "$mmdigits" predict --list "$tmp/dc.tsv" --json
    need "predict the shifted 7s (study set)" bash -c '"$@" > "$0"' "$tmp/dc-study.jsonl" \
      "$mmdigits" predict -m "$root/models/study" --list "$tmp/dc.tsv" --json
    check "FSDD 7s + DC 0.3: the default set decides each as the recording itself, at least 29 of 30 a 7" \
      /usr/bin/python3 -c '
import json, sys
def decisions(f):
    d = [json.loads(l) for l in open(f) if l.strip()]
    assert len(d) == 30, f"{f}: {len(d)} results for 30 files"
    return {e["audio"].split("/")[-1]: e.get("digit") for e in d}
clean, dc, study = (decisions(f) for f in sys.argv[1:4])
for s, got in (("default", dc), ("study", study)):
    print(f"{s} set: {sum(v == 7 for v in got.values())} of 30 shifted 7s are 7;",
          "wrong:", sorted((k, v) for k, v in got.items() if v != 7))
changed = sorted((k, clean[k], dc[k]) for k in clean if dc[k] != clean[k])
print("default set: as recorded", sum(v == 7 for v in clean.values()), "of 30 are 7;",
      "changed by the offset (file, as recorded, shifted):", changed)
assert set(dc) == set(clean) and not changed
assert sum(v == 7 for v in dc.values()) >= 29' \
      "$tmp/clean-default.jsonl" "$tmp/dc-default.jsonl" "$tmp/dc-study.jsonl"
  elif [ "$which" = default ]; then
    skip "DC check: no data"
  fi
else
  skip "predict: no espeak-ng or no plugin"
fi
checks_done
