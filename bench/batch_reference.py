#!/usr/bin/python3
"""The plain-Python reference for bench/bench_batch.sh: what a user would
write to classify recordings one after another on one core — read the WAV
(scipy), resample to 16 kHz (scipy.signal.resample_poly), fit to one second
(centred, as training does), python_speech_features-style MFCC in numpy
(the definition of core/features/mm-mfcc.h: winlen 0.05, winstep 0.025, NFFT 1024,
26 filters, 13 coefficients, pre-emphasis 0.97, lifter 22, coefficient 0 =
log frame energy), the model's normalisation, and the same AudioNet_CNN in
PyTorch (tests/parity_pytorch.py) with the weights of the model file.

Usage: batch_reference.py MODEL.safetensors LIST   (JSON on stdout)
Prints files, seconds (wall) and cpu_seconds of the classification loop
(after imports and model loading), and the digit per file.
"""
import json
import math
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
try:
    import numpy as np
    import scipy.fft
    import scipy.io.wavfile
    import scipy.signal
    import torch
    import parity_pytorch as ref
except ImportError as e:
    print(f"skipped: {e}", file=sys.stderr)
    sys.exit(77)

RATE, FRAME, STEP, NFFT, NFILT, NCEP, PREEMPH, LIFTER = 16000, 800, 400, 1024, 26, 13, 0.97, 22
# The front end this script computes, as a model file's "mfcc" metadata says
# it (a member left out is the study's value, core/features/mm-mfcc.h): a
# model trained on another one is refused, not fed these features.
FRONT_END = {"sample_rate": RATE, "frame_len": FRAME, "frame_step": STEP, "nfft": NFFT,
             "n_filters": NFILT, "n_coeffs": NCEP, "low_freq": 0.0, "high_freq": RATE / 2,
             "preemph": PREEMPH, "lifter": LIFTER, "append_energy": True, "dc_block": False,
             "cmvn": "none", "word_cut": "whole"}


def load_model(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__")
    front = json.loads(meta.get("mfcc", "{}"))
    other = {k: front[k] for k in FRONT_END if k in front and front[k] != FRONT_END[k]}
    if other:
        sys.exit(f"batch_reference.py: {path} was trained on another front end than this "
                 f"script computes ({other}); give a model of the study's front end "
                 f"(models/study/)")
    net = ref.Net(meta["arch"]).float().eval()
    state = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        state[name] = torch.from_numpy(
            np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(info["shape"]).copy())
    net.load_state_dict(state, strict=False)
    mean = np.array(json.loads(meta["mfcc_mean"]), dtype=np.float32)
    std = np.array(json.loads(meta["mfcc_std"]), dtype=np.float32)
    return net, mean, std


def hz2mel(hz):
    return 2595 * np.log10(1 + hz / 700.0)


def mel2hz(mel):
    return 700 * (10 ** (mel / 2595.0) - 1)


def filterbank():
    mels = np.linspace(hz2mel(0), hz2mel(RATE / 2), NFILT + 2)
    bins = np.floor((NFFT + 1) * mel2hz(mels) / RATE)
    fb = np.zeros((NFILT, NFFT // 2 + 1))
    for j in range(NFILT):
        for i in range(int(bins[j]), int(bins[j + 1])):
            fb[j, i] = (i - bins[j]) / (bins[j + 1] - bins[j])
        for i in range(int(bins[j + 1]), int(bins[j + 2])):
            fb[j, i] = (bins[j + 2] - i) / (bins[j + 2] - bins[j + 1])
    return fb


FB = filterbank()
DCT = scipy.fft.dct
LIFT = 1 + (LIFTER / 2.0) * np.sin(np.pi * np.arange(NCEP) / LIFTER)


def mfcc(signal):
    signal = np.append(signal[0], signal[1:] - PREEMPH * signal[:-1])
    n_frames = 1 + int(math.ceil((len(signal) - FRAME) / STEP))
    pad = np.zeros((n_frames - 1) * STEP + FRAME)
    pad[:len(signal)] = signal
    idx = np.arange(FRAME)[None, :] + STEP * np.arange(n_frames)[:, None]
    frames = pad[idx]
    power = np.abs(np.fft.rfft(frames, NFFT)) ** 2 / NFFT
    energy = power.sum(1)
    energy[energy == 0] = np.finfo(float).eps
    feat = power @ FB.T
    feat[feat == 0] = np.finfo(float).eps
    ceps = DCT(np.log(feat), type=2, axis=1, norm="ortho")[:, :NCEP] * LIFT
    ceps[:, 0] = np.log(energy)
    return ceps


def fit_center(x, n):
    if len(x) >= n:
        start = (len(x) - n) // 2
        return x[start:start + n]
    out = np.zeros(n)
    start = (n - len(x)) // 2
    out[start:start + len(x)] = x
    return out


def classify(path, net, mean, std):
    rate, x = scipy.io.wavfile.read(path)
    x = x.astype(np.float64) / 32768.0
    if x.ndim > 1:
        x = x.mean(1)
    if rate != RATE:
        g = math.gcd(rate, RATE)
        x = scipy.signal.resample_poly(x, RATE // g, rate // g)
    feat = (mfcc(fit_center(x, RATE) * 32768.0) - mean) / std
    with torch.no_grad():
        logits = net(None, torch.from_numpy(feat.astype(np.float32))[None])
    return int(logits.argmax())


def main():
    torch.set_num_threads(1)
    net, mean, std = load_model(sys.argv[1])
    files = [l.strip() for l in open(sys.argv[2]) if l.strip()]
    classify(files[0], net, mean, std)          # warm-up, not timed
    t0, c0 = time.perf_counter(), time.process_time()
    digits = {f: classify(f, net, mean, std) for f in files}
    s, c = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"impl": f"python {sys.version.split()[0]}, numpy {np.__version__}, "
                      f"scipy {scipy.__version__}, torch {torch.__version__}",
                      "files": len(files), "seconds": s, "cpu_seconds": c, "digits": digits}))


if __name__ == "__main__":
    main()
