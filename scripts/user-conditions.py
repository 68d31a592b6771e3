#!/usr/bin/python3
"""The models as users meet them (issue 10, point 7): every model given, on
every condition that applies to it, through `mmdigits eval --json`.

  scripts/user-conditions.py run [--build build] [--threads N] --out FILE.jsonl LABEL=MODEL...
  scripts/user-conditions.py tables FILE.jsonl

run: LABEL names the model in the tables beside its file's directory (e.g. a
run's name: RAL, or study); MODEL is one model file. Conditions (fixed, none
chosen on these results):
  - every network: paper (split test), clean (held-out);
  - networks that see images: writers (the new-writers proxy: MNIST test
    images thinner, thicker, slanted, blurred or noisy, one kind each in
    turn), writers:KIND for each kind alone, and writers-val (the same
    changes to clean's validation split: a set that chooses, shown as such);
  - networks that hear audio: voices (unheard voices) and clean (FSDD's
    test recordings), each with white, pink and babble noise at 20, 10 and
    0 dB SNR (--snr, --noise).
Appends one JSON line per evaluation (eval's JSON with "label" added) and
skips the evaluations FILE already holds, so an interrupted run resumes.
Runs each eval under `nice -n 10`. `new-speaker` is not run here: it needs
one model per fold (scripts/new-speaker.sh).

tables: Markdown tables of accuracy and expected calibration error, and each
hybrid against its better single branch: the image-only and the audio-only
network of the same kind (CNN or LSTM) in the hybrid's directory.
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
        out += [(f"writers:{k}", None, None) for k in KINDS]
        out.append(("writers-val", None, None))
    if audio:
        out.append(("voices", None, None))
        # 10 dB everywhere first, then 0 and 20: an interrupted run has each noise and set
        out += [(p, n, s) for s in (10, 0, 20) for p in ("voices", "clean") for n in NOISES]
    return out


def key(model, protocol, noise, snr):
    # eval's JSON gives snr_db as a float (20.0): compare numbers, not their spelling
    return f"{model}|{protocol}|{noise or ''}|{'' if snr is None else float(snr)}"


def result(j):
    """The set a row reports: the held-out test, else (paper) the split test,
    else (writers-val) the changed validation split."""
    for k in ("heldout_test", "split_test", "validation_writers"):
        if k in j:
            return j[k]
    sys.exit(f"{j['model']} {j['protocol']}: no scored set in the row")


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
            if a.threads:
                cmd += ["--threads", str(a.threads)]
            if noise:
                cmd += ["--snr", str(snr), "--noise", noise]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode:
                sys.exit(f"{' '.join(cmd)}: {r.stderr.strip()}")
            j = json.loads(r.stdout)
            j["label"] = label
            with open(a.out, "a") as f:
                f.write(json.dumps(j) + "\n")
            res = result(j)
            print(f"{label:8} {j['arch']:18} {protocol:14} {noise or 'clean':7} "
                  f"{'' if snr is None else snr:>3} {100 * res['accuracy']:6.2f} % "
                  f"ECE {100 * res['ece']:5.2f} %", flush=True)


def tables(a):
    rows = [json.loads(line) for line in open(a.file)]

    def where(j):
        return (os.path.dirname(j["model"]) or ".") + "/"

    def name(j):
        return f"{j['arch']}, {where(j)} ({j['label']})"

    nets = list(dict.fromkeys(name(j) for j in rows))
    by_file = {(where(j), j["arch"]): name(j) for j in rows}
    get = {}
    for j in rows:
        snr = j.get("snr_db")
        get[(name(j), j["protocol"], j.get("noise"), None if snr is None else float(snr))] = result(j)

    def acc(n, *cond):
        r = get.get((n,) + cond)
        return None if r is None else 100 * r["accuracy"]

    def cell(r, what="accuracy"):
        return "—" if r is None else f"{100 * r[what]:.2f}"

    noisy = [(nz, float(s)) for nz in NOISES for s in SNRS]

    print("New writers (held-out: the 10,000 MNIST test images changed; hybrids paired with "
          "clean's FSDD test recordings; writers-val: clean's validation split changed the same "
          "way, a set that chooses, not a test)\n")
    cols = ["clean", "writers"] + [f"writers:{k}" for k in KINDS] + ["writers-val"]
    print("| network | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for n in nets:
        if not get.get((n, "writers", None, None)):
            continue
        print(f"| {n} | " + " | ".join(cell(get.get((n, c, None, None))) for c in cols) + " |")
    for p, what in (("voices", "unheard voices × MNIST test"), ("clean", "FSDD test recordings × MNIST test")):
        print(f"\nNoisy audio, {p} ({what}): accuracy %, noise mixed at the SNR\n")
        cols = ["no noise"] + [f"{n} {s:g} dB" for n, s in noisy]
        print("| network | " + " | ".join(cols) + " |")
        print("|---" * (len(cols) + 1) + "|")
        for n in nets:
            if not any(get.get((n, p, nz, s)) for nz, s in noisy):
                continue
            cells = [cell(get.get((n, p, None, None)))]
            cells += [cell(get.get((n, p, nz, s))) for nz, s in noisy]
            print(f"| {n} | " + " | ".join(cells) + " |")
    hybrid_vs_branches(nets, by_file, acc, noisy)
    print("\nExpected calibration error (%, 15 bins) per protocol; target ≤ 2 %; worst: over "
          "every condition measured\n")
    cols = [("paper", None, None), ("clean", None, None), ("voices", None, None),
            ("writers", None, None)] + [(p, nz, 10.0) for p in ("clean", "voices") for nz in NOISES]
    print("| network | " + " | ".join(c[0] if not c[1] else f"{c[0]} {c[1]} 10 dB" for c in cols)
          + " | worst (condition) |")
    print("|---" * (len(cols) + 2) + "|")
    for n in nets:
        eces = [get.get((n,) + c) for c in cols]
        k, r = max(((k, r) for k, r in get.items() if k[0] == n), key=lambda kr: kr[1]["ece"])
        cond = k[1] + ("" if k[2] is None else f" {k[2]} {k[3]:g} dB")
        print(f"| {n} | " + " | ".join(cell(r, "ece") for r in eces)
              + f" | {100 * r['ece']:.2f} ({cond}) |")


def hybrid_vs_branches(nets, by_file, acc, noisy):
    """Issue 10: on every protocol the hybrid at least as good as its better
    single branch. The image branch's figure under audio noise is its clean
    held-out figure (the same 10,000 MNIST test images; voices pairs them too),
    the audio branch's under changed images its clean figure (same recordings)."""
    print("\nEach hybrid against its better single branch (points: hybrid − the better of the "
          "image-only and the audio-only network of its kind in its directory; noise changes "
          "only the audio)\n")
    cols = ["paper", "clean", "writers", "voices", "writers: worst kind", "clean, noise: worst",
            "voices, noise: worst", "conditions below"]
    print("| hybrid | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for n in nets:
        arch, _, rest = n.partition(", ")
        if not arch.startswith("Hybrid"):
            continue
        d = rest.rpartition(" (")[0]
        img = by_file.get((d, "ImageNet_CNN"))
        aud = by_file.get((d, "AudioNet_LSTM" if arch.endswith("LSTM") else "AudioNet_CNN"))
        if not img or not aud:
            continue

        def margin(cond, img_cond, aud_cond):
            h, i, u = acc(n, *cond), acc(img, *img_cond), acc(aud, *aud_cond)
            return None if None in (h, i, u) else (h - max(i, u), cond)

        clean = ("clean", None, None)
        base = [margin(("paper", None, None), ("paper", None, None), ("paper", None, None)),
                margin(clean, clean, clean),
                margin(("writers", None, None), ("writers", None, None), clean),
                margin(("voices", None, None), clean, ("voices", None, None))]
        kinds = [m for m in (margin((f"writers:{k}", None, None), (f"writers:{k}", None, None),
                                    clean) for k in KINDS) if m]
        noisy_m = {p: [m for m in (margin((p, nz, s), clean, (p, nz, s)) for nz, s in noisy) if m]
                   for p in ("clean", "voices")}
        worst = [min(ms, key=lambda m: m[0]) if ms else None
                 for ms in (kinds, noisy_m["clean"], noisy_m["voices"])]
        every = [m for m in base if m] + kinds + noisy_m["clean"] + noisy_m["voices"]
        below = sum(1 for m in every if m[0] < 0)

        def fmt(m, cond=False):
            if m is None:
                return "—"
            what = m[1][0].partition(":")[2] if m[1][1] is None else f"{m[1][1]} {m[1][2]:g} dB"
            return f"{m[0]:+.2f}" + (f" ({what})" if cond else "")

        cells = [fmt(m) for m in base] + [fmt(m, True) for m in worst]
        cells.append(f"{below} of {len(every)}")
        print(f"| {n} | " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--build", default="build")
    r.add_argument("--threads", type=int, help="eval's --threads (default: eval's)")
    r.add_argument("--out", required=True)
    r.add_argument("models", nargs="+")
    t = sub.add_parser("tables")
    t.add_argument("file")
    a = ap.parse_args()
    run(a) if a.cmd == "run" else tables(a)


if __name__ == "__main__":
    main()
