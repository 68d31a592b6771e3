#!/bin/bash
# mmdigits calibrate, and the protocols voices-cal / voices-test it is for:
#  - usage errors (exit 2): missing options, a protocol that scores a test
#    set (voices-test, writers), an unknown one, one given twice;
#  - --out that is the model (same path or a symlink to it): exit 1, one
#    line, the model byte for byte as it was; a missing model: exit 1;
#  - with data, on a shipped audio network: -p voices finds the temperature
#    its training fitted on that split again; the new file holds the input's
#    weights and front end unchanged and the fitted temperature; its
#    provenance records the sets, both temperatures and each set's ECE, and
#    eval of the new file on voices-cal reproduces the recorded ECE and the
#    input's accuracy (a temperature does not change a decision); a second
#    calibration appends a second record; two protocols fit on their union;
#  - a fit that runs to its bound (the study's AudioNet_CNN on clean's
#    validation split, right on every sample) is refused: exit 1, one line,
#    no file;
#  - -p new-speaker (cross-validated, with one --fold model per fold):
#    usage errors without --fold, --fold without it, with another -p, with
#    five folds; exit 1, one line, no file for a fold model of another arch,
#    of another front end, not trained on a fold, a fold given twice, and
#    --out naming a fold model; with data, six small fold models (one epoch
#    on new-speaker:K each): each fold's accuracy and ECE in the record are
#    eval -p new-speaker's for that model (it scored its own fold's unheard
#    speakers), the samples pooled are theirs, the written file is the
#    model's weights with the pooled temperature and a record naming the
#    six folds, their temperatures and the leave-one-fold-out ECEs;
#  - voices-cal scores the validation split and the calibration voices, never
#    a test, and runs without MNIST's test files; voices-test scores the
#    MNIST test images; training on either is refused.
# Usage: bash calibrate.sh PATH/TO/mmdigits
set -u -o pipefail
MM=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${MMDIGITS_SOURCE_ROOT:-$HERE/..}
DATA=${MMDIGITS_DATA:-$HERE/../../shared/data}
export MMDIGITS_CACHE=$(dirname "$MM")/mmdigits-cache
T=$(mktemp -d)
. "$HERE/checks.sh"

SHIPPED=$ROOT/models/audionet_cnn.safetensors
[ -f "$SHIPPED" ] || checks_skip "no models/audionet_cnn.safetensors"
# the input: the shipped network with its front end's test-time views taken
# out (the fits below are of blocks alone; calibrate --views is
# tests/eval_conditions.sh's), and a copy of it to check it is left alone
python3 - "$SHIPPED" "$T/in.safetensors" <<'PY' || checks_skip "cannot read $SHIPPED"
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
m = h["__metadata__"]
fe = json.loads(m["mfcc"])
fe.pop("views", None)
m["mfcc"] = json.dumps(fe, separators=(",", ":"))
hb = json.dumps(h, separators=(",", ":")).encode()
hb += b" " * (-len(hb) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(hb)) + hb + b[8 + n:])
PY
MODEL=$T/orig.safetensors
cp "$T/in.safetensors" "$MODEL"
ln -s "$T/in.safetensors" "$T/link.safetensors"

# ---- no data needed ----
usage () {   # usage WHAT ARGS...: calibrate ARGS is a usage error (exit 2, one line)
  local what=$1 rc=0
  shift
  "$MM" calibrate "$@" > /dev/null 2> "$T/usage.err" || rc=$?
  [ $rc -eq 2 ] && [ "$(wc -l < "$T/usage.err")" -eq 1 ] && ok "$what: exit 2, one line" \
    || fail "$what: exit $rc: $(cat "$T/usage.err")"
}
usage "calibrate without --protocol" -m "$T/in.safetensors" -o "$T/out.safetensors"
usage "calibrate without --out" -m "$T/in.safetensors" -p voices-cal
usage "calibrate -p voices-test (a test set)" -m "$T/in.safetensors" -p voices-test -o "$T/out.safetensors"
grep -q "test set" "$T/usage.err" && ok "calibrate -p voices-test says it is a test set" \
  || fail "calibrate -p voices-test: $(cat "$T/usage.err")"
usage "calibrate -p writers (a test set)" -m "$T/in.safetensors" -p writers -o "$T/out.safetensors"
usage "calibrate -p voices-call" -m "$T/in.safetensors" -p voices-call -o "$T/out.safetensors"
usage "calibrate -p voices-cal twice" -m "$T/in.safetensors" -p voices-cal -p voices-cal \
  -o "$T/out.safetensors"
usage "calibrate --threads 0" -m "$T/in.safetensors" -p voices-cal -o "$T/out.safetensors" --threads 0

# cross-validated calibration: option errors need no model work at all
F6=(--fold "$T/in.safetensors" --fold "$T/in.safetensors" --fold "$T/in.safetensors"
    --fold "$T/in.safetensors" --fold "$T/in.safetensors" --fold "$T/in.safetensors")
usage "calibrate -p new-speaker without --fold" -m "$T/in.safetensors" -p new-speaker \
  -o "$T/out.safetensors"
usage "calibrate --fold without -p new-speaker" -m "$T/in.safetensors" -p voices-cal \
  "${F6[@]}" -o "$T/out.safetensors"
usage "calibrate -p new-speaker -p voices-cal" -m "$T/in.safetensors" -p new-speaker \
  -p voices-cal "${F6[@]}" -o "$T/out.safetensors"
usage "calibrate -p new-speaker with five folds" -m "$T/in.safetensors" -p new-speaker \
  "${F6[@]:2}" -o "$T/out.safetensors"
refused () {   # refused WHAT PATTERN ARGS...: calibrate ARGS exits 1, one line matching, no file
  local what=$1 pattern=$2 rc=0
  shift 2
  "$MM" calibrate "$@" > /dev/null 2> "$T/refused.err" || rc=$?
  [ $rc -eq 1 ] && [ "$(wc -l < "$T/refused.err")" -eq 1 ] && grep -q -- "$pattern" "$T/refused.err" \
    && [ ! -e "$T/out.safetensors" ] && ok "$what: exit 1: $(cat "$T/refused.err")" \
    || fail "$what: exit $rc: $(cat "$T/refused.err")"
}
refused "calibrate --fold of a model not trained on a fold" "not trained on a new-speaker:K fold" \
  -m "$T/in.safetensors" -p new-speaker "${F6[@]}" -o "$T/out.safetensors" --data "$T"
if [ -f "$ROOT/models/audionet_lstm.safetensors" ] && [ -f "$ROOT/models/study/audionet_cnn.safetensors" ]; then
  refused "calibrate --fold of another arch" "a fold model of AudioNet_LSTM, not of the model's arch AudioNet_CNN" \
    -m "$T/in.safetensors" -p new-speaker --fold "$ROOT/models/audionet_lstm.safetensors" \
    "${F6[@]:2}" -o "$T/out.safetensors" --data "$T"
  refused "calibrate --fold of another front end" "another audio front end" \
    -m "$T/in.safetensors" -p new-speaker --fold "$ROOT/models/study/audionet_cnn.safetensors" \
    "${F6[@]:2}" -o "$T/out.safetensors" --data "$T"
fi
cp "$T/in.safetensors" "$T/fold-copy.safetensors"
refused "calibrate -o a fold model" "is the input .*fold-copy.safetensors" -m "$T/in.safetensors" \
  -p new-speaker "${F6[@]:2}" --fold "$T/fold-copy.safetensors" -o "$T/fold-copy.safetensors" \
  --data "$T"
cmp -s "$T/in.safetensors" "$T/fold-copy.safetensors" && ok "calibrate -o a fold model: the fold model unchanged" \
  || fail "calibrate -o a fold model changed it"

for out in in link; do
  "$MM" calibrate -m "$T/in.safetensors" -p voices-cal -o "$T/$out.safetensors" --data "$T" \
    > /dev/null 2> "$T/same.err"
  rc=$?
  [ $rc -eq 1 ] && [ "$(wc -l < "$T/same.err")" -eq 1 ] && cmp -s "$MODEL" "$T/in.safetensors" \
    && ok "calibrate -o $out.safetensors (the model itself): exit 1, one line, the model unchanged" \
    || fail "calibrate -o $out.safetensors: rc $rc: $(cat "$T/same.err")"
done
"$MM" calibrate -m "$T/none.safetensors" -p voices-cal -o "$T/out.safetensors" --data "$T" \
  > /dev/null 2> "$T/none.err"
rc=$?
[ $rc -eq 1 ] && [ "$(wc -l < "$T/none.err")" -eq 1 ] && [ ! -e "$T/out.safetensors" ] \
  && ok "calibrate of a missing model: exit 1, one line, no output" \
  || fail "calibrate of a missing model: rc $rc: $(cat "$T/none.err")"

# a model that is not a regular file is refused by the loader before a byte
# is read: the digest read it first (/dev/zero until the OOM killer, a FIFO
# for ever); a memory limit where the program can run under one (not ASan)
mkfifo "$T/fifo.safetensors"
timeout 30 "$MM" calibrate -m "$T/fifo.safetensors" -p voices-cal -o "$T/out.safetensors" \
  --data "$T" > /dev/null 2> "$T/fifo.err" < /dev/null
rc=$?
[ $rc -eq 1 ] && grep -q "is a FIFO, not a model file" "$T/fifo.err" \
  && ok "calibrate -m FIFO: exit 1: $(cat "$T/fifo.err")" \
  || fail "calibrate -m FIFO: rc $rc$([ $rc -eq 124 ] && echo " (hung)"): $(cat "$T/fifo.err")"
if built_with_asan "$MM"; then
  skip "calibrate -m /dev/zero (no memory limit under ASan)"
else
  (ulimit -v 4000000; timeout 30 "$MM" calibrate -m /dev/zero -p voices-cal \
    -o "$T/out.safetensors" --data "$T") > /dev/null 2> "$T/zero.err"
  rc=$?
  [ $rc -eq 1 ] && grep -q "is a character device, not a model file" "$T/zero.err" \
    && ok "calibrate -m /dev/zero: exit 1: $(cat "$T/zero.err")" \
    || fail "calibrate -m /dev/zero: rc $rc: $(head -c 300 "$T/zero.err")"
fi
[ ! -e "$T/out.safetensors" ] && ok "no output from a refused model" \
  || fail "calibrate of a refused model wrote $T/out.safetensors"

# ---- with data ----
if [ ! -d "$DATA/fsdd" ] || [ ! -d "$DATA/mnist" ] || [ ! -d "$DATA/extra-speech" ]; then
  skip "no data"
  checks_done
fi
export MMDIGITS_DATA=$DATA

# a fit at its bound is refused: the study's AudioNet_CNN (uncalibrated) is
# right on every sample of clean's validation split (it shares recordings
# with training), so the fit runs to T = 0.05; exit 1, one line, no file
STUDY=$ROOT/models/study/audionet_cnn.safetensors
if [ -f "$STUDY" ]; then
  "$MM" calibrate -m "$STUDY" -p clean -o "$T/bound.safetensors" --threads 1 \
    > /dev/null 2> "$T/bound.err"
  rc=$?
  grep -v "^mmdigits: decoded" "$T/bound.err" > "$T/bound.lines"
  [ $rc -eq 1 ] && [ "$(wc -l < "$T/bound.lines")" -eq 1 ] && [ ! -e "$T/bound.safetensors" ] \
    && grep -q "not calibrated, .* not written: the temperature fit ran to the end of its range (T = 0.05)" "$T/bound.lines" \
    && [ -z "$(ls "$T" | grep '^bound\.safetensors\.tmp')" ] \
    && ok "calibrate with no error to fit on: exit 1, one line, no file: $(cat "$T/bound.lines")" \
    || fail "calibrate at the fit's bound: rc $rc: $(cat "$T/bound.err")"
else
  skip "calibrate at the fit's bound (no models/study/audionet_cnn.safetensors)"
fi

# the temperature the training fitted on voices' validation split: calibrate
# -p voices must find it again (the same fit on the same set)
python3 - "$T/in.safetensors" > "$T/t_train" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
p = json.loads(json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]])["__metadata__"]["provenance"])
assert p["protocol"] == "voices", p["protocol"]
print(p["recalibration"][0]["temperature_before"] if p.get("recalibration") else p["temperature"])
PY
need "the input's training temperature" [ -s "$T/t_train" ]
need "calibrate -p voices" "$MM" calibrate -m "$T/in.safetensors" -p voices \
  -o "$T/train.safetensors" --threads 1 --json > "$T/train.json" 2> "$T/train.err"
python3 -c 'import json,sys; t=float(open(sys.argv[2]).read()); r=json.load(open(sys.argv[1])); assert abs(r["temperature_after"] - t) < 1e-3 * t, (r["temperature_after"], t)' \
  "$T/train.json" "$T/t_train" \
  && ok "calibrate -p voices finds the temperature train fitted on that validation split again ($(cat "$T/t_train"))" \
  || fail "calibrate -p voices: $(cat "$T/train.json")"

need "calibrate -p voices-cal" "$MM" calibrate -m "$T/train.safetensors" -p voices-cal \
  -o "$T/cal.safetensors" --threads 1 --json > "$T/cal.json" 2> "$T/cal.err"
cmp -s "$MODEL" "$T/in.safetensors" && ok "calibrate leaves its input as it was" \
  || fail "calibrate changed its input"
# the header's tensors and front end, the body byte for byte; the temperature and provenance
python3 - "$T/train.safetensors" "$T/cal.safetensors" "$T/cal.json" <<'PY' \
  && ok "calibrate: weights and front end unchanged, the fitted temperature and its record in the provenance" \
  || fail "calibrate: the new file"
import json, struct, sys
def load(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]
(hi, bi), (ho, bo) = load(sys.argv[1]), load(sys.argv[2])
rec = json.load(open(sys.argv[3]))
mi, mo = hi.pop("__metadata__"), ho.pop("__metadata__")
assert hi == ho and bi == bo, "tensors differ"
assert mi["mfcc"] == mo["mfcc"] and mi["mfcc_mean"] == mo["mfcc_mean"]
t_old, t_new = float(mi["temperature"]), float(mo["temperature"])
# unheard voices ask another temperature than the training voices
assert abs(t_new - t_old) > 1e-2 * t_old, (t_old, t_new)
prov_in, prov = json.loads(mi["provenance"]), json.loads(mo["provenance"])
assert abs(prov["temperature"] - t_new) < 1e-6 * t_new
assert prov["recalibration"] == prov_in["recalibration"] + [rec], prov.get("recalibration")
assert abs(rec["temperature_before"] - t_old) < 1e-6 and abs(rec["temperature_after"] - t_new) < 1e-6
assert [s["protocol"] for s in rec["sets"]] == ["voices-cal"] and rec["sets"][0]["samples"] == 9000
assert rec["from_model"] == "train.safetensors" and len(rec["from_sha256"]) == 64
# everything else the training recorded is kept
for k, v in prov_in.items():
    if k not in ("temperature", "calibration", "recalibration"):
        assert prov[k] == v, k
PY

"$MM" eval -m "$T/cal.safetensors" -p voices-cal --threads 1 --json > "$T/eval-cal.json" 2> "$T/eval.err"
"$MM" eval -m "$T/train.safetensors" -p voices-cal --threads 1 --json > "$T/eval-in.json" 2>> "$T/eval.err"
python3 - "$T/eval-in.json" "$T/eval-cal.json" "$T/cal.json" <<'PY' \
  && ok "eval of the calibrated model: the recorded ECE before and after, the same accuracy" \
  || fail "eval of the calibrated model: $(tail -1 "$T/eval.err")"
import json, sys
a, b, rec = (json.load(open(p)) for p in sys.argv[1:4])
assert set(a) & {"split_test", "heldout_test", "validation", "validation_voices"} == {"validation", "validation_voices"}
s = rec["sets"][0]
assert abs(a["validation_voices"]["ece"] - s["ece_before"]) < 1e-6, (a["validation_voices"]["ece"], s)
assert abs(b["validation_voices"]["ece"] - s["ece_after"]) < 1e-6, (b["validation_voices"]["ece"], s)
for k in ("validation", "validation_voices"):
    assert a[k]["accuracy"] == b[k]["accuracy"] and a[k]["confusion"] == b[k]["confusion"], k
assert abs(b["validation_voices"]["accuracy"] - s["accuracy"]) < 1e-9
PY

"$MM" calibrate -m "$T/cal.safetensors" -p voices-cal -p voices -o "$T/twice.safetensors" \
  --threads 1 --json > "$T/twice.json" 2> "$T/twice.err"
python3 - "$T/twice.safetensors" "$T/cal.json" "$T/twice.json" <<'PY' \
  && ok "calibrate again: one more record; -p voices-cal -p voices fits on both sets (9,000 each)" \
  || fail "calibrate twice: $(tail -1 "$T/twice.err")"
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
prov = json.loads(json.loads(b[8:8 + n])["__metadata__"]["provenance"])
first, second = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
assert prov["recalibration"][-2:] == [first, second]
assert second["temperature_before"] == first["temperature_after"]
assert [(s["protocol"], s["samples"]) for s in second["sets"]] == [("voices-cal", 9000), ("voices", 9000)]
assert second["sets"][1]["set"] == "the validation split"
PY

# cross-validated: six small fold models of the model's arch and front end
# (one epoch on a few samples each: what is checked is the bookkeeping, not
# their quality)
folds=()
for k in 1 2 3 4 5 6; do
  need "train fold $k" "$MM" train -a AudioNet_CNN -p new-speaker:$k --epochs 1 --limit 300 \
    --batch 32 --seed $k --cmvn mean+var --high-freq 4000 --dc-block --threads 1 \
    -o "$T/f$k.safetensors"
  folds+=(--fold "$T/f$k.safetensors")
done 2> "$T/folds.err"
models=()
for k in 1 2 3 4 5 6; do models+=(-m "$T/f$k.safetensors"); done
"$MM" eval -p new-speaker "${models[@]}" --threads 1 --json > "$T/folds-eval.json" 2>> "$T/folds.err"
"$MM" calibrate -m "$T/in.safetensors" -p new-speaker "${folds[@]}" -o "$T/cv.safetensors" \
  --threads 1 --json > "$T/cv.json" 2> "$T/cv.err"
python3 - "$T/in.safetensors" "$T/cv.safetensors" "$T/cv.json" "$T/folds-eval.json" <<'PY' \
  && ok "calibrate -p new-speaker: each fold's own unheard speakers as eval scores them, the pooled temperature, the record" \
  || fail "calibrate -p new-speaker: $(tail -2 "$T/cv.err")"
import json, struct, sys
def load(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]
(hi, bi), (ho, bo) = load(sys.argv[1]), load(sys.argv[2])
rec, ev = json.load(open(sys.argv[3])), json.load(open(sys.argv[4]))
mi, mo = hi.pop("__metadata__"), ho.pop("__metadata__")
assert hi == ho and bi == bo, "tensors differ"
assert mi["mfcc"] == mo["mfcc"] and mi["mfcc_mean"] == mo["mfcc_mean"]
t = float(mo["temperature"])
assert abs(rec["temperature_after"] - t) < 1e-6 * t and abs(rec["temperature_before"] - float(mi["temperature"])) < 1e-6
prov = json.loads(mo["provenance"])
assert prov["recalibration"][-1] == rec and abs(prov["temperature"] - t) < 1e-6 * t
assert "out-of-fold" in rec["fit"], rec["fit"]
folds = {f["fold"]: f for f in rec["folds"]}
assert sorted(folds) == [1, 2, 3, 4, 5, 6], sorted(folds)
by_fold = {f["fold"]: f for f in ev["folds"]}
for k, f in folds.items():
    assert f["model"] == f"f{k}.safetensors" and len(f["sha256"]) == 64, f
    assert abs(f["accuracy"] - by_fold[k]["accuracy"]) < 1e-6, (k, f, by_fold[k])
    assert abs(f["ece"] - by_fold[k]["ece"]) < 1e-6, (k, f, by_fold[k])
    assert 0.05 < f["temperature_left_out"] < 20 and 0 <= f["ece_left_out"] <= 1, f
s = rec["sets"]
assert len(s) == 1 and s[0]["protocol"] == "new-speaker"
assert s[0]["samples"] == sum(f["samples"] for f in rec["folds"]) == 6 * 10000, s
assert 0 <= rec["ece_left_out_pooled"] <= 1
PY
refused "calibrate -p new-speaker with a fold given twice" "a second fold model for fold 1" \
  -m "$T/in.safetensors" -p new-speaker "${folds[@]:0:10}" --fold "$T/f1.safetensors" \
  -o "$T/out.safetensors" --threads 1

# a model without provenance gets one holding the calibration alone
python3 - "$T/in.safetensors" "$T/bare.safetensors" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
del h["__metadata__"]["provenance"]
hb = json.dumps(h, separators=(",", ":")).encode()
hb += b" " * (-len(hb) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(hb)) + hb + b[8 + n:])
PY
"$MM" calibrate -m "$T/bare.safetensors" -p voices-cal -o "$T/bare-cal.safetensors" --threads 1 \
  > /dev/null 2> "$T/bare.err" \
  && python3 - "$T/bare-cal.safetensors" <<'PY' \
  && ok "calibrate of a model without provenance: one with the temperature and its record" \
  || fail "calibrate of a model without provenance: $(tail -1 "$T/bare.err")"
import json, struct, sys
b = open(sys.argv[1], "rb").read()
p = json.loads(json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]])["__metadata__"]["provenance"])
assert sorted(p) == ["calibration", "recalibration", "temperature"], sorted(p)
assert len(p["recalibration"]) == 1 and p["recalibration"][0]["from_model"] == "bare.safetensors"
PY

# voices-cal never reads MNIST's test set; voices-test does
mkdir -p "$T/train-only/mnist"
ln -s "$DATA"/mnist/train-* "$T/train-only/mnist/"
ln -s "$DATA/fsdd" "$DATA/extra-speech" "$T/train-only/"
"$MM" eval -m "$T/in.safetensors" -p voices-cal --limit 50 --threads 1 --data "$T/train-only" \
  > /dev/null 2> "$T/train-only.err" \
  && ok "voices-cal: runs without MNIST's test files" \
  || fail "voices-cal without MNIST's test files: $(tail -1 "$T/train-only.err")"
"$MM" eval -m "$T/in.safetensors" -p voices-test --threads 1 --json > "$T/test.json" 2> "$T/test.err" \
  && "$MM" eval -m "$T/in.safetensors" -p voices --threads 1 --json > "$T/voices.json" 2>> "$T/test.err" \
  && python3 - "$T/test.json" "$T/voices.json" <<'PY' \
  && ok "voices-test: the MNIST test images with other recordings than voices'" \
  || fail "voices-test: $(tail -1 "$T/test.err")"
import json, sys
t, v = (json.load(open(p)) for p in sys.argv[1:3])
assert t["heldout_test"]["samples"] == v["heldout_test"]["samples"] == 10000
rows = lambda d: [sum(r) for r in d["heldout_test"]["confusion"]]
assert rows(t) == rows(v)                              # the same labels
assert t["heldout_test"]["confusion"] != v["heldout_test"]["confusion"]
assert t["split_test"] == v["split_test"]              # the same training protocol
PY
# speaker-disjoint: with only the calibration voices in extra-speech, voices-cal
# runs and voices-test has no recording to report on; with only the others,
# the other way round (a private feature cache: these are other directories)
for part in cal test; do
  mkdir -p "$T/$part/extra-speech" "$T/$part/mnist"
  ln -s "$DATA"/mnist/* "$T/$part/mnist/"
  ln -s "$DATA/fsdd" "$T/$part/"
done
for f in "$DATA"/extra-speech/*_altainmunkhg-*.wav "$DATA"/extra-speech/*_hatemhussein-*.wav; do
  case $f in
    *_altainmunkhg-altai_*|*_altainmunkhg-gabe_*|*_hatemhussein-female_*) ln -s "$f" "$T/cal/extra-speech/";;
    *) ln -s "$f" "$T/test/extra-speech/";;
  esac
done
disjoint () {   # disjoint PART RUNS FAILS
  MMDIGITS_CACHE=$T/cache "$MM" eval -m "$T/in.safetensors" -p voices-$2 --limit 20 --threads 1 \
    --data "$T/$1" > /dev/null 2> "$T/disjoint.err" \
    && ! MMDIGITS_CACHE=$T/cache "$MM" eval -m "$T/in.safetensors" -p voices-$3 --limit 20 \
      --threads 1 --data "$T/$1" > /dev/null 2> "$T/disjoint.err" \
    && grep -q "no recording of digit" "$T/disjoint.err"
}
disjoint cal cal test && disjoint test test cal \
  && ok "voices-cal and voices-test take disjoint speakers (altai, gabe, hatemhussein-female to calibrate)" \
  || fail "voices-cal / voices-test speakers: $(cat "$T/disjoint.err")"
for p in voices-cal voices-test; do
  "$MM" train -a AudioNet_CNN -p $p -o "$T/x.safetensors" > /dev/null 2> "$T/train.err"
  [ $? -eq 2 ] && grep -q "evaluation only" "$T/train.err" && [ ! -e "$T/x.safetensors" ] \
    && ok "train -p $p: refused, no file" || fail "train -p $p: $(cat "$T/train.err")"
done

checks_done
