#!/usr/bin/python3
"""How far the accuracy and the expected calibration error of a held-out
set that repeats few recordings can be trusted (voices-test: 10,000 samples
from 120 clips; a new-speaker:K fold: 10,000 from about 600, a speaker drawn
first, so a clip of a speaker with one clip of a digit repeats hundreds of
times), by resampling recordings, not samples.

Usage: scripts/ece-bootstrap.py PREDICTIONS.tsv... [--set SET]   (SET default heldout_test)
With several files (e.g. the six folds' of one recipe) it also prints the
interval of their mean accuracy, each file's recordings resampled on their own.
PREDICTIONS.tsv: `mmdigits eval --predictions` of a network that hears
audio. Its `recording` column names the file each sample heard; a sample's
weight in the figures is how often its recording repeats. Prints, per file:
the samples, the recordings, their effective number ((sum of weights)^2 /
sum of squared weights: how many equally weighted recordings would carry
as much information), the recordings that are wrong (by weight), and 95 %
percentile intervals of the accuracy and of the ECE over 2,000 resamples of
the recordings (seed 1, one stream for all files), each recording drawn with all its samples. A file
without the column (written before it existed) falls back to a proxy:
samples with the same label, prediction and confidence are one recording.
The ECE is the one of `mmdigits eval` (core/train/metrics.c mm_calibration:
15 equal-width bins by confidence, bin b = ceil(conf·15) − 1),
re-implemented here only to resample; on the whole set it prints eval's
figure. ECE is biased upward on resamples, so its interval is not centred
on the figure: read it as the scale of the noise.
"""
import argparse
import math

import numpy as np

BINS = 15


def read_groups(path, name):
    """{recording: [(confidence, right), ...]} of set @name, and whether the
    recordings were named (else the proxy)."""
    lines = open(path).read().splitlines()
    head = lines[0].split("\t")
    i_rec = head.index("recording") if "recording" in head else None
    groups = {}
    for line in lines[1:]:
        r = line.split("\t")
        if r[0] != name:
            continue
        key = r[i_rec] if i_rec is not None else (r[2], r[3], r[4])
        groups.setdefault(key, []).append((float(r[4]), r[2] == r[3]))
    return groups, i_rec is not None


def tables(groups):
    """Per recording: its samples per confidence bin, their confidence sum
    and their right ones (G × BINS each)."""
    g = len(groups)
    cnt, conf, right = np.zeros((g, BINS)), np.zeros((g, BINS)), np.zeros((g, BINS))
    for i, samples in enumerate(groups.values()):
        for c, ok in samples:
            b = min(max(math.ceil(c * BINS) - 1, 0), BINS - 1)
            cnt[i, b] += 1
            conf[i, b] += c
            right[i, b] += ok
    return cnt, conf, right


def figures(draws, cnt, conf, right):
    """Accuracy and ECE of the recordings drawn @draws times each (R × G)."""
    n_b, c_b, r_b = draws @ cnt, draws @ conf, draws @ right
    n = n_b.sum(axis=1)
    return r_b.sum(axis=1) / n, np.abs(r_b - c_b).sum(axis=1) / n


def report(path, name, rng):
    groups, named = read_groups(path, name)
    if not groups:
        raise SystemExit(f"{path}: no sample of set {name}")
    cnt, conf, right = tables(groups)
    w = cnt.sum(axis=1)
    acc, ece = figures(np.ones((1, len(w))), cnt, conf, right)
    wrong = sorted(((w[i] - right[i].sum(), k) for i, k in enumerate(groups) if right[i].sum() < w[i]),
                   reverse=True)
    draws = rng.multinomial(len(w), np.full(len(w), 1 / len(w)), size=2000).astype(float)
    accs, eces = figures(draws, cnt, conf, right)
    lo_a, hi_a = np.percentile(accs, [2.5, 97.5])
    lo_e, hi_e = np.percentile(eces, [2.5, 97.5])
    report.accs.append(accs)
    print(f"{path}: {int(w.sum())} samples, {len(w)} recordings{'' if named else ' (proxy)'}, "
          f"{w.sum() ** 2 / (w ** 2).sum():.0f} effective; accuracy {100 * acc[0]:.2f} % "
          f"[{100 * lo_a:.2f}, {100 * hi_a:.2f}], ECE {100 * ece[0]:.2f} % [{100 * lo_e:.2f}, "
          f"{100 * hi_e:.2f}]; {len(wrong)} recordings wrong in some sample, the heaviest: "
          + ", ".join(f"{k if named else '/'.join(k)} ({int(n)})" for n, k in wrong[:6]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tsv", nargs="+")
    ap.add_argument("--set", default="heldout_test")
    args = ap.parse_args()
    report.accs = []
    rng = np.random.default_rng(1)   # one stream: each file's draws independent of the others'
    for path in args.tsv:
        report(path, args.set, rng)
    if len(args.tsv) > 1:
        mean = np.mean(report.accs, axis=0)
        lo, hi = np.percentile(mean, [2.5, 97.5])
        print(f"mean accuracy of the {len(args.tsv)} files: 95 % of resamples in "
              f"[{100 * lo:.2f}, {100 * hi:.2f}] %")


if __name__ == "__main__":
    main()
