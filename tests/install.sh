#!/bin/bash
# An install stands alone: `meson install --destdir` into a temporary
# directory, the install moved elsewhere (so the configured prefix does not
# hold it either), then, from outside the source and build trees and with no
# MMDIGITS_* or GST_PLUGIN_PATH in the environment:
#   - the installed CLI finds its plugin and models (`mmdigits predict`);
#   - gst-inspect-1.0 loads the installed plugin;
#   - a gst-launch-1.0 pipeline's mmclassify finds the installed models;
#   - a C program compiles against `pkg-config mmdigits` and loads a model;
#   - the CLI and the plugin take the core from the installed shared
#     libmmdigits (one copy of the core in a process that holds both), found
#     relative to themselves;
#   - no installed binary's data, read-only data or dynamic strings (RUNPATH)
#     names the source or build tree, nor do the installed text files;
#   - gst-inspect-1.0 shows mmclassify's real `model` default (none: the
#     shipped models), not a path.
#   - with the source and build trees hidden (an empty directory mounted over
#     each in a private mount namespace, where one can be made), the
#     installed CLI and plugin still decide a spoken seven.
# Usage: bash install.sh BUILD_DIR SOURCE_DIR
set -u
BUILD=$(realpath "$1")
SRC=$(realpath "$2")
T=$(mktemp -d)
. "$SRC/tests/checks.sh"

# LD_LIBRARY_PATH too: meson points it into the build tree for a test, and it
# is searched before a binary's RUNPATH, so it would hide an install that
# cannot find its own libmmdigits
unset MMDIGITS_MODELS MMDIGITS_DATA MMDIGITS_SOURCE_ROOT MMDIGITS_BUILD_ROOT \
  GST_PLUGIN_PATH GST_PLUGIN_PATH_1_0 LD_LIBRARY_PATH
export GST_REGISTRY_1_0=$T/registry.bin

opt () { meson introspect "$BUILD" --buildoptions \
  | /usr/bin/python3 -c "import json,sys; print([o['value'] for o in json.load(sys.stdin) if o['name']=='$1'][0])"; }
prefix=$(opt prefix); bindir=$(opt bindir); libdir=$(opt libdir)

meson install -C "$BUILD" --destdir "$T/stage" --no-rebuild --quiet > "$T/install.log" 2>&1 \
  || { echo "FAIL: meson install: $(tail -3 "$T/install.log")"; exit 1; }
mv "$T/stage$prefix" "$T/moved"
P=$T/moved
cd "$T"
[ -x "$P/$bindir/mmdigits" ] && [ -f "$P/share/mmdigits/models/imagenet_cnn.safetensors" ] \
  && [ -f "$P/share/mmdigits/models/study/audionet_lstm.safetensors" ] \
  && [ -f "$P/include/mmdigits/mm-net.h" ] && [ -f "$P/$libdir/pkgconfig/mmdigits.pc" ] \
  && ok "installed: the CLI, the models (default and study/), the headers, mmdigits.pc" \
  || fail "install layout: $(cd "$P" && find . -maxdepth 3 | sort | tr '\n' ' ')"

plugin=$P/$libdir/gstreamer-1.0/libgstmmdigits.so
# the sections a path compiled in or linked in would be in (not the debug
# information, which names the build tree by nature)
for bin in "$P/$bindir/mmdigits" "$plugin" "$P/$libdir/libmmdigits.so"; do
  if objdump -s -j .rodata -j .data -j .dynstr "$bin" 2>/dev/null \
      | sed 's/^ [0-9a-f]* \(.\{35\}\) *//' | tr -d '\n' | grep -q -e "$SRC" -e "$BUILD"; then
    fail "$(basename "$bin") names the source or build tree in its data, read-only data or RUNPATH"
  else
    ok "$(basename "$bin") names neither the source nor the build tree"
  fi
done
texts=$(grep -rlI -e "$SRC" -e "$BUILD" "$P" 2>/dev/null)
[ -z "$texts" ] && ok "no installed text file names the source or build tree" \
  || fail "installed text files name the source or build tree: $texts"

# one core in a process: the CLI and the plugin import it (an undefined
# dynamic symbol) from the installed libmmdigits, which each resolves next
# to itself; a core linked into each would give a process two FFTW planner
# locks, two pool sets and two BLAS-section counts
for bin in "$P/$bindir/mmdigits" "$plugin"; do
  lib=$(ldd "$bin" 2>&1 | sed -n 's/^\s*libmmdigits\.so\.[0-9]* => \([^ ]*\) .*/\1/p')
  if nm -D --undefined-only "$bin" | grep -q ' mm_model_set_open$' \
      && [ "$(realpath -m "$lib")" = "$(realpath "$P/$libdir/libmmdigits.so.0")" ]; then
    ok "$(basename "$bin") takes the core from the installed libmmdigits"
  else
    fail "$(basename "$bin"): core not from the installed libmmdigits (resolved to '${lib:-nothing}')"
  fi
done

# inputs made here: a spoken "seven" and a drawn image of the digit 7
espeak-ng -w "$T/seven.wav" "seven" 2> /dev/null || fail "espeak-ng"

"$P/$bindir/mmdigits" predict --audio "$T/seven.wav" --json > "$T/p.json" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && grep -q '"digit"' "$T/p.json" \
  && ok "installed CLI: predict on a WAV with its own plugin and models: $(head -c 120 "$T/p.json")" \
  || fail "installed CLI predict: rc $rc: $(cat "$T/err")"

# The same with the source and build trees out of reach: in a private mount
# namespace (nothing outside sees it) an empty directory is mounted over
# each, so a path into them that the scans above missed (or a lookup that
# builds one at run time) finds nothing. Skipped where this system allows
# no mount namespace.
mkdir -p "$T/empty"
cat > "$T/hidden.sh" <<EOF
mount --bind "$T/empty" "$BUILD" && mount --bind "$T/empty" "$SRC" || exit 99
[ -z "\$(ls -A "$SRC")" ] || exit 98
"$P/$bindir/mmdigits" predict --audio "$T/seven.wav" --json > "$T/hidden.json" || exit 1
GST_PLUGIN_PATH=$P/$libdir/gstreamer-1.0 gst-launch-1.0 -q filesrc location="$T/seven.wav" \\
  ! decodebin ! audioconvert ! audioresample ! mfccextract ! mmclassify \\
  ! filesink location="$T/hidden.jsonl" > /dev/null || exit 2
EOF
hidden=99
for ns in "unshare -m" "unshare -r -m"; do
  $ns true 2> /dev/null || continue
  $ns bash "$T/hidden.sh" 2> "$T/err"
  hidden=$?
  [ $hidden -ne 99 ] && break
done
if [ $hidden -eq 99 ]; then
  skip "no private mount namespace here to hide the source and build trees"
elif [ $hidden -eq 0 ] && grep -q '"digit":7' "$T/hidden.json" && grep -q '"digit":7' "$T/hidden.jsonl"; then
  ok "with the source and build trees hidden: the installed CLI's predict and a pipeline with the installed plugin decide 7"
else
  fail "with the source and build trees hidden (step $hidden): $(cat "$T/err")"
fi

gst-inspect-1.0 "$plugin" > "$T/inspect" 2> "$T/err" && grep -q mmclassify "$T/inspect" \
  && ok "gst-inspect-1.0 loads the installed plugin" \
  || fail "gst-inspect-1.0 $plugin: $(cat "$T/err")"
# the documented default is the one used: none, meaning the shipped models
GST_PLUGIN_PATH=$P/$libdir/gstreamer-1.0 gst-inspect-1.0 mmclassify > "$T/inspect-mm" 2> "$T/err"
model_default=$(sed -n '/^  model /,/Default:/p' "$T/inspect-mm" | sed -n 's/.*Default: //p')
[ "$model_default" = null ] && grep -A2 '^  model ' "$T/inspect-mm" | grep -q 'the shipped models' \
  && ok "gst-inspect-1.0 mmclassify: model's default is none (the shipped models)" \
  || fail "gst-inspect-1.0 mmclassify: model's default is '$model_default': $(cat "$T/err")"

GST_PLUGIN_PATH=$P/$libdir/gstreamer-1.0 gst-launch-1.0 -q filesrc location="$T/seven.wav" \
  ! decodebin ! audioconvert ! audioresample ! mfccextract ! mmclassify \
  ! filesink location="$T/events.jsonl" > /dev/null 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && grep -q '"digit"' "$T/events.jsonl" \
  && ok "a pipeline's mmclassify finds the installed models: $(head -c 120 "$T/events.jsonl")" \
  || fail "pipeline with the installed plugin: rc $rc: $(cat "$T/err")"

cat > "$T/app.c" <<'C'
#include <stdio.h>
#include <mm-modelfile.h>
#include <mm-net.h>
#include <mm-paths.h>

int
main (int argc, char **argv)
{
  GError *err = NULL;
  MmNet *net = mm_model_load (argv[1], NULL, &err);

  if (!net) {
    fprintf (stderr, "%s\n", err->message);
    return 1;
  }
  printf ("%s\n", mm_arch_name (mm_net_arch (net)));
  mm_net_free (net);
  return 0;
}
C
export PKG_CONFIG_PATH=$P/$libdir/pkgconfig
if cc -o "$T/app" "$T/app.c" $(pkg-config --cflags --libs mmdigits) 2> "$T/err"; then
  out=$(LD_LIBRARY_PATH=$P/$libdir "$T/app" "$P/share/mmdigits/models/imagenet_cnn.safetensors" 2>&1)
  [ "$out" = "ImageNet_CNN" ] \
    && ok "a C program built with pkg-config mmdigits loads an installed model" \
    || fail "the pkg-config program printed: $out"
else
  fail "compiling against pkg-config mmdigits: $(head -3 "$T/err")"
fi

checks_done
