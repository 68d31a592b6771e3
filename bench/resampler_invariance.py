#!/usr/bin/python3
"""Resampler invariance (issue 10): FSDD's test recordings (indices 0-4, the
clean protocol's held-out recordings: 300 files of 8 kHz) upsampled to 16 kHz
by two good resamplers, then classified through one path:

  gst     GStreamer's audioresample at its defaults (what the pipelines and
          `mmdigits eval` use), via gst-launch-1.0;
  kaiser  scipy.signal.resample_poly (polyphase, Kaiser window beta 5.0,
          its default), another good resampler.

Both are written as 16-bit PCM WAV at 16 kHz and classified by `mmdigits
batch` (a 16 kHz WAV is one recording, decided as eval decides it; its
audioresample is then a passthrough), so the resampler is the only
difference. Prints each model's accuracy on both sets and the difference.

  bench/resampler_invariance.py [--build build] [--data DIR] MODEL...

MODEL: an audio network's file, or a directory with one (its audio
network decides); another file (an image or hybrid network) is refused
before any work, as batch would refuse it after the resampling. Needs
gst-launch-1.0 and python3-scipy. Work files go to a temporary directory.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
from scipy.io import wavfile

import mmbuild
from scipy.signal import resample_poly

NAME = re.compile(r"^(\d)_([^_]+)_(\d+)\.wav$")


def test_recordings(data):
    """FSDD's clean-protocol test recordings: indices 0-4 of every speaker and digit."""
    files = []
    for path in sorted(glob.glob(os.path.join(data, "fsdd", "recordings", "*.wav"))):
        m = NAME.match(os.path.basename(path))
        if m and int(m.group(3)) <= 4:
            files.append(path)
    return files


def to_pcm16(x):
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)


def kaiser_16k(src, dst):
    rate, x = wavfile.read(src)
    if x.dtype != np.int16 or x.ndim != 1:
        sys.exit(f"{src}: expected mono 16-bit PCM")
    up, down = 16000 // np.gcd(16000, rate), rate // np.gcd(16000, rate)
    y = resample_poly(x.astype(np.float64) / 32768.0, up, down)
    wavfile.write(dst, 16000, to_pcm16(y))


def gst_16k(src, dst):
    subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={src}", "!", "wavparse", "!",
                    "audioconvert", "!", "audioresample", "!",
                    "audio/x-raw,rate=16000,channels=1,format=S16LE", "!", "wavenc", "!",
                    "filesink", f"location={dst}"], check=True)


def check_audio_model(mmdigits, model):
    """Exits unless `model` (file or directory) holds an audio network."""
    r = subprocess.run([mmdigits, "inspect", "--json", model], capture_output=True, text=True,
                       check=False)
    if r.returncode:
        sys.exit(f"mmdigits inspect {model}: {r.stderr.strip()}")
    roles = [json.loads(line)["role"] for line in r.stdout.splitlines() if line.strip()]
    if "audio" not in roles:
        sys.exit(f"{model}: no audio network (roles: {', '.join(roles) or 'none'}); "
                 "resampler invariance measures spoken digits alone")


def accuracy(mmdigits, model, files, out):
    r = subprocess.run(["nice", "-n", "10", mmdigits, "batch", "--jobs", "1", "-m", model,
                        "-o", out] + files, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True, check=False)
    if r.returncode:
        sys.exit(f"mmdigits batch -m {model} ({len(files)} files): {r.stderr.strip()}")
    right = undecided = 0
    for line in open(out):
        j = json.loads(line)
        digit = int(NAME.match(os.path.basename(j["file"])).group(1))
        if "digit" not in j:
            undecided += 1
        elif j["digit"] == digit:
            right += 1
    return right, undecided


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--data", default=mmbuild.default_data())
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    mmdigits = mmbuild.cli(a.build)
    for model in a.models:
        check_audio_model(mmdigits, model)
    files = test_recordings(a.data)
    if len(files) != 300:
        sys.exit(f"expected FSDD's 300 test recordings under {a.data}/fsdd, found {len(files)}")
    with tempfile.TemporaryDirectory(prefix="mm-resample-") as tmp:
        sets = {}
        for name, fn in (("gst", gst_16k), ("kaiser", kaiser_16k)):
            d = os.path.join(tmp, name)
            os.mkdir(d)
            sets[name] = []
            for f in files:
                dst = os.path.join(d, os.path.basename(f))
                fn(f, dst)
                sets[name].append(dst)
        print(f"{len(files)} FSDD test recordings (indices 0-4), 8 kHz -> 16 kHz")
        print(f"{'model':45} {'audioresample':>14} {'Kaiser poly':>12} {'difference':>11}")
        for model in a.models:
            acc = {}
            for name in sets:
                right, undecided = accuracy(mmdigits, model, sets[name],
                                            os.path.join(tmp, f"{name}.jsonl"))
                acc[name] = 100.0 * right / len(files)
                if undecided:
                    print(f"  {model} {name}: {undecided} files without a decision (counted wrong)")
            print(f"{model:45} {acc['gst']:13.2f}% {acc['kaiser']:11.2f}% "
                  f"{acc['kaiser'] - acc['gst']:+10.2f}")


if __name__ == "__main__":
    main()
