# Counted checks for the shell tests, sourced after T (the script's
# temporary directory, removed at exit) is set:
#   T=$(mktemp -d); . "$HERE/checks.sh"
#   ok "what held"; fail "what did not"; check "what" COMMAND...
#   need "step" COMMAND...; skip "why"
#   checks_done          # the last line: the verdict and the exit status
# Why: a script that stopped before its checks (an `exit 0` left in, a
# setup step that failed and made the checks after it vacuous, a refactor
# that skips a block) used to exit 0 with fewer checks than it claims. Now
# an exit anywhere but checks_done (or checks_skip) fails, naming how many
# checks had run, and a run of no check at all fails. checks_done prints
# "checks: N passed, M failed, K skipped".
# The scripts run `set -u -o pipefail`, not `set -e`: a check runs a command
# that should fail and reads its status (`cmd; rc=$?`), which -e would end
# the script at; a setup step goes through need instead.
checks_passed=0
checks_failed=0
checks_skipped=0
checks_finished=no

ok () { echo "ok: $*"; checks_passed=$((checks_passed + 1)); }
fail () { echo "FAIL: $*"; checks_failed=$((checks_failed + 1)); }
# check WHAT COMMAND...: one check whose verdict is COMMAND's exit status.
check () {
  local what=$1
  shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}
# A part of the checks that cannot run here (no data, no plugin): said, and
# counted apart.
skip () { echo "skipped: $*"; checks_skipped=$((checks_skipped + 1)); }

# Whether BINARY loads AddressSanitizer's runtime (a memory limit cannot
# hold its shadow reservation). ldd's output is read whole: under pipefail
# `ldd | grep -q` is false whenever grep's early exit kills ldd with SIGPIPE
# (about one run in twelve on a loaded machine), and the check it guarded ran.
built_with_asan () { [[ $(ldd "$1" 2> /dev/null) == *libasan* ]]; }

# need WHAT COMMAND...: a setup step the checks after it rest on. If it
# fails the script stops here, failing, instead of running checks on inputs
# that are not there.
need () {
  local what=$1 rc=0
  shift
  "$@" || rc=$?
  [ $rc -eq 0 ] && return 0
  echo "FAIL: $what: exit $rc; the checks after it cannot run"
  checks_failed=$((checks_failed + 1))
  checks_done
}

# A script with more to undo at exit (a process to kill) defines
# checks_cleanup; it runs before T is removed.
checks_at_exit () {
  local rc=$?
  ! declare -F checks_cleanup > /dev/null || checks_cleanup
  [ -z "${T:-}" ] || rm -rf "$T"
  if [ "$checks_finished" != yes ]; then
    echo "FAIL: ${0##*/} stopped before its end (exit status $rc) after" \
      "$checks_passed passed and $checks_failed failed checks"
    exit 1
  fi
}
trap checks_at_exit EXIT

# The verdict: fails if a check failed or none ran; skipped (77, meson's
# SKIP) when every part was skipped.
checks_done () {
  checks_finished=yes
  echo "checks: $checks_passed passed, $checks_failed failed, $checks_skipped skipped"
  if [ $checks_failed -gt 0 ]; then
    exit 1
  elif [ $checks_passed -eq 0 ] && [ $checks_skipped -gt 0 ]; then
    exit 77
  elif [ $checks_passed -eq 0 ]; then
    echo "FAIL: no check ran"
    exit 1
  fi
  exit 0
}

# The whole script cannot run here: meson's SKIP (77).
checks_skip () {
  checks_finished=yes
  echo "skipped: $*"
  exit 77
}
