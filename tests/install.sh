#!/bin/bash
# An install stands alone: `meson install --destdir` into a temporary
# directory, the install moved elsewhere (so the configured prefix does not
# hold it either), then, from outside the source and build trees and with no
# MMDIGITS_* or GST_PLUGIN_PATH in the environment:
#   - the installed CLI finds its plugin and models (`mmdigits predict`);
#   - gst-inspect-1.0 loads the installed plugin;
#   - a gst-launch-1.0 pipeline's mmclassify finds the installed models;
#   - a C program compiles against `pkg-config mmdigits` and loads a model;
#   - no installed binary's read-only data names the source or build tree.
# Usage: bash install.sh BUILD_DIR SOURCE_DIR
set -u
BUILD=$(realpath "$1")
SRC=$(realpath "$2")
T=$(mktemp -d)
. "$SRC/tests/checks.sh"

unset MMDIGITS_MODELS MMDIGITS_DATA MMDIGITS_SOURCE_ROOT MMDIGITS_BUILD_ROOT \
  GST_PLUGIN_PATH GST_PLUGIN_PATH_1_0
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
for bin in "$P/$bindir/mmdigits" "$plugin" "$P/$libdir/libmmdigits.so"; do
  if objdump -s -j .rodata "$bin" 2>/dev/null | sed 's/^ [0-9a-f]* \(.\{35\}\) *//' | tr -d '\n' \
      | grep -q -e "$SRC" -e "$BUILD"; then
    fail "$(basename "$bin") names the source or build tree in its read-only data"
  else
    ok "$(basename "$bin") names neither the source nor the build tree"
  fi
done

# inputs made here: a spoken "seven" and a drawn image of the digit 7
espeak-ng -w "$T/seven.wav" "seven" 2> /dev/null || fail "espeak-ng"

"$P/$bindir/mmdigits" predict --audio "$T/seven.wav" --json > "$T/p.json" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && grep -q '"digit"' "$T/p.json" \
  && ok "installed CLI: predict on a WAV with its own plugin and models: $(head -c 120 "$T/p.json")" \
  || fail "installed CLI predict: rc $rc: $(cat "$T/err")"

gst-inspect-1.0 "$plugin" > "$T/inspect" 2> "$T/err" && grep -q mmclassify "$T/inspect" \
  && ok "gst-inspect-1.0 loads the installed plugin" \
  || fail "gst-inspect-1.0 $plugin: $(cat "$T/err")"

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
