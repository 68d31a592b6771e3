#!/usr/bin/python3
"""The PyTorch reference for bench_train: the same five networks (the
definitions of tests/parity_pytorch.py), the same batch sizes, the same
measurements: training samples/s (forward + backward + Adam step, median of
5 timed blocks) and batch-1 evaluation latency (median and p90 of the
fastest of 5 blocks).

Usage: bench_pytorch.py [--threads N] [--seconds S]   (JSON lines on stdout)
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
try:
    import torch
    import parity_pytorch as ref
except ImportError:
    print("skipped: torch not installed", file=sys.stderr)
    sys.exit(77)

BATCH = {"ImageNet_CNN": 32, "AudioNet_CNN": 64, "AudioNet_LSTM": 64,
         "HybridNet_CNN": 32, "HybridNet_CNN_LSTM": 64}


def inputs(batch):
    return torch.randn(batch, 1, 28, 28), torch.randn(batch, 39, 13)


def train_rate(arch, batch, block_s):
    net = ref.Net(arch).float().train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-5)
    image, audio = inputs(batch)
    labels = torch.arange(batch) % 10
    loss_fn = torch.nn.CrossEntropyLoss()
    steps, rates = 1, []
    for block in range(-1, 5):
        t0 = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad()
            loss = loss_fn(net(image, audio), labels)
            loss.backward()
            opt.step()
        s = time.perf_counter() - t0
        if block < 0:
            steps = max(1, int(block_s / (s / steps)))
            continue
        rates.append(steps * batch / s)
    return sorted(rates)[2]


def latency(arch, total_s):
    net = ref.Net(arch).float().eval()
    image, audio = inputs(1)
    blocks = []
    with torch.no_grad():
        for _ in range(20):
            net(image, audio)
        # as bench_train.c: 5 blocks, the block with the lowest median
        # (a shared machine slows whole stretches of calls)
        for _ in range(5):
            times = []
            end = time.perf_counter() + total_s / 5
            while time.perf_counter() < end or len(times) < 20:
                t0 = time.perf_counter()
                net(image, audio)
                times.append((time.perf_counter() - t0) * 1e3)
            times.sort()
            blocks.append((times[len(times) // 2], times[len(times) * 9 // 10]))
    return min(blocks)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seconds", type=float, default=1.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for arch, batch in BATCH.items():
        rate = train_rate(arch, batch, args.seconds)
        med, p90 = latency(arch, args.seconds)
        print(json.dumps({"impl": "pytorch " + torch.__version__, "arch": arch, "batch": batch,
                          "train_samples_per_s": round(rate, 1), "latency_ms": round(med, 4),
                          "latency_p90_ms": round(p90, 4), "threads": args.threads}), flush=True)


if __name__ == "__main__":
    main()
