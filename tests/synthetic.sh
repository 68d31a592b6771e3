#!/usr/bin/env bash
# Synthetic voices (scripts/make-voices.sh, mmdigits train --synthetic):
#  - the generator writes one clip per digit and voice, named
#    {digit}_syn-…_{n}.wav, mono 16-bit 8 kHz like FSDD, listed in
#    manifest.tsv; a second run gives the same bytes; it refuses a non-empty
#    OUTDIR and one inside the git worktree;
#  - every clip holds a word for the word detector;
#  - train --synthetic records the voices in the provenance, pairs some
#    training samples with them, and leaves the split test and held-out sets
#    as they are (eval, which loads the protocol without them, gives the same
#    split-test and held-out accuracies as the training run recorded);
#  - bad uses: an image-only arch (exit 2), a directory whose speaker is not
#    syn-… or that holds no recordings (exit 1).
# Skipped without espeak-ng / gst-launch-1.0; the training part without data.
#   tests/synthetic.sh PATH/TO/mmdigits
set -u -o pipefail
mmdigits=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
data=${MMDIGITS_DATA:-$root/../shared/data}
T=$(mktemp -d)
tmp=$T
. "$here/checks.sh"
for tool in espeak-ng gst-launch-1.0; do
  command -v $tool >/dev/null || checks_skip "$tool not installed"
done
export MMDIGITS_CACHE=${MMDIGITS_CACHE:-$(dirname "$mmdigits")/mmdigits-cache}

make_voices () { "$root/scripts/make-voices.sh" --quick "$1" 2>> "$tmp/gen.log"; }
need "make-voices.sh --quick" make_voices "$tmp/a"
need "make-voices.sh --quick, again" make_voices "$tmp/b"
n=$(ls "$tmp/a"/*.wav | wc -l)
voices=$(ls "$tmp/a"/*.wav | sed 's/.*\/[0-9]_\(.*\)_[0-9]*\.wav/\1/' | sort -u | wc -l)
# --quick: two espeak-ng voices, and flite's slt when flite is there
expected=20; command -v flite >/dev/null && expected=30
check "$n clips, expected $expected" [ "$n" -eq "$expected" ]
check "manifest lists every clip" [ "$(tail -n +2 "$tmp/a/manifest.tsv" | cut -f1 | sort)" = \
  "$(cd "$tmp/a" && ls *.wav | sort)" ]
check "names {digit}_syn-…_{n}.wav, 10 digits per voice" [ "$(ls "$tmp/a" | grep -cE \
  '^[0-9]_syn-[a-z0-9-]+_[0-9]+\.wav$')" -eq "$n" ]
format_ok () {   # RIFF/WAVE, PCM, 1 channel, 8000 Hz, 16 bits (header fields)
  for f in "$tmp/a"/*.wav; do
    [ "$(head -c 4 "$f")" = RIFF ] || return 1
    [ "$(od -An -tu2 -j20 -N4 "$f" | tr -s ' ')" = " 1 1" ] || return 1
    [ "$(od -An -tu4 -j24 -N4 "$f" | tr -d ' ')" = 8000 ] || return 1
    [ "$(od -An -tu2 -j34 -N2 "$f" | tr -d ' ')" = 16 ] || return 1
  done
}
check "mono 16-bit PCM at 8 kHz" format_ok
check "a second run gives the same bytes" diff -r "$tmp/a" "$tmp/b"
mkdir -p "$tmp/full" && touch "$tmp/full/x"
check "a non-empty OUTDIR is refused and kept" bash -c "! '$root/scripts/make-voices.sh' --quick \
  '$tmp/full' 2>/dev/null && [ \"\$(ls '$tmp/full')\" = x ]"
check "an OUTDIR inside the worktree is refused" bash -c "! '$root/scripts/make-voices.sh' \
  --quick '$root/syn-test-voices' 2>/dev/null && [ ! -e '$root/syn-test-voices' ]"
check "usage: exit 2" bash -c "'$root/scripts/make-voices.sh' 2>/dev/null; [ \$? -eq 2 ]"
words=$("$mmdigits" words "$tmp/a"/*.wav | grep -vcE '[[:space:]]-$' || true)
check "a word in every clip ($words of $n)" [ "$words" -eq "$n" ]

if [ ! -d "$data/mnist" ] || [ ! -d "$data/fsdd" ]; then
  skip "training part: no data"
  checks_done
fi
"$mmdigits" train -a ImageNet_CNN --synthetic "$tmp/a" -o "$tmp/x.safetensors" 2>/dev/null \
  && rc=0 || rc=$?
check "image-only arch with --synthetic: exit 2 (got $rc)" [ "$rc" -eq 2 ]
mkdir "$tmp/human" && cp "$data/fsdd/recordings/3_theo_7.wav" "$tmp/human/"
"$mmdigits" train -a AudioNet_CNN --data "$data" --synthetic "$tmp/human" --epochs 1 \
  --limit 64 -o "$tmp/x.safetensors" 2> "$tmp/human.log" && rc=0 || rc=$?
check "a human speaker id as synthetic: exit 1 naming the file (got $rc)" \
  bash -c "[ $rc -eq 1 ] && grep -q '3_theo_7.wav.*syn-' '$tmp/human.log'"
mkdir "$tmp/empty"
"$mmdigits" train -a AudioNet_CNN --data "$data" --synthetic "$tmp/empty" --epochs 1 \
  --limit 64 -o "$tmp/x.safetensors" 2>/dev/null && rc=0 || rc=$?
check "a directory without recordings: exit 1 (got $rc)" [ "$rc" -eq 1 ]
check "no model written by the failed runs" [ ! -e "$tmp/x.safetensors" ]

train_syn () {
  "$mmdigits" train -a AudioNet_CNN --data "$data" --synthetic "$tmp/a" --epochs 1 --limit 3000 \
    --json -o "$tmp/syn.safetensors" > "$tmp/syn.json" 2> "$tmp/syn.log" \
    || { cat "$tmp/syn.log" >&2; return 1; }
}
need "train --synthetic" train_syn
eval_syn () { "$mmdigits" eval -m "$tmp/syn.safetensors" --data "$data" --json > "$tmp/eval.json"; }
need "eval of the synthetic-trained model" eval_syn
if /usr/bin/python3 - "$tmp/syn.json" "$tmp/eval.json" "$n" "$voices" <<'PY'
import json, sys
prov, ev = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
n, voices = int(sys.argv[3]), int(sys.argv[4])
syn = prov["synthetic"]
print("provenance:", syn)
assert syn["clips"] == n and syn["voices"] == voices, syn
assert len(syn["manifest_sha256"]) == 64, syn
# the clean protocol trains on 270 recordings of each digit; the quick set
# adds 3 (2 without flite), so of the 42,000 training samples about 3/273 —
# ≈ 460, σ ≈ 21 (≈ 310 without flite) — take a synthetic clip
assert 250 < syn["training_samples"] < 520, syn
assert "synthetic clips" in prov["data"], prov["data"]
# the same model on the same pairs gives the same accuracies
print("split test", prov["test_accuracy"], ev["split_test"]["accuracy"],
      "held-out", prov["heldout_accuracy"], ev["heldout_test"]["accuracy"])
assert abs(prov["test_accuracy"] - ev["split_test"]["accuracy"]) < 1e-9
assert abs(prov["heldout_accuracy"] - ev["heldout_test"]["accuracy"]) < 1e-9
PY
then
  ok "train --synthetic: provenance, training pairs, split and held-out sets as they were"
else
  fail "train --synthetic: provenance or accuracies (above)"
  cat "$tmp/syn.log" >&2
fi
checks_done
