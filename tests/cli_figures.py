#!/usr/bin/python3
"""mmdigits figures end to end, on a small part of the clean protocol
(--samples 400, --tsne-samples 200) with the shipped models.

Checks:
  - every figure listed in figures.json exists as a valid PNG (signature,
    IHDR) of the recorded pixel size and as an SVG whose root is <svg> with
    the recorded size in points;
  - figures.json holds the numbers, and they agree with each other: Venn
    regions sum to the samples and the image network's errors there equal
    the off-diagonal of its confusion matrix and the length of Figure 4's
    list; scores lie in their ranges; every robustness series has one value
    per level, and the unworsened level equals the clean accuracy;
    calibration bins count every sample;
  - bad input: no --out (exit 2), a model of the wrong kind for a role,
    missing data, an --out that cannot be made (exit 1, one line on stderr,
    nothing written).

Usage: cli_figures.py PATH/TO/mmdigits. Exits 77 without data.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

MMDIGITS = os.path.abspath(sys.argv[1])
SRC = os.environ.get("MMDIGITS_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), ".."))
MODELS = os.path.join(SRC, "models")
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def data_dir():
    d = os.environ.get("MMDIGITS_DATA")
    if d and os.path.isdir(d):
        return d
    for cand in (os.path.join(SRC, "..", "shared", "data"), "../shared/data"):
        if os.path.isdir(os.path.join(cand, "mnist")) and os.path.isdir(os.path.join(cand, "fsdd")):
            return os.path.abspath(cand)
    return None


def run(*args):
    return subprocess.run([MMDIGITS, "figures"] + list(args), capture_output=True, text=True)


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def svg_size(path):
    root = ET.parse(path).getroot()
    if not root.tag.endswith("svg"):
        return None
    w, h = root.get("width"), root.get("height")
    if not (w and h and w.endswith("pt") and h.endswith("pt")):
        return None
    return float(w[:-2]), float(h[:-2])


def check_bad_input(data, tmp):
    r = run()
    check(r.returncode == 2 and r.stderr.count("\n") == 1, f"no --out: exit 2, one line ({r.stderr.strip()})")
    out = os.path.join(tmp, "wrong-kind")
    r = run("--out", out, "--data", data, "--image", os.path.join(MODELS, "audionet_cnn.safetensors"))
    check(r.returncode == 1 and r.stderr.count("\n") == 1 and "--image needs" in r.stderr
          and not any(n.endswith((".png", ".svg", ".json"))
                      for n in (os.listdir(out) if os.path.isdir(out) else [])),
          f"audio model as --image: exit 1, nothing written ({r.stderr.strip()})")
    r = run("--out", os.path.join(tmp, "nodata"), "--data", os.path.join(tmp, "no-such-dir"))
    check(r.returncode == 1 and r.stderr.count("\n") == 1,
          f"missing data: exit 1, one line ({r.stderr.strip()})")
    blocker = os.path.join(tmp, "a-file")
    open(blocker, "w").close()
    r = run("--out", os.path.join(blocker, "sub"), "--data", data)
    check(r.returncode == 1 and r.stderr.count("\n") == 1 and "--out" in r.stderr,
          f"--out under a file: exit 1, one line ({r.stderr.strip()})")
    if os.geteuid() != 0:
        ro = os.path.join(tmp, "read-only")
        os.mkdir(ro, 0o555)
        r = run("--out", ro, "--data", data)
        check(r.returncode == 1 and "--out" in r.stderr, "read-only --out: exit 1")


def check_outputs(out, fig):
    for stem, info in fig["files"].items():
        png = os.path.join(out, info["png"])
        svg = os.path.join(out, info["svg"])
        size = png_size(png) if os.path.exists(png) else None
        check(size == (info["png_width"], info["png_height"]) and size[0] > 300 and size[1] > 200,
              f"{stem}.png: valid, {size} px as recorded")
        ssize = svg_size(svg) if os.path.exists(svg) else None
        check(ssize is not None and abs(ssize[0] - info["width_pt"]) < 0.5
              and abs(ssize[1] - info["height_pt"]) < 0.5,
              f"{stem}.svg: valid, {ssize} pt as recorded")
    expected = {"figure4-errors", "figure5-venn", "figure6-imagenet_cnn", "figure7-audionet_cnn",
                "figure8-hybridnet_cnn", "robustness", "calibration", "confusion"}
    check(expected <= set(fig["files"]), f"every figure drawn: {sorted(fig['files'])}")
    leftovers = [n for n in os.listdir(out) if ".png." in n or ".svg." in n]
    check(not leftovers, "no temporary files left")


def check_numbers(fig, samples):
    conf = fig["confusion"]
    image = fig["figure4"]["networks"][0]
    m = conf[image]["matrix"]
    image_errors = sum(m[t][k] for t in range(10) for k in range(10) if t != k)
    check(conf[image]["samples"] == samples and sum(map(sum, m)) == samples,
          f"confusion of {image} counts {samples} samples")
    check(len(fig["figure4"]["image_wrong"]) == image_errors,
          f"Figure 4 lists the {image_errors} errors of {image}")
    for proto in ("paper", "clean"):
        v = fig["figure5"][proto]
        regions = [v[k] for k in ("none", "image", "audio", "image_audio", "hybrid",
                                  "image_hybrid", "audio_hybrid", "all")]
        check(sum(regions) == v["samples"], f"Venn {proto}: regions sum to {v['samples']}")
    v = fig["figure5"]["clean"]
    check(v["image"] + v["image_audio"] + v["image_hybrid"] + v["all"] == image_errors,
          "Venn clean: the image set equals the confusion matrix's errors")
    for key, parts in (("figure6", ["image_encoder"]), ("figure7", ["audio_encoder"]),
                       ("figure8", ["image_encoder", "audio_encoder", "fusion"])):
        for p in parts:
            e = fig[key][p]
            check(0.8 <= e["trustworthiness"] <= 1 and -0.5 <= e["kmeans_ari"] <= 1
                  and 0 <= e["kmeans_nmi"] <= 1 and e["pca_dimensions"] <= 50,
                  f"{key} {p}: trustworthiness {e['trustworthiness']:.3f}, "
                  f"ARI {e['kmeans_ari']:.3f}, NMI {e['kmeans_nmi']:.3f}")
    rob = fig["robustness"]
    for sweep in ("audio_white_noise", "audio_babble_noise", "image_occlusion", "image_noise",
                  "image_blur"):
        s = rob[sweep]
        ok = all(len(a) == len(s["levels"]) and all(0 <= x <= 1 for x in a)
                 for a in s["accuracy"].values())
        # the first level leaves the input as it is: every network at its clean accuracy
        first = all(abs(a[0] - conf[net]["accuracy"]) < 1e-9 for net, a in s["accuracy"].items())
        check(ok and first and len(s["accuracy"]) == len(conf),
              f"robustness {sweep}: {len(s['levels'])} levels, starts at the clean accuracy")
    nets = [k for k, v in fig["calibration"].items() if isinstance(v, dict)]
    check(sorted(nets) == sorted(conf), f"calibration of every network: {nets}")
    for net in nets:
        c = fig["calibration"][net]
        n = sum(b["count"] for b in c["bins"])
        check(n == samples and 0 <= c["ece"] <= 1, f"calibration {net}: {n} samples, ECE {c['ece']:.4f}")


def main():
    data = data_dir()
    if not data:
        print("skipped: no data")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as tmp:
        check_bad_input(data, tmp)
        out = os.path.join(tmp, "figs")
        r = run("--out", out, "--data", data, "--samples", "400", "--tsne-samples", "200")
        check(r.returncode == 0, f"figures on 400 samples: exit {r.returncode} {r.stderr.strip()}")
        if r.returncode == 0:
            fig = json.load(open(os.path.join(out, "figures.json")))
            check_outputs(out, fig)
            check_numbers(fig, 400)
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)


if __name__ == "__main__":
    main()
