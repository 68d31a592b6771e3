#!/usr/bin/python3
"""Noise alone (issue 10): how many digits do the models hear in signals that
hold no word? Each signal is written as a WAV file and streamed through the
elements of the README's pipeline (`mmdigits batch --decode gstreamer`:
decodebin ! audioconvert ! audioresample ! mfccextract ! mmclassify, one
decision per word mfccextract's detector finds).

Signals (seeded, so every run makes the same files), each MINUTES long
(default 10) at each LEVEL (RMS, dBFS; default -30 and -10):
  white   Gaussian white noise, 16 kHz
  pink    white noise through a -3 dB/octave pole-zero filter (J. O. Smith's), 16 kHz
  babble  6 talkers, each a random sequence of FSDD training recordings
          (indices 5-49, all six speakers: training voices), 8 kHz as FSDD
  square  a 440 Hz square wave overdriven 4x and clipped at full scale
          (its level is full scale whatever LEVEL says; written once)
  tone    a 1 kHz sine, 16 kHz

  bench/noise_decisions.py [--build build] [--data DIR] [--minutes M] MODEL...

Prints the decisions (and the non-null ones, if the model set says "not
sure") per signal, level and model. The target is at most 2 per 10 minutes.
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
from scipy.signal import lfilter

SEED = 2026
NAME = re.compile(r"^(\d)_([^_]+)_(\d+)\.wav$")


def to_pcm16(x):
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)


def at_level(x, dbfs):
    return x * (10 ** (dbfs / 20) / np.sqrt(np.mean(x ** 2)))


def pink(rng, n):
    # J. O. Smith's -3 dB/octave pole-zero filter, on white noise
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1, -2.494956002, 2.017265875, -0.522189400]
    return lfilter(b, a, rng.standard_normal(n))


def training_recordings(data):
    """FSDD's training recordings (indices 5-49), sorted paths."""
    paths = sorted(glob.glob(os.path.join(data, "fsdd", "recordings", "*.wav")))
    return [p for p in paths
            if (m := NAME.match(os.path.basename(p))) and int(m.group(3)) >= 5]


def babble(rng, data, n, talkers=6):
    pool = []
    for path in training_recordings(data):
        rate, x = wavfile.read(path)
        if rate != 8000:
            sys.exit(f"{path}: {rate} Hz, expected FSDD's 8 kHz")
        x = x.astype(np.float64) / 32768.0
        pool.append(x / np.sqrt(np.mean(x ** 2)))
    out = np.zeros(n)
    for _ in range(talkers):
        track, filled = [], 0
        while filled < n:
            clip = pool[rng.integers(len(pool))]
            track.append(clip)
            filled += len(clip)
        out += np.concatenate(track)[:n]
    return out


def signals(data, minutes, levels):
    rng = np.random.default_rng(SEED)
    n16, n8 = int(minutes * 60 * 16000), int(minutes * 60 * 8000)
    t = np.arange(n16) / 16000
    square = np.clip(4 * np.sign(np.sin(2 * np.pi * 440 * t)), -1, 1) * 0.999
    yield "square", "full scale", 16000, square
    shapes = {
        "white": (16000, rng.standard_normal(n16)),
        "pink": (16000, pink(rng, n16)),
        "babble": (8000, babble(rng, data, n8)),
        "tone": (16000, np.sin(2 * np.pi * 1000 * t)),
    }
    for name, (rate, x) in shapes.items():
        for db in levels:
            yield name, f"{db:g} dBFS", rate, at_level(x, db)


def count(mmdigits, model, path, out):
    r = subprocess.run(["nice", "-n", "10", mmdigits, "batch", "--decode", "gstreamer", "--jobs",
                        "1", "-m", model, "-o", out, path], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, check=False)
    if r.returncode:
        sys.exit(f"mmdigits batch -m {model} {path}: {r.stderr.strip()}")
    decisions = digits = 0
    said = {}
    for line in open(out):
        j = json.loads(line)
        if "error" in j:
            sys.exit(f"{path}: {j['error']}")
        if "digit" in j:
            decisions += 1
            if j["digit"] is not None:
                digits += 1
                said[j["digit"]] = said.get(j["digit"], 0) + 1
    return decisions, digits, said


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--data", default=mmbuild.default_data())
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--levels", default="-30,-10", help="RMS levels in dBFS, comma-separated")
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    mmdigits = mmbuild.cli(a.build)
    levels = [float(v) for v in a.levels.split(",")]
    print(f"{a.minutes:g} minutes of each signal; decisions (non-null digits) and the digits said")
    with tempfile.TemporaryDirectory(prefix="mm-noise-") as tmp:
        for name, level, rate, x in signals(a.data, a.minutes, levels):
            wav = os.path.join(tmp, f"{name}.wav")
            wavfile.write(wav, rate, to_pcm16(x))
            for model in a.models:
                decisions, digits, said = count(mmdigits, model, wav, os.path.join(tmp, "out.jsonl"))
                top = ", ".join(f"{d}:{c}" for d, c in sorted(said.items(), key=lambda kv: -kv[1]))
                print(f"{name:7} {level:>11} {model:45} {decisions:5d} ({digits}) {top}")
            os.unlink(wav)


if __name__ == "__main__":
    main()
