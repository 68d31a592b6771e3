#!/usr/bin/env bash
# Synthetic speakers of the digits 0–9 for training (`mmdigits train
# --synthetic OUTDIR`, never validation or test sets): espeak-ng's English
# accents × voice variants (each variant at its own rate and pitch, dealt
# from fixed lists) and flite's voices at several speaking rates, written as
# FSDD writes its recordings: mono 16-bit WAV at 8 kHz named
# {digit}_{speaker}_{n}.wav, with the speaker ids prefixed "syn-". A
# manifest.tsv lists every file with its engine, voice, rate and pitch.
#
#   scripts/make-voices.sh [--quick] OUTDIR
#
# Deterministic: the same engine versions give the same bytes. OUTDIR must
# not exist yet (or be empty) and must lie outside the git worktree (generated
# audio is never committed); it is written whole or not at all (a temporary
# directory beside it, renamed at the end). --quick makes a few voices (tests).
# Needs espeak-ng and gst-launch-1.0 (audioresample); flite when installed.
set -euo pipefail

quick=0
if [ "${1:-}" = --quick ]; then quick=1; shift; fi
if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 [--quick] OUTDIR" >&2
  exit 2
fi
out=$1
for tool in espeak-ng gst-launch-1.0; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is not installed (scripts/deps.sh)" >&2; exit 1; }
done
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
  echo "$0: $out exists and is not empty; give a new directory" >&2
  exit 1
fi
top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
parent=$(cd "$(dirname "$out")" && pwd -P)
case "$parent/" in
  "$top"/*) echo "$0: $out is inside the git worktree $top; generated audio stays outside git" >&2
            exit 1 ;;
esac

words=(zero one two three four five six seven eight nine)
if [ $quick = 1 ]; then
  accents=(en-us)
  variants=(m3 f2)
  flite_voices=(slt)
  stretches=(1.0)
else
  accents=(en-us en-gb en-gb-scotland en-gb-x-rp en-029 en-us-nyc)
  variants=(m1 m2 m3 m4 m5 m6 m7 f1 f2 f3 f4 f5 klatt klatt2 klatt3 klatt4)
  flite_voices=(awb rms slt kal16)
  stretches=(0.8 0.9 1.0 1.12 1.25)
fi
# espeak-ng speakers get the k-th pitch (0–99, default 50) and rate (words
# per minute, default 175) of these lists, k counting the speakers.
pitches=(30 45 60 75)
rates=(130 155 180)

tmp=$(mktemp -d "$parent/.make-voices.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
raw=$tmp/raw.wav
manifest=$tmp/manifest.tsv
printf 'file\tengine\tvoice\trate\tpitch\ttext\n' > "$manifest"

# to8k IN OUT: FSDD's format (mono, 16-bit, 8 kHz) by GStreamer's resampler
to8k () {
  gst-launch-1.0 -q filesrc location="$1" ! wavparse ! audioconvert ! audioresample \
    ! audio/x-raw,format=S16LE,rate=8000,channels=1 ! wavenc ! filesink location="$2"
}

espeak_version=$(espeak-ng --version | awk '{print $4}')
k=0
for accent in "${accents[@]}"; do
  for variant in "${variants[@]}"; do
    pitch=${pitches[$((k % ${#pitches[@]}))]}
    rate=${rates[$((k / ${#pitches[@]} % ${#rates[@]}))]}
    speaker=syn-esp-$accent-$variant
    for d in 0 1 2 3 4 5 6 7 8 9; do
      espeak-ng -v "$accent+$variant" -s "$rate" -p "$pitch" -w "$raw" "${words[$d]}"
      to8k "$raw" "$tmp/${d}_${speaker}_0.wav"
      printf '%s\tespeak-ng %s\t%s+%s\t%s wpm\t%s\t%s\n' "${d}_${speaker}_0.wav" \
        "$espeak_version" "$accent" "$variant" "$rate" "$pitch" "${words[$d]}" >> "$manifest"
    done
    k=$((k + 1))
  done
done

if command -v flite >/dev/null; then
  flite_version=$( (flite --version || true) | sed -n 's/.*version: \(flite-[^ ]*\).*/\1/p')
  for voice in "${flite_voices[@]}"; do
    speaker=syn-flite-${voice}
    for n in "${!stretches[@]}"; do
      for d in 0 1 2 3 4 5 6 7 8 9; do
        flite -voice "$voice" --setf duration_stretch="${stretches[$n]}" -t "${words[$d]}" -o "$raw"
        to8k "$raw" "$tmp/${d}_${speaker}_${n}.wav"
        printf '%s\t%s\t%s\tduration ×%s\tdefault\t%s\n' "${d}_${speaker}_${n}.wav" \
          "$flite_version" "$voice" "${stretches[$n]}" "${words[$d]}" >> "$manifest"
      done
    done
  done
else
  echo "$0: flite is not installed: espeak-ng voices only" >&2
fi

rm -f "$raw"
[ -d "$out" ] && rmdir "$out"
mv "$tmp" "$out"
trap - EXIT
echo "$0: $(($(wc -l < "$out/manifest.tsv") - 1)) clips in $out" >&2
