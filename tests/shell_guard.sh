#!/bin/bash
# The shell tests' end guard (tests/checks.sh), and that every shell test
# under tests/ stands under it:
#  - a script that exits before checks_done fails, even with exit 0; one
#    that ran no check fails; one whose every part was skipped is meson's
#    SKIP (77); a failed need stops the script, failing, before the checks
#    after it;
#  - every tests/*.sh sources checks.sh and ends with checks_done, so a
#    test added or edited without the guard fails here instead of passing
#    when it dies early.
#   tests/shell_guard.sh
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
. "$HERE/checks.sh"

# guarded BODY WANT_RC WANT_TEXT: a script sourcing checks.sh with BODY
# exits WANT_RC and says WANT_TEXT
guarded () {
  local body=$1 want=$2 text=$3 rc=0
  printf 'T=$(mktemp -d)\n. "%s/checks.sh"\n%s\n' "$HERE" "$body" > "$T/s.sh"
  bash "$T/s.sh" > "$T/s.out" 2>&1 || rc=$?
  [ $rc -eq "$want" ] && grep -qF -e "$text" "$T/s.out" \
    && ok "a script doing '${body//$'\n'/; }': exit $rc, '$text'" \
    || fail "a script doing '${body//$'\n'/; }': exit $rc (want $want): $(cat "$T/s.out")"
}
guarded $'ok one\nexit 0\nok two\nchecks_done' 1 "stopped before its end (exit status 0) after 1 passed"
guarded 'checks_done' 1 "no check ran"
guarded $'skip "no data"\nchecks_done' 77 "checks: 0 passed, 0 failed, 1 skipped"
guarded $'need "a step" false\nok after\nchecks_done' 1 "FAIL: a step: exit 1"
grep -q "ok: after" "$T/s.out" && fail "a failed need did not stop the script" \
  || ok "a failed need stopped the script before the checks after it"
guarded $'ok one\nfail two\nchecks_done' 1 "checks: 1 passed, 1 failed"
guarded $'ok one\nchecks_done' 0 "checks: 1 passed, 0 failed, 0 skipped"

for f in "$HERE"/*.sh; do
  name=${f##*/}
  [ "$name" = checks.sh ] && continue
  if grep -q '^\. ".*/checks\.sh"$' "$f" \
      && [ "$(grep -v '^[[:space:]]*$' "$f" | tail -n 1)" = checks_done ]; then
    ok "$name sources checks.sh and ends with checks_done"
  else
    fail "$name: does not source checks.sh or does not end with checks_done"
  fi
done
checks_done
