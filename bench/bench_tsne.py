#!/usr/bin/python3
"""t-SNE of 10,000 points × 50 dimensions: mmdigits (core/analysis/embed.c, through
tests' embed_helper) beside scikit-learn's Barnes–Hut TSNE, in one script on
the same machine, the same points and the same settings (perplexity 30, PCA
initialisation, learning rate "auto", 1,000 iterations, angle 0.5).

The points: the 10,000 MNIST test images reduced to 50 dimensions by PCA
when the data is there, else 10 Gaussian blobs. Each side runs twice,
alternating (ours, sklearn, ours, sklearn), so a change in the machine's
load shows as a spread rather than as a ratio; sklearn runs in a subprocess
with OMP_NUM_THREADS set to the thread count (its gradient is OpenMP).
Prints wall times, the ratio sklearn ÷ ours, and each embedding's
trustworthiness (5 neighbours, our implementation, which
tests/embed_sklearn.py checks against sklearn's).

Usage: bench_tsne.py BUILD_DIR [THREADS] [N]
"""
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

BUILD = sys.argv[1]
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 2
N = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
HELPER = os.path.abspath(os.path.join(BUILD, "tests", "embed_helper"))

SKLEARN = """
import sys, time, numpy as np
from sklearn.manifold import TSNE
x = np.fromfile(sys.argv[1], np.float32).reshape(-1, 50)
t = time.time()
ts = TSNE(2, perplexity=30, init="pca", learning_rate="auto", method="barnes_hut",
          angle=0.5, random_state=0, n_jobs=int(sys.argv[3]))
y = ts.fit_transform(x).astype(np.float32)
print(time.time() - t, ts.kl_divergence_)
y.tofile(sys.argv[2])
"""


def points():
    data = os.environ.get("MMDIGITS_DATA", os.path.join(os.path.dirname(__file__), "..", "..",
                                                        "shared", "data"))
    path = os.path.join(data, "mnist", "t10k-images-idx3-ubyte.gz")
    if os.path.exists(path):
        with gzip.open(path) as f:
            raw = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:N]
        x = raw.astype(np.float64) / 255
        x -= x.mean(axis=0)
        _, _, vt = np.linalg.svd(x, full_matrices=False)
        return (x @ vt[:50].T).astype(np.float32), "MNIST test images, PCA to 50"
    from sklearn.datasets import make_blobs
    x, _ = make_blobs(N, 50, centers=10, random_state=0)
    return x.astype(np.float32), "10 Gaussian blobs"


def ours(tmp, n):
    t = time.time()
    r = subprocess.run([HELPER, str(THREADS), "tsne", "x.f32", str(n), "50", "ours.f32"],
                       cwd=tmp, capture_output=True, text=True, check=True,
                       env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    return time.time() - t, json.loads(r.stdout)["kl"]


def sklearn(tmp):
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS), OPENBLAS_NUM_THREADS=str(THREADS))
    t = time.time()
    r = subprocess.run(["/usr/bin/python3", "-c", SKLEARN, "x.f32", "sk.f32", str(THREADS)],
                       cwd=tmp, capture_output=True, text=True, check=True, env=env)
    inner, kl = map(float, r.stdout.split())
    return time.time() - t, inner, kl


def trust(tmp, name, n):
    r = subprocess.run([HELPER, str(THREADS), "trust", "x.f32", name, str(n), "50", "2", "5"],
                       cwd=tmp, capture_output=True, text=True, check=True)
    return json.loads(r.stdout)["trustworthiness"]


def main():
    x, what = points()
    n = x.shape[0]
    print(f"t-SNE of {n} x 50 ({what}), {THREADS} threads, load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        x.tofile(os.path.join(tmp, "x.f32"))
        o, s = [], []
        for rnd in range(2):
            wall, kl = ours(tmp, n)
            o.append(wall)
            print(f"  mmdigits  run {rnd + 1}: {wall:7.1f} s  KL {kl:.3f}  load {os.getloadavg()[0]:.1f}")
            wall, inner, kl = sklearn(tmp)
            s.append(inner)
            print(f"  sklearn   run {rnd + 1}: {inner:7.1f} s  KL {kl:.3f}  (process {wall:.1f} s)  "
                  f"load {os.getloadavg()[0]:.1f}")
        print(f"  trustworthiness (5 neighbours): mmdigits {trust(tmp, 'ours.f32', n):.4f}, "
              f"sklearn {trust(tmp, 'sk.f32', n):.4f}")
        print(f"  ratio sklearn / mmdigits: {min(s) / min(o):.2f} (best of each), "
              f"{sum(s) / sum(o):.2f} (sum of both runs)")


if __name__ == "__main__":
    main()
