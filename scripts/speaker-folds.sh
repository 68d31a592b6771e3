#!/usr/bin/env bash
# Unheard human speakers: train one network per speaker-disjoint fold
# (--protocol new-speaker:1 … new-speaker:6, FSDD's speakers and the
# licensed extra-speech ones, see docs/cli.md) and score each on its own
# fold's speakers; prints every fold, the mean and the worst fold, and keeps
# the models in OUT_DIR.
#
#   scripts/speaker-folds.sh BUILD_DIR ARCH OUT_DIR [train options…]
#   e.g. scripts/speaker-folds.sh build AudioNet_CNN /tmp/folds --augment audio
# Full training (the study's epochs) unless the options say otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$1 arch=$2 out=$3
shift 3
mkdir -p "$out"
models=()
for k in 1 2 3 4 5 6; do
  model=$out/$arch-fold$k.safetensors
  nice -n 10 "$build/tools/mmdigits" train --arch "$arch" --protocol "new-speaker:$k" \
    --out "$model" "$@" 2> "$out/$arch-fold$k.log"
  models+=(-m "$model")
done
"$build/tools/mmdigits" eval --protocol new-speaker "${models[@]}"
