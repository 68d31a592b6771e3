#!/usr/bin/python3
"""A rough 95 % interval for the expected calibration error of an audio-only
network on a held-out set that repeats few recordings (voices, voices-test:
10,000 samples from about 120 clips), by resampling recordings, not samples.

Usage: scripts/ece-bootstrap.py PREDICTIONS.tsv [SET]   (SET default heldout_test)
PREDICTIONS.tsv: `mmdigits eval --predictions`. The TSV does not name the
recording, so samples with the same label, prediction and confidence (to the
six decimals printed) are taken for one recording: for an audio-only network
the same recording gives the same output. It is a proxy: two recordings can
print the same confidence (merged), and the last, smaller batch can change
the sixth decimal (split); the script prints how many groups it found. The
ECE is the one of `mmdigits eval` (core/train/metrics.c mm_calibration: 15
equal-width bins by confidence, bin b = ceil(conf·15) − 1), re-implemented
here only to resample; on the whole set it prints eval's figure. Percentile
interval of 2,000 resamples (seed 1); ECE is biased upward on resamples, so
the interval is wide and not centred on the figure: read it as the scale of
the noise, not as a confidence interval in the strict sense.
"""
import math
import random
import sys
from collections import Counter

BINS = 15


def ece(groups):
    """groups: (weight, confidence, right) triples."""
    n = sum(w for w, _, _ in groups)
    cnt, conf, acc = [0] * BINS, [0.0] * BINS, [0.0] * BINS
    for w, c, right in groups:
        b = min(max(math.ceil(c * BINS) - 1, 0), BINS - 1)
        cnt[b] += w
        conf[b] += w * c
        acc[b] += w * right
    return sum(abs(acc[b] - conf[b]) for b in range(BINS) if cnt[b]) / n


def main():
    path, name = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "heldout_test"
    count = Counter()
    for line in open(path).read().splitlines()[1:]:
        s, _, label, pred, conf = line.split("\t")[:5]   # audio files add the word score
        if s == name:
            count[(label, pred, conf)] += 1
    if not count:
        sys.exit(f"{path}: no sample of set {name}")
    groups = [(w, float(k[2]), k[0] == k[1]) for k, w in count.items()]
    rng = random.Random(1)
    runs = sorted(ece([groups[rng.randrange(len(groups))] for _ in groups]) for _ in range(2000))
    print(f"{path}: {sum(count.values())} samples, {len(groups)} recordings (proxy); ECE "
          f"{100 * ece(groups):.2f} %, 95 % of resamples in [{100 * runs[49]:.2f}, "
          f"{100 * runs[1949]:.2f}] %")


if __name__ == "__main__":
    main()
