#!/usr/bin/env python3
"""Fine-tunes an audio network on labelled recordings with mmtrain.

    finetune.py OUT INIT_MODEL EPOCHS LR ARCH FILE:DIGIT...

(called by finetune.sh, which finds the files and their digits.)

Why a program and not one gst-launch line: mmtrain trains once, at EOS, on
everything it has received, and labels each block with its `label`
property as the block arrives. A multi-digit fine-tune therefore needs one
pipeline that changes the label between recordings, which gst-launch
cannot do; one pipeline per digit, each starting from the previous model,
would teach the network one class at a time and make it forget the others.

The pipeline: every recording is decoded, resampled and cut into MFCC
blocks in a branch of its own (decodebin ! ... ! mfccextract), so that
mfccextract sees the recording's EOS and emits its word (one mfccextract
after concat would see recordings trimmed of silence run into each other,
and drops pending audio at each DISCONT); `concat` plays the branches' blocks
one branch after the other into mmtrain. A buffer probe on concat's src pad
sees each block in stream order: when the block comes from another concat
pad than the one before, it sets mmtrain's label to that recording's digit
first, so every block gets the digit of the recording it came from.

GStreamer is driven through ctypes (libgstreamer, libgobject): no Python
bindings need installing.
"""
import ctypes as C
import sys

GST_STATE_NULL, GST_STATE_PLAYING = 1, 4
GST_STATE_CHANGE_FAILURE = 0
GST_MESSAGE_EOS, GST_MESSAGE_ERROR, GST_MESSAGE_ELEMENT = 1, 2, 1 << 15
GST_PAD_PROBE_TYPE_BUFFER, GST_PAD_PROBE_OK = 1 << 4, 1
GST_CLOCK_TIME_NONE = (1 << 64) - 1

gst = C.CDLL("libgstreamer-1.0.so.0")
gobject = C.CDLL("libgobject-2.0.so.0")
glib = C.CDLL("libglib-2.0.so.0")

P = C.c_void_p
PROBE_CB = C.CFUNCTYPE(C.c_int, P, P, P)


class GError(C.Structure):
    _fields_ = [("domain", C.c_uint32), ("code", C.c_int), ("message", C.c_char_p)]


def sig(lib, name, res, *args):
    f = getattr(lib, name)
    f.restype, f.argtypes = res, list(args)
    return f


gst_init = sig(gst, "gst_init", None, P, P)
parse_launch = sig(gst, "gst_parse_launch", P, C.c_char_p, C.POINTER(C.POINTER(GError)))
bin_get_by_name = sig(gst, "gst_bin_get_by_name", P, P, C.c_char_p)
get_static_pad = sig(gst, "gst_element_get_static_pad", P, P, C.c_char_p)
set_state = sig(gst, "gst_element_set_state", C.c_int, P, C.c_int)
get_bus = sig(gst, "gst_element_get_bus", P, P)
pop_filtered = sig(gst, "gst_bus_timed_pop_filtered", P, P, C.c_uint64, C.c_int)
message_unref = sig(gst, "gst_mini_object_unref", None, P)
message_structure = sig(gst, "gst_message_get_structure", P, P)
structure_name = sig(gst, "gst_structure_get_name", C.c_char_p, P)
structure_to_string = sig(gst, "gst_structure_to_string", P, P)
parse_error = sig(gst, "gst_message_parse_error", None, P, C.POINTER(C.POINTER(GError)),
                  C.POINTER(C.c_char_p))
add_probe = sig(gst, "gst_pad_add_probe", C.c_ulong, P, C.c_int, PROBE_CB, P, P)
object_unref = sig(gst, "gst_object_unref", None, P)
g_free = sig(glib, "g_free", None, P)
g_object_set = gobject.g_object_set     # variadic: arguments typed per call
g_object_get = gobject.g_object_get


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def describe(items, out, init_model, epochs, lr, arch):
    caps = "audio/x-raw,format=F32LE,rate=16000,channels=1"
    parts = ["concat name=c ! t.audio_sink",
             "mmtrain name=t out=%s epochs=%d" % (quote(out), epochs)]
    if init_model:
        parts[-1] += " init-model=%s" % quote(init_model)
    if lr > 0:
        parts[-1] += " lr=%g" % lr
    if arch and not init_model:
        parts[-1] += " arch=%s" % arch
    for path, _ in items:
        parts.append("filesrc location=%s ! decodebin ! audioconvert ! audioresample ! %s"
                     " ! mfccextract ! c." % (quote(path), caps))
    return "  ".join(parts)


def main(argv):
    if len(argv) < 7:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    out, init_model, epochs, lr, arch = argv[1], argv[2], int(argv[3]), float(argv[4]), argv[5]
    items = []
    for a in argv[6:]:
        path, _, digit = a.rpartition(":")
        items.append((path, int(digit)))

    gst_init(None, None)
    err = C.POINTER(GError)()
    pipeline = parse_launch(describe(items, out, init_model, epochs, lr, arch).encode(), C.byref(err))
    if not pipeline or err:
        print("finetune: %s" % (err.contents.message.decode() if err else "no pipeline"),
              file=sys.stderr)
        return 1
    concat = bin_get_by_name(pipeline, b"c")
    train = bin_get_by_name(pipeline, b"t")

    # concat names its pads sink_0, sink_1, ... in the order they were
    # requested, the order of the description: the order of the items
    label_of = {}
    for i, (_, digit) in enumerate(items):
        pad = get_static_pad(concat, b"sink_%d" % i)
        label_of[pad] = digit
        object_unref(pad)
    state = {"pad": None}

    def on_buffer(pad, info, data):
        active = P()
        g_object_get(P(concat), b"active-pad", C.byref(active), P(None))
        if active.value != state["pad"]:
            state["pad"] = active.value
            g_object_set(P(train), b"label", C.c_int(label_of.get(active.value, -1)), P(None))
        if active.value:
            object_unref(active)
        return GST_PAD_PROBE_OK

    cb = PROBE_CB(on_buffer)          # kept alive for the pipeline's life
    src = get_static_pad(concat, b"src")
    add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, cb, None, None)
    object_unref(src)

    bus = get_bus(pipeline)
    rc = 0
    if set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE:
        rc = 1
    # (a filtered pop discards what it does not ask for: ask for all three;
    # an EOS message is the only one of them without a structure)
    while not rc:
        msg = pop_filtered(bus, GST_CLOCK_TIME_NONE,
                           GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT)
        s = message_structure(msg)
        if not s:
            message_unref(msg)
            break
        if structure_name(s) == b"GstMessageError":
            e, dbg = C.POINTER(GError)(), C.c_char_p()
            parse_error(msg, C.byref(e), C.byref(dbg))
            print("finetune: %s" % e.contents.message.decode(), file=sys.stderr)
            rc = 1
        else:       # print mmtrain's progress and result
            text = structure_to_string(s)
            line = C.cast(text, C.c_char_p).value.decode()
            g_free(text)
            if line.startswith("mmtrain"):
                print(line, flush=True)
        message_unref(msg)
    set_state(pipeline, GST_STATE_NULL)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
