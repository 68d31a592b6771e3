#!/usr/bin/env bash
# The new-speaker protocol: for each of FSDD's six speakers, train an audio
# network without any of that speaker's recordings and test it on that
# speaker alone. Appends one JSON line per speaker to results/new-speaker.jsonl.
#
#   scripts/new-speaker.sh BUILD_DIR ARCH [EPOCHS]     e.g. build AudioNet_LSTM 15
set -euo pipefail
cd "$(dirname "$0")/.."
build=$1 arch=$2 epochs=${3:-}
mkdir -p results
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for speaker in george jackson lucas nicolas theo yweweler; do
  model=$tmp/$speaker.safetensors
  "$build/tools/mmdigits" train --arch "$arch" --protocol "new-speaker:$speaker" \
    ${epochs:+--epochs "$epochs"} --out "$model" --threads "${MM_THREADS:-1}" >/dev/null
  "$build/tools/mmdigits" eval --model "$model" --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
h = r["heldout_test"]
p = json.load(open(sys.argv[1]))
print(json.dumps({"arch": r["arch"], "speaker": sys.argv[2], "accuracy": h["accuracy"],
                  "macro_f1": h["macro_f1"], "epochs": p["epochs"], "best_epoch": p["best_epoch"]}))
' <("$build/tools/mmdigits" inspect --json "$model" | /usr/bin/python3 -c 'import json,sys; json.dump(json.load(sys.stdin)["provenance"], sys.stdout)') "$speaker" \
    | tee -a results/new-speaker.jsonl
done
