#!/bin/bash
# mmdigits batch: reuse, resume, merge, progress (tools/cmd-batch.c,
# tools/batch-worker.c), with the shipped models/.
# Usage: bash cli_batch.sh PATH/TO/mmdigits
set -u -o pipefail
MM=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
M=$HERE/../models
# the build tree's plugin, as meson devenv gives it
BUILD=${MMDIGITS_BUILD_ROOT:-$(dirname "$MM")/..}
unset GST_PLUGIN_PATH_1_0
export GST_PLUGIN_PATH=${GST_PLUGIN_PATH:-$BUILD/plugins}
T=$(mktemp -d)
. "$HERE/checks.sh"

[ -f "$M/audionet_cnn.safetensors" ] || checks_skip "no models"

# ---- inputs: spoken digits (16-bit WAV, mono and stereo, 22 and 8 kHz),
# silence, a demo video, a file that is not media ----
words=(zero one two three four five six seven eight nine)
for i in $(seq 0 39); do
  espeak-ng -s $((150 + i)) -w "$T/w$i.wav" "${words[$((i % 10))]}" 2> /dev/null \
    || need "espeak-ng" false
done
GST_PLUGIN_PATH= gst-launch-1.0 -q filesrc location="$T/w3.wav" ! decodebin ! audioconvert ! audioresample \
  ! audio/x-raw,rate=8000,channels=2 ! wavenc ! filesink location="$T/stereo8k.wav" \
  > /dev/null 2>&1 || need "making the stereo WAV" false
GST_PLUGIN_PATH= gst-launch-1.0 -q audiotestsrc wave=silence num-buffers=20 ! audio/x-raw,rate=16000,channels=1 \
  ! wavenc ! filesink location="$T/silence.wav" > /dev/null 2>&1 || need "making the silent WAV" false
need "demo-media" "$MM" demo-media --out "$T/d" --digits 4,2 > /dev/null
need "copying the demo video" cp "$T/d/demo.webm" "$T/v42.webm"
echo "not media" > "$T/junk.wav"
ls "$T"/w*.wav > "$T/list.txt"
printf '%s\n' "$T/stereo8k.wav" "$T/silence.wav" "$T/v42.webm" "$T/junk.wav" >> "$T/list.txt"
n=$(wc -l < "$T/list.txt")

# ---- a WAV file is one recording, decided as eval decides it; --decode
# gstreamer runs every file as a stream (one decision per word found) ----
"$MM" batch --files-from "$T/list.txt" --model "$M" --jobs 2 --out "$T/auto.jsonl" 2> "$T/err"
rc=$?
"$MM" batch --files-from "$T/list.txt" --model "$M" --jobs 1 --decode gstreamer \
  --out "$T/gst.jsonl" 2> /dev/null
grep -v -e silence.wav -e v42.webm -e junk.wav "$T/list.txt" > "$T/wavs.txt"
# the network the set gives audio decisions to, as the set says
"$MM" inspect --json "$M" > "$T/set.jsonl" || need "inspect the set" false
audio=$(python3 -c 'import json, sys
print(next(o["file"] + "\t" + o["arch"] for o in map(json.loads, open(sys.argv[1])) if o["role"] == "audio"))' \
  "$T/set.jsonl") || need "the set's audio network" false
# and its audio partner, when the set averages two (inspect's "averaged_with")
partner=$(python3 -c 'import json, sys
print(next((o["averaged_with"]["file"] + "\t" + o["averaged_with"]["arch"] for o in map(json.loads, open(sys.argv[1])) if o["role"] == "audio" and "averaged_with" in o), ""))' \
  "$T/set.jsonl")
"$BUILD/tests/recording_decisions" "${audio%%$'\t'*}" ${partner:+"${partner%%$'\t'*}"} \
  "$T/wavs.txt" > "$T/eval.tsv" || fail "recording_decisions"
python3 - "$T/auto.jsonl" "$T/gst.jsonl" "$T/eval.tsv" "${audio##*$'\t'}" "${partner##*$'\t'}" <<'PY' \
  && ok "WAV files: one decision each, eval's digit for all $(wc -l < "$T/wavs.txt"); the video's lines are the stream path's" \
  || fail "WAV decisions against eval's"
import collections, json, sys
auto = collections.defaultdict(list)
for line in open(sys.argv[1]):
    o = json.loads(line)
    auto[o["file"]].append(o)
gst = collections.defaultdict(list)
for line in open(sys.argv[2]):
    o = json.loads(line)
    gst[o["file"]].append(o)
for line in open(sys.argv[3]):
    f, d = line.rstrip("\n").split("\t")
    assert [o.get("digit") for o in auto[f]] == [int(d)], (f, auto[f], d)
    assert auto[f][0]["modality"] == "audio" and auto[f][0]["arch"] == sys.argv[4], auto[f]
    assert auto[f][0].get("averaged_with") == (sys.argv[5] or None), auto[f]
# a recording's line has the stream's fields, in the stream's order and types
wav = [f for f in auto if f.endswith("w1.wav")][0]
kind = lambda v: "number" if type(v) in (int, float) else type(v).__name__
shape = lambda o: [(k, kind(v)) for k, v in o.items()]
assert shape(auto[wav][0]) == shape(gst[wav][0]), (auto[wav][0], gst[wav][0])
video = [f for f in auto if f.endswith("v42.webm")][0]
assert auto[video] == gst[video] and len(auto[video]) >= 2, (auto[video], gst[video])
PY

# ---- every file has a line; a failure does not stop the others ----
python3 - "$T/auto.jsonl" "$T/list.txt" <<'PY' && [ $rc -eq 1 ] \
  && [ "$(grep -c '^mmdigits: .*junk.wav' "$T/err")" -eq 1 ] \
  && ok "batch: a line for each of $n files in list order, silence has decisions:0, junk an error (exit 1)" \
  || fail "batch lines: rc $rc $(cat "$T/err")"
import itertools, json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
files = [l.strip() for l in open(sys.argv[2])]
assert [k for k, _ in itertools.groupby(o["file"] for o in objs)] == files
by = {o["file"]: o for o in objs}
assert by[files[-3]] == {"file": files[-3], "decisions": 0}, by[files[-3]]
assert "error" in by[files[-1]] and "digit" not in by[files[-1]]
assert any(o["file"].endswith("v42.webm") and o["modality"] == "image+audio" for o in objs)
assert by[files[-4]]["digit"] == 3, by[files[-4]]
PY

# ---- a constant level is no sound: a WAV holding only a DC offset (+0.3,
# at 8, 16 and 44.1 kHz: the resampler's ramps at both ends too) has no
# decision, as silence, on both paths (the WAV path decided it: a 7 at 0.94
# for the 44.1 kHz one, a 3 at 0.43 for the others) ----
python3 - "$T" <<'PY' || need "making the DC-level WAVs" false
import struct, sys, wave
for rate in (8000, 16000, 44100):
    w = wave.open(f"{sys.argv[1]}/dc{rate}.wav", "wb")
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
    w.writeframes(struct.pack("<h", 9830) * (2 * rate))
    w.close()
PY
for how in auto gstreamer; do
  "$MM" batch "$T"/dc8000.wav "$T"/dc16000.wav "$T"/dc44100.wav --model "$M" --decode $how \
    --out "$T/dc-$how.jsonl" 2> "$T/err"
  rc=$?
  python3 - "$T/dc-$how.jsonl" <<'PY' && [ $rc -eq 0 ] \
    && ok "batch --decode $how: a WAV of a DC level alone has no decision (8, 16, 44.1 kHz)" \
    || fail "batch --decode $how of DC-level WAVs: rc $rc: $(cat "$T/dc-$how.jsonl" "$T/err")"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
assert len(objs) == 3 and all(o.get("decisions") == 0 for o in objs), objs
PY
done

# ---- --resume continues a part cut in the middle of a line ----
head -c $(( $(head -n 20 "$T/auto.jsonl" | wc -c) + 30 )) "$T/auto.jsonl" > "$T/r.jsonl.part"
"$MM" batch --files-from "$T/list.txt" --model "$M" --resume --out "$T/r.jsonl" 2> "$T/err"
cmp -s "$T/r.jsonl" "$T/auto.jsonl" && [ ! -e "$T/r.jsonl.part" ] \
  && grep -q "19 of $n files already in" "$T/err" \
  && ok "--resume of a part with a torn line: the 19 whole files kept, the rest run, same output" \
  || fail "--resume: $(diff "$T/r.jsonl" "$T/auto.jsonl" | head -3) $(cat "$T/err")"

# ---- --resume after kill -9: nothing lost, nothing twice ----
"$MM" batch --files-from "$T/list.txt" --model "$M" --jobs 1 --decode gstreamer \
  --out "$T/k.jsonl" 2> /dev/null &
pid=$!
for _ in $(seq 200); do
  [ -s "$T/k.jsonl.part" ] && [ "$(wc -l < "$T/k.jsonl.part")" -ge 3 ] && break
  sleep 0.05
done
kill -9 $pid 2> /dev/null
wait $pid 2> /dev/null
had=$(wc -l < "$T/k.jsonl.part" 2> /dev/null || echo 0)
"$MM" batch --files-from "$T/list.txt" --model "$M" --decode gstreamer --resume \
  --out "$T/k.jsonl" 2> "$T/err"
cmp -s "$T/k.jsonl" "$T/gst.jsonl" \
  && ok "--resume after kill -9 (part had $had lines): same output as one run" \
  || fail "--resume after kill -9: $(diff "$T/k.jsonl" "$T/gst.jsonl" | head -3)"

# --resume of a finished output runs nothing and keeps it
"$MM" batch --files-from "$T/list.txt" --model "$M" --resume --out "$T/k.jsonl" 2> "$T/err"
cmp -s "$T/k.jsonl" "$T/gst.jsonl" && grep -q "$n of $n files already" "$T/err" \
  && ok "--resume of a finished output: nothing run, output unchanged" \
  || fail "--resume of a finished output: $(cat "$T/err")"

# --resume with other files refuses
echo "$T/w1.wav" > "$T/other.txt"
head -n 5 "$T/auto.jsonl" > "$T/o.jsonl.part"
"$MM" batch --files-from "$T/other.txt" --model "$M" --resume --out "$T/o.jsonl" 2> "$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q "not among the files to run" "$T/err" \
  && ok "--resume of another list's part: exit 1: $(cat "$T/err")" \
  || fail "--resume of another list's part: rc $rc $(cat "$T/err")"

# ---- shards and --merge ----
for i in 1 2 3; do
  "$MM" batch --files-from "$T/list.txt" --model "$M" --shard $i/3 --out "$T/p$i.jsonl" \
    2> /dev/null
done
"$MM" batch --merge --files-from "$T/list.txt" --out "$T/m.jsonl" "$T"/p[123].jsonl 2> "$T/err"
cmp -s "$T/m.jsonl" "$T/auto.jsonl" \
  && ok "--shard 1/3, 2/3, 3/3 merged in list order equal one run" \
  || fail "--merge: $(cat "$T/err") $(diff "$T/m.jsonl" "$T/auto.jsonl" | head -3)"
"$MM" batch --merge --files-from "$T/list.txt" --out "$T/m2.jsonl" "$T/p1.jsonl" "$T/p2.jsonl" "$T/p2.jsonl" "$T/p3.jsonl" 2> "$T/err"
rc=$?
[ $rc -eq 1 ] && [ ! -e "$T/m2.jsonl" ] && grep -q "has lines in" "$T/err" \
  && ok "--merge of a part given twice: exit 1, nothing written" \
  || fail "--merge of a duplicate part: rc $rc $(cat "$T/err")"

# ---- progress: only with --progress when stderr is not a terminal ----
"$MM" batch "$T/w1.wav" "$T/w2.wav" --model "$M" --out "$T/q.jsonl" 2> "$T/err"
"$MM" batch "$T/w1.wav" "$T/w2.wav" --model "$M" --progress --out "$T/q.jsonl" 2> "$T/err2"
! grep -q "files/s, ETA" "$T/err" && grep -Eq "^batch: 2/2 files, [0-9.]+ files/s, ETA" "$T/err2" \
  && ok "progress line only with --progress off a terminal: $(grep ETA "$T/err2" | tail -1)" \
  || fail "progress: $(cat "$T/err" "$T/err2")"

# ---- a classifier that cannot start (no network in the set for the file's
# streams) fails that file with the element's reason; the next file gets a
# classifier of its own ----
GST_PLUGIN_PATH= gst-launch-1.0 -q filesrc location="$T/v42.webm" ! matroskademux ! video/x-vp8 \
  ! webmmux ! filesink location="$T/vonly.webm" > /dev/null 2>&1 || need "making the video-only WebM" false
"$MM" batch "$T/vonly.webm" "$T/v42.webm" --model "$M/hybridnet_cnn.safetensors" --out "$T/h.jsonl" \
  2> "$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q "^{\"file\":\"$T/vonly.webm\",\"error\":\".*cannot serve images alone" "$T/h.jsonl" \
  && grep -q "^{\"file\":\"$T/v42.webm\",.*\"modality\":\"image+audio\"" "$T/h.jsonl" \
  && ok "a classifier that cannot start: its file fails with why ($(grep -o 'cannot serve images alone' "$T/h.jsonl")), the next file is decided" \
  || fail "classifier that cannot start: rc $rc $(cat "$T/err") $(cut -c1-200 "$T/h.jsonl")"

# ---- a video's grey frames: the luma plane itself where videoconvert's
# GRAY8 is a copy of it (the demo's VP8, BT.601), converted where it is not
# (VP9 marked BT.709, whose luma videoconvert converts); either way the lines
# of a pipeline that converts every frame (predict's branch) ----
GST_PLUGIN_PATH= gst-launch-1.0 -q filesrc location="$T/v42.webm" ! matroskademux ! vp8dec ! videoconvert \
  ! video/x-raw,format=I420,colorimetry=bt709 ! vp9enc deadline=1 cpu-used=8 ! webmmux \
  ! filesink location="$T/v709.webm" > /dev/null 2>&1 || need "making the BT.709 VP9 WebM (vp9enc)" false
# a sanitizer build's plugin needs the ASan runtime loaded first (as in cli_predict.sh)
asan_rt=$(ldd "$MM" | awk '/libasan/ { print $3 }')
for v in vonly v709; do
  env ${asan_rt:+LD_PRELOAD="$asan_rt"} gst-launch-1.0 -q filesrc location="$T/$v.webm" ! decodebin ! videoconvert ! video/x-raw,format=GRAY8 \
    ! digitimage ! mmclassify model="$M" ! filesink location="$T/$v.ref.jsonl" > /dev/null 2>&1 \
    || need "the converting pipeline on $v.webm" false
done
GST_DEBUG=digitimage:5 GST_DEBUG_NO_COLOR=1 "$MM" batch "$T/vonly.webm" "$T/v709.webm" --model "$M" \
  --out "$T/luma.jsonl" 2> "$T/err"
rc=$?
python3 - "$T" <<'PY' && [ $rc -eq 0 ] \
  && grep -q "I420 frames of 320x240" "$T/err" && grep -q "GRAY8 frames of 320x240" "$T/err" \
  && ok "video frames: the luma plane for BT.601 VP8, GRAY8 for BT.709 VP9; the lines of the converting pipeline" \
  || fail "luma: rc $rc $(grep -o '[A-Z0-9]* frames of [0-9x]*' "$T/err" | sort | uniq -c)"
import json, sys
t = sys.argv[1]
got = {}
for line in open(f"{t}/luma.jsonl"):
    o = json.loads(line)
    got.setdefault(o.pop("file").rsplit("/", 1)[1], []).append(o)
for v in ("vonly", "v709"):
    ref = [json.loads(l) for l in open(f"{t}/{v}.ref.jsonl")]
    assert ref and got[f"{v}.webm"] == ref, (v, got.get(f"{v}.webm"), ref)
PY

# ---- digitimage sends a run of frames without a crop as one GAP (at most
# gap-duration, 500 ms by default) instead of a GAP per frame: mmclassify's
# decisions do not depend on it. In the demo video with its first 3 s of
# sound muted the first digit is decided by the image alone (the audio pad's
# GAPs rule a partner out), the second as a pair; batch (the default) gives
# the lines of a pipeline with a GAP per frame (gap-duration=0) and of one
# with the default ----
GST_PLUGIN_PATH= gst-launch-1.0 -q filesrc location="$T/v42.webm" ! decodebin ! audioconvert \
  ! audio/x-raw,format=S16LE ! wavenc ! filesink location="$T/v42.wav" > /dev/null 2>&1 \
  || need "decoding the demo video's sound" false
python3 - "$T/v42.wav" "$T/v4muted.wav" <<'PY' || need "muting the first digit's word" false
import sys, wave
with wave.open(sys.argv[1]) as w:
    params, frames = w.getparams(), bytearray(w.readframes(w.getnframes()))
muted = 3 * params.framerate * params.sampwidth * params.nchannels
frames[:muted] = bytes(min(muted, len(frames)))
with wave.open(sys.argv[2], "wb") as w:
    w.setparams(params)
    w.writeframes(bytes(frames))
PY
GST_PLUGIN_PATH= gst-launch-1.0 -q filesrc location="$T/v42.webm" ! matroskademux ! queue ! webmmux name=mux \
  ! filesink location="$T/v4muted.webm" filesrc location="$T/v4muted.wav" ! wavparse ! audioconvert \
  ! vorbisenc ! queue ! mux. > /dev/null 2>&1 || need "muxing the muted video" false
for g in 0 500; do
  env ${asan_rt:+LD_PRELOAD="$asan_rt"} gst-launch-1.0 -q filesrc location="$T/v4muted.webm" ! decodebin name=d \
    d. ! queue ! videoconvert ! video/x-raw,format=GRAY8 ! digitimage gap-duration=$g ! c.image_sink \
    d. ! queue ! audioconvert ! audioresample ! audio/x-raw,rate=16000,channels=1,format=F32LE \
    ! mfccextract ! c.audio_sink mmclassify name=c model="$M" ! filesink location="$T/gap$g.jsonl" \
    > /dev/null 2>&1 || need "the pipeline with gap-duration=$g" false
done
"$MM" batch "$T/v4muted.webm" --model "$M" --out "$T/gap.jsonl" 2> "$T/err"
rc=$?
python3 - "$T" <<'PY' && [ $rc -eq 0 ] \
  && ok "GAPs of 500 ms or one a frame from digitimage: the same decisions, lone and paired, as batch's" \
  || fail "gap-duration: rc $rc $(cat "$T/err") $(cut -c1-120 "$T"/gap*.jsonl)"
import json, sys
t = sys.argv[1]
got = [json.loads(l) for l in open(f"{t}/gap.jsonl")]
for o in got:
    o.pop("file")
mods = [o["modality"] for o in got]
assert "image" in mods and "image+audio" in mods, mods
for g in (0, 500):
    ref = [json.loads(l) for l in open(f"{t}/gap{g}.jsonl")]
    assert ref == got, (g, ref, got)
PY

checks_done
