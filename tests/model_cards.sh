#!/usr/bin/env bash
# models/README.md and models/study/README.md, the model cards, are what
# scripts/model-cards.py makes from the files' own metadata (a card never
# disagrees with its weights); --check fails on a card edited by hand, and
# a build directory without the CLI is refused with the page left as it was.
#   tests/model_cards.sh BUILD_DIR SOURCE_ROOT
set -u -o pipefail
build=$(cd "$1" && pwd)
root=$2
T=$(mktemp -d)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/checks.sh"

for set in models models/study; do
  check "$set/README.md is what its files say (run scripts/model-cards.py BUILD_DIR $set if not)" \
    bash -c 'cd "$0" && /usr/bin/python3 scripts/model-cards.py --check "$1" "$2"' "$root" "$build" "$set"
done

# a copy of the study set, so that nothing here writes the source tree
mkdir -p "$T/src/scripts" "$T/src/models"
need "copy the study set" cp -r "$root/models/study" "$T/src/models/"
need "copy the scripts" cp "$root/scripts/model-cards.py" "$root/scripts/generated_page.py" "$T/src/scripts/"
card=$T/src/models/study/README.md
sum=$(sha256sum < "$card")
(cd "$T/src" && /usr/bin/python3 scripts/model-cards.py "$T/no-build" models/study) > /dev/null 2> "$T/err"
rc=$?
if [ $rc -ne 0 ] && [ "$(wc -l < "$T/err")" -eq 1 ] && grep -q 'no .*no-build/tools/mmdigits' "$T/err" \
    && [ "$(sha256sum < "$card")" = "$sum" ]; then
  ok "a build directory without the CLI: exit $rc, one line ($(cat "$T/err")), the cards unchanged"
else
  fail "a build directory without the CLI: exit $rc, stderr: $(cat "$T/err")"
fi
sed -i 's/^- \*\*Tool\*\*: .*/- **Tool**: edited by hand./' "$card"
(cd "$T/src" && /usr/bin/python3 scripts/model-cards.py --check "$build" models/study) > /dev/null 2> "$T/err"
rc=$?
if [ $rc -eq 1 ] && grep -q 'not what the files say' "$T/err" && grep -q 'edited by hand' "$card"; then
  ok "--check on a card edited by hand: exit 1, the card untouched"
else
  fail "--check on a card edited by hand: exit $rc, stderr: $(cat "$T/err")"
fi
(cd "$T/src" && /usr/bin/python3 scripts/model-cards.py "$build" models/study) > /dev/null 2> "$T/err"
check "written again, the cards are what the files say" cmp -s "$card" "$root/models/study/README.md"
checks_done
