#!/usr/bin/python3
"""PyTorch parity of the five networks.

Usage: parity_pytorch.py PATH/TO/parity_helper

For each architecture: builds the network in PyTorch (module names chosen so
that the state dict names are those of the model file), randomises it, writes
it in our safetensors format, and runs parity_helper, which loads it into
libmmdigits and computes an evaluation forward, a training-mode forward with
dropout off, the loss, every gradient and one Adam step. The same is computed
here in float64 (the float32 weights and inputs promoted), so the differences
measured are those of our float32 code alone.

Checks, each as max |ours - torch| <= 1e-4 (divided by max(1, max |torch|)
where magnitudes are large): eval logits, train logits, loss, every gradient
tensor, every parameter after the Adam step (end to end, leaving out the few
elements whose gradient is within our float32 error of zero, where Adam's
first step lr·sign(g) is noise; and torch's Adam applied to our own
gradients) and the updated batch-norm running statistics. Prints one line per architecture and quantity with the
worst difference; exits 1 on any failure, 77 if torch is not installed.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("skipped: torch not installed")
    sys.exit(77)

TOL = 1e-4
REL_TOL = 1e-3  # gradients relative to their tensor's largest one
BATCH = 8


# ---- the study's networks ----

class CnnEncoder(nn.Module):
    """conv-bn-relu-pool ×2, dropout 0.25, fc 128, relu, dropout 0.5."""

    def __init__(self, flat, audio):
        super().__init__()
        self.audio = audio
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(64)
        self.pool = nn.MaxPool2d(2)
        self.drop1 = nn.Dropout(0.25)
        self.fc = nn.Linear(flat, 128)
        self.drop2 = nn.Dropout(0.5)

    def forward(self, x):
        if self.audio:  # [B][39][13] time-major -> [B][1][13][39]
            x = x.transpose(1, 2).unsqueeze(1)
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.pool(F.relu(self.bn2(self.conv2(x))))
        x = self.drop1(x).flatten(1)
        return self.drop2(F.relu(self.fc(x)))


class LstmEncoder(nn.Module):
    """LSTM 2×64, last step, fc, relu [, dropout]."""

    def __init__(self, out, p_drop):
        super().__init__()
        self.lstm = nn.LSTM(13, 64, num_layers=2, batch_first=True)
        self.fc = nn.Linear(64, out)
        self.drop = nn.Dropout(p_drop) if p_drop > 0 else nn.Identity()

    def forward(self, x):
        h, _ = self.lstm(x)
        return self.drop(F.relu(self.fc(h[:, -1])))


class Head(nn.Module):
    def __init__(self, inp):
        super().__init__()
        self.fc = nn.Linear(inp, 10)

    def forward(self, x):
        return self.fc(x)


class Fusion(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(256, 128)
        self.bn = nn.BatchNorm1d(128)
        self.drop = nn.Dropout(0.25)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.bn(self.fc1(x)))))


class Net(nn.Module):
    def __init__(self, arch):
        super().__init__()
        self.arch = arch
        self.uses_image = arch in ("ImageNet_CNN", "HybridNet_CNN", "HybridNet_CNN_LSTM")
        self.uses_audio = arch != "ImageNet_CNN"
        hybrid = arch.startswith("HybridNet")
        if self.uses_image:
            self.image = CnnEncoder(3136, audio=False)
        if arch in ("AudioNet_CNN", "HybridNet_CNN"):
            self.audio = CnnEncoder(1728, audio=True)
        elif arch == "AudioNet_LSTM":
            self.audio = LstmEncoder(64, 0.0)
        elif arch == "HybridNet_CNN_LSTM":
            self.audio = LstmEncoder(128, 0.25)
        if hybrid:
            self.fusion = Fusion()
        else:
            self.head = Head(64 if arch == "AudioNet_LSTM" else 128)

    def forward(self, image, audio):
        if hasattr(self, "fusion"):
            return self.fusion(torch.cat([self.image(image), self.audio(audio)], 1))
        return self.head(self.image(image) if self.uses_image else self.audio(audio))


ARCHS = {
    "ImageNet_CNN": 421834,
    "AudioNet_CNN": 241610,
    "AudioNet_LSTM": 58314,
    "HybridNet_CNN": 695306,
    "HybridNet_CNN_LSTM": 516810,
}


def randomise_batchnorm(net, gen):
    """Non-trivial affine and running statistics, so evaluation mode means something."""
    for m in net.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = m.num_features
            with torch.no_grad():
                m.weight.copy_(0.5 + torch.rand(c, generator=gen))
                m.bias.copy_(0.2 * torch.randn(c, generator=gen))
                m.running_mean.copy_(0.2 * torch.randn(c, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(c, generator=gen))


def model_tensors(net):
    """The model file's tensors: state dict without num_batches_tracked."""
    return {k: v.detach().float().contiguous() for k, v in net.state_dict().items()
            if not k.endswith("num_batches_tracked")}


# ---- safetensors ----

def write_safetensors(path, tensors, arch):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {
        "format": "mmdigits", "format_version": "1", "arch": arch,
        "image_mean": "0.5", "image_std": "0.5",
        "mfcc_mean": json.dumps([0.0] * 13), "mfcc_std": json.dumps([1.0] * 13),
    }
    js = json.dumps(header).encode()
    js += b" " * (-len(js) % 8)  # keep the data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", name
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(info["shape"])
    return out


def read_f32(path):
    return np.fromfile(path, dtype="<f4")


# ---- comparison ----

def diff(ours, ref):
    """(worst absolute difference, worst difference scaled by max(1, max |ref|))."""
    ours = np.asarray(ours, dtype=np.float64).ravel()
    ref = np.asarray(ref, dtype=np.float64).ravel()
    if ours.shape != ref.shape:
        return float("inf"), float("inf")
    if not np.all(np.isfinite(ours)):
        return float("inf"), float("inf")
    d = float(np.max(np.abs(ours - ref))) if ref.size else 0.0
    scale = max(1.0, float(np.max(np.abs(ref))) if ref.size else 1.0)
    return d, d / scale


def run_arch(arch, n_expected, helper, tmp, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    net = Net(arch)
    n_params = sum(p.numel() for p in net.parameters())
    if n_params != n_expected:
        raise AssertionError(f"{arch}: {n_params} parameters, the study has {n_expected}")
    randomise_batchnorm(net, gen)
    tensors = model_tensors(net)

    image = torch.randn(BATCH, 1, 28, 28, generator=gen)
    audio = torch.randn(BATCH, 39, 13, generator=gen)
    labels = torch.randint(0, 10, (BATCH,), generator=gen)

    d = os.path.join(tmp, arch)
    inp, out = os.path.join(d, "in"), os.path.join(d, "out")
    os.makedirs(inp)
    os.makedirs(out)
    model_path = os.path.join(d, "model.safetensors")
    write_safetensors(model_path, tensors, arch)
    image.numpy().astype("<f4").tofile(os.path.join(inp, "image.f32"))
    audio.numpy().astype("<f4").tofile(os.path.join(inp, "audio.f32"))
    labels.numpy().astype("<i4").tofile(os.path.join(inp, "labels.i32"))
    res = subprocess.run([helper, model_path, inp, out], capture_output=True, text=True)
    if res.returncode != 0:
        raise AssertionError(f"{arch}: parity_helper failed: {res.stderr.strip()}")

    # reference in float64 from the very float32 values the helper saw
    net = net.double()
    image, audio = image.double(), audio.double()
    rows = []

    net.eval()
    with torch.no_grad():
        ref = net(image, audio)
    rows.append(("logits (eval)", diff(read_f32(os.path.join(out, "logits_eval.f32")), ref)))

    net.train()
    for m in net.modules():
        if isinstance(m, nn.Dropout):
            m.eval()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-5)
    opt.zero_grad()
    logits = net(image, audio)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    rows.append(("logits (train)",
                 diff(read_f32(os.path.join(out, "logits_train.f32")), logits.detach())))
    rows.append(("loss", diff(read_f32(os.path.join(out, "loss.f32")), [loss.item()])))

    # gradients, tensor by tensor in the order the helper lists them
    named = dict(net.named_parameters())
    grads = read_f32(os.path.join(out, "grads.f32"))
    listed, pos, worst, worst_rel = [], 0, (0.0, 0.0, ""), (0.0, 0.0, "")
    with open(os.path.join(out, "tensors.txt")) as f:
        for line in f:
            name, size = line.split()
            size = int(size)
            if name not in named:
                raise AssertionError(f"{arch}: helper lists unknown parameter {name}")
            if named[name].numel() != size:
                raise AssertionError(f"{arch}: {name} has {size} values, torch {named[name].numel()}")
            da, ds = diff(grads[pos:pos + size], named[name].grad)
            if ds >= worst[1]:
                worst = (da, ds, name)
            # relative to the tensor's largest gradient, so that a wrong
            # factor in a small gradient shows; tensors whose gradient is
            # zero in exact arithmetic (biases before batch norm) have no scale
            big = float(named[name].grad.abs().max())
            if big > 1e-6 and da / big >= worst_rel[1]:
                worst_rel = (da, da / big, name)
            listed.append(name)
            pos += size
    if sorted(listed) != sorted(named) or pos != grads.size:
        raise AssertionError(f"{arch}: gradient block does not match the parameters "
                             f"({len(listed)} tensors / {pos} floats listed, "
                             f"{len(named)} / {grads.size} in torch)")
    rows.append(("gradients", worst[:2], worst[2]))
    rows.append(("gradients (rel)", worst_rel[:2], worst_rel[2], REL_TOL))

    # Adam's first step is lr·g/(|g| + eps): where the true gradient is
    # within our float32 error of zero (a conv bias before batch norm has
    # gradient 0 exactly) its sign, and so the step, is noise. Those
    # elements are left out of the end-to-end check and counted; the Adam
    # arithmetic itself is checked on our own gradients below.
    ours = {}
    pos = 0
    for name in listed:
        n = named[name].numel()
        ours[name] = torch.from_numpy(grads[pos:pos + n].astype(np.float64)).view_as(named[name])
        pos += n
    before = {k: p.detach().clone() for k, p in named.items()}
    ill = {k: ((named[k].grad + 1e-5 * before[k]).abs() <= 10 * (ours[k] - named[k].grad).abs())
           for k in named}
    opt.step()

    # torch's Adam applied to our gradients, from the same weights
    twin = {k: before[k].clone().requires_grad_(True) for k in named}
    opt2 = torch.optim.Adam(twin.values(), lr=1e-3, weight_decay=1e-5)
    for k, p in twin.items():
        p.grad = ours[k]
    opt2.step()

    after = read_safetensors(os.path.join(out, "after.safetensors"))
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    if sorted(after) != sorted(state):
        raise AssertionError(f"{arch}: saved tensors {sorted(set(after) ^ set(state))} differ")

    def worst_of(pairs):
        w = (0.0, 0.0, "")
        for k, a, b in pairs:
            da, ds = diff(a, b)
            if ds >= w[1]:
                w = (da, ds, k)
        return w

    n_ill = sum(int(m.sum()) for m in ill.values())
    w = worst_of((k, after[k][~ill[k].numpy()], state[k][~ill[k]]) for k in named)
    rows.append(("params after Adam", w[:2], f"{w[2]} ({n_ill} ill-conditioned left out)"))
    w = worst_of((k, after[k], twin[k].detach()) for k in named)
    rows.append(("Adam on our grads", w[:2], w[2]))
    w = worst_of((k, after[k], state[k]) for k in state if k not in named)
    if w[2]:
        rows.append(("running stats", w[:2], w[2]))
    return rows


def main():
    if len(sys.argv) != 2:
        print("usage: parity_pytorch.py PATH/TO/parity_helper", file=sys.stderr)
        return 2
    helper = os.path.abspath(sys.argv[1])
    torch.set_num_threads(1)
    failed = False
    print(f"{'arch':<20} {'quantity':<18} {'max abs diff':>13} {'scaled':>10}  worst tensor")
    with tempfile.TemporaryDirectory(prefix="mmdigits-parity-") as tmp:
        for i, (arch, n) in enumerate(ARCHS.items()):
            try:
                rows = run_arch(arch, n, helper, tmp, 1000 + i)
            except AssertionError as e:
                print(f"{arch:<20} FAIL: {e}")
                failed = True
                continue
            for row in rows:
                label, (da, ds) = row[0], row[1]
                bad = not ds <= (row[3] if len(row) > 3 else TOL)
                failed |= bad
                where = row[2] if len(row) > 2 else ""
                print(f"{arch:<20} {label:<18} {da:13.3e} {ds:10.3e}  {where}"
                      f"{'  FAIL' if bad else ''}")
    print("FAIL" if failed else "PASS", f"(tolerance {TOL:g})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
