"""What differs between restore, colorize and microscopy models: data, losses, the critic's
view, validation metrics and the exported graph's contract."""

from __future__ import annotations

import math
from typing import Dict, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .color import AB_SCALE, ChromaBins, colourfulness, lab_to_rgb, luma, rgb_to_lab
from .crappify import make_crappifier
from .losses import ColorLoss, FeatureLoss, l1, load_feature_net
from .models import GeneratorConfig


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR (dB) of (B,C,H,W) tensors in 0..1."""
    mse = ((a.clamp(0, 1) - b.clamp(0, 1)) ** 2).flatten(1).mean(1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


class Task:
    name = "task"
    in_channels = 3
    out_channels = 3
    manifest_task = "restore"

    def __init__(self, cfg: dict, device: torch.device, training: bool = True):
        self.cfg = cfg
        self.device = device
        self.crappifier = make_crappifier(cfg["crappifier"]["kind"], cfg["crappifier"].get("options"))
        g = cfg.get("generator", {})
        self.frames = int(g.get("frames", 1))
        self.scale = int(g.get("scale", 1))
        lcfg = cfg.get("loss", {})
        self.feature: Optional[FeatureLoss] = None
        self.feature_weight = float(lcfg.get("feature", 0.0))
        if self.feature_weight > 0 and training:
            vgg, opts = load_feature_net(lcfg.get("vgg_weights"), allow_random=bool(lcfg.get("vgg_random", False)))
            self.feature = FeatureLoss(vgg, **opts).to(device)

    def generator_config(self) -> GeneratorConfig:
        g = dict(self.cfg.get("generator", {}))
        g.setdefault("in_channels", self.in_channels)
        g.setdefault("out_channels", self.out_channels)
        g.setdefault("residual", self.in_channels == self.out_channels)
        return GeneratorConfig(**g)

    def crappify(self, clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.crappifier(clean, rng)

    def target(self, clean: torch.Tensor) -> torch.Tensor:
        return clean

    def image(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The generator's answer as an RGB/grey image in 0..1 (what the critic and metrics see)."""
        return pred

    def content_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = l1(pred, target)
        if self.feature is not None:
            img = self.image(pred, target).clamp(0, 1)
            if img.shape[1] == 1:
                img, target = img.expand(-1, 3, -1, -1), target.expand(-1, 3, -1, -1)
            loss = loss + self.feature_weight * self.feature(img, target)
        return loss

    def consistency_view(self, pred: torch.Tensor) -> torch.Tensor:
        return pred

    def real_view(self, target: torch.Tensor) -> torch.Tensor:
        return target

    def metrics(self, pred: torch.Tensor, target: torch.Tensor, inp: torch.Tensor) -> Dict[str, list]:
        out = self.image(pred, target).clamp(0, 1)
        m = {"psnr": psnr(out, target).tolist()}
        c = self.in_channels
        centre = inp if self.frames == 1 else inp[:, c: 2 * c]
        if self.scale == 1 and centre.shape == target.shape:
            # The damaged input's own PSNR: the model is only useful above it.
            m["psnr_input"] = psnr(centre, target).tolist()
        return m

    @staticmethod
    def score(m: Dict[str, float]) -> float:
        return m["psnr"]

    # export ----------------------------------------------------------------------------
    def export_module(self, gen: nn.Module) -> nn.Module:
        return gen

    def manifest_fields(self, gcfg: GeneratorConfig) -> dict:
        return {
            "task": "upscale" if self.scale > 1 else "restore",
            "input": {"name": "input", "layout": "NCHW", "channels": self.in_channels, "frames": self.frames, "range": [0, 1],
                      "normalization": None},
            "size": {"kind": "dynamic", "multiple": gcfg.multiple},
            "output": {"name": "output", "layout": "NCHW", "kind": "rgb" if self.out_channels == 3 else "grey", "range": [0, 1]},
            "scale": self.scale,
            # Self-attention sees the whole tile, so overlap generously to hide seams.
            "tile": {"size": 256, "overlap": 32},
        }


class RestoreTask(Task):
    name = "restore"


class MicroscopyTask(Task):
    name = "microscopy"
    in_channels = 1
    out_channels = 1

    def __init__(self, cfg: dict, device: torch.device, training: bool = True):
        super().__init__(cfg, device, training)
        opts = cfg["crappifier"].get("options") or {}
        if int(opts.get("scale", 1)) != self.scale:
            raise ValueError("microscopy: crappifier.options.scale must equal generator.scale")

    def target(self, clean: torch.Tensor) -> torch.Tensor:
        return luma(clean[None])[0]


class ColorizeTask(Task):
    name = "colorize"
    in_channels = 1

    def __init__(self, cfg: dict, device: torch.device, training: bool = True):
        super().__init__(cfg, device, training)
        c = cfg.get("loss", {}).get("color", {})
        self.bins = ChromaBins(int(c.get("bins", 16)))
        self.out_channels = self.bins.q
        self.temperature = float(c.get("temperature", 0.4))
        self.color_opts = c
        self.set_prior(None)

    def set_prior(self, prior: Optional[torch.Tensor]) -> None:
        c = self.color_opts
        self.prior = prior
        self.color_loss = ColorLoss(self.bins, prior, mix=float(c.get("mix", 0.5)), power=float(c.get("power", 1.0)),
                                    temperature=self.temperature, l1_weight=float(c.get("l1_weight", 0.0)),
                                    sigma_bins=float(c.get("sigma_bins", 0.0))).to(self.device)

    def generator_config(self) -> GeneratorConfig:
        cfg = super().generator_config()
        cfg.residual = False
        return cfg

    def crappify(self, clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.crappifier(clean, rng)

    def decode(self, logits: torch.Tensor) -> torch.Tensor:
        return self.bins.decode(logits, self.temperature)

    def image(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # Like the app: the photo's own lightness with the predicted chroma, upsampled when the
        # generator predicts it at a lower resolution (out_stride).
        L = rgb_to_lab(target)[:, :1]
        ab = self.decode(pred)
        if ab.shape[-2:] != L.shape[-2:]:
            ab = F.interpolate(ab, size=L.shape[-2:], mode="bilinear", align_corners=False)
        return lab_to_rgb(torch.cat([L, ab], 1))

    def content_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        ab = rgb_to_lab(target)[:, 1:]
        if ab.shape[-2:] != pred.shape[-2:]:
            ab = F.adaptive_avg_pool2d(ab, pred.shape[-2:])
        loss = self.color_loss(pred, ab)
        if self.feature is not None:
            loss = loss + self.feature_weight * self.feature(self.image(pred, target), target)
        return loss

    def consistency_view(self, pred: torch.Tensor) -> torch.Tensor:
        return self.decode(pred) / AB_SCALE

    def metrics(self, pred: torch.Tensor, target: torch.Tensor, inp: torch.Tensor) -> Dict[str, list]:
        out = self.image(pred, target)
        grey = lab_to_rgb(torch.cat([rgb_to_lab(target)[:, :1], torch.zeros_like(target[:, :2])], 1))
        to8 = lambda t: (t.clamp(0, 1) * 255).round().permute(0, 2, 3, 1).cpu().numpy()
        return {
            "psnr": psnr(out, target).tolist(),
            "psnr_grey": psnr(grey, target).tolist(),
            "colourfulness": [colourfulness(x) for x in to8(out)],
            "colourfulness_gt": [colourfulness(x) for x in to8(target)],
        }

    def score(self, m: Dict[str, float]) -> float:
        # The goal: colourfulness within +-8 of the truth and PSNR not below greyscale's by > 0.5 dB.
        # PSNR alone rewards sepia; each colourfulness point outside the band costs `penalty` dB.
        penalty = float(self.color_opts.get("score_penalty", 0.1))
        gap = abs(m["colourfulness"] - m["colourfulness_gt"])
        return m["psnr"] - penalty * max(0.0, gap - 8.0)

    def export_module(self, gen: nn.Module) -> nn.Module:
        return _ColorizeExport(gen, self.bins.centres.clone(), self.temperature, gen.cfg.out_stride)

    def manifest_fields(self, gcfg: GeneratorConfig) -> dict:
        m = gcfg.multiple
        lo = max(m, int(math.ceil(128 / m)) * m)
        return {
            "task": "colorize",
            "input": {"name": "input", "layout": "NCHW", "channels": 1, "frames": self.frames, "range": [0, 1], "normalization": None},
            "size": {"kind": "dynamic", "multiple": m},
            # Annealed-mean a,b divided by 128: the canonical -128..128 maps from -1..1.
            "output": {"name": "output", "layout": "NCHW", "kind": "ab", "range": [-1, 1]},
            "scale": 1,
            "renderSize": {"default": max(lo, 256 // m * m), "min": lo, "max": max(lo, 512 // m * m)},
        }


class _ColorizeExport(nn.Module):
    def __init__(self, gen: nn.Module, centres: torch.Tensor, temperature: float, out_stride: int = 1):
        super().__init__()
        self.gen = gen
        self.out_stride = out_stride
        self.register_buffer("centres", (centres / AB_SCALE).t().contiguous().view(1, 2, -1, 1))
        self.temperature = temperature

    def forward(self, grey: torch.Tensor) -> torch.Tensor:
        p = torch.softmax(self.gen(grey) / self.temperature, dim=1)  # (B,Q,H,W)
        a = (p * self.centres[:, 0].view(1, -1, 1, 1)).sum(1, keepdim=True)
        b = (p * self.centres[:, 1].view(1, -1, 1, 1)).sum(1, keepdim=True)
        ab = torch.cat([a, b], 1)
        if self.out_stride > 1:
            # The contract's output matches the input size; the engine merges it over full-res luma.
            ab = F.interpolate(ab, scale_factor=float(self.out_stride), mode="bilinear", align_corners=False)
        return ab


TASKS = {"restore": RestoreTask, "colorize": ColorizeTask, "microscopy": MicroscopyTask}


def make_task(cfg: dict, device: torch.device, training: bool = True) -> Task:
    """training=False (export, evaluation) skips what only losses need, such as VGG16."""
    name = cfg.get("task")
    if name not in TASKS:
        raise ValueError(f"config: task must be one of {sorted(TASKS)}, got {name!r}")
    return TASKS[name](cfg, device, training)
