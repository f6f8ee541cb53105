"""RobinSegNet: a compact RGB-D bottom-up instance segmentation network (Panoptic-DeepLab style).

Input ``rgbh`` (B, 4, H, W) float32: RGB in 0..255 and height above the belt [m] (holes filled);
normalisation happens inside the network so the exported graph is self-contained. Outputs at
half the input resolution:

- ``semantic`` (B, 2 + T, H/2, W/2): foreground logit, instance-boundary logit, T type logits;
- ``center`` (B, 1, H/2, W/2): instance-centre heatmap in [0, 1] (sigmoid applied);
- ``offset`` (B, 2, H/2, W/2): (dy, dx) from each pixel to its instance centre [output px].

Only conv (+BN, folded on export), ReLU, bilinear resize by 2, concat, add, mean-pool and
sigmoid, at a fixed input size: TensorRT- and ORT-friendly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812 - conventional alias
from torch import nn

RGB_MEAN = (120.0, 115.0, 105.0)
RGB_STD = (60.0, 60.0, 60.0)
HEIGHT_SCALE_M = 0.1  # height [m] / 0.1 -> O(1) input
OFFSET_SCALE = 10.0  # offset head predicts offset / 10 for a well-scaled regression


def conv_bn(cin: int, cout: int, k: int = 3, *, stride: int = 1, dilation: int = 1, relu: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, k, stride, padding=dilation * (k // 2), dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """Two 3x3 convs with an identity shortcut."""

    def __init__(self, ch: int, dilation: int = 1) -> None:
        super().__init__()
        self.a = conv_bn(ch, ch, dilation=dilation)
        self.b = conv_bn(ch, ch, dilation=dilation, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.b(self.a(x)))


class Fuse(nn.Module):
    """Upsample the coarse map x2, concat the skip, mix with 1x1 then 3x3."""

    def __init__(self, c_coarse: int, c_skip: int, cout: int) -> None:
        super().__init__()
        self.mix = conv_bn(c_coarse + c_skip, cout, k=1)
        self.refine = conv_bn(cout, cout)

    def forward(self, coarse: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(coarse, scale_factor=2.0, mode='bilinear', align_corners=False)
        return self.refine(self.mix(torch.cat((up, skip), 1)))


class ContextBranch(nn.Module):
    """A wide residual branch on the stride-16 features: 1x1 up to ``ch``, dilated blocks, 1x1 back.

    Its last BatchNorm starts at zero, so a network grown by this branch computes exactly what it
    did before: a trained RobinSegNet keeps its accuracy at step 0 and learns from there.
    """

    def __init__(self, c_in: int, ch: int, dilations: tuple[int, ...] = (1, 2, 4)) -> None:
        super().__init__()
        self.expand = conv_bn(c_in, ch, k=1)
        self.blocks = nn.Sequential(*(BasicBlock(ch, d) for d in dilations))
        self.project = conv_bn(ch, c_in, k=1, relu=False)
        nn.init.zeros_(self.project[1].weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.project(self.blocks(self.expand(x))))


class RobinSegNet(nn.Module):
    """Encoder (stride 16) + U-Net decoder to stride 2 + semantic and instance heads.

    Args:
        num_types: package types (type logits channels).
        width: channel multiplier (1.0 = 24/32/64/96).
        context_width: channels of the stride-16 :class:`ContextBranch` (0 = none, the v1.0 net).
    """

    def __init__(self, num_types: int = 4, width: float = 1.0, context_width: int = 0) -> None:
        super().__init__()
        c0, c1, c2, c3 = (round(c * width) for c in (24, 32, 64, 96))
        self.num_types = num_types
        self.width = width
        self.context_width = context_width
        self.register_buffer('mean', torch.tensor([*RGB_MEAN, 0.0]).view(1, 4, 1, 1))
        self.register_buffer('inv_std', 1.0 / torch.tensor([*RGB_STD, HEIGHT_SCALE_M]).view(1, 4, 1, 1))
        self.stem = nn.Sequential(conv_bn(4, c0, stride=2), conv_bn(c0, c0))
        self.s1 = nn.Sequential(conv_bn(c0, c1, stride=2), BasicBlock(c1))
        self.s2 = nn.Sequential(conv_bn(c1, c2, stride=2), BasicBlock(c2), BasicBlock(c2))
        self.s3 = nn.Sequential(conv_bn(c2, c3, stride=2), BasicBlock(c3), BasicBlock(c3, 2), BasicBlock(c3, 4))
        self.ctx = conv_bn(c3, c3, k=1)
        self.context = ContextBranch(c3, context_width) if context_width else None
        self.f2 = Fuse(c3, c2, 64)
        self.f1 = Fuse(64, c1, 48)
        self.f0 = Fuse(48, c0, 32)
        self.sem_head = nn.Sequential(conv_bn(32, 32), nn.Conv2d(32, 2 + num_types, 1))
        self.ins_head = nn.Sequential(conv_bn(32, 32), nn.Conv2d(32, 3, 1))
        with torch.no_grad():  # start with an almost empty heatmap (it is mostly zeros)
            self.ins_head[-1].bias[0] = -4.0

    def forward(self, rgbh: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = (rgbh - self.mean) * self.inv_std
        x0 = self.stem(x)
        x1 = self.s1(x0)
        x2 = self.s2(x1)
        x3 = self.s3(x2)
        if self.context is not None:
            x3 = self.context(x3)
        x3 = x3 + self.ctx(x3.mean(dim=(2, 3), keepdim=True))  # global context, broadcast add
        d = self.f0(self.f1(self.f2(x3, x2), x1), x0)
        semantic = self.sem_head(d)
        ins = self.ins_head(d)
        center = torch.sigmoid(ins[:, :1])
        offset = ins[:, 1:] * OFFSET_SCALE
        return semantic, center, offset


def architecture_of(state: dict[str, torch.Tensor]) -> dict[str, float | int]:
    """``width`` and ``context_width`` of the RobinSegNet a state dict belongs to (from its shapes)."""
    width = state['stem.0.0.weight'].shape[0] / 24
    context = state.get('context.expand.0.weight')
    return {'width': width, 'context_width': 0 if context is None else int(context.shape[0])}
