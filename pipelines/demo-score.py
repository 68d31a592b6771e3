#!/usr/bin/env python3
"""Scores mmclassify's decisions against the demo script.

    demo-score.py SCRIPT.tsv EVENTS.jsonl [SUMMARY.json]

Prints every decision, then for each scripted digit the decision that falls
in its window, and the number correct. A digit's window runs from 0.5 s
before it appears to 0.5 s before the next one would (start - 0.5 s,
start + slot - 0.5 s, the slot being show + blank time): a word's MFCC
block starts half a second before the word's centre, and a crop comes a
few frames after the digit appears. When several decisions fall in one
window, the one that used the most modalities wins, then the most
confident. Exit status 0 unless a file cannot be read or a line of
EVENTS is not a JSON object (status 1).
"""
import json
import sys

LEAD = 0.5


def read_script(path):
    rows = []
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            if line.strip():
                rows.append(dict(zip(header, line.rstrip("\n").split("\t"))))
    for r in rows:
        r["digit"] = int(r["digit"])
        for k in ("start_s", "end_s", "word_start_s", "word_end_s"):
            if k in r:
                r[k] = float(r[k])
    return rows


def event_time(ev):
    """The decision's time in seconds: mmclassify's "pts" (nanoseconds, the
    PTS of the decision's earliest input)."""
    if isinstance(ev.get("pts"), (int, float)):
        return ev["pts"] / 1e9
    raise ValueError("no \"pts\" in %s" % json.dumps(ev)[:80])


def modalities(ev):
    m = str(ev.get("modality", "?"))
    return len([p for p in m.replace("+", " ").replace(",", " ").split() if p])


def read_events(path):
    events = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            ev = json.loads(line)
            if not isinstance(ev, dict):
                raise ValueError("line %d is not a JSON object" % n)
            ev["_t"] = event_time(ev)
            events.append(ev)
    return events


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        script = read_script(argv[1])
        events = read_events(argv[2])
    except (OSError, ValueError, KeyError) as e:
        print("demo-score: %s" % e, file=sys.stderr)
        return 1

    print("decisions (%d):" % len(events))
    print("   time s  digit  modality      confidence")
    for ev in events:
        print("  %7.2f  %5s  %-12s  %10.3f" % (ev["_t"], ev.get("digit"), ev.get("modality", "?"),
                                            float(ev.get("confidence", float("nan")))))

    slot = script[1]["start_s"] - script[0]["start_s"] if len(script) > 1 else 3.0
    decided = correct = 0
    per_digit = []
    print("\nscript:")
    print("   #  shown  window s        decision  modality      confidence  ok")
    for i, r in enumerate(script):
        lo, hi = r["start_s"] - LEAD, r["start_s"] + slot - LEAD
        inside = [ev for ev in events if lo <= ev["_t"] < hi]
        best = max(inside, key=lambda ev: (modalities(ev), float(ev.get("confidence", 0))),
                   default=None)
        entry = {"index": i, "digit": r["digit"], "window": [lo, hi], "decisions": len(inside)}
        if best is None:
            print("  %2d  %5d  %5.1f-%-5.1f   %8s" % (i, r["digit"], lo, hi, "-"))
        else:
            ok = best.get("digit") == r["digit"]
            decided += 1
            correct += ok
            entry.update(decision=best.get("digit"), modality=best.get("modality"),
                         confidence=best.get("confidence"), time=best["_t"], correct=ok)
            print("  %2d  %5d  %5.1f-%-5.1f   %8s  %-12s  %10.3f  %s"
                  % (i, r["digit"], lo, hi, best.get("digit"), best.get("modality", "?"),
                     float(best.get("confidence", float("nan"))), "yes" if ok else "NO"))
        per_digit.append(entry)

    total = len(script)
    print("\ndecided %d/%d scripted digits; correct %d/%d (%.0f %%)"
          % (decided, total, correct, total, 100.0 * correct / max(total, 1)))
    if len(argv) > 3:
        with open(argv[3], "w") as f:
            json.dump({"total": total, "decided": decided, "correct": correct,
                       "events": len(events), "digits": per_digit}, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
