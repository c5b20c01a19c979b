#!/usr/bin/env python3
"""The reference training step in PyTorch, on the CPU or on a CUDA GPU.

This is shared/bench/torch_reference_step.py (the team's yardstick, which
`deno task bench` runs on the CPU) with one addition, `--device cuda`, for the
GPU bench in bench/device/ (the device machine does not receive shared/):
tensors live on the GPU and each step ends with a synchronisation, so that its
time is the GPU's. The network and the step are unchanged, layer for layer.

    python3 torch_step.py [--device cpu|cuda] [--threads 2] [--steps 12] [--warmup 2]

Prints one JSON line: median/min/max milliseconds per step, the losses, the
device and (on CUDA) the GPU's name.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--steps", type=int, default=12)
ap.add_argument("--warmup", type=int, default=2)
ap.add_argument("--batch", type=int, default=2)
ap.add_argument("--size", type=int, default=128)
ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
args = ap.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(0)
device = torch.device(args.device)
if args.device == "cuda" and not torch.cuda.is_available():
    raise SystemExit("--device cuda: torch sees no CUDA device")
N, H, W = args.batch, args.size, args.size
C, K, CD = 64, 21, 32  # feature width, classes, discriminator width


def he(*shape):
    fan_in = shape[1] * shape[2] * shape[3]
    # Drawn on the CPU, as the yardstick does, then moved: the same values.
    return (torch.randn(*shape) * (2.0 / fan_in) ** 0.5).to(device).requires_grad_()


def zeros(n):
    return torch.zeros(n, device=device, requires_grad=True)


params = {
    "w1": he(C, 3, 3, 3), "b1": zeros(C),
    "w2": he(C, C, 3, 3), "b2": zeros(C),
    "w3": he(C, C, 3, 3), "b3": zeros(C),
    "w4": he(C, C, 3, 3), "b4": zeros(C),
    "gamma": torch.ones(C, device=device, requires_grad=True), "beta": zeros(C),
    "wc": he(K, C, 1, 1), "bc": zeros(K),
    "d1": he(CD, K, 4, 4), "db1": zeros(CD),
    "d2": he(2 * CD, CD, 4, 4), "db2": zeros(2 * CD),
    "d3": he(1, 2 * CD, 1, 1), "db3": zeros(1),
}
x = torch.randn(N, 3, H, W).to(device)
y = torch.randint(0, K, (N, H, W)).to(device)
one_hot = F.one_hot(y, K).permute(0, 3, 1, 2).float()


def discriminator(p):
    h = F.leaky_relu(F.conv2d(p, params["d1"], params["db1"], stride=2, padding=1), 0.2)
    h = F.leaky_relu(F.conv2d(h, params["d2"], params["db2"], stride=2, padding=1), 0.2)
    return F.conv2d(h, params["d3"], params["db3"])


def loss():
    h = F.relu(F.conv2d(x, params["w1"], params["b1"], stride=2, padding=1))
    h = F.relu(F.conv2d(h, params["w2"], params["b2"], stride=2, padding=1))
    h = F.relu(F.conv2d(h, params["w3"], params["b3"], padding=2, dilation=2))
    h = F.conv2d(h, params["w4"], params["b4"], padding=4, dilation=4)
    mean = h.mean(dim=(0, 2, 3), keepdim=True)
    var = h.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    h = (h - mean) * torch.rsqrt(var + 1e-5)
    h = F.relu(h * params["gamma"].view(1, -1, 1, 1) + params["beta"].view(1, -1, 1, 1))
    logits = F.interpolate(F.conv2d(h, params["wc"], params["bc"]), size=(H, W),
                           mode="bilinear", align_corners=False)
    seg = F.cross_entropy(logits, y)
    fake = discriminator(F.softmax(logits, dim=1))
    adv = F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
    real = discriminator(one_hot)
    d_loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
    return seg + 0.01 * adv + d_loss


m = {k: torch.zeros_like(v) for k, v in params.items()}
v = {k: torch.zeros_like(t) for k, t in params.items()}


def step(t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    value = loss()
    grads = torch.autograd.grad(value, list(params.values()))
    with torch.no_grad():
        for (k, p), g in zip(params.items(), grads):
            m[k].mul_(b1).add_(g, alpha=1 - b1)
            v[k].mul_(b2).addcmul_(g, g, value=1 - b2)
            p.sub_(lr / (1 - b1 ** t) * m[k] / ((v[k] / (1 - b2 ** t)).sqrt() + eps))
    if args.device == "cuda":
        torch.cuda.synchronize()
    return value.item()


times, losses = [], []
for t in range(1, args.warmup + args.steps + 1):
    t0 = time.perf_counter()
    losses.append(step(t))
    if t > args.warmup:
        times.append((time.perf_counter() - t0) * 1000)

print(json.dumps({
    "impl": "pytorch", "version": torch.__version__, "threads": torch.get_num_threads(),
    "device": args.device,
    "gpu": torch.cuda.get_device_name(0) if args.device == "cuda" else None,
    "batch": N, "size": H, "medianMs": round(statistics.median(times), 1),
    "minMs": round(min(times), 1), "maxMs": round(max(times), 1),
    "lossFirst": round(losses[0], 4), "lossLast": round(losses[-1], 4),
}))
