"""Generator (self-attention U-Net with spectral normalization, DeOldify's design) and critic.

No pretrained backbone can be had here, so the encoder is a small ResNet-style stack trained
from scratch. Width, depth, attention level, frames (1 or 3) and output scale are configurable.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .compat import spectral_norm


def conv(cin: int, cout: int, k: int = 3, stride: int = 1, sn: bool = False, bias: bool = True) -> nn.Module:
    layer = nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=bias)
    return spectral_norm(layer) if sn else layer


class SelfAttention(nn.Module):
    """SAGAN self-attention as used in DeOldify: lets distant regions agree on colour."""

    def __init__(self, c: int):
        super().__init__()
        self.f = conv(c, max(1, c // 8), 1, sn=True, bias=False)
        self.g = conv(c, max(1, c // 8), 1, sn=True, bias=False)
        self.h = conv(c, c, 1, sn=True, bias=False)
        # Starts as identity so attention is learned gradually.
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = torch.flatten(self.f(x), 2)
        g = torch.flatten(self.g(x), 2)
        h = torch.flatten(self.h(x), 2)
        beta = torch.softmax(torch.bmm(f.transpose(1, 2), g), dim=1)
        o = torch.bmm(h, beta)
        return self.gamma * o.reshape(x.shape) + x


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1, sn: bool = False):
        super().__init__()
        self.c1 = conv(cin, cout, 3, stride, sn=sn, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = conv(cout, cout, 3, 1, sn=sn, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        nn.init.zeros_(self.b2.weight)  # residual branch starts at zero: stable from-scratch training
        self.skip = None if (cin == cout and stride == 1) else nn.Sequential(
            conv(cin, cout, 1, stride, sn=sn, bias=False), nn.BatchNorm2d(cout)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
        return F.relu(y + (x if self.skip is None else self.skip(x)))


def _icnr_(weight: torch.Tensor, scale: int = 2) -> None:
    """ICNR init: the pixel shuffle starts as nearest-neighbour upsampling (no checkerboard)."""
    cout, cin, kh, kw = weight.shape
    sub = torch.empty(cout // scale ** 2, cin, kh, kw)
    nn.init.kaiming_normal_(sub)
    weight.data.copy_(sub.repeat_interleave(scale ** 2, dim=0))


class PixelShuffleUp(nn.Module):
    def __init__(self, cin: int, cout: int, sn: bool = True, blur: bool = True):
        super().__init__()
        layer = nn.Conv2d(cin, cout * 4, 1)
        _icnr_(layer.weight)
        nn.init.zeros_(layer.bias)
        self.conv = spectral_norm(layer) if sn else layer
        self.shuffle = nn.PixelShuffle(2)
        self.blur = blur

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.shuffle(F.relu(self.conv(x)))
        if self.blur:
            # DeOldify's blur after the shuffle: replicate-pad then 2x2 average, same size out.
            x = F.avg_pool2d(F.pad(x, (1, 0, 1, 0), mode="replicate"), 2, stride=1)
        return x


class UpBlock(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int, attention: bool):
        super().__init__()
        self.up = PixelShuffleUp(cin, cin // 2)
        self.bn_skip = nn.BatchNorm2d(cskip)
        self.c1 = conv(cin // 2 + cskip, cout, 3, sn=True)
        self.c2 = conv(cout, cout, 3, sn=True)
        self.bn = nn.BatchNorm2d(cout)
        self.attn = SelfAttention(cout) if attention else None

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.up(x), self.bn_skip(skip)], 1)
        x = self.bn(F.relu(self.c2(F.relu(self.c1(x)))))
        return x if self.attn is None else self.attn(x)


@dataclass
class GeneratorConfig:
    in_channels: int = 3  # per frame
    out_channels: int = 3
    frames: int = 1  # 3 = (t-1, t, t+1) stacked on the channel axis
    width: int = 32
    depth: int = 4  # number of stride-2 levels: inputs must be a multiple of 2**depth
    max_mult: int = 8
    blocks: int = 2  # residual blocks per encoder level
    attention_level: int = 3  # decoder level (1/2**level resolution) with self-attention; 0 = none
    residual: bool = True  # add the (centre-frame) input to the output (restore, SR)
    scale: int = 1  # 1, 2 or 4: output size / input size
    zero_head: bool = True  # residual models start as the identity (stable); tests turn it off
    decoder_mult: float = 1.0  # decoder width relative to the encoder's at each level (DeOldify "wide": 2)
    # 2, 4 or 8: the head works at 1/out_stride resolution. Chroma is low-frequency and is merged over
    # the photo's own full-resolution lightness anyway, so a colorizer loses nothing visible, and
    # its per-pixel bin logits (256 channels) cost out_stride**2 times less.
    out_stride: int = 1

    @property
    def multiple(self) -> int:
        return 2 ** self.depth


class Generator(nn.Module):
    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        if cfg.scale not in (1, 2, 4):
            raise ValueError("scale must be 1, 2 or 4")
        if cfg.residual and cfg.in_channels != cfg.out_channels:
            raise ValueError("a residual generator needs in_channels == out_channels")
        if cfg.out_stride not in (1, 2, 4, 8) or cfg.out_stride > 2 ** cfg.depth:
            raise ValueError("out_stride must be 1, 2, 4 or 8 and at most 2**depth")
        if cfg.out_stride > 1 and (cfg.scale > 1 or cfg.residual):
            raise ValueError("out_stride > 1 is for non-residual models at scale 1 (colorize)")
        self.cfg = cfg
        cin = cfg.in_channels * cfg.frames
        ch = [min(cfg.width * 2 ** i, cfg.width * cfg.max_mult) for i in range(cfg.depth + 1)]
        self.stem = nn.Sequential(conv(cin, ch[0], 3, bias=False), nn.BatchNorm2d(ch[0]), nn.ReLU(),
                                  ResBlock(ch[0], ch[0]))
        self.down = nn.ModuleList()
        for i in range(1, cfg.depth + 1):
            layers = [ResBlock(ch[i - 1], ch[i], stride=2)] + [ResBlock(ch[i], ch[i]) for _ in range(cfg.blocks - 1)]
            self.down.append(nn.Sequential(*layers))
        cm = ch[-1]
        self.middle = nn.Sequential(conv(cm, cm * 2, 3, sn=True), nn.ReLU(), nn.BatchNorm2d(cm * 2),
                                    conv(cm * 2, cm, 3, sn=True), nn.ReLU(), nn.BatchNorm2d(cm))
        self.up = nn.ModuleList()
        c = cm
        last = int(math.log2(cfg.out_stride))
        for level in range(cfg.depth, last, -1):
            # This block outputs resolution 1/2**(level-1).
            cout = max(8, int(round(ch[level - 1] * cfg.decoder_mult)))
            self.up.append(UpBlock(c, ch[level - 1], cout, attention=(level - 1) == cfg.attention_level))
            c = cout
        ups = []
        for _ in range(int(math.log2(cfg.scale))):
            ups.append(PixelShuffleUp(c, c))
        self.upscale = nn.Sequential(*ups)
        # DeOldify's "last cross": the raw input joins right before the head.
        self.head_res = ResBlock(c + cin, c + cin, sn=True)
        self.head = nn.Conv2d(c + cin, cfg.out_channels, 1)
        if cfg.residual and cfg.zero_head:
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def centre_frame(self, x: torch.Tensor) -> torch.Tensor:
        c = self.cfg.in_channels
        return x if self.cfg.frames == 1 else x[:, c: 2 * c]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        y = self.stem(x)
        for down in self.down:
            skips.append(y)
            y = down(y)
        y = self.middle(y)
        for up, skip in zip(self.up, reversed(skips)):
            y = up(y, skip)
        base = x
        if self.cfg.out_stride > 1:
            base = F.avg_pool2d(x, self.cfg.out_stride)
        if self.cfg.scale > 1:
            y = self.upscale(y)
            base = F.interpolate(x, scale_factor=float(self.cfg.scale), mode="bilinear", align_corners=False)
        y = self.head(self.head_res(torch.cat([y, base], 1)))
        if self.cfg.residual:
            y = y + self.centre_frame(base)
        return y


@dataclass
class CriticConfig:
    in_channels: int = 3
    width: int = 32
    layers: int = 3
    dropout: float = 0.15
    attention: bool = True


class Critic(nn.Module):
    """Patch critic with spectral normalization everywhere (DeOldify's gan_critic)."""

    def __init__(self, cfg: CriticConfig):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        layers = [spectral_norm(nn.Conv2d(cfg.in_channels, w, 4, 2, 1)), nn.LeakyReLU(0.2), nn.Dropout2d(cfg.dropout / 2)]
        for i in range(cfg.layers):
            layers += [spectral_norm(nn.Conv2d(w, w, 3, 1, 1)), nn.LeakyReLU(0.2), nn.Dropout2d(cfg.dropout)]
            if i == 0 and cfg.attention:
                layers.append(SelfAttention(w))
            layers += [spectral_norm(nn.Conv2d(w, w * 2, 4, 2, 1)), nn.LeakyReLU(0.2)]
            w *= 2
        layers += [spectral_norm(nn.Conv2d(w, w, 3, 1, 1)), nn.LeakyReLU(0.2),
                   spectral_norm(nn.Conv2d(w, 1, 4, 1, 0, bias=False))]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.net(x), 1)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def config_dict(cfg) -> dict:
    return asdict(cfg)
