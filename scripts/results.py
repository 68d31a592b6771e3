#!/usr/bin/python3
"""Evaluates the study-exact models (models/study) and prints the Table 7
tables of docs/results.md (markdown on stdout): accuracy and macro F1 per
protocol beside the study's Table 7, the error overlap of ImageNet_CNN,
AudioNet_CNN and HybridNet_CNN (the study's Venn diagram), and confusion
matrices.

Usage: scripts/results.py BUILD_DIR [MODELS_DIR] > tables.md   (MODELS_DIR: models/study)
The new-speaker table comes from scripts/new-speaker.sh's output
(results/new-speaker.jsonl) when present.
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

STUDY = {"ImageNet_CNN": 99.13, "AudioNet_CNN": 97.75, "AudioNet_LSTM": 97.18,
         "HybridNet_CNN": 99.74, "HybridNet_CNN_LSTM": 99.36}
ORDER = list(STUDY)


def evaluate(build, path, tmp):
    pred = os.path.join(tmp, os.path.basename(path) + ".tsv")
    out = subprocess.check_output([os.path.join(build, "tools", "mmdigits"), "eval", "--json",
                                   "--model", path, "--predictions", pred])
    res = json.loads(out)
    errors = {"split_test": set(), "heldout_test": set()}
    with open(pred) as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["label"] != row["predicted"]:
                errors[row["set"]].add(int(row["index"]))
    return res, errors


def pct(x):
    return f"{100 * x:.2f}"


def confusion(title, c):
    lines = [f"**{title}** (rows: true digit, columns: predicted)", "",
             "| | " + " | ".join(str(k) for k in range(10)) + " |",
             "|---" * 11 + "|"]
    for t, row in enumerate(c):
        lines.append(f"| **{t}** | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    models = sys.argv[2] if len(sys.argv) > 2 else "models/study"
    results, errors = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(os.listdir(models)):
            if name.endswith(".safetensors"):
                res, err = evaluate(build, os.path.join(models, name), tmp)
                results[res["arch"]] = res
                errors[res["arch"]] = err
    print("| network | study (Table 7) | paper: split test, 9,000 | macro F1 | clean: held-out, 10,000 | macro F1 |")
    print("|---|---|---|---|---|---|")
    for arch in ORDER:
        if arch not in results:
            continue
        r = results[arch]
        s, h = r["split_test"], r.get("heldout_test")
        print(f"| {arch} | {STUDY[arch]:.2f} | {pct(s['accuracy'])} | {s['macro_f1']:.4f} | "
              f"{pct(h['accuracy']) if h else '—'} | {h['macro_f1']:.4f} |" if h else "")
    print()
    trio = ("ImageNet_CNN", "AudioNet_CNN", "HybridNet_CNN")
    if all(a in errors for a in trio):
        print("Error overlap (the study's Venn diagram): samples each network gets wrong.\n")
        print("| set | image errors | audio errors | both image and audio wrong | hybrid errors | "
              "image errors the hybrid fixes | hybrid errors the image net got right | hybrid wrong where both single nets were right |")
        print("|---|---|---|---|---|---|---|---|")
        for key, label in (("split_test", "paper (9,000)"), ("heldout_test", "clean (10,000)")):
            i, a, h = (errors[t][key] for t in trio)
            print(f"| {label} | {len(i)} | {len(a)} | {len(i & a)} | {len(h)} | {len(i - h)} | "
                  f"{len(h - i)} | {len(h - i - a)} |")
        print()
    for arch in ORDER:
        if arch in results and results[arch].get("heldout_test"):
            print(confusion(f"{arch}, clean held-out test", results[arch]["heldout_test"]["confusion"]))
    ns = os.path.join("results", "new-speaker.jsonl")
    if os.path.exists(ns):
        rows = [json.loads(line) for line in open(ns)]
        print("| network | left-out speaker | accuracy on that speaker | macro F1 | epochs |")
        print("|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['arch']} | {r['speaker']} | {pct(r['accuracy'])} | {r['macro_f1']:.4f} | {r['epochs']} |")


if __name__ == "__main__":
    main()
