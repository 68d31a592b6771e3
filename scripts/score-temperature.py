#!/usr/bin/python3
"""A temperature that depends on how clearly the word stood out (issue 10:
calibration in noise), as a study: fitted on the calibration sets only,
reported on the others. Python's standard library only.

  scripts/score-temperature.py run [--build build] [--threads 1] --out DIR LABEL=MODEL...
  scripts/score-temperature.py fit DIR LABEL [--markdown]

run: for each model, `mmdigits eval --predictions --probabilities --json`
(under `nice -n 10`) on
  - voices-cal (fitting): its two sets clean, and the calibration voices with
    white, pink and babble noise at 20, 10 and 0 dB (eval mixes the noise
    into that set only);
  - voices-test and clean (reporting): the held-out set clean and with the
    same nine noises.
Files DIR/LABEL.PROTOCOL.NOISE.tsv and .json; existing ones are kept (a
stopped run resumes).

fit: per sample, the word score s (dB: the file's `score` column; `nan`, no
word found, counts as 0) and the logits z = T_file * ln p (p from p0..p9,
at least 1e-45). Model (the rule, /work/notes/rule-score-T.md):
    T(s) = exp(a + b * max(0, s0 - s)),  b >= 0,
(a, b) minimising the mean negative log-likelihood of the fitting pool for
each s0 in S0_GRID, the s0 of the lowest one kept. Control: one temperature
fitted on the same pool. Prints ECE (15 equal-width bins, as eval's
mm_calibration) per reporting condition at the file's T, the pooled single
T and the score temperature, and the rule's verdict.
"""
import argparse
import json
import math
import os
import subprocess
import sys

NOISES = ["white", "pink", "babble"]
SNRS = [20, 10, 0]
S0_GRID = [10, 15, 20, 25, 30, 35, 40, 45]
BINS = 15
P_MIN = 1e-45
FIT_PROTOCOL = "voices-cal"
REPORT = ["voices-test", "clean"]


def conditions():
    """(protocol, noise, snr): the fitting ones first."""
    out = []
    for p in [FIT_PROTOCOL] + REPORT:
        out.append((p, None, None))
        out += [(p, n, s) for n in NOISES for s in SNRS]
    return out


def stem(out, label, protocol, noise, snr):
    cond = "none" if noise is None else f"{noise}{snr}"
    return os.path.join(out, f"{label}.{protocol}.{cond}")


def cmd_run(args):
    os.makedirs(args.out, exist_ok=True)
    exe = os.path.join(args.build, "tools", "mmdigits")
    for spec in args.models:
        label, model = spec.split("=", 1)
        for protocol, noise, snr in conditions():
            base = stem(args.out, label, protocol, noise, snr)
            if os.path.exists(base + ".json"):
                continue
            cmd = ["nice", "-n", "10", exe, "eval", "-m", model, "-p", protocol, "--json",
                   "--threads", str(args.threads), "--predictions", base + ".tsv", "--probabilities"]
            if noise:
                cmd += ["--snr", str(snr), "--noise", noise]
            print(" ".join(cmd[3:]), file=sys.stderr, flush=True)
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            meta = subprocess.run([exe, "inspect", "--json", model], check=True,
                                  capture_output=True, text=True).stdout
            j = json.loads(out)
            j["model_file"] = model
            # the temperature the probabilities were made with
            j["temperature"] = json.loads(meta.splitlines()[0])["provenance"]["temperature"]
            with open(base + ".json.tmp", "w") as fh:
                json.dump(j, fh)
            os.replace(base + ".json.tmp", base + ".json")


class Block:
    """The samples of one set of one condition: grouped (identical label,
    score and probabilities count once, with a weight)."""

    def __init__(self, name, rows, t_file):
        groups = {}
        for label, score, probs in rows:
            k = (label, score, probs)
            groups[k] = groups.get(k, 0) + 1
        self.name = name
        self.n = len(rows)
        self.items = []
        for (label, score, probs), w in groups.items():
            z = [t_file * math.log(max(float(p), P_MIN)) for p in probs]
            s = 0.0 if math.isnan(score) else score
            self.items.append((label, s, z, w))
        self.no_word = sum(w for (label, score, probs), w in groups.items() if math.isnan(score))


def read_blocks(path, t_file, sets):
    """{set name: Block} of a --predictions --probabilities file."""
    lines = open(path).read().splitlines()
    head = lines[0].split("\t")
    i_score, i_p0 = head.index("score"), head.index("p0")
    rows = {}
    for line in lines[1:]:
        r = line.split("\t")
        if r[0] not in sets:
            continue
        rows.setdefault(r[0], []).append(
            (int(r[2]), float(r[i_score]), tuple(r[i_p0:i_p0 + 10])))
    return {k: Block(k, v, t_file) for k, v in rows.items()}


def softmax(z, inv_t):
    m = max(z)
    e = [math.exp((v - m) * inv_t) for v in z]
    s = sum(e)
    return [v / s for v in e]


def ece(block, temp):
    """Expected calibration error of @block with per-sample temperature
    temp(score), as mm_calibration (bin = ceil(conf * BINS) - 1)."""
    cnt, conf, acc = [0] * BINS, [0.0] * BINS, [0.0] * BINS
    for label, s, z, w in block.items:
        p = softmax(z, 1.0 / temp(s))
        k = max(range(10), key=p.__getitem__)
        b = min(max(math.ceil(p[k] * BINS) - 1, 0), BINS - 1)
        cnt[b] += w
        conf[b] += w * p[k]
        acc[b] += w * (k == label)
    n = sum(cnt)
    return sum(abs(acc[b] - conf[b]) / n for b in range(BINS) if cnt[b])


def accuracy(block):
    return sum(w for label, s, z, w in block.items
               if max(range(10), key=z.__getitem__) == label) / block.n


def nll_terms(items, a, b, s0):
    """Mean NLL and its gradient and Hessian in (a, b) for
    T = exp(a + b * d), d = max(0, s0 - s). With u = 1/T the loss
    f(u) = LSE(u z) - u z_y has f' = E[z] - z_y and f'' = Var[z]."""
    tot = f = ga = gb = haa = hab = hbb = 0.0
    for label, s, z, w in items:
        d = max(0.0, s0 - s)
        u = math.exp(-(a + b * d))
        m = max(z)
        e = [math.exp((v - m) * u) for v in z]
        se = sum(e)
        p = [v / se for v in e]
        ez = sum(pi * zi for pi, zi in zip(p, z))
        vz = sum(pi * (zi - ez) ** 2 for pi, zi in zip(p, z))
        fi = m * u + math.log(se) - u * z[label]
        f1 = ez - z[label]
        # du/da = -u, du/db = -u d
        g = -f1 * u
        h = vz * u * u + f1 * u
        tot += w
        f += w * fi
        ga += w * g
        gb += w * g * d
        haa += w * h
        hab += w * h * d
        hbb += w * h * d * d
    return f / tot, (ga / tot, gb / tot), (haa / tot, hab / tot, hbb / tot)


def fit(items, s0, fix_b=False):
    """Damped Newton on (a, b), b >= 0 (b = 0 with fix_b: one temperature)."""
    a, b = 0.0, 0.0
    f, g, h = nll_terms(items, a, b, s0)
    for _ in range(100):
        if fix_b or (b <= 0 and g[1] >= 0):
            # only a moves
            step = (-g[0] / h[0] if h[0] > 0 else -g[0], 0.0)
        else:
            det = h[0] * h[2] - h[1] * h[1]
            if h[0] > 0 and det > 0:
                step = (-(h[2] * g[0] - h[1] * g[1]) / det, -(h[0] * g[1] - h[1] * g[0]) / det)
            else:
                step = (-g[0], -g[1])
        lam = 1.0
        while lam > 1e-6:
            na, nb = a + lam * step[0], max(0.0, b + lam * step[1])
            nf, ng, nh = nll_terms(items, na, nb, s0)
            if nf <= f:
                break
            lam /= 2
        if lam <= 1e-6 or f - nf < 1e-10:
            if nf <= f:
                a, b, f = na, nb, nf
            break
        a, b, f, g, h = na, nb, nf, ng, nh
    return a, b, f


def cmd_fit(args):
    label = args.label
    fit_blocks, report = [], []
    t_file = None
    for protocol, noise, snr in conditions():
        base = stem(args.dir, label, protocol, noise, snr)
        j = json.load(open(base + ".json"))
        if t_file is None:
            t_file = float(j["temperature"])
        if protocol == FIT_PROTOCOL:
            sets = ["validation", "validation_voices"] if noise is None else ["validation_voices"]
        else:
            sets = ["heldout_test"]
        blocks = read_blocks(base + ".tsv", t_file, sets)
        for s in sets:
            blk = blocks[s]
            blk.name = f"{protocol} {s} {'none' if noise is None else f'{noise} {snr} dB'}"
            blk.eval_ece = j[s]["ece"]
            (fit_blocks if protocol == FIT_PROTOCOL else report).append(blk)
    pool = [it for blk in fit_blocks for it in blk.items]
    print(f"{label}: file temperature {t_file:g}; fitting pool {sum(b.n for b in fit_blocks)} "
          f"samples ({len(pool)} distinct), {len(fit_blocks)} blocks")
    a1, _, f1 = fit(pool, 0.0, fix_b=True)
    print(f"pooled single T {math.exp(a1):.4f} (NLL {f1:.4f})")
    best = None
    for s0 in S0_GRID:
        a, b, f = fit(pool, s0)
        print(f"  s0 {s0:2d} dB: a {a:+.4f} (T at or above s0 {math.exp(a):.3f}), b {b:.4f}/dB, NLL {f:.4f}")
        if best is None or f < best[3]:
            best = (s0, a, b, f)
    s0, a, b, f = best
    print(f"chosen (lowest NLL on the fitting pool): s0 {s0} dB, T(s) = exp({a:.4f} + {b:.4f}"
          f" * max(0, {s0} - s)); T at s = 0 (or no word): {math.exp(a + b * s0):.3f}")

    t_shipped = lambda s: t_file
    t_single = lambda s: math.exp(a1)
    t_score = lambda s: math.exp(a + b * max(0.0, s0 - s))
    rows = []
    for blk in fit_blocks + report:
        e = (ece(blk, t_shipped), ece(blk, t_single), ece(blk, t_score))
        assert abs(e[0] - blk.eval_ece) < 1e-4, (blk.name, e[0], blk.eval_ece)
        rows.append((blk, e))
    print("\n| set (condition) | role | accuracy % | no word | ECE % file T | pooled single T | score T |")
    print("|---|---|---|---|---|---|---|")
    for blk, e in rows:
        role = "fit" if blk.name.startswith(FIT_PROTOCOL) else "report"
        print(f"| {blk.name} | {role} | {100 * accuracy(blk):.2f} | {blk.no_word} | "
              f"{100 * e[0]:.2f} | {100 * e[1]:.2f} | {100 * e[2]:.2f} |")
    rep = [(blk, e) for blk, e in rows if not blk.name.startswith(FIT_PROTOCOL)]
    worst = [max(rep, key=lambda r: r[1][k]) for k in range(3)]
    for k, what in enumerate(["file T", "pooled single T", "score T"]):
        blk, e = worst[k]
        met = sum(1 for _, ee in rep if ee[k] <= 0.02)
        print(f"worst over the {len(rep)} reporting conditions, {what}: {100 * e[k]:.2f} % "
              f"({blk.name}); <= 2 % in {met} of {len(rep)}")
    clean = [(blk, e) for blk, e in rep if blk.name.endswith("none")]
    w = [worst[k][1][k] for k in range(3)]
    ok_a = w[2] <= w[0] / 2
    ok_b = w[2] <= w[1] - 0.02
    ok_c = all(e[2] <= e[0] + 0.005 for _, e in clean)
    print(f"rule: (a) worst {100 * w[2]:.2f} <= half of {100 * w[0]:.2f}: {ok_a}; "
          f"(b) {100 * w[2]:.2f} <= {100 * w[1]:.2f} - 2: {ok_b}; (c) no-noise ECE "
          + ", ".join(f"{blk.name.split()[0]} {100 * e[0]:.2f} -> {100 * e[2]:.2f}" for blk, e in clean)
          + f" (at most +0.5): {ok_c}; PASS: {ok_a and ok_b and ok_c}")
    hybrid_ok = w[2] <= w[0] and ok_c
    print(f"hybrids' 'no harm' (worst not above the file T's, no-noise +0.5 at most): {hybrid_ok}")

    # Diagnostics, choosing nothing: what the score says of each condition,
    # and (fitting blocks only) the best one temperature per block could do.
    print("\n| set (condition) | score dB: 10th / 50th / 90th percentile | accuracy % where score < 20 / >= 20 dB (samples) |")
    print("|---|---|---|")
    for blk in fit_blocks + report:
        sc = sorted(s for label, s, z, w in blk.items for _ in range(w))
        q = lambda f: sc[min(len(sc) - 1, int(f * len(sc)))]
        lo = [(w, max(range(10), key=z.__getitem__) == label) for label, s, z, w in blk.items if s < 20]
        hi = [(w, max(range(10), key=z.__getitem__) == label) for label, s, z, w in blk.items if s >= 20]
        acc = lambda g: (f"{100 * sum(w for w, r in g if r) / sum(w for w, r in g):.1f} ({sum(w for w, r in g)})"
                         if g else "- (0)")
        print(f"| {blk.name} | {q(0.1):.1f} / {q(0.5):.1f} / {q(0.9):.1f} | {acc(lo)} / {acc(hi)} |")
    print("\nper-block single T fitted on the block itself (fitting blocks only; a bound, not a method):")
    for blk in fit_blocks:
        ab, _, _ = fit(blk.items, 0.0, fix_b=True)
        print(f"  {blk.name}: T {math.exp(ab):.3f}, ECE {100 * ece(blk, lambda s: math.exp(ab)):.2f} %")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--build", default="build")
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--out", required=True)
    r.add_argument("models", nargs="+", metavar="LABEL=MODEL")
    f = sub.add_parser("fit")
    f.add_argument("dir")
    f.add_argument("label")
    args = ap.parse_args()
    cmd_run(args) if args.cmd == "run" else cmd_fit(args)


if __name__ == "__main__":
    main()
