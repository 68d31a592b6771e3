#!/usr/bin/python3
"""Makes tests/data/digits/drawn-digits-idx3-ubyte.gz: 50 MNIST-style digits
drawn by the project (ten digits × five writers), so the digit tests have
MNIST-like input in a bare clone.

Each digit is a few pen strokes (polylines and arcs in a unit box), jittered
per writer (slant, aspect, pen width, wobble; seeded), drawn anti-aliased at
112×112 and put in MNIST's form by MNIST's own recipe, written independently
of core/features/digit.c: the ink's bounding box scaled (aspect kept, area-averaged)
into 20×20, placed in 28×28 with its centre of mass at the centre. idx3
layout as MNIST's (big-endian magic 0x803, count, 28, 28, bytes).

  /usr/bin/python3 tests/data/digits/make-digits.py
"""
import gzip
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
HI = 112


def arc(cx, cy, rx, ry, a0, a1, n=24):
    a = np.radians(np.linspace(a0, a1, n))
    return list(zip(cx + rx * np.cos(a), cy - ry * np.sin(a)))


# strokes in a unit box, y down
STROKES = {
    0: [arc(0.5, 0.5, 0.3, 0.42, 0, 360)],
    1: [[(0.35, 0.25), (0.55, 0.08), (0.55, 0.92)]],
    2: [arc(0.5, 0.32, 0.28, 0.24, 160, -30) + [(0.2, 0.92), (0.82, 0.92)]],
    3: [arc(0.48, 0.3, 0.26, 0.21, 150, -90), arc(0.48, 0.7, 0.3, 0.22, 90, -150)],
    4: [[(0.62, 0.92), (0.62, 0.08), (0.15, 0.65), (0.85, 0.65)]],
    5: [[(0.78, 0.1), (0.3, 0.1), (0.26, 0.45)] + arc(0.48, 0.66, 0.3, 0.26, 130, -150)],
    6: [arc(0.5, 0.6, 0.6, 0.52, 60, 180, 12) + arc(0.5, 0.68, 0.28, 0.24, 180, 540)],
    7: [[(0.15, 0.1), (0.85, 0.1), (0.4, 0.92)]],
    8: [arc(0.5, 0.28, 0.22, 0.2, -90, 270), arc(0.5, 0.7, 0.28, 0.22, 90, 450)],
    9: [arc(0.5, 0.32, 0.27, 0.22, 0, 360) + [(0.77, 0.32), (0.7, 0.92)]],
}


def draw(strokes, rng):
    slant, aspect = rng.uniform(-0.25, 0.25), rng.uniform(0.7, 1.1)
    width = rng.uniform(0.045, 0.09)
    yy, xx = np.mgrid[0:HI, 0:HI] / HI
    ink = np.zeros((HI, HI))
    for stroke in strokes:
        pts = np.array(stroke, dtype=float)
        pts += rng.normal(0, 0.012, pts.shape)
        pts[:, 0] = 0.5 + (pts[:, 0] - 0.5) * aspect + slant * (0.5 - pts[:, 1])
        pts = 0.1 + 0.8 * pts
        for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:]):
            dx, dy = x1 - x0, y1 - y0
            t = np.clip(((xx - x0) * dx + (yy - y0) * dy) / max(dx * dx + dy * dy, 1e-12), 0, 1)
            d = np.hypot(xx - x0 - t * dx, yy - y0 - t * dy)
            ink = np.maximum(ink, np.clip((width - d) * HI + 0.5, 0, 1))
    return ink


def resample_area(img, out_h, out_w):
    """Area-averaging resize (each output pixel the mean of what it covers)."""
    h, w = img.shape
    ys, xs = np.linspace(0, h, out_h + 1), np.linspace(0, w, out_w + 1)
    out = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            y0, y1, x0, x1 = ys[i], ys[i + 1], xs[j], xs[j + 1]
            acc = 0.0
            for y in range(int(y0), int(np.ceil(y1))):
                wy = min(y1, y + 1) - max(y0, y)
                for x in range(int(x0), int(np.ceil(x1))):
                    acc += wy * (min(x1, x + 1) - max(x0, x)) * img[y, x]
            out[i, j] = acc / ((y1 - y0) * (x1 - x0))
    return out


def mnist_form(ink):
    rows, cols = np.nonzero(ink > 0)
    box = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    scale = 20.0 / max(box.shape)
    h, w = max(1, round(box.shape[0] * scale)), max(1, round(box.shape[1] * scale))
    small = resample_area(box, h, w)
    out = np.zeros((28, 28))
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = (yy * small).sum() / small.sum(), (xx * small).sum() / small.sum()
    top = int(np.clip(np.floor(14 - cy + 0.5), 0, 28 - h))
    left = int(np.clip(np.floor(14 - cx + 0.5), 0, 28 - w))
    out[top:top + h, left:left + w] = small
    return np.round(255 * np.clip(out, 0, 1)).astype(np.uint8)


def main():
    rng = np.random.default_rng(20261205)
    images = [mnist_form(draw(STROKES[d], rng)) for writer in range(5) for d in range(10)]
    data = struct.pack(">IIII", 0x803, len(images), 28, 28) + b"".join(i.tobytes() for i in images)
    path = os.path.join(HERE, "drawn-digits-idx3-ubyte.gz")
    with open(path, "wb") as f:   # mtime 0: the same bytes every run
        f.write(gzip.compress(data, mtime=0))
    print("wrote", path, len(images), "images")


if __name__ == "__main__":
    main()
