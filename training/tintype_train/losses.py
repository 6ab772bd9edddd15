"""Losses: L1, chroma classification with rebalancing, VGG16 feature loss, GAN, stability."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .color import AB_SCALE, ChromaBins, rebalance_weights
from .compat import load_torch


def l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(a, b)


def stability_loss(y1: torch.Tensor, y2: torch.Tensor, target, loss: Callable = l1,
                   view: Callable[[torch.Tensor], torch.Tensor] = lambda y: y) -> torch.Tensor:
    """Two independent crappifications of one target: L(Y1,T) + L(Y2,T) + L1(Y1,Y2).

    The last term rewards answers that do not depend on the particular noise, which is what keeps
    colours from flickering between video frames. `view` maps raw outputs (e.g. chroma logits)
    to the image space in which the two answers are compared.
    """
    return loss(y1, target) + loss(y2, target) + F.l1_loss(view(y1), view(y2))


class ColorLoss(nn.Module):
    """Cross-entropy over quantized ab bins, soft-encoded, with class rebalancing, plus an
    optional L1 on the annealed-mean decoded chroma.

    Tuning knobs (docs/training.md): `mix`/`power` set the rebalancing strength (plain CE came out
    sepia, Zhang's half-uniform came out garish); `temperature` is the decoding temperature used
    for the L1 term, validation and export; `l1_weight` anchors the decoded colour to the truth.
    """

    def __init__(self, bins: ChromaBins, prior: Optional[torch.Tensor] = None, mix: float = 0.5,
                 power: float = 1.0, temperature: float = 0.4, l1_weight: float = 0.0, sigma_bins: float = 0.0):
        super().__init__()
        self.bins = bins
        self.temperature = temperature
        self.l1_weight = l1_weight
        if prior is None:
            prior = torch.ones(bins.q)
        self.register_buffer("class_weights", rebalance_weights(prior, mix, power, sigma_bins))

    def forward(self, logits: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        logp = F.log_softmax(logits, dim=1)
        idx, w = self.bins.soft_targets(ab)
        ce = -(torch.gather(logp, 1, idx) * w).sum(1)  # (B,H,W)
        pix_w = self.class_weights[self.bins.nearest(ab)]
        loss = (ce * pix_w).mean()
        if self.l1_weight > 0:
            decoded = self.bins.decode(logits, self.temperature)
            loss = loss + self.l1_weight * F.l1_loss(decoded / AB_SCALE, ab / AB_SCALE)
        return loss


# torchvision's vgg16 "features" layout, so its state dicts load as they are.
_VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def vgg16_features(layers_used: int = 0) -> nn.Sequential:
    """torchvision's VGG16 `features`; with layers_used > 0 only its first layers_used modules."""
    layers, c = [], 3
    for v in _VGG16_CFG:
        if layers_used and len(layers) >= layers_used:
            break
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=False)]
            c = v
    return nn.Sequential(*layers)


def load_vgg16_features(path: Optional[str | Path], allow_random: bool = False,
                        layers_used: int = 23) -> nn.Sequential:
    """VGG16 features from a user-supplied file (torchvision's vgg16 state dict, or just its
    `features.*` part). No weights can be downloaded here: without a file, only tests may ask
    for random weights."""
    if path is None:
        if not allow_random:
            raise ValueError("feature loss needs VGG16 weights: set loss.vgg_weights to a torchvision vgg16 .pth file")
        return vgg16_features(layers_used).eval().requires_grad_(False)
    net = vgg16_features()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: VGG16 weights file not found")
    state = load_torch(path)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a state dict")
    feats = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    if not feats:
        feats = state
    try:
        net.load_state_dict(feats, strict=True)
    except RuntimeError as err:
        raise ValueError(f"{path}: not VGG16 feature weights ({str(err).splitlines()[0]})") from err
    return net[:layers_used].eval().requires_grad_(False)


# VGG19 conv1_1 .. conv3_1 as stored in ../shared/weights/vgg19-to-conv3_1/vgg19.model: for each
# layer its weights (O, I, 3, 3) then its biases, raw little-endian float32, Caffe's convention.
VGG19_CONV3_1 = [(64, 3), (64, 64), (128, 64), (128, 128), (256, 128)]
VGG19_CONV3_1_VALUES = sum(o * i * 9 + o for o, i in VGG19_CONV3_1)  # 555,328
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)


def vgg19_conv3_1(path: str | Path) -> nn.Sequential:
    """VGG19 up to relu3_1 (modules: conv1_1 relu conv1_2 relu pool conv2_1 relu conv2_2 relu pool
    conv3_1 relu) from the raw float32 file. Its input is Caffe's: BGR 0..255 minus the mean."""
    path = Path(path)
    if path.is_dir():
        path = path / "vgg19.model"
    try:
        raw = np.fromfile(path, dtype="<f4")
    except OSError as err:
        raise FileNotFoundError(f"{path}: VGG19 weights file not found ({err})") from err
    if raw.size != VGG19_CONV3_1_VALUES:
        raise ValueError(f"{path}: {raw.size} float32 values, VGG19 conv1_1..conv3_1 has {VGG19_CONV3_1_VALUES}")
    layers, pos = [], 0
    for block, (o, i) in enumerate(VGG19_CONV3_1):
        conv = nn.Conv2d(i, o, 3, padding=1)
        n = o * i * 9
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(raw[pos: pos + n].reshape(o, i, 3, 3).copy()))
            conv.bias.copy_(torch.from_numpy(raw[pos + n: pos + n + o].copy()))
        pos += n + o
        layers += [conv, nn.ReLU(inplace=False)]
        if block in (1, 3):
            layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers).eval().requires_grad_(False)


def load_feature_net(path: Optional[str | Path], allow_random: bool = False) -> tuple[nn.Sequential, dict]:
    """The feature loss's network and its FeatureLoss options, chosen by the weights file: the shared
    VGG19 slice (a folder or a .model file) or a torchvision VGG16 state dict (.pth)."""
    if path is not None and (Path(path).is_dir() or Path(path).suffix == ".model"):
        # relu1_2, relu2_2, relu3_1; Caffe-scale input, so activations are ~57x torchvision's
        # (0..255 input over an ImageNet std of ~0.226): features_scale brings them back.
        return vgg19_conv3_1(path), {"layer_ids": (3, 8, 11), "layer_weights": (20.0, 70.0, 10.0), "caffe": True,
                                     "features_scale": 1.0 / 57.5}
    return load_vgg16_features(path, allow_random=allow_random), {}


def gram(x: torch.Tensor) -> torch.Tensor:
    b, c = x.shape[:2]
    f = x.reshape(b, c, -1)
    return torch.bmm(f, f.transpose(1, 2)) / f.shape[-1]


class FeatureLoss(nn.Module):
    """The seed's perceptual loss: L1 on VGG16 activations before three max-pools, plus a Gram
    (style) term, on ImageNet-normalized RGB."""

    def __init__(self, vgg: nn.Sequential, layer_ids: Sequence[int] = (8, 15, 22),
                 layer_weights: Sequence[float] = (20.0, 70.0, 10.0), gram_weight: float = 5e3,
                 caffe: bool = False, features_scale: float = 1.0):
        super().__init__()
        self.vgg = vgg[: max(layer_ids) + 1]
        self.layer_ids = list(layer_ids)
        self.layer_weights = list(layer_weights)
        self.gram_weight = gram_weight
        self.caffe = caffe
        self.features_scale = features_scale
        if caffe:  # BGR 0..255 minus the mean: the VGG19 slice's (Caffe's) input
            self.register_buffer("mean", torch.tensor(CAFFE_BGR_MEAN[::-1]).view(1, 3, 1, 1) / 255.0)
            self.register_buffer("std", torch.full((1, 3, 1, 1), 1.0 / 255.0))
        else:
            self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def _features(self, x: torch.Tensor):
        x = (x - self.mean) / self.std
        if self.caffe:
            x = x.flip(1)  # RGB -> BGR
        out = []
        for i, layer in enumerate(self.vgg):
            x = layer(x)
            if i in self.layer_ids:
                out.append(x * self.features_scale)
        return out

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        fp = self._features(pred)
        with torch.no_grad():
            ft = self._features(target)
        loss = pred.new_zeros(())
        for a, b, w in zip(fp, ft, self.layer_weights):
            loss = loss + w * F.l1_loss(a, b) / 100.0
            loss = loss + self.gram_weight * (w / 100.0) ** 2 * F.l1_loss(gram(a), gram(b))
        return loss


def critic_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return 0.5 * (real + fake)


def generator_adv_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
