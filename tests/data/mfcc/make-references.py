#!/usr/bin/python3
"""Makes the MFCC reference inputs that ship with the source tree.

Writes three synthetic one-second 16 kHz signals (a voiced vowel-like sound,
a chirp, speech-band noise bursts; seeded, so the same bytes every run) as
16-bit WAV and their MFCC as float32 (39 frames × 13 coefficients, NFFT 1024
and NFFT 512). The MFCC is an independent NumPy/SciPy transcription of
python_speech_features 0.6.1's mfcc() with the project's settings (winlen
0.05 s, winstep 0.025 s, 26 filters, pre-emphasis 0.97, lifter 22, energy
as coefficient 0, samples as their int16 values, as the study fed them), in float64.

With --check DIR it first reproduces the python_speech_features outputs in
DIR (../shared/testdata/mfcc) and refuses to write if it misses them by more
than 1e-4: the transcription is trusted because it matches the original.

  /usr/bin/python3 tests/data/mfcc/make-references.py [--check DIR]
"""
import glob
import os
import struct
import sys
import wave

import numpy as np
from scipy.fftpack import dct

RATE, WINLEN, WINSTEP, NFILT, NCEP, PREEMPH, LIFTER = 16000, 0.05, 0.025, 26, 13, 0.97, 22
HERE = os.path.dirname(os.path.abspath(__file__))


def hz2mel(hz):
    return 2595 * np.log10(1 + hz / 700.0)


def mel2hz(mel):
    return 700 * (10 ** (mel / 2595.0) - 1)


def filterbank(nfft):
    mels = np.linspace(hz2mel(0), hz2mel(RATE / 2), NFILT + 2)
    bins = np.floor((nfft + 1) * mel2hz(mels) / RATE)
    fb = np.zeros((NFILT, nfft // 2 + 1))
    for j in range(NFILT):
        for i in range(int(bins[j]), int(bins[j + 1])):
            fb[j, i] = (i - bins[j]) / (bins[j + 1] - bins[j])
        for i in range(int(bins[j + 1]), int(bins[j + 2])):
            fb[j, i] = (bins[j + 2] - i) / (bins[j + 2] - bins[j + 1])
    return fb


def frames_of(signal):
    flen, fstep = int(round(WINLEN * RATE)), int(round(WINSTEP * RATE))
    n = 1 if len(signal) <= flen else 1 + int(np.ceil((len(signal) - flen) / fstep))
    padded = np.concatenate((signal, np.zeros((n - 1) * fstep + flen - len(signal))))
    idx = np.arange(flen)[None, :] + fstep * np.arange(n)[:, None]
    return padded[idx]


def mfcc(signal, nfft):
    emph = np.append(signal[0], signal[1:] - PREEMPH * signal[:-1])
    pspec = np.abs(np.fft.rfft(frames_of(emph), nfft)) ** 2 / nfft
    energy = pspec.sum(axis=1)
    energy[energy == 0] = np.finfo(float).eps
    feat = pspec @ filterbank(nfft).T
    feat[feat == 0] = np.finfo(float).eps
    cep = dct(np.log(feat), type=2, axis=1, norm="ortho")[:, :NCEP]
    cep *= 1 + (LIFTER / 2.0) * np.sin(np.pi * np.arange(NCEP) / LIFTER)
    cep[:, 0] = np.log(energy)
    return cep


def read_wav(path):
    with wave.open(path) as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1 and w.getsampwidth() == 2
        data = w.readframes(w.getnframes())
    return np.frombuffer(data, dtype="<i2").astype(np.float64)


def write_wav(path, samples):
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")   # samples in [-1, 1]
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())


def synthetic_signals():
    rng = np.random.default_rng(20261205)
    t = np.arange(RATE) / RATE
    env = np.clip(np.minimum(t - 0.2, 0.8 - t) / 0.05, 0, 1)
    # a vowel: 120 Hz glottal harmonics shaped by formants at 700/1200/2600 Hz
    vowel = sum(np.sin(2 * np.pi * 120 * k * t) / k
                * sum(np.exp(-((120 * k - f) / 90.0) ** 2) for f in (700, 1200, 2600))
                for k in range(1, 60))
    vowel = 0.5 * env * vowel / np.max(np.abs(vowel))
    chirp = 0.3 * env * np.sin(2 * np.pi * (200 * t + 3400 * t * t))
    noise = rng.standard_normal(RATE) * 0.1
    bursts = noise * ((np.sin(2 * np.pi * 3 * t) > 0.3) * env)
    return {"vowel": vowel, "chirp": chirp, "bursts": bursts + 1e-3 * rng.standard_normal(RATE)}


def check_against(directory):
    worst = 0.0
    for wav in sorted(glob.glob(os.path.join(directory, "*_16k1s.wav"))):
        x = read_wav(wav)
        for nfft, suffix in ((1024, ""), (512, ".nfft512")):
            ref = np.fromfile(wav[:-4] + suffix + ".f32", dtype="<f4").reshape(-1, NCEP)
            worst = max(worst, float(np.max(np.abs(mfcc(x, nfft) - ref))))
    print(f"python_speech_features outputs in {directory} reproduced within {worst:.3g}")
    if worst > 1e-4:
        sys.exit("make-references.py: the transcription does not match python_speech_features")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check_against(sys.argv[2])
    for name, x in synthetic_signals().items():
        path = os.path.join(HERE, name + "_16k1s.wav")
        write_wav(path, x)
        x = read_wav(path)   # the references are of the quantised samples
        for nfft, suffix in ((1024, ""), (512, ".nfft512")):
            mfcc(x, nfft).astype("<f4").tofile(os.path.join(HERE, name + "_16k1s" + suffix + ".f32"))
        print("wrote", name)


if __name__ == "__main__":
    main()
