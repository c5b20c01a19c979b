#!/usr/bin/env python3
"""Reference DeepLab-V2 networks in PyTorch, for tests/convert_test.ts.

    python3 bench/torch_deeplab.py OUT_DIR [SEED]

Writes OUT_DIR/deeplab_caffe.safetensors and OUT_DIR/deeplab_torchvision.safetensors:
each holds a network's state dict under its PyTorch names, and, under
"fixture/…", an input x [N, 3, H, W], a random r of the logits' shape, the
logits and the gradients of sum(logits · r) with respect to x and to the
first convolution's weight. The networks are written from the published
architectures (read, not copied):

- caffe: DeepLab-V2 ResNet-101 as AdaptSegNet's model/deeplab.py and
  ADVENT's deeplabv2.py build it for the Caffe-converted weights: stride on
  each bottleneck's first 1x1 convolution, a 3x3 max pool with padding 1 in
  ceil_mode, frozen batch norm, dilations 2 and 4 in the last two stages, and
  the classifier "layer5" of four 3x3 dilated convolutions with biases whose
  forward returns inside its loop, so only the first two (rates 6, 12) are
  summed, as in AdaptSegNet.
- torchvision: torchvision's ResNet-101 (stride on the 3x3 convolution, max
  pool padding 1, floor mode) with its last two stages dilated instead of
  strided (replace_stride_with_dilation=[False, True, True]), and the same
  classifier summing all four branches (ADVENT).

Widths are divided by WIDTH_DIVISOR (the structure, names and arithmetic are
the published ones; only channel counts shrink) so that the fixtures stay
small. Weights are random, batch norm's running statistics too.
"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from pth_to_safetensors import write_safetensors  # noqa: E402

WIDTH_DIVISOR = 16
CLASSES = 3


def c(n):
    return max(1, round(n / WIDTH_DIVISOR))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride, dilation, downsample, caffe):
        super().__init__()
        s1, s2 = (stride, 1) if caffe else (1, stride)
        self.conv1 = nn.Conv2d(inplanes, planes, 1, stride=s1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=s2, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        residual = self.downsample(x) if self.downsample is not None else x
        return self.relu(out + residual)


class Classifier(nn.Module):
    def __init__(self, inplanes, rates, classes, first_two_only):
        super().__init__()
        self.conv2d_list = nn.ModuleList(
            [nn.Conv2d(inplanes, classes, 3, padding=r, dilation=r, bias=True) for r in rates]
        )
        self.first_two_only = first_two_only

    def forward(self, x):
        out = self.conv2d_list[0](x)
        for i in range(len(self.conv2d_list) - 1):
            out = out + self.conv2d_list[i + 1](x)
            if self.first_two_only:
                return out  # AdaptSegNet's forward returns inside its loop
        return out


class DeepLab(nn.Module):
    def __init__(self, caffe):
        super().__init__()
        self.inplanes = c(64)
        self.conv1 = nn.Conv2d(3, c(64), 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(c(64))
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=caffe)
        self.layer1 = self._layer(c(64), 3, 1, 1, caffe)
        self.layer2 = self._layer(c(128), 4, 2, 1, caffe)
        self.layer3 = self._layer(c(256), 23, 1, 2, caffe)
        self.layer4 = self._layer(c(512), 3, 1, 4, caffe)
        self.layer5 = Classifier(c(512) * 4, [6, 12, 18, 24], CLASSES, first_two_only=caffe)

    def _layer(self, planes, blocks, stride, dilation, caffe):
        downsample = None
        if stride != 1 or self.inplanes != planes * 4 or dilation in (2, 4):
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * 4, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * 4),
            )
        layers = [Bottleneck(self.inplanes, planes, stride, dilation, downsample, caffe)]
        self.inplanes = planes * 4
        layers += [Bottleneck(self.inplanes, planes, 1, dilation, None, caffe) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.layer5(x)


def randomise(model, generator):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") and "conv2d_list" in name:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.1)
            elif p.dim() == 4:
                fan_in = p.shape[1] * p.shape[2] * p.shape[3]
                p.copy_(torch.randn(p.shape, generator=generator) * (2.0 / fan_in) ** 0.5)
            else:  # batch norm scale and shift
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=generator) if name.endswith("weight")
                        else 0.1 * torch.randn(p.shape, generator=generator))
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=generator))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=generator))


def fixture(caffe, seed):
    generator = torch.Generator().manual_seed(seed)
    model = DeepLab(caffe).double()
    randomise(model, generator)
    model.eval()
    # Odd and even sides, so that every padding and rounding rule shows.
    x = (torch.randn(2, 3, 40, 37, generator=generator, dtype=torch.float64) * 50).requires_grad_()
    logits = model(x)
    r = torch.randn(logits.shape, generator=generator, dtype=torch.float64)
    (logits * r).sum().backward()
    tensors = {k: v for k, v in model.state_dict().items() if v.is_floating_point()}
    tensors.update({
        "fixture/x": x.detach(),
        "fixture/r": r,
        "fixture/logits": logits.detach(),
        "fixture/grad_x": x.grad,
        "fixture/grad_conv1": model.conv1.weight.grad,
    })
    return tensors


def main():
    out = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    os.makedirs(out, exist_ok=True)
    for name, caffe in (("caffe", True), ("torchvision", False)):
        path = os.path.join(out, f"deeplab_{name}.safetensors")
        write_safetensors(fixture(caffe, seed), path)
        print(path)


if __name__ == "__main__":
    main()
