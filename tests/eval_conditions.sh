#!/bin/bash
# mmdigits eval's user-facing conditions (issue 10), on the first samples of
# each set (--limit) with the study's models:
#  - --protocol writers[:KIND]: the held-out images changed as new writers'
#    might be; the split test stays as clean's; the same predictions on a
#    second run; accuracy falls below clean's;
#  - --protocol writers-val[:KIND]: the same changes to the validation split,
#    scored as "validation" (as it is) and "validation_writers" (changed),
#    never as a test; other images than the split test's; the same
#    predictions on a second run; it runs with MNIST's test files absent;
#  - --snr DB --noise white|pink|babble|crowd: noise mixed into the held-out recordings;
#    the same predictions on a second run; 0 dB costs accuracy, 20 dB less;
#  - --predictions' word score and recording (audio): on a data directory of
#    one recording per digit, each held-out sample names its recording
#    (D_SPK_0.wav for digit D) and its score is `mmdigits words`' score of
#    that recording (loudest word) to the print's rounding, "nan" where it
#    finds none; with noise, the same clip at 0 dB scores lower than at
#    20 dB (white), by more than 10 dB in the median; an image network's
#    file has no score column; --probabilities adds p0 … p9, which sum to 1,
#    whose arg-max is the prediction and whose largest is the confidence
#    (without --predictions: exit 2);
#  - the scripts that read --predictions: scripts/ece-bootstrap.py prints
#    eval's accuracy and ECE on the whole set and counts its recordings;
#    scripts/stream-accuracy.py scores mmdigits batch's decisions of the
#    held-out recordings (a WAV decided as eval decides it) at eval's accuracy;
#  - --ensemble: a network averaged with itself is that network; each
#    member's figures are its own (with the views of the default set's
#    front end too); two front ends or two roles: exit 1; an image network
#    after a hybrid scores the pairs' images (its own figures; the mean of
#    both rows), before it: exit 1; --image-decides-below P: row by row the
#    image network's where the hybrid is less sure than P (some of each),
#    else exit 1 (not a hybrid and an image network) or 2 (P out of range);
#  - --tta VIEWS: the identity view alone (speed:1) predicts as plain eval
#    on the held-out set, to the bit of its confidences' rounding; four
#    views change confidences, run twice the same; the JSON names the views;
#    with --snr the views are of the noisy clips (confidences change);
#  - a model whose front end has views (calibrate --views): eval uses them
#    without --tta (the same digits as --tta with those views on the model
#    without; the softmax of the mean logits has the same arg-max at any
#    temperature), --tta none scores its blocks alone (the digits of plain
#    eval); the file records the views (inspect);
#  - usage errors (exit 2) and an image network with --snr or --tta (exit 1);
#    training on writers or writers-val is refused.
# Usage: bash eval_conditions.sh PATH/TO/mmdigits
set -u -o pipefail
MM=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${MMDIGITS_SOURCE_ROOT:-$HERE/..}
DATA=${MMDIGITS_DATA:-$HERE/../../shared/data}
export MMDIGITS_CACHE=$(dirname "$MM")/mmdigits-cache
export MMDIGITS_DATA=$DATA
N=300
T=$(mktemp -d)
. "$HERE/checks.sh"

if [ ! -d "$DATA/fsdd" ] || [ ! -d "$DATA/mnist" ]; then
  checks_skip "no data"
fi
# the study's models: models/study/ once the robust ones are the default
model () {
  for d in "$ROOT/models/study" "$ROOT/models"; do
    [ -f "$d/$1.safetensors" ] && { echo "$d/$1.safetensors"; return; }
  done
  return 1
}
IMG=$(model imagenet_cnn) || checks_skip "no imagenet_cnn among the shipped models"
AUD=$(model audionet_cnn) || checks_skip "no audionet_cnn among the shipped models"

# eval --json with the given options into $T/NAME.json and $T/NAME.tsv
run () {
  local name=$1; shift
  "$MM" eval --json --limit $N --threads 1 --predictions "$T/$name.tsv" "$@" > "$T/$name.json" \
    2> "$T/$name.err" || fail "eval $*: $(tail -1 "$T/$name.err")"
}
# accuracy of set $2 (split_test, heldout_test) in $T/$1.json
acc () {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["accuracy"])' \
    "$T/$1.json" "$2"
}
# the two runs' predictions agree: labels and predicted digits exactly, confidences to 1e-5
same () {
  python3 - "$T/$1.tsv" "$T/$2.tsv" <<'PY'
import sys
a, b = (open(p).read().splitlines() for p in sys.argv[1:3])
assert len(a) == len(b) > 1, (len(a), len(b))
for x, y in zip(a[1:], b[1:]):
    x, y = x.split("\t"), y.split("\t")
    assert x[:4] == y[:4], (x, y)
    assert abs(float(x[4]) - float(y[4])) <= 1e-5, (x, y)
PY
}
below () { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) - float(sys.argv[3]) else 1)' "$@"; }

# ---- new writers ----
run img-clean -m "$IMG" -p clean
run img-writers -m "$IMG" -p writers
run img-writers2 -m "$IMG" -p writers
c=$(acc img-clean heldout_test); w=$(acc img-writers heldout_test)
below "$w" "$c" 0.02 && ok "writers: held-out accuracy $w below clean's $c by more than 2 points" \
  || fail "writers: held-out $w, clean $c"
[ "$(acc img-writers split_test)" = "$(acc img-clean split_test)" ] \
  && ok "writers: the split test is clean's" || fail "writers changed the split test"
same img-writers img-writers2 && ok "writers: a second run predicts the same" \
  || fail "writers: two runs differ"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["protocol"] == "writers"' \
  "$T/img-writers.json" || fail "writers: the JSON does not name the protocol"
run img-thick -m "$IMG" -p writers:thick
below "$(acc img-thick heldout_test)" "$c" 0 && ok "writers:thick: held-out $(acc img-thick heldout_test)" \
  || fail "writers:thick: held-out $(acc img-thick heldout_test), clean $c"

# ---- new writers on the validation split ----
run img-wval -m "$IMG" -p writers-val
run img-wval2 -m "$IMG" -p writers-val
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["protocol"] == "writers-val" and set(d) & {"split_test", "heldout_test", "validation", "validation_writers"} == {"validation", "validation_writers"}, d.keys()' \
  "$T/img-wval.json" && ok "writers-val: scores the validation split, clean and changed, and no test" \
  || fail "writers-val: JSON keys $(head -c 300 "$T/img-wval.json")"
v=$(acc img-wval validation); w=$(acc img-wval validation_writers)
below "$w" "$v" 0.02 && ok "writers-val: changed validation $w below the validation split's $v by more than 2 points" \
  || fail "writers-val: changed $w, validation $v"
python3 - "$T/img-wval.tsv" "$T/img-clean.tsv" <<'PY' && ok "writers-val: the validation split's images are not the split test's, its changed set the same samples" || fail "writers-val: the sets' labels"
import sys
def labels(path, name):
    return [l.split("\t")[2] for l in open(path).read().splitlines()[1:] if l.split("\t")[0] == name]
val, changed = labels(sys.argv[1], "validation"), labels(sys.argv[1], "validation_writers")
split = labels(sys.argv[2], "split_test")
assert len(val) == len(changed) == len(split) > 1 and val == changed, (len(val), len(changed))
assert val != split   # 300 labels of other images: equal by chance about never
PY
same img-wval img-wval2 && ok "writers-val: a second run predicts the same" \
  || fail "writers-val: two runs differ"
run img-wthin -m "$IMG" -p writers-val:thin
below "$(acc img-wthin validation_writers)" "$v" 0 \
  && ok "writers-val:thin: changed validation $(acc img-wthin validation_writers)" \
  || fail "writers-val:thin: $(acc img-wthin validation_writers), validation $v"
# MNIST's test files are never read: a data directory without them will do
mkdir -p "$T/train-only/mnist"
ln -s "$DATA"/mnist/train-* "$T/train-only/mnist/"
"$MM" eval -m "$IMG" -p writers-val:blur --limit 50 --threads 1 --data "$T/train-only" \
  > /dev/null 2> "$T/train-only.err" \
  && ok "writers-val: runs without MNIST's test files" \
  || fail "writers-val without MNIST's test files: $(tail -1 "$T/train-only.err")"
"$MM" eval -m "$IMG" -p writers --limit 50 --threads 1 --data "$T/train-only" > /dev/null 2>&1 \
  && fail "writers ran without MNIST's test files" || ok "writers: needs MNIST's test files"

# ---- noisy audio ----
run aud-clean -m "$AUD" -p clean
run aud-0 -m "$AUD" -p clean --snr 0 --noise white
run aud-0b -m "$AUD" -p clean --snr 0 --noise white
run aud-20 -m "$AUD" -p clean --snr 20 --noise pink
run aud-babble -m "$AUD" -p clean --snr 0 --noise babble
run aud-crowd -m "$AUD" -p clean --snr 0 --noise crowd
c=$(acc aud-clean heldout_test)
below "$(acc aud-0 heldout_test)" "$c" 0.10 && ok "--snr 0: held-out $(acc aud-0 heldout_test) vs clean $c" \
  || fail "--snr 0 white: held-out $(acc aud-0 heldout_test), clean $c"
below "$(acc aud-babble heldout_test)" "$c" 0.05 \
  && ok "--snr 0 babble: held-out $(acc aud-babble heldout_test) vs clean $c" \
  || fail "--snr 0 babble: held-out $(acc aud-babble heldout_test), clean $c"
below "$(acc aud-crowd heldout_test)" "$c" 0.05 \
  && python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["noise"] == "crowd"' "$T/aud-crowd.json" \
  && ok "--snr 0 crowd: held-out $(acc aud-crowd heldout_test) vs clean $c, the JSON names it" \
  || fail "--snr 0 crowd: held-out $(acc aud-crowd heldout_test), clean $c"
below "$(acc aud-0 heldout_test)" "$(acc aud-20 heldout_test)" 0 \
  && ok "--snr 20 pink: held-out $(acc aud-20 heldout_test), above 0 dB white's" \
  || fail "--snr 20 pink: held-out $(acc aud-20 heldout_test), 0 dB white $(acc aud-0 heldout_test)"
same aud-0 aud-0b && ok "--snr: a second run predicts the same" || fail "--snr: two runs differ"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["noise"]=="white" and d["snr_db"]==0 and d["limit"]==300 and "split_test" not in d' \
  "$T/aud-0.json" && ok "--snr: the JSON names the noise and SNR, and scores only the noisy set" || fail "--snr JSON: $(cat "$T/aud-0.json")"

# ---- the word score and the recording in --predictions ----
head -1 "$T/aud-0.tsv" | grep -q $'confidence\tscore\trecording$' && ! head -1 "$T/img-clean.tsv" | grep -q score \
  && ok "--predictions: score and recording columns for audio, none for images" \
  || fail "--predictions header: $(head -1 "$T/aud-0.tsv") / $(head -1 "$T/img-clean.tsv")"
# one recording per digit among the held-out ones (index 0) and the
# training ones (index 5): every held-out sample of digit D is D_SPK_0.wav
SPK=jackson
mkdir -p "$T/one/fsdd/recordings" "$T/one/mnist"
ln -s "$DATA"/mnist/* "$T/one/mnist/"
for d in 0 1 2 3 4 5 6 7 8 9; do
  for i in 0 5; do ln -s "$DATA/fsdd/recordings/${d}_${SPK}_$i.wav" "$T/one/fsdd/recordings/"; done
done
MMDIGITS_CACHE=$T/one-cache "$MM" eval -m "$AUD" -p clean --limit 100 --threads 1 --data "$T/one" \
  --predictions "$T/one.tsv" > /dev/null 2> "$T/one.err" || fail "eval on one recording per digit: $(tail -1 "$T/one.err")"
"$MM" words --json "$T"/one/fsdd/recordings/?_${SPK}_0.wav > "$T/one-words.json" \
  || fail "mmdigits words on the held-out recordings"
python3 - "$T/one.tsv" "$T/one-words.json" "$SPK" <<'PY' && ok "--predictions: each held-out sample names its recording, and its score is mmdigits words' score of it" || fail "--predictions: recordings or scores differ from mmdigits words'"
import json, math, os, sys
words = {}
for line in open(sys.argv[2]):
    d = json.loads(line)
    w = max(d["words"], key=lambda w: w["peak_db"]) if d["words"] else None
    words[os.path.basename(d["file"])] = w["score_db"] if w else float("nan")
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()[1:]]
held = [r for r in rows if r[0] == "heldout_test"]
assert len(held) == 100 and len({r[2] for r in held}) == 10, len(held)
for r in held:
    assert r[6] == "%s_%s_0.wav" % (r[2], sys.argv[3]), r
    want, got = words[r[6]], float(r[5])
    # words prints one decimal, eval two
    assert (math.isnan(want) and math.isnan(got)) or abs(want - got) <= 0.051, (r, want)
PY
# the scripts that read --predictions: ece-bootstrap.py, on the whole set,
# prints eval's accuracy and ECE (to its two decimals); stream-accuracy.py
# scores mmdigits batch's decisions of the same recordings with eval's
# weights, and batch decides a WAV as eval does: eval's accuracy twice
python3 - "$ROOT/scripts/ece-bootstrap.py" "$T/aud-0.tsv" "$T/aud-0.json" 2> "$T/eceb.err" <<'PY' && ok "ece-bootstrap.py: eval's accuracy and ECE on the whole set" || fail "ece-bootstrap.py differs from eval: $(tail -3 "$T/eceb.err")"
import json, re, subprocess, sys
# by its own #! line: the system python3, which has numpy (scripts/deps.sh)
out = subprocess.run([sys.argv[1], sys.argv[2]], capture_output=True, text=True, check=True).stdout
h = json.load(open(sys.argv[3]))["heldout_test"]
acc, ece = (float(re.search(k + r" ([0-9.]+) %", out).group(1)) for k in ("accuracy", "ECE"))
assert abs(acc - 100 * h["accuracy"]) < 0.006 and abs(ece - 100 * h["ece"]) < 0.006, (out, h)
rows = [l.split("\t") for l in open(sys.argv[2]).read().splitlines()[1:] if l.startswith("heldout_test")]
assert f"{len(rows)} samples, {len({r[6] for r in rows})} recordings," in out, out
PY
env -u GST_PLUGIN_PATH_1_0 GST_PLUGIN_PATH=${GST_PLUGIN_PATH:-${MMDIGITS_BUILD_ROOT:-$(dirname "$MM")/..}/plugins} \
  "$MM" batch -m "$AUD" -j 1 -o "$T/one.jsonl" "$T"/one/fsdd/recordings/?_${SPK}_0.wav > /dev/null \
  2> "$T/one-batch.err" || fail "batch on the held-out recordings: $(tail -1 "$T/one-batch.err")"
"$ROOT/scripts/stream-accuracy.py" "$T/one.tsv" "$T/one.jsonl" > "$T/one-stream.txt" \
  && grep -Eq 'eval ([0-9.]+) %, as a stream \1 %' "$T/one-stream.txt" \
  && ok "stream-accuracy.py: batch's decisions of eval's recordings score eval's accuracy" \
  || fail "stream-accuracy.py: $(cat "$T/one-stream.txt")"
run aud-w20 -m "$AUD" -p clean --snr 20 --noise white --probabilities
python3 - "$T/aud-w20.tsv" <<'PY' && ok "--probabilities: ten columns summing to 1, their arg-max the prediction" || fail "--probabilities: the columns"
import sys
lines = open(sys.argv[1]).read().splitlines()
assert lines[0].split("\t")[5:] == ["score", "recording"] + ["p%d" % k for k in range(10)], lines[0]
for l in lines[1:]:
    r = l.split("\t")
    p = [float(x) for x in r[7:]]
    assert len(p) == 10 and abs(sum(p) - 1) < 1e-4, r
    assert max(range(10), key=p.__getitem__) == int(r[3]) and abs(max(p) - float(r[4])) < 2e-6, r
PY
python3 - "$T/aud-w20.tsv" "$T/aud-0.tsv" <<'PY' && ok "--predictions with --snr: louder noise, lower score on the same clip" || fail "--snr: scores at 0 dB are not below 20 dB's"
import math, statistics, sys
def scores(path):
    return {r[1]: float(r[5]) for r in (l.split("\t") for l in open(path).read().splitlines()[1:])
            if r[0] == "heldout_test"}
hi, lo = scores(sys.argv[1]), scores(sys.argv[2])
assert hi.keys() == lo.keys() and len(hi) == 300
both = [(hi[k], lo[k]) for k in hi if not math.isnan(hi[k]) and not math.isnan(lo[k])]
assert len(both) >= 200, len(both)
assert all(l < h for h, l in both), [p for p in both if p[1] >= p[0]][:5]
assert statistics.median(h - l for h, l in both) > 10
PY

# ---- --ensemble ----
# the mean of a network's probabilities with themselves is that network
run aud-self -m "$AUD" -m "$AUD" --ensemble -p clean
same aud-clean aud-self && ok "--ensemble of a network with itself predicts as the network" \
  || fail "--ensemble A + A differs from A"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); e=d["ensemble"]; assert len(e)==2 and d["combination"].startswith("mean") and " + " in d["model"], d.keys()' \
  "$T/aud-self.json" && ok "--ensemble: the JSON names the members and the combination" \
  || fail "--ensemble JSON: $(head -c 300 "$T/aud-self.json")"
CNN=$ROOT/models/audionet_cnn.safetensors LSTM=$ROOT/models/audionet_lstm.safetensors
if [ -f "$CNN" ] && [ -f "$LSTM" ] && [ "$CNN" != "$AUD" ]; then
  run ens-cnn -m "$CNN" -p voices
  run ens-lstm -m "$LSTM" -p voices
  run ens-both -m "$CNN" -m "$LSTM" --ensemble -p voices
  # each member's own figures in the ensemble's JSON are its figures alone
  python3 - "$T" <<'PY' && ok "--ensemble: each member's figures are its own run's" || fail "--ensemble: members' figures"
import json, sys
t = sys.argv[1]
d = json.load(open(t + "/ens-both.json"))
for m, name in zip(d["ensemble"], ("ens-cnn", "ens-lstm")):
    alone = json.load(open(t + "/" + name + ".json"))
    # with test-time views (the default set's) only the held-out set is scored
    keys = [k for k in ("split_test", "heldout_test") if k in alone]
    assert "heldout_test" in keys and set(keys) == {k for k in m if k in ("split_test", "heldout_test")}
    for k in keys:
        assert m[k]["confusion"] == alone[k]["confusion"], (name, k)
        assert abs(m[k]["ece"] - alone[k]["ece"]) <= 1e-6, (name, k)
PY
  usage_rc=0
  "$MM" eval -m "$AUD" -m "$CNN" --ensemble --limit 10 > /dev/null 2> "$T/ens-fe.err" || usage_rc=$?
  [ $usage_rc -eq 1 ] && grep -q "different audio front ends" "$T/ens-fe.err" \
    && ok "--ensemble of two front ends: exit 1" || fail "--ensemble of two front ends: $(cat "$T/ens-fe.err")"
fi
"$MM" eval -m "$AUD" -m "$IMG" --ensemble --limit 10 > /dev/null 2> "$T/ens-role.err"
[ $? -eq 1 ] && grep -q "not take the same inputs" "$T/ens-role.err" \
  && ok "--ensemble of an audio and an image network: exit 1" || fail "--ensemble roles: $(cat "$T/ens-role.err")"
HYB=$(model hybridnet_cnn) || HYB=
if [ -n "$HYB" ]; then
  # an image network beside a hybrid scores the pairs' images: its figures
  # are its own on the same protocol, the mean is the two rows' by hand
  run pair-hyb -m "$HYB" -p clean --probabilities
  run pair-img -m "$IMG" -p clean --probabilities
  run pair-both -m "$HYB" -m "$IMG" --ensemble -p clean --probabilities
  python3 - "$T" <<'PY' && ok "--ensemble of a hybrid and an image network: the image's own figures, the mean of both" \
    || fail "--ensemble hybrid + image"
import json, sys
t = sys.argv[1]
d, img = (json.load(open(f"{t}/{n}.json")) for n in ("pair-both", "pair-img"))
for k in ("split_test", "heldout_test"):
    assert d["ensemble"][1][k]["confusion"] == img[k]["confusion"], k
rows = {}
for n in ("pair-hyb", "pair-img", "pair-both"):
    lines = [l.split("\t") for l in open(f"{t}/{n}.tsv").read().splitlines()]
    head = lines[0]
    rows[n] = [(r[0], r[2], [float(x) for x in r[head.index("p0"):]]) for r in lines[1:]]
assert len(rows["pair-both"]) == len(rows["pair-hyb"]) == len(rows["pair-img"]) > 100
for b, h, i in zip(rows["pair-both"], rows["pair-hyb"], rows["pair-img"]):
    assert b[:2] == h[:2] == i[:2], (b[:2], h[:2], i[:2])
    for k in range(10):
        assert abs(b[2][k] - (h[2][k] + i[2][k]) / 2) <= 1e-5 * max(1, b[2][k]), (b, h, i)
PY
  # the pair rule: row by row the image network's where the hybrid is less sure than P
  run pair-rule -m "$HYB" -m "$IMG" --ensemble -p clean --probabilities --image-decides-below 0.999
  python3 - "$T" <<'PY' && ok "--image-decides-below: the image network's rows where the hybrid is below P, else the hybrid's" \
    || fail "--image-decides-below"
import json, sys
t = sys.argv[1]
d = json.load(open(f"{t}/pair-rule.json"))
assert d["image_decides_below"] == 0.999 and "unsure" in d["combination"], d["combination"]
rows = {}
for n in ("pair-hyb", "pair-img", "pair-rule"):
    lines = [l.split("\t") for l in open(f"{t}/{n}.tsv").read().splitlines()]
    rows[n] = [[float(x) for x in r[lines[0].index("p0"):]] for r in lines[1:]]
deferred = kept = 0
for r, h, i in zip(rows["pair-rule"], rows["pair-hyb"], rows["pair-img"]):
    if abs(max(h) - 0.999) < 1e-5:
        continue
    want = i if max(h) < 0.999 else h
    deferred += want is i
    kept += want is h
    assert all(abs(a - b) <= 1e-5 * max(1, a) for a, b in zip(r, want)), (r, h, i)
assert deferred and kept, (deferred, kept)
PY
  "$MM" eval -m "$HYB" -m "$IMG" -m "$IMG" --ensemble --image-decides-below 0.9 --limit 10 \
    > /dev/null 2> "$T/rule-three.err"
  [ $? -eq 1 ] && grep -q "a hybrid and then an image network" "$T/rule-three.err" \
    && ok "--image-decides-below with three networks: exit 1" || fail "--image-decides-below three: $(cat "$T/rule-three.err")"
  "$MM" eval -m "$IMG" -m "$HYB" --ensemble --limit 10 > /dev/null 2> "$T/ens-order.err"
  [ $? -eq 1 ] && grep -q "hybrid given first" "$T/ens-order.err" \
    && ok "--ensemble of an image network before a hybrid: exit 1" || fail "--ensemble order: $(cat "$T/ens-order.err")"
fi

# ---- --tta ----
run aud-tta1 -m "$AUD" -p clean --tta speed:1
run aud-tta -m "$AUD" -p clean --tta speed:0.9,speed:1.1,vtlp:0.9,vtlp:1.1
run aud-tta2 -m "$AUD" -p clean --tta speed:0.9,speed:1.1,vtlp:0.9,vtlp:1.1
# held-out lines of $1 and $2: "same" → identical predictions (confidences
# to 1e-6), "differ" → at least one confidence apart by more than 1e-3
heldout () {
  python3 - "$T/$1.tsv" "$T/$2.tsv" "$3" <<'PY'
import sys
a, b = ([l.split("\t") for l in open(p).read().splitlines()[1:] if l.startswith("heldout")]
        for p in sys.argv[1:3])
assert len(a) == len(b) > 1, (len(a), len(b))
gap = max(abs(float(x[4]) - float(y[4])) for x, y in zip(a, b))
if sys.argv[3] == "same":
    assert all(x[:4] == y[:4] for x, y in zip(a, b)) and gap <= 1e-6, gap
elif sys.argv[3] == "digits":
    assert all(x[:4] == y[:4] for x, y in zip(a, b)), "the digits differ"
else:
    assert gap > 1e-3, gap
PY
}
heldout aud-clean aud-tta1 same && ok "--tta speed:1 (the recording alone) predicts as plain eval" \
  || fail "--tta speed:1 differs from plain eval"
heldout aud-clean aud-tta differ && ok "--tta with four views changes confidences" \
  || fail "--tta with four views changed nothing"
same aud-tta aud-tta2 && ok "--tta: a second run predicts the same" || fail "--tta: two runs differ"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["tta"]=="speed:0.9,speed:1.1,vtlp:0.9,vtlp:1.1" and "split_test" not in d' \
  "$T/aud-tta.json" && ok "--tta: the JSON names the views and scores only the held-out set" \
  || fail "--tta JSON: $(head -c 300 "$T/aud-tta.json")"
run aud-tta-snr -m "$AUD" -p clean --snr 0 --noise white --tta speed:0.9,speed:1.1
heldout aud-0 aud-tta-snr differ && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["tta"]=="speed:0.9,speed:1.1" and d["snr_db"]==0' \
  "$T/aud-tta-snr.json" && ok "--tta with --snr: views of the noisy clips change confidences" \
  || fail "--tta with --snr: $(head -c 300 "$T/aud-tta-snr.json")"

# ---- a model with views in its front end ----
if "$MM" calibrate -m "$AUD" -p clean --views speed:0.9,speed:1.1 -o "$T/aud-views.safetensors" \
    --threads 1 > /dev/null 2> "$T/cal-views.err"; then
  "$MM" inspect "$T/aud-views.safetensors" | grep -q '"views":"speed:0.9,speed:1.1"' \
    && ok "calibrate --views: the model's front end records the views" \
    || fail "calibrate --views: no views in $("$MM" inspect "$T/aud-views.safetensors" | grep mfcc)"
  run aud-own -m "$T/aud-views.safetensors" -p clean
  run aud-none -m "$T/aud-views.safetensors" -p clean --tta none
  run aud-t1 -m "$AUD" -p clean --tta speed:0.9,speed:1.1
  heldout aud-t1 aud-own digits && ok "a model with views: eval decides with them" \
    || fail "a model with views: eval's digits are not those of its views"
  heldout aud-clean aud-none digits && ok "a model with views, --tta none: its blocks alone" \
    || fail "--tta none: the digits are not plain eval's"
else
  fail "calibrate --views: $(tail -1 "$T/cal-views.err")"
fi

# ---- errors ----
usage () {   # usage WHAT ARGS...: eval ARGS is a usage error (exit 2)
  local what=$1 rc=0
  shift
  "$MM" eval "$@" > /dev/null 2>&1 || rc=$?
  [ $rc -eq 2 ] && ok "$what: exit 2" || fail "$what: exit $rc, not 2"
}
usage "--noise without --snr" -m "$AUD" --noise white
usage "--probabilities without --predictions" -m "$AUD" --probabilities
usage "--noise brown" -m "$AUD" --snr 10 --noise brown
usage "--snr 1000" -m "$AUD" --snr 1000
usage "writers:fat" -m "$AUD" -p writers:fat
usage "writers-val:fat" -m "$AUD" -p writers-val:fat
usage "writers-valx" -m "$AUD" -p writers-valx
usage "--ensemble with one model" -m "$AUD" --ensemble
usage "--image-decides-below 1.5" -m "$AUD" -m "$AUD" --ensemble --image-decides-below 1.5
usage "--ensemble with the folds" -m "$AUD" -m "$AUD" --ensemble -p new-speaker
usage "two models without --ensemble" -m "$AUD" -m "$AUD"
usage "--tta pitch:1" -m "$AUD" --tta pitch:1
usage "--tta speed:3" -m "$AUD" --tta speed:3
usage "--tta speed:" -m "$AUD" --tta speed:
usage "--tta with five views" -m "$AUD" --tta speed:0.9,speed:1.1,vtlp:0.9,vtlp:1.1,speed:1.2
usage "--tta with a view of both" -m "$AUD" --tta speed:0.9:vtlp:1.1
usage "--tta with --ensemble" -m "$AUD" -m "$AUD" --ensemble --tta speed:0.9
"$MM" eval -m "$IMG" --tta speed:0.9 > /dev/null 2> "$T/img-tta.err"
[ $? -eq 1 ] && grep -q "hears no audio" "$T/img-tta.err" && ok "--tta with ImageNet_CNN: exit 1" \
  || fail "--tta with ImageNet_CNN: $(cat "$T/img-tta.err")"
"$MM" eval -m "$IMG" --snr 10 > /dev/null 2> "$T/img-snr.err"
[ $? -eq 1 ] && grep -q "hears no audio" "$T/img-snr.err" && ok "--snr with ImageNet_CNN: exit 1" \
  || fail "--snr with ImageNet_CNN: $(cat "$T/img-snr.err")"
"$MM" train -a ImageNet_CNN -p writers -o "$T/x.safetensors" > /dev/null 2> "$T/train.err"
[ $? -eq 2 ] && grep -q "evaluation only" "$T/train.err" && [ ! -e "$T/x.safetensors" ] \
  && ok "train -p writers: refused, no file" || fail "train -p writers: $(cat "$T/train.err")"
"$MM" train -a ImageNet_CNN -p writers-val:thin -o "$T/x.safetensors" > /dev/null 2> "$T/train.err"
[ $? -eq 2 ] && grep -q "evaluation only" "$T/train.err" && [ ! -e "$T/x.safetensors" ] \
  && ok "train -p writers-val:thin: refused, no file" \
  || fail "train -p writers-val:thin: $(cat "$T/train.err")"

checks_done
