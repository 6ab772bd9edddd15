"""Generators (self-attention U-Nets with spectral normalization, DeOldify's design) and critic.

Two encoders: a small ResNet-style stack trained from scratch (restore, microscopy, colorize 0.x),
and an ImageNet-pretrained MobileNetV2 (`encoder: "mobilenet_v2"`, colorize 1.x) under a light
decoder, as DeOldify and fast.ai put a U-Net decoder on a pretrained ResNet. Width, depth,
attention level, frames (1 or 3) and output scale are configurable.
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
    # "" = the from-scratch ResNet encoder; "mobilenet_v2" = MobileUNet (pretrained encoder).
    encoder: str = ""
    # MobileUNet: decoder channels at strides 32 (bottleneck), 16, 8, 4, 2 (as far as out_stride).
    decoder_channels: tuple = (128, 96, 48, 32, 24)
    # MobileUNet: a global-context branch (the pooled stride-32 head, as a classifier sees the
    # whole photo) added to the bottleneck, so that what the photo shows steers every pixel's colour.
    context: bool = True
    # Generator (restore): "mobilenet_v2" adds the ImageNet-pretrained MobileNetV2 (frozen) as context.
    # It sees the input at half resolution (a quarter of its cost at full resolution: the encoder
    # alone would cost more than the rest of the model), and its stride-8 and stride-16 features
    # (strides 16 and 32 of the input) are projected to the bottleneck and added there. The last
    # projection starts at zero, so a model initialised from a plain Generator starts as exactly that
    # model. The full-resolution path and the residual over the input stay as they are: that is where
    # pixel-exact restoration (what PSNR rewards) happens.
    context_encoder: str = ""

    @property
    def multiple(self) -> int:
        # The context encoder's stride-2 convolutions need even sizes down to its stride 16, at half size.
        return max(2 ** self.depth, 32) if self.context_encoder else 2 ** self.depth


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
        if cfg.context_encoder not in ("", "mobilenet_v2"):
            raise ValueError(f"generator.context_encoder must be '' or 'mobilenet_v2', got {cfg.context_encoder!r}")
        if cfg.context_encoder and (cfg.depth != 3 or cfg.frames != 1 or cfg.in_channels != 3):
            raise ValueError("context_encoder: depth 3 (bottleneck at stride 8), one RGB frame in")
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
        self.encoder = self.context = None
        if cfg.context_encoder:
            from .mobilenet import TAP_CHANNELS, MobileNetV2
            enc = MobileNetV2(classifier=False)
            # Only the blocks up to the stride-16 tap run; the rest (and the 1280 head) are dropped.
            enc.blocks = nn.ModuleList(list(enc.blocks)[: enc.tap_index[3] + 1])
            enc.head = None
            for p in enc.parameters():
                p.requires_grad_(False)
            self.encoder = enc
            last = nn.Conv2d(cm, cm, 3, padding=1)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
            self.context = nn.Sequential(nn.Conv2d(TAP_CHANNELS[2] + TAP_CHANNELS[3], cm, 1), nn.ReLU(), last)
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
        if self.encoder is not None:
            with torch.no_grad():  # frozen
                half = F.avg_pool2d(x, 2)
                s16, s32 = self.encoder.features(self.encoder.normalise(half))[2:4]
            size = y.shape[-2:]
            s16 = F.interpolate(s16, size=size, mode="bilinear", align_corners=False)
            s32 = F.interpolate(s32, size=size, mode="bilinear", align_corners=False)
            y = y + self.context(torch.cat([s16, s32], 1))
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


class MobileUNet(nn.Module):
    """U-Net decoder on MobileNetV2's stride-2/4/8/16/32 features (grey input replicated to RGB).

    The encoder is the classifier's backbone (weights from load_coral_mobilenet_v2 at training
    start); the decoder has spectral norm, pixel-shuffle upsampling with ICNR + blur, and
    self-attention at 1/2**attention_level, as Generator. forward() = decode(encode(x), x), so a
    trainer with a frozen encoder can cache encode()'s outputs once and train decode() alone.

    `out_stride` 1 (the damage detector: scratches are 1-3 px wide) adds a full-resolution stage:
    the stride-2 decoder output upsampled bilinearly and joined with a small convolution stack on
    the input itself (a high-resolution skip the encoder's first stride-2 layer cannot give)."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        from .mobilenet import HEAD_CHANNELS, TAP_CHANNELS, MobileNetV2
        if cfg.depth != 5 or cfg.frames != 1 or cfg.in_channels not in (1, 3) or cfg.residual or cfg.scale != 1:
            raise ValueError("mobilenet_v2 generator: depth 5, one grey or RGB frame in, not residual, scale 1")
        if cfg.out_stride not in (1, 2, 4, 8):
            raise ValueError("mobilenet_v2 generator: out_stride must be 1, 2, 4 or 8")
        self.cfg = cfg
        self.encoder = MobileNetV2(classifier=False)
        # Strides 2..32 are taps 0..4; the decoder goes up to 1/out_stride (1: up to stride 2, then full).
        self.first_tap = max(0, int(math.log2(cfg.out_stride)) - 1)
        dc = list(cfg.decoder_channels)
        levels = 4 - self.first_tap  # up-blocks: 32->16, 16->8, ... down to out_stride
        need = levels + 1 + (1 if cfg.out_stride == 1 else 0)
        if len(dc) < need:
            raise ValueError(f"decoder_channels needs {need} entries for out_stride {cfg.out_stride}")
        cm = dc[0]
        self.middle = nn.Sequential(conv(TAP_CHANNELS[4] + HEAD_CHANNELS, cm, 1, sn=True), nn.ReLU(),
                                    conv(cm, cm, 3, sn=True), nn.ReLU(), nn.BatchNorm2d(cm))
        self.context = nn.Sequential(nn.Linear(HEAD_CHANNELS, cm), nn.ReLU(), nn.Linear(cm, cm)) if cfg.context else None
        self.up = nn.ModuleList()
        c = cm
        for i in range(levels):
            tap = 3 - i  # skip from stride 2**(tap+1)
            self.up.append(UpBlock(c, TAP_CHANNELS[tap], dc[i + 1], attention=(tap + 1) == cfg.attention_level))
            c = dc[i + 1]
        cin = cfg.in_channels
        self.hires = self.full = None
        if cfg.out_stride == 1:
            hc = dc[levels + 1]
            self.hires = nn.Sequential(conv(cin, hc, 3), nn.ReLU(), conv(hc, hc, 3), nn.ReLU())
            self.full = nn.Sequential(conv(c + hc, hc, 3), nn.ReLU())
            c = hc
        # No residual block before the head (the scratch Generator has one): at 1/4 resolution it
        # would cost more than the rest of the decoder; the input still joins ("last cross").
        self.head = nn.Conv2d(c + cin, cfg.out_channels, 1)

    def encode(self, grey: torch.Tensor) -> list:
        """The encoder's taps the decoder needs: [stride max(2, out_stride) .. stride 32]."""
        x = self.encoder.normalise(grey.expand(-1, 3, -1, -1))
        return self.encoder.features(x)[self.first_tap:]

    def decode(self, feats: list, grey: torch.Tensor) -> torch.Tensor:
        top = feats[-1]
        head = self.encoder.head(top)
        y = self.middle(torch.cat([top, head], 1))
        if self.context is not None:
            y = y + self.context(head.mean((2, 3)))[:, :, None, None]
        for up, skip in zip(self.up, reversed(feats[:-1])):
            y = up(y, skip)
        if self.full is not None:
            y = F.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=False)
            y = self.full(torch.cat([y, self.hires(grey)], 1))
            return self.head(torch.cat([y, grey], 1))
        base = F.avg_pool2d(grey, self.cfg.out_stride)
        return self.head(torch.cat([y, base], 1))

    def forward(self, grey: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(grey), grey)

    def encoder_parameters(self) -> list:
        return list(self.encoder.parameters())


def make_generator(cfg) -> nn.Module:
    if isinstance(cfg, InpaintConfig):
        return GatedUNet(cfg)
    if cfg.encoder == "mobilenet_v2":
        return MobileUNet(cfg)
    if cfg.encoder:
        raise ValueError(f"generator.encoder must be '' or 'mobilenet_v2', got {cfg.encoder!r}")
    return Generator(cfg)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def config_dict(cfg) -> dict:
    return asdict(cfg)


class GatedConv(nn.Module):
    """Gated convolution (Yu et al., DeepFill v2): features * sigmoid(gate), so the layer learns
    per pixel and channel how far to trust what it sees (a hole pixel carries no information)."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, dilation: int = 1, act: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, 2 * cout, k, stride=stride, padding=dilation * (k // 2), dilation=dilation)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f, g = self.conv(x).chunk(2, 1)
        f = F.elu(f) if self.act else f
        return f * torch.sigmoid(g)


@dataclass
class InpaintConfig:
    """A small gated-convolution U-Net, conditioned on the image with its holes zeroed and the mask."""

    width: int = 16
    # dilated gated convolutions at stride 8: a receptive field of ~200 px for larger holes
    dilations: tuple = (2, 4, 8)
    encoder: str = "gated"

    @property
    def multiple(self) -> int:
        return 8


class GatedUNet(nn.Module):
    """Input (B, 4, H, W): RGB with holes set to 0, then the mask (1 = hole). Output RGB in 0..1
    with the known pixels kept: out = x * (1 - m) + pred * m."""

    def __init__(self, cfg: InpaintConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.width
        self.e0 = GatedConv(4, c, 5)
        self.e1 = nn.Sequential(GatedConv(c, 2 * c, 3, 2), GatedConv(2 * c, 2 * c))
        self.e2 = nn.Sequential(GatedConv(2 * c, 4 * c, 3, 2), GatedConv(4 * c, 4 * c))
        self.e3 = nn.Sequential(GatedConv(4 * c, 4 * c, 3, 2), *[GatedConv(4 * c, 4 * c, 3, dilation=d) for d in cfg.dilations])
        self.d2 = GatedConv(8 * c, 4 * c)
        self.d1 = GatedConv(6 * c, 2 * c)
        self.d0 = GatedConv(3 * c, c)
        self.head = nn.Conv2d(c, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        img, m = x[:, :3], x[:, 3:4]
        s0 = self.e0(x)
        s1 = self.e1(s0)
        s2 = self.e2(s1)
        y = self.e3(s2)
        up = lambda t: F.interpolate(t, scale_factor=2.0, mode="nearest")
        y = self.d2(torch.cat([up(y), s2], 1))
        y = self.d1(torch.cat([up(y), s1], 1))
        y = self.d0(torch.cat([up(y), s0], 1))
        pred = torch.sigmoid(self.head(y))
        return img * (1 - m) + pred * m
