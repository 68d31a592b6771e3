#!/usr/bin/python3
"""What a training option costs (`train --mixup 0.2`, `--ema 0.999`, ...):
training throughput (samples per second of training time, as `mmdigits train`
prints it at the end; with --ema, the time of the average's validation counts
too) of the same short run with and without the option, alternated ROUNDS
times so that both see the same machine, and the ratio of the medians (with /
without; the augmentation target of issue 10 is >= 0.70 for any option that
changes the samples).

  bench/option_cost.py [--build build] [--data DIR] [--arch ARCH] [--rounds N]
                       [--limit N] [--option="--mixup 0.2"] [-- train options...]

The run: ARCH on `--protocol new-speaker:1`, `--limit 4000 --epochs 2
--threads 1 --no-calibrate`, FSDD's front end of the shipped audio models;
extra train options after `--` go to both runs. --limit sets the training
samples; validation is the split's 9,000 whatever the limit, so an option
that costs per validation weighs more in a short run than in a full one
(42,000). Needs the data
(MMDIGITS_DATA or --data); exits 77 ("skipped: no data") without it.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

FRONT_END = ["--cmvn", "mean+var", "--high-freq", "4000", "--dc-block"]


def rate(mm, data, arch, limit, extra, out):
    cmd = [mm, "train", "-a", arch, "-p", "new-speaker:1", "--limit", str(limit), "--epochs", "2",
           "--threads", "1", "--no-calibrate", "-o", out, "-d", data] + FRONT_END + extra
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit("option_cost: %s failed: %s" % (" ".join(cmd), res.stderr.strip().splitlines()[-1:]))
    # the summary line: "…; 8 s, 1001 samples/s; wrote …" (the rate from the exact time)
    m = re.search(r"([0-9.]+) samples/s; wrote", res.stderr)
    if not m:
        sys.exit("option_cost: no throughput in: %s" % res.stderr.strip().splitlines()[-1:])
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--data", default=os.environ.get("MMDIGITS_DATA", "../shared/data"))
    ap.add_argument("--arch", default="AudioNet_LSTM")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--limit", type=int, default=4000)
    ap.add_argument("--option", default="--mixup 0.2", help="the option measured, as words")
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    if a.rounds < 1:
        ap.error("--rounds must be at least 1")
    if not os.path.isdir(os.path.join(a.data, "fsdd")):
        print("skipped: no data")
        sys.exit(77)
    mm = os.path.join(a.build, "tools", "mmdigits")
    off, on = [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "m.safetensors")
        for r in range(a.rounds):
            off.append(rate(mm, a.data, a.arch, a.limit, a.extra, out))
            on.append(rate(mm, a.data, a.arch, a.limit, a.extra + a.option.split(), out))
            print("round %d: without %.0f, with %s %.0f samples/s" % (r + 1, off[-1], a.option, on[-1]))
    m_off, m_on = statistics.median(off), statistics.median(on)
    print("%s, %s, %d training samples, median of %d: without %.0f, with %.0f samples/s; ratio with/without %.3f"
          % (a.arch, a.option, a.limit, a.rounds, m_off, m_on, m_on / m_off))


if __name__ == "__main__":
    main()
