#!/usr/bin/env bash
# docs/elements.md is what scripts/elements-doc.py makes from the elements'
# doc blocks and gst-inspect-1.0 of this build (the page follows the code);
# the script refuses a build directory without the plugin and leaves the
# page as it was (it once wrote a page without a single property), and
# --check fails on a page that differs from the code.
#   tests/elements_doc.sh BUILD_DIR SOURCE_ROOT
set -u -o pipefail
build=$(cd "$1" && pwd)
root=$2
T=$(mktemp -d)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/checks.sh"
command -v gst-inspect-1.0 > /dev/null || checks_skip "gst-inspect-1.0 not installed"

check "docs/elements.md is what the code says (run scripts/elements-doc.py BUILD_DIR if not)" \
  bash -c 'cd "$0" && /usr/bin/python3 scripts/elements-doc.py --check "$1"' "$root" "$build"

# a copy of what the script reads, so that nothing here writes the source tree
mkdir -p "$T/src/plugins" "$T/src/docs" "$T/src/scripts"
need "copy the doc sources" cp "$root"/plugins/gst*.c "$T/src/plugins/"
need "copy the page" cp "$root/docs/elements.md" "$T/src/docs/"
need "copy the scripts" cp "$root/scripts/elements-doc.py" "$root/scripts/generated_page.py" "$T/src/scripts/"
sum=$(sha256sum < "$T/src/docs/elements.md")
(cd "$T/src" && /usr/bin/python3 scripts/elements-doc.py "$T/no-build") > /dev/null 2> "$T/err"
rc=$?
if [ $rc -ne 0 ] && [ "$(wc -l < "$T/err")" -eq 1 ] && grep -q 'finds no element .* in .*no-build/plugins' "$T/err" \
    && [ "$(sha256sum < "$T/src/docs/elements.md")" = "$sum" ] && [ ! -e "$T/src/docs/elements.md.tmp" ]; then
  ok "a build directory without the plugin: exit $rc, one line ($(cat "$T/err")), the page unchanged"
else
  fail "a build directory without the plugin: exit $rc, stderr: $(cat "$T/err"); page changed or left a temporary"
fi

sed -i '0,/SECTION:element-mfccextract/s//&\n * A line the page does not have./' "$T/src/plugins/gstmfccextract.c"
(cd "$T/src" && /usr/bin/python3 scripts/elements-doc.py --check "$build") > /dev/null 2> "$T/err"
rc=$?
if [ $rc -eq 1 ] && grep -q 'not what the code says' "$T/err" && [ "$(sha256sum < "$T/src/docs/elements.md")" = "$sum" ]; then
  ok "--check after a doc block changed: exit 1, the page untouched"
else
  fail "--check after a doc block changed: exit $rc, stderr: $(cat "$T/err")"
fi
(cd "$T/src" && /usr/bin/python3 scripts/elements-doc.py "$build") > /dev/null 2> "$T/err"
check "the page written again holds the changed block" grep -q 'A line the page does not have' "$T/src/docs/elements.md"
checks_done
