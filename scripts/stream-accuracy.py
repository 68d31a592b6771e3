#!/usr/bin/python3
"""A held-out set's accuracy when its recordings are cut as a stream is cut.

`mmdigits eval` makes each recording's block with the model's front end
(`word_cut whole`: the recording centred in one second, as every shipped
audio model trained); a stream — `mfccextract`, what users run, `batch
--decode gstreamer` — is always cut by the word detector. This scores the
same samples, with the same weights, on the stream's decisions.

Usage: scripts/stream-accuracy.py PREDICTIONS.tsv DECISIONS.jsonl [--set SET]
PREDICTIONS.tsv: `mmdigits eval --predictions` (its `recording` column
gives each sample's recording, and so how often each one counts).
DECISIONS.jsonl: `mmdigits batch --decode gstreamer -m MODEL` over those
recordings (`cut -f7 PREDICTIONS.tsv | sort -u`, with their directories).
A recording is right when its most confident decision is its digit; one
without a decision (the detector found no word) counts as wrong, as a user
gets nothing. Prints eval's accuracy and the stream's, the share of samples
whose recording gave no decision, how many recordings gave two or more, and
the accuracy when the first decision is taken instead (what a user sees
first, live, before anything after it has been said).
"""
import argparse
import collections
import json
import os


def stream_answers(path):
    """{recording: (digit, confidence) of its most confident decision, or None},
    {recording: its first decision's digit, or None} and {recording: decisions}."""
    best, first, count = {}, {}, collections.Counter()
    for line in open(path):
        d = json.loads(line)
        name = os.path.basename(d["file"])
        if d.get("digit") is None:
            best.setdefault(name, None)
            first.setdefault(name, None)
            continue
        count[name] += 1
        if not best.get(name) or d["confidence"] > best[name][1]:
            best[name] = (d["digit"], d["confidence"])
        if first.get(name) is None or d["pts"] < first[name][1]:
            first[name] = (d["digit"], d["pts"])
    return best, {k: v and v[0] for k, v in first.items()}, count


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tsv")
    ap.add_argument("jsonl")
    ap.add_argument("--set", default="heldout_test")
    args = ap.parse_args()
    lines = open(args.tsv).read().splitlines()
    i_rec = lines[0].split("\t").index("recording")
    rows = [r for r in (l.split("\t") for l in lines[1:]) if r[0] == args.set]
    if not rows:
        raise SystemExit(f"{args.tsv}: no sample of set {args.set}")
    best, first, count = stream_answers(args.jsonl)
    missing = {r[i_rec] for r in rows} - best.keys()
    if missing:
        raise SystemExit(f"{args.jsonl}: no line for {len(missing)} recordings, e.g. {min(missing)}")
    n = len(rows)
    whole = sum(r[2] == r[3] for r in rows)
    stream = sum(best[r[i_rec]] is not None and str(best[r[i_rec]][0]) == r[2] for r in rows)
    first_right = sum(first[r[i_rec]] is not None and str(first[r[i_rec]]) == r[2] for r in rows)
    silent = sum(best[r[i_rec]] is None for r in rows)
    recs = {r[i_rec] for r in rows}
    print(f"{args.tsv}: {n} samples, {len(recs)} recordings; eval {100 * whole / n:.2f} %, "
          f"as a stream {100 * stream / n:.2f} % (no decision: {100 * silent / n:.2f} % of the "
          f"samples; two or more decisions: {sum(count[r] > 1 for r in recs)} recordings; "
          f"first decision {100 * first_right / n:.2f} %)")


if __name__ == "__main__":
    main()
