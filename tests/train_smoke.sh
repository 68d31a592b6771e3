#!/usr/bin/env bash
# Training smoke test on real data: each audio and hybrid network trains for
# two epochs on the first 1,500 samples of the clean protocol; the training
# loss must fall from epoch 1 to epoch 2 and the held-out accuracy (10,000
# samples never seen) must beat chance (10 %) by a wide margin.
#   tests/train_smoke.sh PATH/TO/mmdigits
set -u -o pipefail
mmdigits=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
data=${MMDIGITS_DATA:-$root/../shared/data}
T=$(mktemp -d)
tmp=$T
. "$here/checks.sh"
if [ ! -d "$data/mnist" ] || [ ! -d "$data/fsdd" ]; then checks_skip "no data"; fi
export MMDIGITS_CACHE=${MMDIGITS_CACHE:-$(dirname "$mmdigits")/mmdigits-cache}
for arch in AudioNet_CNN AudioNet_LSTM HybridNet_CNN HybridNet_CNN_LSTM; do
  # LSTMs learn more slowly from few steps: a higher rate for the smoke run
  lr=; case $arch in *LSTM*) lr="--lr 3e-3" ;; esac
  if "$mmdigits" train --arch "$arch" --data "$data" --epochs 2 --limit 1500 --batch 32 $lr \
    --out "$tmp/$arch.safetensors" --json > "$tmp/$arch.json" 2> "$tmp/$arch.log" \
    && /usr/bin/python3 - "$tmp/$arch.json" "$tmp/$arch.log" "$arch" <<'PY'
import json, re, sys
prov = json.load(open(sys.argv[1]))
losses = [float(m.group(1)) for m in re.finditer(r"^epoch \d+/\d+\s+loss ([0-9.]+)", open(sys.argv[2]).read(), re.M)]
acc = prov["heldout_accuracy"]
print(f"{sys.argv[3]}: training loss {losses}, held-out accuracy {100 * acc:.1f} %")
# chance is 10 % (its standard error on 10,000 samples is 0.3 %)
ok = len(losses) == 2 and losses[1] < losses[0] and acc > 0.15
sys.exit(0 if ok else 1)
PY
  then
    ok "$arch trains: the loss falls, held-out accuracy above 15 %"
  else
    fail "$arch: training or its figures (log below)"
    cat "$tmp/$arch.log" >&2
  fi
done
checks_done
