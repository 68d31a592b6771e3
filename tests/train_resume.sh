#!/usr/bin/env bash
# Interruptions and resume of `mmdigits train`, end to end on real data
# (AudioNet_CNN, 300 training samples, 3 epochs, 2 threads):
#  1. a run killed with kill -9 at two random moments after a checkpoint,
#     resumed each time with --resume, writes a model file byte-identical to
#     the run never interrupted (SOURCE_DATE_EPOCH fixes the date in it);
#  2. SIGINT in the middle of training exits 130 and leaves the previous
#     --out byte-identical; --resume then finishes the run, again identical;
#  3. SIGTERM exits 143 and leaves --out as it was.
#   tests/train_resume.sh PATH/TO/mmdigits
set -uo pipefail
MM=$(realpath "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
data=${MMDIGITS_DATA:-$root/../shared/data}
if [ ! -d "$data/mnist" ] || [ ! -d "$data/fsdd" ]; then echo "skipped: no data"; exit 77; fi  # before checks.sh
export MMDIGITS_DATA=$data
export MMDIGITS_CACHE=${MMDIGITS_CACHE:-$(dirname "$MM")/mmdigits-cache}
export SOURCE_DATE_EPOCH=1700000000
T=$(mktemp -d)
pid=
checks_cleanup () { [ -z "$pid" ] || kill -9 "$pid" 2> /dev/null; }
. "$root/tests/checks.sh"

# every run in its own directory with the same relative paths, so that the
# command line recorded in the model is the same
args=(train --arch AudioNet_CNN --epochs 3 --limit 300 --batch 32 --threads 2
      --out m.safetensors --checkpoint m.ckpt)
inode () { stat -c %i "$1" 2> /dev/null || echo none; }
# waits until $1 exists with another inode than $2 (a new checkpoint was
# renamed into place) or the run $pid has ended; 1 if it ended
wait_checkpoint () {
  while [ "$(inode "$1")" = "$2" ]; do
    kill -0 "$pid" 2> /dev/null || return 1
    sleep 0.05
  done
}
random_sleep () { local d; d=$((RANDOM % 2)).$(printf %03d $((RANDOM % 1000))); echo "$d"; sleep "$d"; }

# ---- the run never interrupted
mkdir "$T/ref" && cd "$T/ref" || exit 1
"$MM" "${args[@]}" 2> log
rc=$?
[ $rc -eq 0 ] && [ -s m.safetensors ] && ok "uninterrupted run ($(grep -c '^epoch' log) epochs)" \
  || { fail "uninterrupted run: rc $rc: $(tail -1 log)"; exit 1; }

# ---- kill -9 twice, resume twice
mkdir "$T/kill" && cd "$T/kill" || exit 1
"$MM" "${args[@]}" 2> log1 &
pid=$!
if wait_checkpoint m.ckpt none; then
  d=$(random_sleep)
  kill -9 "$pid" 2> /dev/null; wait "$pid"; rc=$?
  [ $rc -eq 137 ] && ok "first run killed (kill -9) ${d}s after its first checkpoint" \
    || fail "first run: rc $rc, not killed: $(tail -1 log1)"
else
  wait "$pid"; fail "first run ended before its first checkpoint: $(tail -1 log1)"
fi
[ -e m.safetensors ] && fail "a killed run left a model file"
old=$(inode m.ckpt)
"$MM" "${args[@]}" --resume 2> log2 &
pid=$!
if wait_checkpoint m.ckpt "$old" && d=$(random_sleep) && kill -9 "$pid" 2> /dev/null; then
  wait "$pid"; rc=$?
  [ $rc -eq 137 ] && ok "resumed run killed again ${d}s after its first checkpoint" \
    || fail "resumed run: rc $rc: $(tail -1 log2)"
else
  wait "$pid"; echo "note: the resumed run ended before the second kill: $(tail -1 log2)"
fi
"$MM" "${args[@]}" --resume 2> log3
rc=$?
grep -h "^resumed" log2 log3 | sed 's/^/  /'
[ $rc -eq 0 ] && cmp -s m.safetensors "$T/ref/m.safetensors" \
  && ok "killed twice and resumed: model byte-identical to the uninterrupted run's" \
  || fail "killed and resumed: rc $rc, $(cmp m.safetensors "$T/ref/m.safetensors" 2>&1)"

# ---- SIGINT keeps the previous --out; --resume finishes the run
mkdir "$T/int" && cd "$T/int" || exit 1
cp "$root/models/audionet_cnn.safetensors" m.safetensors && cp m.safetensors before
"$MM" "${args[@]}" 2> log1 &
pid=$!
if wait_checkpoint m.ckpt none; then
  kill -INT "$pid"; wait "$pid"; rc=$?
else
  wait "$pid"; rc=$?
fi
[ $rc -eq 130 ] && cmp -s m.safetensors before && grep -q "m.safetensors not written" log1 \
  && ok "SIGINT during training: exit 130, previous --out byte-identical: $(tail -1 log1)" \
  || fail "SIGINT: rc $rc, $(cmp m.safetensors before 2>&1): $(tail -1 log1)"
"$MM" "${args[@]}" --resume 2> log2
rc=$?
[ $rc -eq 0 ] && cmp -s m.safetensors "$T/ref/m.safetensors" \
  && ok "resumed after SIGINT: model byte-identical to the uninterrupted run's" \
  || fail "resume after SIGINT: rc $rc: $(tail -1 log2)"

# ---- SIGTERM, no checkpoint
mkdir "$T/term" && cd "$T/term" || exit 1
cp "$root/models/audionet_cnn.safetensors" m.safetensors && cp m.safetensors before
"$MM" "${args[@]:0:13}" 2> log &
pid=$!
until grep -q "^training" log 2> /dev/null || ! kill -0 "$pid" 2> /dev/null; do sleep 0.05; done
kill -TERM "$pid" 2> /dev/null; wait "$pid"; rc=$?
[ $rc -eq 143 ] && cmp -s m.safetensors before \
  && ok "SIGTERM: exit 143, previous --out byte-identical: $(tail -1 log)" \
  || fail "SIGTERM: rc $rc, $(cmp m.safetensors before 2>&1): $(tail -1 log)"
pid=

checks_done
