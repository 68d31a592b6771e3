#!/usr/bin/env bash
# train --speaker-balance P: the training split draws each recording by
# speaker, a voice's chance ∝ n^(1−P) for its n recordings of the digit.
#  - the share of training samples that took an FSDD recording is the one
#    those weights give, computed here from the data directory's own
#    listing (FSDD's takes 5–49 of its six speakers, the licensed
#    extra-speech voices), within 2 points, for P = 1 and P = 0.5;
#  - the provenance says so; validation and test pairs are the protocol's
#    (eval, which never rebalances, finds the accuracies the run recorded);
#  - bad uses are usage errors (exit 2): P outside [0, 1], an image-only arch.
# The training part needs the data ("skipped: no data" without it).
#   tests/speaker_balance.sh PATH/TO/mmdigits
set -u -o pipefail
mmdigits=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
data=${MMDIGITS_DATA:-$root/../shared/data}
T=$(mktemp -d)
tmp=$T
. "$here/checks.sh"
export MMDIGITS_CACHE=${MMDIGITS_CACHE:-$(dirname "$mmdigits")/mmdigits-cache}

for bad in -0.1 1.5; do
  "$mmdigits" train -a AudioNet_CNN --speaker-balance=$bad -o "$tmp/x.safetensors" 2>/dev/null \
    && rc=0 || rc=$?
  check "--speaker-balance $bad: exit 2 (got $rc)" [ "$rc" -eq 2 ]
done
"$mmdigits" train -a ImageNet_CNN --speaker-balance 0.5 -o "$tmp/x.safetensors" 2>/dev/null \
  && rc=0 || rc=$?
check "image-only arch with --speaker-balance: exit 2 (got $rc)" [ "$rc" -eq 2 ]
check "no model written by the refused runs" [ ! -e "$tmp/x.safetensors" ]

if [ ! -d "$data/mnist" ] || [ ! -d "$data/fsdd" ] || [ ! -f "$data/extra-speech/manifest.tsv" ]; then
  skip "training part: no data"
  checks_done
fi
for p in 1 0.5; do
  train_balanced () {
    "$mmdigits" train -a AudioNet_CNN --data "$data" -p voices --speaker-balance $p --epochs 1 \
      --limit 64 --threads 1 --json -o "$tmp/b$p.safetensors" > "$tmp/b$p.json" \
      2> "$tmp/b$p.log" || { cat "$tmp/b$p.log" >&2; return 1; }
  }
  need "train -p voices --speaker-balance $p" train_balanced
  "$mmdigits" eval -m "$tmp/b$p.safetensors" --data "$data" --threads 1 --json \
    > "$tmp/e$p.json" 2>/dev/null
  if /usr/bin/python3 - "$tmp/b$p.json" "$tmp/e$p.json" "$data" "$p" <<'PY'
import collections, json, os, re, sys
prov, ev, data, p = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3], float(sys.argv[4])
m = re.search(r"drawn again by speaker .*?; (\d+) of (\d+) training samples from FSDD", prov["data"])
assert m, prov["data"]
fsdd, ntr = int(m.group(1)), int(m.group(2))
# recordings per (digit, speaker) that the voices protocol trains on
n = collections.defaultdict(collections.Counter)
for f in os.listdir(os.path.join(data, "fsdd", "recordings")):
    d, spk, take = f[:-4].split("_")
    if int(take) >= 5:
        n[int(d)]["fsdd:" + spk] += 1
for line in open(os.path.join(data, "extra-speech", "manifest.tsv")).read().splitlines()[1:]:
    f, d, spk = line.split("\t")[:3]
    if spk.startswith(("gsc-", "am")):   # the licensed sources
        n[int(d)][spk] += 1
# MNIST's training digits are nearly uniform: the expected share is the
# mean over digits of FSDD's part of the weights
share = sum(sum(c ** (1 - p) for s, c in n[d].items() if s.startswith("fsdd:"))
            / sum(c ** (1 - p) for c in n[d].values()) for d in range(10)) / 10
print(f"P={p}: {fsdd} of {ntr} training samples from FSDD ({fsdd / ntr:.4f}), expected {share:.4f}")
assert abs(fsdd / ntr - share) < 0.02
for a, b in (("test_accuracy", "split_test"), ("heldout_accuracy", "heldout_test")):
    assert abs(prov[a] - ev[b]["accuracy"]) < 1e-9, (a, prov[a], ev[b]["accuracy"])
PY
  then
    ok "--speaker-balance $p: FSDD's share as the weights say; split and held-out pairs the protocol's"
  else
    fail "--speaker-balance $p: share or accuracies (above)"
  fi
done
checks_done
