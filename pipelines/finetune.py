#!/usr/bin/env python3
"""Fine-tunes an audio network on labelled recordings with mmtrain.

    finetune.py OUT INIT_MODEL EPOCHS LR ARCH FILE:DIGIT...

(called by finetune.sh, which finds the files and their digits.)

Why a program and not one gst-launch line: mmtrain trains once, at EOS, on
everything it has received, and labels each block with the label it holds
when the block arrives. A multi-digit fine-tune therefore needs one
pipeline whose label changes between recordings, which gst-launch cannot
do; one pipeline per digit, each starting from the previous model, would
teach the network one class at a time and make it forget the others.

The pipeline: every recording is decoded, resampled and cut into MFCC
blocks in a branch of its own (decodebin ! ... ! mfccextract), so that
mfccextract sees the recording's EOS and emits its word (one mfccextract
after concat would see recordings trimmed of silence run into each other,
and drops pending audio at each DISCONT); `concat` plays the branches' blocks
one branch after the other into mmtrain. A buffer probe on each branch's
mfccextract src pad pushes, in front of the branch's first block, the
serialized custom event `mmdigits-label` carrying the recording's digit.
Being serialized, it waits in concat with the branch's blocks until the
branch's turn comes, so mmtrain sets its label exactly between the previous
recording's blocks and this one's, with no race against the streaming
thread.

Output: mmtrain's `mmtrain-progress` and `mmtrain-done` messages, one line
each on stdout (GstStructure text); recordings in which mfccextract found no
word are named on stderr. An error ends the run with one line on stderr and
exit status 1.
"""
import sys

try:
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import GLib, Gst
except (ImportError, ValueError) as e:
    print("finetune: GStreamer Python bindings missing (%s): install python3-gi "
          "and gir1.2-gstreamer-1.0" % e, file=sys.stderr)
    sys.exit(1)

CAPS = "audio/x-raw,format=F32LE,rate=16000,channels=1"


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def describe(items, out, init_model, epochs, lr, arch):
    train = "mmtrain name=train out=%s epochs=%d" % (quote(out), epochs)
    if init_model:
        train += " init-model=%s" % quote(init_model)
    if lr > 0:
        train += " lr=%g" % lr
    if arch and not init_model:
        train += " arch=%s" % arch
    # the blocks must have init-model's front end; concat does not pass
    # mmtrain's answer to mfccextract's caps query, so it is named here
    frontend = " model=%s" % quote(init_model) if init_model else ""
    parts = ["concat name=concat ! train.audio_sink", train]
    for i, (path, _) in enumerate(items):
        parts.append("filesrc name=src%d location=%s ! decodebin name=dec%d ! audioconvert"
                     " ! audioresample ! %s ! mfccextract name=mfcc%d%s ! concat."
                     % (i, quote(path), i, CAPS, i, frontend))
    return "  ".join(parts)


def label_event(digit):
    s = Gst.Structure.new_from_string("mmdigits-label, label=(int)%d" % digit)
    return Gst.Event.new_custom(Gst.EventType.CUSTOM_DOWNSTREAM, s)


def on_block(pad, info, branch):
    """Counts the branch's blocks; pushes its label before the first."""
    branch["blocks"] += 1
    if branch["blocks"] == 1:
        pad.push_event(branch["label"])
    return Gst.PadProbeReturn.OK


def culprit(pipeline, msg, items):
    """Names the element that failed and, inside a branch, its recording."""
    name = msg.src.get_name() if msg.src else "?"
    obj = msg.src
    while obj is not None and obj.get_parent() is not None and obj.get_parent() != pipeline:
        obj = obj.get_parent()
    top = obj.get_name() if obj is not None else ""
    for prefix in ("src", "dec", "mfcc"):
        if top.startswith(prefix) and top[len(prefix):].isdigit():
            i = int(top[len(prefix):])
            if i < len(items):
                return "%s (%s)" % (name, items[i][0])
    return name


def run(pipeline, items):
    bus = pipeline.get_bus()
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        # the reason, if any, is an error message on the bus
        msg = bus.pop_filtered(Gst.MessageType.ERROR)
        if msg:
            err, _ = msg.parse_error()
            print("finetune: %s: %s" % (culprit(pipeline, msg, items), err.message),
                  file=sys.stderr)
        else:
            print("finetune: the pipeline did not start", file=sys.stderr)
        return 1
    # mmtrain posts EOS once the model is written; a filtered pop drops
    # what it does not ask for, so ask for all three kinds at once
    kinds = Gst.MessageType.EOS | Gst.MessageType.ERROR | Gst.MessageType.ELEMENT
    while True:
        msg = bus.timed_pop_filtered(Gst.CLOCK_TIME_NONE, kinds)
        if msg.type == Gst.MessageType.EOS:
            return 0
        if msg.type == Gst.MessageType.ERROR:
            err, _ = msg.parse_error()
            print("finetune: %s: %s" % (culprit(pipeline, msg, items), err.message),
                  file=sys.stderr)
            return 1
        s = msg.get_structure()
        if s is not None and s.get_name().startswith("mmtrain"):
            print(s.to_string(), flush=True)


def main(argv):
    if len(argv) < 7:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    out, init_model, epochs, lr, arch = argv[1], argv[2], int(argv[3]), float(argv[4]), argv[5]
    items = []
    for a in argv[6:]:
        path, _, digit = a.rpartition(":")
        items.append((path, int(digit)))

    Gst.init(None)
    try:
        pipeline = Gst.parse_launch(describe(items, out, init_model, epochs, lr, arch))
    except GLib.Error as e:
        print("finetune: %s" % e.message, file=sys.stderr)
        return 1

    branches = []
    for i, (_, digit) in enumerate(items):
        # the label event is made here, on the main thread: PyGObject's lazy
        # wrapping of Gst.Structure is not thread-safe, and making it in a
        # streaming thread while the bus loop wraps a message's structure
        # intermittently fails with "Expected Gst.Structure, but got
        # gi.repository.Gst.Structure"
        branch = {"digit": digit, "blocks": 0, "label": label_event(digit)}
        pad = pipeline.get_by_name("mfcc%d" % i).get_static_pad("src")
        pad.add_probe(Gst.PadProbeType.BUFFER, on_block, branch)
        branches.append(branch)

    rc = run(pipeline, items)
    pipeline.set_state(Gst.State.NULL)
    if rc == 0:
        for (path, _), branch in zip(items, branches):
            if branch["blocks"] == 0:
                print("finetune: no word found in %s (left out)" % path, file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
