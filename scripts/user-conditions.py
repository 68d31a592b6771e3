#!/usr/bin/python3
"""The models as users meet them (issue 10, point 7): every model given, on
every condition that applies to it, through `mmdigits eval --json`.

  scripts/user-conditions.py run [--build build] --out FILE.jsonl LABEL=MODEL...
  scripts/user-conditions.py tables FILE.jsonl

run: LABEL names the model in the tables (e.g. study, robust); MODEL is one
model file. Conditions (fixed, none chosen on these results):
  - every network: paper (split test), clean (held-out);
  - networks that see images: writers (the new-writers proxy: MNIST test
    images thinner, thicker, slanted, blurred or noisy, one kind each in
    turn) and, for image-only networks, writers:KIND for each kind alone;
  - networks that hear audio: voices (unheard voices) and clean (FSDD's
    test recordings), each with white, pink and babble noise at 20, 10 and
    0 dB SNR (--snr, --noise).
Appends one JSON line per evaluation (eval's JSON with "label" added) and
skips the evaluations FILE already holds, so an interrupted run resumes.
Runs each eval under `nice -n 10`.

tables: Markdown tables of accuracy and expected calibration error.
"""
import argparse
import json
import os
import subprocess
import sys

KINDS = ["thin", "thick", "slant", "blur", "noise"]
NOISES = ["white", "pink", "babble"]
SNRS = [20, 10, 0]


def conditions(arch):
    image, audio = not arch.startswith("Audio"), not arch.startswith("Image")
    out = [("paper", None, None), ("clean", None, None)]
    if image:
        out.append(("writers", None, None))
        if not audio:
            out += [(f"writers:{k}", None, None) for k in KINDS]
    if audio:
        out.append(("voices", None, None))
        # 10 dB everywhere first, then 0 and 20: an interrupted run has each noise and set
        out += [(p, n, s) for s in (10, 0, 20) for p in ("voices", "clean") for n in NOISES]
    return out


def key(model, protocol, noise, snr):
    return f"{model}|{protocol}|{noise or ''}|{'' if snr is None else snr}"


def run(a):
    mmdigits = os.path.join(a.build, "tools", "mmdigits")
    done = set()
    if os.path.exists(a.out):
        for line in open(a.out):
            j = json.loads(line)
            done.add(key(j["model"], j["protocol"], j.get("noise"), j.get("snr_db")))
    for spec in a.models:
        label, _, model = spec.partition("=")
        if not model:
            sys.exit(f"{spec}: expected LABEL=MODEL")
        info = subprocess.run([mmdigits, "inspect", "--json", model], capture_output=True,
                              text=True, check=True)
        arch = json.loads(info.stdout)["arch"]
        for protocol, noise, snr in conditions(arch):
            if key(model, protocol, noise, snr) in done:
                continue
            cmd = ["nice", "-n", "10", mmdigits, "eval", "--json", "-m", model, "-p", protocol]
            if noise:
                cmd += ["--snr", str(snr), "--noise", noise]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode:
                sys.exit(f"{' '.join(cmd)}: {r.stderr.strip()}")
            j = json.loads(r.stdout)
            j["label"] = label
            with open(a.out, "a") as f:
                f.write(json.dumps(j) + "\n")
            res = j.get("heldout_test") or j["split_test"]
            print(f"{label:8} {j['arch']:18} {protocol:14} {noise or 'clean':7} "
                  f"{'' if snr is None else snr:>3} {100 * res['accuracy']:6.2f} % "
                  f"ECE {100 * res['ece']:5.2f} %", flush=True)


def tables(a):
    rows = [json.loads(line) for line in open(a.file)]

    def res(j):
        return j["heldout_test"] if "heldout_test" in j else j["split_test"]

    def name(j):
        return f"{j['arch']} ({j['label']})"

    nets = list(dict.fromkeys(name(j) for j in rows))
    get = {}
    for j in rows:
        get[(name(j), j["protocol"], j.get("noise"), j.get("snr_db"))] = res(j)

    def cell(r, what="accuracy"):
        return "—" if r is None else f"{100 * r[what]:.2f}"

    print("New writers (held-out: the 10,000 MNIST test images changed; hybrids paired with "
          "clean's FSDD test recordings)\n")
    cols = ["clean", "writers"] + [f"writers:{k}" for k in KINDS]
    print("| network | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for n in nets:
        if not get.get((n, "writers", None, None)):
            continue
        print(f"| {n} | " + " | ".join(cell(get.get((n, c, None, None))) for c in cols) + " |")
    for p, what in (("voices", "unheard voices × MNIST test"), ("clean", "FSDD test recordings × MNIST test")):
        print(f"\nNoisy audio, {p} ({what}): accuracy %, noise mixed at the SNR\n")
        cols = ["no noise"] + [f"{n} {s} dB" for n in NOISES for s in SNRS]
        print("| network | " + " | ".join(cols) + " |")
        print("|---" * (len(cols) + 1) + "|")
        for n in nets:
            if not any(get.get((n, p, nz, sn)) for nz in NOISES for sn in SNRS):
                continue
            cells = [cell(get.get((n, p, None, None)))]
            cells += [cell(get.get((n, p, nz, s))) for nz in NOISES for s in SNRS]
            print(f"| {n} | " + " | ".join(cells) + " |")
    print("\nExpected calibration error (%, 15 bins) per protocol; target ≤ 2 %; worst: over "
          "every condition measured\n")
    cols = [("paper", None, None), ("clean", None, None), ("voices", None, None),
            ("writers", None, None)] + [(p, nz, 10) for p in ("clean", "voices") for nz in NOISES]
    print("| network | " + " | ".join(c[0] if not c[1] else f"{c[0]} {c[1]} 10 dB" for c in cols)
          + " | worst |")
    print("|---" * (len(cols) + 2) + "|")
    for n in nets:
        eces = [get.get((n,) + c) for c in cols]
        all_eces = [r["ece"] for k, r in get.items() if k[0] == n]
        print(f"| {n} | " + " | ".join(cell(r, "ece") for r in eces)
              + f" | {100 * max(all_eces):.2f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--build", default="build")
    r.add_argument("--out", required=True)
    r.add_argument("models", nargs="+")
    t = sub.add_parser("tables")
    t.add_argument("file")
    a = ap.parse_args()
    run(a) if a.cmd == "run" else tables(a)


if __name__ == "__main__":
    main()
