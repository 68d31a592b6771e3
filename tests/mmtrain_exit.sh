#!/usr/bin/env bash
# Integration test: gst-launch-1.0 always exits after mmtrain's error.
#
#   tests/mmtrain_exit.sh BUILD_ROOT [RUNS]
#
# Ten buffers of silence give mmtrain no labelled sample, so it must post
# "no labelled samples" and gst-launch-1.0 must exit 1 without a model file.
# The stream is so short that it ends while the pipeline is still PAUSED:
# mmtrain used to post its error then, before gst-launch-1.0 ran its main
# loop, and gst-launch-1.0 (which quits the loop from a bus sync handler)
# then waited forever (4 of 60 runs under load). The runs go four at a
# time to add that load; a run that lasts longer than its timeout is a
# hang. Skips (77) without the system's audiotestsrc, audioconvert and
# audioresample.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:?usage: tests/mmtrain_exit.sh BUILD_ROOT [RUNS]}
runs=${2:-50}
T=$(mktemp -d "${TMPDIR:-/tmp}/mmdigits-mmtrain-exit.XXXXXX")
work=$T
. "$here/checks.sh"
export GST_PLUGIN_PATH=$build/plugins
for e in audiotestsrc audioconvert audioresample mfccextract mmtrain; do
  gst-inspect-1.0 "$e" > /dev/null 2>&1 || checks_skip "no $e element"
done

# one run: prints its exit status (124: killed by timeout, i.e. hung)
one () {
  timeout 60 gst-launch-1.0 -q audiotestsrc wave=silence num-buffers=10 ! audioconvert \
    ! audioresample ! mfccextract ! mmtrain label=7 out="$work/x$1.st" \
    > "$work/log$1" 2>&1
  echo "$? $1"
}
export -f one
export work
run_all () { seq 1 "$runs" | xargs -P 4 -I{} bash -c 'one {}' > "$work/status"; }
need "the runs" run_all

hung=$(awk '$1 == 124' "$work/status" | wc -l)
other=$(awk '$1 != 124 && $1 != 1' "$work/status" | wc -l)
errors=$(grep -l "no labelled samples" "$work"/log* | wc -l)
models=$(find "$work" -name 'x*.st*' | wc -l)
echo "$runs runs: $hung hung, $other with an exit status other than 1, $errors reported" \
  "'no labelled samples', $models model files"
awk '$1 != 1 { print "run " $2 " exited " $1 }' "$work/status"
check "no run hung" [ "$hung" -eq 0 ]
check "every run exited 1" [ "$other" -eq 0 ]
check "every run reported 'no labelled samples'" [ "$errors" -eq "$runs" ]
check "no run left a model file" [ "$models" -eq 0 ]
checks_done
