#!/usr/bin/python3
"""Two words said in a row: does the word detector give both? Pairs of FSDD
training recordings (indices 5-49, drawn with SEED), each scaled to an RMS of
-25 dBFS, are joined as 300 ms, the first clip, GAP ms, the second clip
scaled by LEVEL dB, 300 ms, over white noise at -70 dBFS, at 8 kHz, and
`mmdigits words --json` runs on them with the detector options given after
`--`. A pair counts when two different words overlap its two clips (one
word across both is one decision, not two).

  bench/words_pairs.py [--build build] [--seed 1] [--pairs 300]
                       [--gaps 100,250,400] [--levels -6,0,6] [-- WORDS-OPTION...]

The detector's masking (docs/results.md "Word detection") was chosen with
these defaults: a quieter sound next to a much louder word is dropped, two
words at similar levels must both stay.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from scipy.io import wavfile

import mmbuild
import noise_decisions as nd
from words_over_babble import read_clip

RATE = 8000
EDGE_S = 0.3
RMS_DBFS, NOISE_DBFS = -25, -70


def write_pairs(clips, a, tmp):
    """One WAV per (pair, gap, level); yields (wav, (s1, e1), (s2, e2), gap, level)."""
    rng = np.random.default_rng(a.seed)
    edge = int(EDGE_S * RATE)
    for i in range(a.pairs):
        j, k = rng.choice(len(clips), size=2, replace=False)
        x1 = nd.at_level(read_clip(clips[j])[1], RMS_DBFS)
        x2 = nd.at_level(read_clip(clips[k])[1], RMS_DBFS)
        for gap in a.gaps:
            g = int(gap * RATE / 1000)
            for level in a.levels:
                n = 2 * edge + len(x1) + g + len(x2)
                y = rng.standard_normal(n) * 10 ** (NOISE_DBFS / 20)
                s2 = edge + len(x1) + g
                y[edge:edge + len(x1)] += x1
                y[s2:s2 + len(x2)] += x2 * 10 ** (level / 20)
                wav = os.path.join(tmp, f"{i:04d}_{gap}_{level:+g}.wav")
                wavfile.write(wav, RATE, nd.to_pcm16(y))
                yield (wav, (edge / RATE, (edge + len(x1)) / RATE),
                       (s2 / RATE, (s2 + len(x2)) / RATE), gap, level)


def overlapping(words, span):
    return {i for i, w in enumerate(words) if w["start"] < span[1] and w["end"] > span[0]}


def both_found(words, first, second):
    """Two different words, one over each clip."""
    a, b = overlapping(words, first), overlapping(words, second)
    return any(i != j for i in a for j in b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--data", default=mmbuild.default_data())
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pairs", type=int, default=300)
    ap.add_argument("--gaps", default="100,250,400", help="ms between the clips")
    ap.add_argument("--levels", default="-6,0,6", help="dB of the second clip against the first")
    ap.add_argument("words_options", nargs="*", help="after --: options of mmdigits words")
    a = ap.parse_args()
    a.gaps = [int(v) for v in a.gaps.split(",")]
    a.levels = [float(v) for v in a.levels.split(",")]
    mmdigits = mmbuild.cli(a.build)
    clips = nd.training_recordings(a.data)
    if not clips:
        sys.exit(f"skipped: no data ({a.data})")
    with tempfile.TemporaryDirectory(prefix="mm-pairs-") as tmp:
        where = {w: rest for w, *rest in write_pairs(clips, a, tmp)}
        r = subprocess.run(["nice", "-n", "10", mmdigits, "words", "--json", *a.words_options,
                            *where], capture_output=True, text=True, check=False)
        if r.returncode:
            sys.exit(f"mmdigits words: {r.stderr.strip()}")
        cells = {}
        for line in r.stdout.splitlines():
            j = json.loads(line)
            first, second, gap, level = where[j["file"]]
            n, ok = cells.get((gap, level), (0, 0))
            cells[(gap, level)] = (n + 1, ok + both_found(j["words"], first, second))
    opts = " ".join(a.words_options) or "defaults"
    print(f"pairs of FSDD training clips (seed {a.seed}), detector: {opts}")
    print("gap ms\tlevel dB\tpairs\tboth found")
    for (gap, level), (n, ok) in sorted(cells.items()):
        print(f"{gap}\t{level:+g}\t{n}\t{ok} ({100 * ok / n:.2f} %)")


if __name__ == "__main__":
    main()
