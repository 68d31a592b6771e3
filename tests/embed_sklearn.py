#!/usr/bin/python3
"""Checks core/analysis/embed.c (PCA, t-SNE, k-means++, ARI, NMI, trustworthiness)
against scikit-learn on the same points: sklearn's own 8×8 digits
(1,797 × 64, shipped with it, so no download), reduced to 50 dimensions.

  - PCA: the same projection as sklearn's PCA, up to each axis's sign
    (|difference| ≤ 1e-3 of the data's scale);
  - our trustworthiness and sklearn's on the same embedding: within 1e-6;
  - our ARI / NMI and sklearn's on the same labelings: within 1e-9;
  - t-SNE (perplexity 30, PCA init): trustworthiness (k = 5) within 0.02
    of sklearn's TSNE on the same 50-d points;
  - k-means (k = 10, k-means++, 10 runs): ARI against the true digits
    within 0.02 of sklearn's KMeans;
  - t-SNE is the same to the bit with 1 and 2 worker threads (OpenBLAS
    single-threaded, as the test environment sets it).

Usage: embed_sklearn.py PATH/TO/embed_helper. Exits 77 (skipped) without
sklearn.
"""
import json
import os
import subprocess
import sys
import tempfile

# sklearn's OpenMP threads spin while they wait: on a machine shared with
# other work, two of them ran its t-SNE six times slower than one
os.environ.setdefault("OMP_NUM_THREADS", "1")

try:
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE, trustworthiness
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
except ImportError as e:
    print(f"skipped: scikit-learn not installed ({e}); apt-get install python3-sklearn")
    sys.exit(77)

HELPER = sys.argv[1]
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(tmp, threads, *args):
    r = subprocess.run([HELPER, str(threads)] + [str(a) for a in args],
                       capture_output=True, text=True, cwd=tmp)
    if r.returncode != 0:
        print(r.stderr)
        sys.exit(1)
    return json.loads(r.stdout) if r.stdout.strip() else None


def main():
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    n, d = X.shape
    with tempfile.TemporaryDirectory() as tmp:
        X.tofile(os.path.join(tmp, "x.f32"))

        run(tmp, 2, "pca", "x.f32", n, d, 50, "p.f32")
        P = np.fromfile(os.path.join(tmp, "p.f32"), np.float32).reshape(n, 50)
        Ps = PCA(50).fit_transform(X.astype(np.float64))
        worst = max(min(np.abs(P[:, c] - Ps[:, c]).max(), np.abs(P[:, c] + Ps[:, c]).max())
                    for c in range(50))
        check(worst <= 1e-3 * np.abs(Ps).max(), f"PCA to 50: max |ours − sklearn| {worst:.2e}")

        info = run(tmp, 2, "tsne", "p.f32", n, 50, "y.f32")
        Y = np.fromfile(os.path.join(tmp, "y.f32"), np.float32).reshape(n, 2)
        ours = run(tmp, 2, "trust", "p.f32", "y.f32", n, 50, 2, 5)["trustworthiness"]
        theirs_fn = trustworthiness(P, Y, n_neighbors=5)
        check(abs(ours - theirs_fn) <= 1e-6,
              f"trustworthiness of our t-SNE: ours {ours:.6f}, sklearn's function {theirs_fn:.6f}")
        ts = TSNE(2, perplexity=30, init="pca", learning_rate="auto", random_state=0)
        Ys = ts.fit_transform(P)
        t_sk = trustworthiness(P, Ys, n_neighbors=5)
        check(abs(ours - t_sk) <= 0.02,
              f"t-SNE trustworthiness: ours {ours:.4f} (KL {info['kl']:.3f}), "
              f"sklearn {t_sk:.4f} (KL {ts.kl_divergence_:.3f})")

        run(tmp, 1, "tsne", "p.f32", n, 50, "y1.f32")
        same = open(os.path.join(tmp, "y.f32"), "rb").read() == \
            open(os.path.join(tmp, "y1.f32"), "rb").read()
        check(same, "t-SNE identical with 1 and 2 worker threads")

        run(tmp, 2, "kmeans", "p.f32", n, 50, 10, "l.i32")
        L = np.fromfile(os.path.join(tmp, "l.i32"), np.int32)
        Ls = KMeans(10, n_init=10, random_state=0).fit_predict(P)
        a_ours, a_sk = adjusted_rand_score(y, L), adjusted_rand_score(y, Ls)
        check(abs(a_ours - a_sk) <= 0.02, f"k-means ARI: ours {a_ours:.4f}, sklearn {a_sk:.4f}")

        y.astype(np.int32).tofile(os.path.join(tmp, "a.i32"))
        sc = run(tmp, 2, "scores", "a.i32", "l.i32", n)
        nmi = normalized_mutual_info_score(y, L)
        check(abs(sc["ari"] - a_ours) <= 1e-9 and abs(sc["nmi"] - nmi) <= 1e-9,
              f"ARI {sc['ari']:.9f} / NMI {sc['nmi']:.9f} equal sklearn's "
              f"{a_ours:.9f} / {nmi:.9f}")
        # degenerate labelings: one cluster each, identical partitions relabelled
        np.zeros(n, np.int32).tofile(os.path.join(tmp, "z.i32"))
        sc = run(tmp, 2, "scores", "z.i32", "z.i32", n)
        check(sc["ari"] == 1.0 and sc["nmi"] == 1.0, "one cluster against itself: ARI = NMI = 1")
        ((y * 7 + 3) % 10).astype(np.int32).tofile(os.path.join(tmp, "r.i32"))
        sc = run(tmp, 2, "scores", "a.i32", "r.i32", n)
        check(abs(sc["ari"] - 1) < 1e-12 and abs(sc["nmi"] - 1) < 1e-12,
              "a relabelled partition: ARI = NMI = 1")

    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)


if __name__ == "__main__":
    main()
