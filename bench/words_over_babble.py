#!/usr/bin/python3
"""Words said over babble (issue 10): does the word detector still find a
word when six other voices talk at once? Each clip is placed after 2 s of
babble with 1 s of babble after it, scaled so that its RMS over the whole
clip stands SNR dB above the babble's RMS (babble at -30 dBFS RMS), and
`mmdigits words --json` runs on the mixtures. --noise white puts white
noise of the same RMS in the babble's place.

The babble is noise_decisions.babble (six talkers, each a random sequence of
FSDD training recordings, indices 5-49, 8 kHz) from SEED; an 8 kHz clip is
mixed at 8 kHz, any other resampled to 16 kHz with the babble upsampled.
A clip counts as found when a word overlaps it; "elsewhere" counts the words
that do not (babble taken for a word).

  bench/words_over_babble.py [--build build] [--seed 2026] [--snr 10] [--noise babble|white]
                             [--keep DIR] [--words-option=--OPTION=VALUE ...] CLIP...

--keep DIR keeps the mixtures (DIR/NNNNN_CLIPNAME.wav), e.g. for `mmdigits batch`;
--words-option passes a detector option to `mmdigits words` (repeatable).

The detector's background margin was chosen with --seed 1 on FSDD training
clips (docs/results.md "Word detection"); report with another seed and other
clips.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from math import gcd

import numpy as np
from scipy.io import wavfile
from scipy.signal import resample_poly

import mmbuild
import noise_decisions as nd

BABBLE_DBFS = -30
BEFORE_S, AFTER_S = 2, 1


def read_clip(path):
    rate, x = wavfile.read(path)
    if x.dtype.kind == "i":
        x = x.astype(np.float64) / -np.iinfo(x.dtype).min
    elif x.dtype.kind == "u":
        x = (x.astype(np.float64) - 128) / 128
    else:
        x = x.astype(np.float64)
    if x.ndim > 1:
        x = x.mean(axis=1)
    return rate, x


def mixtures(clips, data, seed, snr, tmp, noise="babble"):
    """Writes one WAV per clip into tmp; yields (wav, start s, end s)."""
    rng = np.random.default_rng(seed)
    if noise == "white":
        background = {8000: rng.standard_normal(8000 * 600)}
    else:
        background = {8000: nd.babble(rng, data, 8000 * 600)}
    background[16000] = resample_poly(background[8000], 2, 1)
    for rate in background:
        background[rate] *= 10 ** (BABBLE_DBFS / 20) / np.sqrt(np.mean(background[rate] ** 2))
    for i, clip in enumerate(clips):
        rate, x = read_clip(clip)
        if rate not in background:
            g = gcd(16000, rate)
            x, rate = resample_poly(x, 16000 // g, rate // g), 16000
        if not np.any(x):
            sys.exit(f"{clip}: silent")
        n = len(x) + (BEFORE_S + AFTER_S) * rate
        off = int(rng.integers(len(background[rate]) - n))
        y = background[rate][off:off + n].copy()
        y[BEFORE_S * rate:BEFORE_S * rate + len(x)] += (
            x / np.sqrt(np.mean(x ** 2)) * 10 ** ((BABBLE_DBFS + snr) / 20))
        wav = os.path.join(tmp, f"{i:05d}_{os.path.basename(clip)}")
        wavfile.write(wav, rate, nd.to_pcm16(y))
        yield wav, BEFORE_S, BEFORE_S + len(x) / rate


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--data", default=mmbuild.default_data())
    ap.add_argument("--seed", type=int, default=nd.SEED)
    ap.add_argument("--snr", type=float, default=10)
    ap.add_argument("--noise", choices=("babble", "white"), default="babble")
    ap.add_argument("--keep", metavar="DIR", help="write the mixtures here and keep them")
    ap.add_argument("--words-option", action="append", default=[], metavar="--OPTION=VALUE",
                    help="a detector option for mmdigits words (repeatable)")
    ap.add_argument("clips", nargs="+")
    a = ap.parse_args()
    mmdigits = mmbuild.cli(a.build)
    with tempfile.TemporaryDirectory(prefix="mm-overbabble-") as scratch:
        tmp = a.keep or scratch
        os.makedirs(tmp, exist_ok=True)
        where = {wav: (s, e)
                 for wav, s, e in mixtures(a.clips, a.data, a.seed, a.snr, tmp, a.noise)}
        r = subprocess.run(["nice", "-n", "10", mmdigits, "words", "--json", "--jobs", "1",
                            *a.words_option, *where], capture_output=True, text=True, check=False)
        if r.returncode:
            sys.exit(f"mmdigits words: {r.stderr.strip()}")
        found = elsewhere = 0
        for line in r.stdout.splitlines():
            j = json.loads(line)
            s, e = where[j["file"]]
            hits = sum(1 for w in j["words"] if w["start"] < e and w["end"] > s)
            found += hits > 0
            elsewhere += len(j["words"]) - hits
    n = len(where)
    print(f"{n} clips at {a.snr:g} dB SNR over {a.noise} (seed {a.seed}): word found for {found} "
          f"({100 * found / n:.2f} %), {elsewhere} words elsewhere")


if __name__ == "__main__":
    main()
