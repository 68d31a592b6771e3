#!/usr/bin/env bash
# Runs the libFuzzer harnesses of tests/fuzz (docs/reliability.md, "Fuzzing").
#   bash scripts/fuzz.sh BUILD_DIR SECONDS [NAME...]
# BUILD_DIR: a build made with CC=clang -Dfuzz=true -Db_sanitize=address,undefined
# (scripts/test.sh makes build-fuzz). NAME: modelfile, idx, digit, audio
# (default: every harness built). Each runs SECONDS, MM_FUZZ_JOBS at a time
# (default 2: CI has two cores), on a working corpus BUILD_DIR/fuzz-corpus/NAME (kept between runs,
# so coverage accumulates) seeded from tests/fuzz/corpus/NAME and, for the
# model loader, a whole model file from make_corpus --full of the plain
# build (MM_MAKE_CORPUS, default build/tests/fuzz/make_corpus).
# A finding stops that harness: its input is saved as
# BUILD_DIR/fuzz-artifacts/NAME-crash-…, the script prints how to replay it
# and exits 1. Prints per harness: executions, exec/s, coverage (edges),
# corpus size.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: scripts/fuzz.sh BUILD_DIR SECONDS [NAME...]}
seconds=${2:?usage: scripts/fuzz.sh BUILD_DIR SECONDS [NAME...]}
shift 2
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for n in modelfile idx digit audio; do
    [ -x "$build/tests/fuzz/fuzz_$n" ] && names+=("$n")
  done
fi
[ ${#names[@]} -gt 0 ] || { echo "fuzz.sh: no fuzz_* in $build/tests/fuzz (-Dfuzz=true?)" >&2; exit 1; }
mkdir -p "$build/fuzz-artifacts" "$build/fuzz-logs"
seeds=$build/fuzz-seeds
make_corpus=${MM_MAKE_CORPUS:-build/tests/fuzz/make_corpus}
if [ ! -d "$seeds/modelfile" ]; then
  if [ -x "$make_corpus" ]; then
    "$make_corpus" --full "$seeds" || exit 1
    # the smallest whole model only: a larger seed makes every input larger
    find "$seeds/modelfile" -name 'full-*' ! -name 'full-AudioNet_LSTM' -delete
  else
    echo "fuzz.sh: no $make_corpus: the model loader starts from headers alone" >&2
  fi
fi
mkdir -p "$seeds"/{modelfile,idx,digit,audio}

run () {
  local n=$1 corpus=$build/fuzz-corpus/$1
  mkdir -p "$corpus"
  ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:allocator_may_return_null=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$build/tests/fuzz/fuzz_$n" "$corpus" "tests/fuzz/corpus/$n" "$seeds/$n" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/fuzz-artifacts/$n-" > "$build/fuzz-logs/$n.log" 2>&1
}

summary () {
  local n=$1 rc=$2 log=$build/fuzz-logs/$1.log
  local execs rate cov corp
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  corp=$(grep -o 'corp: [0-9]*/[0-9a-zA-Z]*' "$log" | tail -1 | cut -d' ' -f2)
  printf 'fuzz_%-10s %s: %s executions, %s exec/s, coverage %s edges, corpus %s\n' "$n" \
    "$([ "$rc" -eq 0 ] && echo ok || echo FINDING)" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
    "${corp:-?}"
  if [ "$rc" -ne 0 ]; then
    grep -E 'ERROR|SUMMARY|runtime error|check failed' "$log" | head -5 | sed 's/^/    /'
    grep -o "Test unit written to .*" "$log" | sed 's/^/    /'
    echo "    replay: build/tests/fuzz/replay_$n FILE; once fixed, add FILE to tests/fuzz/regressions/$n/"
    echo "    log: $log"
  fi
}

# MM_FUZZ_JOBS harnesses at a time (default 2: CI has two cores)
jobs=${MM_FUZZ_JOBS:-2}
fails=0
for ((i = 0; i < ${#names[@]}; i += jobs)); do
  pids=()
  for ((j = i; j < i + jobs && j < ${#names[@]}; j++)); do
    run "${names[j]}" & pids+=($!)
  done
  for ((j = i; j < i + jobs && j < ${#names[@]}; j++)); do
    wait "${pids[j - i]}"; rc=$?
    summary "${names[j]}" $rc
    [ $rc -eq 0 ] || fails=$((fails + 1))
  done
done
[ $fails -eq 0 ] || { echo "fuzz.sh: $fails harness(es) found a problem" >&2; exit 1; }
