#!/usr/bin/env python3
"""PyTorch ports of this project's training steps, for side-by-side speed.

    /usr/bin/python3 bench/torch_steps.py --step STEP --export DIR [--threads 2] [--steps 10] [--warmup 2]
        [--device cpu|cuda]

STEP is one of:

- ``deeplab-mobilenetv2``: DeepLab with the MobileNetV2 backbone at output
  stride 8 (``deno task train --backbone mobilenetv2 --norm frozen --method
  sourceOnly``): frozen batch norm (running statistics, gamma and beta not
  trained, as AdaptSegNet trains DeepLab), relu6, ASPP of four dilated 3x3
  convolutions summed, bilinear upsampling, cross-entropy ignoring 255, Adam
  with L2 weight decay and the poly schedule.
- ``cdga``: the default step of ``deno task train`` (CDGA; DeepLab-V2 with a
  ResNet-18 of width 0.25 in batch-statistics mode, one pass over source and
  target together; the grouping network C; the shared group discriminator D
  at G's output resolution; class-balanced group distributions, semantic
  consistency, orthogonality, group balance and the class-equivalence weights
  of the adversarial terms; AdaptSegNet's global term beside them, D_g on the
  softmax at the input resolution, as the default has it), one full step: G
  and C's update, then D's (D and D_g).

DIR is what ``bench/step_export.ts`` wrote: our initial weights and first
batch (``tensors.safetensors``) and our configuration and first-step losses
(``step.json``). The port starts from those weights, checks that its
parameter counts equal ours, computes its first step's losses on that batch,
then times ``--steps`` steps after ``--warmup`` untimed ones on the same
batch. It prints one JSON line: the timing, the counts and the losses of its
first step, for ``deno task bench`` to compare with ours.

Written from this repository's TypeScript (model/, losses/, methods/), layer
for layer, in PyTorch's own operations; layouts are converted once at load
(HWIO filters to OIHW, NHWC batches to NCHW).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from pth_to_safetensors import read_safetensors  # noqa: E402



def tf_same(size, k, s, d=1):
    """TensorFlow's "same" padding along one axis: (before, after)."""
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def pad_same(x, k, s, d=1, value=0.0):
    top, bottom = tf_same(x.shape[2], k, s, d)
    left, right = tf_same(x.shape[3], k, s, d)
    if top == bottom and left == right:
        return x, top, left
    return F.pad(x, (left, right, top, bottom), value=value), 0, 0


def conv_same(x, w, b=None, stride=1, dilation=1, groups=1):
    x, ph, pw = pad_same(x, w.shape[2], stride, dilation)
    return F.conv2d(x, w, b, stride=stride, padding=(ph, pw), dilation=dilation, groups=groups)


def conv_symmetric(x, w, b=None, stride=1, dilation=1):
    """Our "symmetric" padding: dilation·(k − 1) / 2 on each side (PyTorch's usual)."""
    p = dilation * (w.shape[2] - 1) // 2
    return F.conv2d(x, w, b, stride=stride, padding=p, dilation=dilation)


class Parameters:
    """Our exported tensors under their tree paths, in PyTorch's layouts."""

    def __init__(self, tensors, trainable, device):
        self.t = {}
        for name, value in tensors.items():
            if not name.startswith("params/"):
                continue
            path = name[len("params/"):]
            if path.endswith("depthwise/kernel"):
                value = value.permute(2, 3, 0, 1)  # [kh, kw, C, 1] → [C, 1, kh, kw]
            elif path.endswith("/kernel"):
                value = value.permute(3, 2, 0, 1)  # HWIO → OIHW
            value = value.contiguous().to(device)
            if trainable(path):
                value.requires_grad_()
            self.t[path] = value

    def __getitem__(self, path):
        return self.t[path]

    def has(self, path):
        return path in self.t

    def trainable(self, prefix=""):
        return [v for k, v in self.t.items() if k.startswith(prefix) and v.requires_grad]

    def count(self):
        return sum(v.numel() for v in self.t.values()), sum(v.numel() for v in self.t.values() if v.requires_grad)


def bn(P, prefix, x, training, eps):
    return F.batch_norm(x, P[prefix + "/mean"], P[prefix + "/variance"], P[prefix + "/gamma"],
                        P[prefix + "/beta"], training=training, momentum=0.1, eps=eps)


# --------------------------------------------------------------- MobileNetV2

MOBILENET_V2_BLOCKS = [
    (32, 16, 1, 1), (16, 24, 6, 2), (24, 24, 6, 1), (24, 32, 6, 2), (32, 32, 6, 1), (32, 32, 6, 1),
    (32, 64, 6, 2), (64, 64, 6, 1), (64, 64, 6, 1), (64, 64, 6, 1), (64, 96, 6, 1), (96, 96, 6, 1),
    (96, 96, 6, 1), (96, 160, 6, 2), (160, 160, 6, 1), (160, 160, 6, 1), (160, 320, 6, 1),
]


def mobilenet_geometry():
    current, rate, out = 2, 1, []
    for (_, _, _, s) in MOBILENET_V2_BLOCKS:
        if current >= 8 and s > 1:
            out.append((1, rate))
            rate *= s
        else:
            current *= s
            out.append((s, rate))
    return out


def mobilenet_v2(P, x, training):
    eps = 1e-3
    b = "seg/backbone"
    h = F.relu6(bn(P, b + "/stem/bn", conv_same(x, P[b + "/stem/conv/kernel"], stride=2), training, eps))
    for i, ((cin, cout, _, _), (stride, dilation)) in enumerate(zip(MOBILENET_V2_BLOCKS, mobilenet_geometry())):
        p = f"{b}/blocks/{i}"
        y = h
        if P.has(p + "/expand/conv/kernel"):
            y = F.relu6(bn(P, p + "/expand/bn", F.conv2d(y, P[p + "/expand/conv/kernel"]), training, eps))
        w = P[p + "/depthwise/kernel"]
        y = conv_same(y, w, stride=stride, dilation=dilation, groups=w.shape[0])
        y = F.relu6(bn(P, p + "/depthwise/bn", y, training, eps))
        y = bn(P, p + "/project/bn", F.conv2d(y, P[p + "/project/conv/kernel"]), training, eps)
        h = h + y if stride == 1 and cin == cout else y
    return h


# --------------------------------------------------------------- ResNet

STAGES = [(1, 1), (2, 1), (1, 2), (1, 4)]


def resnet_basic(P, x, training):
    """Our ResNet-18/34 ("default" variant: the stride on the first 3x3, max pool "same")."""
    eps = 1e-5
    b = "seg/backbone"
    h = F.relu(bn(P, b + "/stem/bn", conv_symmetric(x, P[b + "/stem/conv/kernel"], stride=2), training, eps))
    h, ph, pw = pad_same(h, 3, 2, value=-math.inf)
    h = F.max_pool2d(h, 3, 2, padding=(ph, pw))
    for s, (stride0, dilation) in enumerate(STAGES):
        i = 0
        while P.has(f"{b}/layer{s + 1}/{i}/conv1/kernel"):
            p = f"{b}/layer{s + 1}/{i}"
            stride = stride0 if i == 0 else 1
            y = F.relu(bn(P, p + "/bn1", conv_symmetric(h, P[p + "/conv1/kernel"], stride=stride,
                                                       dilation=dilation), training, eps))
            y = bn(P, p + "/bn2", conv_symmetric(y, P[p + "/conv2/kernel"], dilation=dilation), training, eps)
            shortcut = h
            if P.has(p + "/downsample/conv/kernel"):
                shortcut = bn(P, p + "/downsample/bn", F.conv2d(h, P[p + "/downsample/conv/kernel"], stride=stride),
                              training, eps)
            h = F.relu(y + shortcut)
            i += 1
    return h


def deeplab(P, x, config, training):
    feature = mobilenet_v2(P, x, training) if config["seg"].get("backbone") == "mobilenetv2" else resnet_basic(
        P, x, training)
    logits = None
    for i, rate in enumerate(config["seg"]["atrousRates"]):
        p = f"seg/head/aspp/{i}"
        branch = conv_symmetric(feature, P[p + "/kernel"], P[p + "/bias"], dilation=rate)
        logits = branch if logits is None else logits + branch
    return logits, feature


def upsample(x, size):
    return x if tuple(x.shape[2:]) == tuple(size) else F.interpolate(
        x, size=size, mode="bilinear", align_corners=False)


def segmentation_loss(logits, labels):
    return F.cross_entropy(upsample(logits, labels.shape[1:]), labels, ignore_index=255)


# --------------------------------------------------------------- CDGA

GROUP_EPS = 1e-6
ABSENT_MASS = 1e-3
PRESENT_MASS = 1e-6


def layer_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(1, keepdim=True)
    centred = x - mean
    rstd = torch.rsqrt((centred * centred).mean(1, keepdim=True) + eps)
    return centred * rstd * gamma[None, :, None, None] + beta[None, :, None, None]


def grouping(P, probs, feature):
    x = torch.cat([probs, feature], 1)
    h = F.relu(layer_norm(F.conv2d(x, P["group/conv1/kernel"], P["group/conv1/bias"]), P["group/norm1/gamma"],
                          P["group/norm1/beta"]))
    h = F.relu(layer_norm(F.conv2d(h, P["group/conv2/kernel"], P["group/conv2/bias"]), P["group/norm2/gamma"],
                          P["group/norm2/beta"]))
    return torch.softmax(F.conv2d(h, P["group/conv3/kernel"], P["group/conv3/bias"]), 1)


def rows(x):
    """[N, C, h, w] → [N·h·w, C], pixels in our (NHWC) order."""
    return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])


def class_balanced(a, evidence):
    a, y = rows(a), rows(evidence)
    mass = a.t() @ y
    class_mass = y.sum(0)
    membership = mass / (class_mass + GROUP_EPS)
    present = (class_mass > ABSENT_MASS).float().detach()
    kept = membership * present
    q = kept / (kept.sum(1, keepdim=True) + GROUP_EPS)
    usage = kept.sum(1) / torch.clamp(present.sum(), min=1)
    return q, usage


def orthogonality(q):
    k = q.shape[0]
    norms = torch.sqrt((q * q).sum(1, keepdim=True) + 1e-16)
    unit = q / (norms + 1e-8)
    cosines = unit @ unit.t()
    return (cosines.sum() - torch.diagonal(cosines).sum()) / (k * (k - 1))


def usage_balance(usage):
    k = usage.shape[0]
    return F.relu((usage * torch.log(torch.clamp(usage, min=1e-30) * k)).sum())


def group_inputs(a, p):
    """[N, K, h, w] assignments and [N, C, h, w] probabilities → D's [K·N, C, h, w] inputs."""
    n, k = a.shape[:2]
    return (a.transpose(0, 1)[:, :, None] * p[None]).reshape(k * n, p.shape[1], p.shape[2], p.shape[3])


def patch_discriminator(P, x, prefix="disc/nets/0"):
    i = 0
    while P.has(f"{prefix}/layers/{i}/kernel"):
        w, b = P[f"{prefix}/layers/{i}/kernel"], P[f"{prefix}/layers/{i}/bias"]
        x = conv_same(x, w, b, stride=2)
        if P.has(f"{prefix}/layers/{i + 1}/kernel"):
            x = F.leaky_relu(x, 0.2)
        i += 1
    return x


def bce(logits, target):
    """The mean binary cross-entropy of logits against a domain label (ours: BCE with logits)."""
    return F.softplus(-logits if target == 1 else logits).mean()


def global_views(config, ls_, lt_, input_size):
    """AdaptSegNet's global term beside the group-level ones: D_g's views of P_s and P_t, or None."""
    if config["global"] == "none":
        return None
    if config["global"] != "adaptSegNet":
        raise SystemExit(f"torch_steps.py: the global term {config['global']!r} is not ported")
    size = input_size if config["globalDiscResolution"] == "input" else tuple(lt_.shape[2:])
    return torch.softmax(upsample(ls_, size), 1), torch.softmax(upsample(lt_, size), 1)


def group_discriminator(P, inputs, k):
    out = patch_discriminator(P, inputs)  # [K·N, K, h', w']
    kn, _, ho, wo = out.shape
    per_group = out.reshape(k, kn // k, k, ho, wo)
    return torch.stack([per_group[g, :, g] for g in range(k)])  # [K, N, h', w']


def class_equivalence_weights(a, one_hot):
    """Per-pixel weights [N, K, h, w] (w_i^k = A[i,k] / (|C_k| n_{k,c(i)}))."""
    n, k, h, w = a.shape
    ar, y = rows(a), rows(one_hot)
    mass = ar.t() @ y
    present = (mass > PRESENT_MASS).float()
    class_count = torch.clamp(present.sum(1), min=1)
    own = y @ (mass * present).t()
    labelled = y.sum(1, keepdim=True)
    safe = torch.clamp(own, min=PRESENT_MASS)
    weights = ar * labelled * (own > PRESENT_MASS).float() / (safe * class_count)
    return weights.reshape(n, h, w, k).permute(0, 3, 1, 2)


def pool_weights(weights, grid):
    """[N, K, h, w] per-pixel weights → [K, N, gh, gw], normalised per group."""
    n, k, h, w = weights.shape
    fh, fw = h // grid[0], w // grid[1]
    pooled = weights.transpose(0, 1).reshape(k, n, grid[0], fh, grid[1], fw).sum((3, 5))
    per_group = pooled.reshape(k, -1)
    return (per_group / torch.clamp(per_group.sum(1, keepdim=True), min=1e-12)).reshape(k, n, grid[0], grid[1])


def group_adversarial(logits, target, weights):
    k = logits.shape[0]
    per_logit = F.softplus(-logits if target == 1 else logits).reshape(k, -1)
    w = weights.reshape(k, -1)
    return ((per_logit * w).sum(1) / torch.clamp(w.sum(1), min=1e-12)).mean()


def one_hot(ids, classes):
    """[N, h, w] ids (255: none) → [N, C, h, w] float one-hot, zero rows for ids outside [0, C)."""
    kept = (ids >= 0) & (ids < classes)
    hot = F.one_hot(torch.where(kept, ids, torch.zeros_like(ids)), classes).float() * kept[..., None].float()
    return hot.permute(0, 3, 1, 2)


def cdga_losses(P, batch, config):
    classes, k = config["seg"]["classes"], config["groups"]
    if config["discResolution"] != "output" or config["disc"]["mode"] != "shared":
        raise SystemExit("torch_steps.py: the port has the shared group D at G's output resolution only")
    xs, ys, xt = batch
    n = xs.shape[0]
    logits, feature = deeplab(P, torch.cat([xs, xt]), config, training=True)
    ls_, lt_ = logits[:n], logits[n:]
    fs, ft = feature[:n], feature[n:]
    seg = segmentation_loss(ls_, ys)
    ps, pt = torch.softmax(ls_, 1), torch.softmax(lt_, 1)
    h, w = lt_.shape[2:]
    as_ = grouping(P, ps.detach(), fs.detach())
    at = grouping(P, pt.detach(), ft.detach())
    small = F.interpolate(ys[:, None].float(), size=(h, w), mode="nearest-exact")[:, 0].long()
    ys_hot = one_hot(small, classes)
    qs, us = class_balanced(as_, ys_hot)
    qt, ut = class_balanced(at, pt.detach())
    bal = usage_balance((us + ut) / 2)
    sc = (qs - qt).abs().sum(1).mean()
    orth = orthogonality(qs) + orthogonality(qt)
    source_inputs, target_inputs = group_inputs(as_, ps), group_inputs(at, pt)
    target_logits = group_discriminator(P, target_inputs, k)
    grid = target_logits.shape[2:]
    with torch.no_grad():
        pseudo = F.one_hot(pt.argmax(1), classes).float().permute(0, 3, 1, 2)
        target_weights = pool_weights(class_equivalence_weights(at, pseudo), grid)
        source_weights = pool_weights(class_equivalence_weights(as_, ys_hot), grid)
    adv = group_adversarial(target_logits, 1, target_weights)
    lam = config["lambdas"]
    total = seg + lam["adv"] * adv + lam["sc"] * sc + lam["orth"] * orth + lam["bal"] * bal
    metrics = {"seg": seg, "adv": adv, "sc": sc, "orth": orth, "bal": bal}
    views = global_views(config, ls_, lt_, tuple(xs.shape[2:]))
    if views is not None:
        global_adv = bce(patch_discriminator(P, views[1], "disc/global"), 1)
        total = total + lam["global"] * global_adv
        metrics["globalAdv"] = global_adv
        views = (views[0].detach(), views[1].detach())
    metrics["total"] = total
    disc_inputs = (source_inputs.detach(), target_inputs.detach(), source_weights, target_weights, views)
    return total, metrics, disc_inputs


def disc_loss(P, inputs, k):
    source_inputs, target_inputs, source_weights, target_weights, views = inputs
    ls_ = group_discriminator(P, source_inputs, k)
    lt_ = group_discriminator(P, target_inputs, k)
    loss = group_adversarial(ls_, 1, source_weights) + group_adversarial(lt_, 0, target_weights)
    if views is not None:
        loss = loss + bce(patch_discriminator(P, views[0], "disc/global"), 1) + bce(
            patch_discriminator(P, views[1], "disc/global"), 0)
    return loss


# --------------------------------------------------------------- the steps


def poly(base, step, steps, power):
    return base * (1 - min(step / steps, 1)) ** power


def make_step(step_name, P, batch, config):
    o = config["optim"]
    head = [v for k, v in P.t.items() if k.startswith("seg/head") and v.requires_grad]
    body = [v for k, v in P.t.items() if k.startswith("seg/") and not k.startswith("seg/head") and v.requires_grad]
    groups = [{"params": body, "multiplier": 1.0}, {"params": head, "multiplier": o["headMultiplier"]}]
    if step_name == "cdga":
        groups.append({"params": P.trainable("group/"), "multiplier": o["headMultiplier"]})
    if o["segOptimizer"] == "adam":
        opt = torch.optim.Adam(groups, lr=o["segLr"], weight_decay=o["weightDecay"])
    else:
        opt = torch.optim.SGD(groups, lr=o["segLr"], momentum=o["momentum"], weight_decay=o["weightDecay"])
    disc_opt = torch.optim.Adam(P.trainable("disc/"), lr=o["discLr"],
                                betas=tuple(o["discBetas"])) if step_name == "cdga" else None
    state = {"count": 0}

    def step():
        for g in opt.param_groups:
            g["lr"] = poly(o["segLr"], state["count"], o["steps"], o["power"]) * g["multiplier"]
        opt.zero_grad(set_to_none=True)
        if step_name == "cdga":
            loss, metrics, disc_inputs = cdga_losses(P, batch, config)
        else:
            logits, _ = deeplab(P, batch[0], config, training=config["seg"].get("norm") == "batch")
            loss = segmentation_loss(logits, batch[1])
            metrics = {"seg": loss, "total": loss}
        loss.backward()
        opt.step()
        if disc_opt is not None:
            for g in disc_opt.param_groups:
                g["lr"] = poly(o["discLr"], state["count"], o["steps"], o["power"])
            disc_opt.zero_grad(set_to_none=True)
            d = disc_loss(P, disc_inputs, config["groups"])
            d.backward()
            disc_opt.step()
            metrics["disc"] = d
        state["count"] += 1
        return {k: float(v) for k, v in metrics.items()}

    return step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--step", choices=["deeplab-mobilenetv2", "cdga"], required=True)
    ap.add_argument("--export", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = ap.parse_args()
    device = torch.device(args.device)
    # Each timed step ends when the device is done (CUDA runs asynchronously).
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    torch.set_num_threads(args.threads)
    with open(os.path.join(args.export, "step.json")) as f:
        exported = json.load(f)
    config = exported["config"]
    tensors = read_safetensors(os.path.join(args.export, "tensors.safetensors"))
    # The parameters our optimizers leave as they are (running statistics, frozen affine maps).
    frozen = set(exported["frozen"])
    P = Parameters(tensors, lambda path: path not in frozen, device)
    nchw = lambda t: t.permute(0, 3, 1, 2).contiguous().to(device)
    batch = (nchw(tensors["batch/source/images"]), tensors["batch/source/labels"].long().to(device),
             nchw(tensors["batch/target/images"]))
    total, trainable = P.count()
    step = make_step(args.step, P, batch, config)
    first = step()
    second = step()
    times = []
    for i in range(args.warmup + args.steps):
        sync()
        start = time.perf_counter()
        metrics = step()
        sync()
        if i >= args.warmup:
            times.append((time.perf_counter() - start) * 1000)
    print(json.dumps({
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": args.device,
        **({"gpu": torch.cuda.get_device_name()} if args.device == "cuda" else {}),
        "medianMs": round(statistics.median(times), 1),
        "minMs": round(min(times), 1),
        "maxMs": round(max(times), 1),
        "lossFirst": first["seg"],
        "lossLast": metrics["seg"],
        "firstStep": first,
        "secondStep": second,
        "counts": {"total": total, "trainable": trainable},
    }))


if __name__ == "__main__":
    main()
