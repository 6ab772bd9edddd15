"""What differs between restore, colorize and microscopy models: data, losses, the critic's
view, validation metrics and the exported graph's contract."""

from __future__ import annotations

import math
from typing import Dict, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .color import AB_SCALE, ChromaBins, colourfulness, decode_bias, lab_to_rgb, luma, rgb_to_lab
from .crappify import make_crappifier
from .losses import ColorLoss, FeatureLoss, l1, load_feature_net
from .models import GeneratorConfig, InpaintConfig


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR (dB) of (B,C,H,W) tensors in 0..1."""
    mse = ((a.clamp(0, 1) - b.clamp(0, 1)) ** 2).flatten(1).mean(1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


class Task:
    name = "task"
    in_channels = 3
    out_channels = 3
    manifest_task = "restore"
    adversarial = True  # NoGAN's critic and GAN phases follow the generator's

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
        # Decoding: the predicted distribution times the inverse colour prior to this power (decode_bias);
        # 0 is the plain annealed mean. Chosen after training on held-out photos, like the temperature.
        self.rebalance = float(c.get("decode_rebalance", 0.0))
        # Export only (a "video" variant): Gaussian blur of the grey input, in pixels of the render size.
        self.input_blur = 0.0
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

    def decode_bias(self) -> Optional[torch.Tensor]:
        """(Q,) log-weights added to logits / T at decoding, or None for the plain annealed mean."""
        if self.rebalance == 0 or self.prior is None:
            return None
        c = self.color_opts
        return decode_bias(torch.as_tensor(self.prior, dtype=torch.float32), self.rebalance,
                           mix=float(c.get("mix", 0.5)), sigma_bins=float(c.get("sigma_bins", 0.0)))

    def decode(self, logits: torch.Tensor) -> torch.Tensor:
        return self.bins.decode(logits, self.temperature, self.decode_bias())

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
        return _ColorizeExport(gen, self.bins.centres.clone(), self.temperature, gen.cfg.out_stride, self.input_blur,
                               self.decode_bias())

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
    def __init__(self, gen: nn.Module, centres: torch.Tensor, temperature: float, out_stride: int = 1,
                 input_blur: float = 0.0, bias: Optional[torch.Tensor] = None):
        super().__init__()
        self.gen = gen
        # Rebalanced decoding (ColorizeTask.decode_bias), baked into the graph like the temperature.
        self.register_buffer("bias", None if bias is None else bias.float().view(1, -1, 1, 1))
        self.out_stride = out_stride
        self.register_buffer("centres", (centres / AB_SCALE).t().contiguous().view(1, 2, -1, 1))
        self.temperature = temperature
        self.blur_radius = int(math.ceil(3 * input_blur)) if input_blur > 0 else 0
        if self.blur_radius:
            # Film grain changes every frame and the encoder reacts to it, so colour flickers; a blurred
            # input keeps the shapes the encoder recognises and drops most of the grain.
            t = torch.arange(-self.blur_radius, self.blur_radius + 1, dtype=torch.float32)
            k = torch.exp(-0.5 * (t / input_blur) ** 2)
            self.register_buffer("blur", (k / k.sum()).view(1, 1, 1, -1))

    def forward(self, grey: torch.Tensor) -> torch.Tensor:
        if self.blur_radius:
            r = self.blur_radius
            grey = F.conv2d(F.pad(grey, (r, r, 0, 0), mode="replicate"), self.blur)
            grey = F.conv2d(F.pad(grey, (0, 0, r, r), mode="replicate"), self.blur.transpose(2, 3))
        z = self.gen(grey) / self.temperature
        if self.bias is not None:
            z = z + self.bias
        p = torch.softmax(z, dim=1)  # (B,Q,H,W)
        a = (p * self.centres[:, 0].view(1, -1, 1, 1)).sum(1, keepdim=True)
        b = (p * self.centres[:, 1].view(1, -1, 1, 1)).sum(1, keepdim=True)
        ab = torch.cat([a, b], 1)
        if self.out_stride > 1:
            # The contract's output matches the input size; the engine merges it over full-res luma.
            ab = F.interpolate(ab, scale_factor=float(self.out_stride), mode="bilinear", align_corners=False)
        return ab


def mask_psnr(a: torch.Tensor, b: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR (dB) over the pixels where m (B,1,H,W) is 1; nan for an image without any."""
    n = m.flatten(1).sum(1) * a.shape[1]
    se = (((a.clamp(0, 1) - b.clamp(0, 1)) ** 2) * m).flatten(1).sum(1)
    mse = torch.where(n > 0, se / n.clamp_min(1), torch.full_like(se, float("nan")))
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


def grow_mask(m: torch.Tensor, px: int) -> torch.Tensor:
    """Dilates a (B,1,H,W) 0/1 mask by px pixels (square), as the engine grows the detector's mask."""
    return m if px <= 0 else F.max_pool2d(m, 2 * px + 1, stride=1, padding=px)


class _DamageTask(Task):
    """Tasks trained on damage.py's synthetic print damage: no critic."""

    adversarial = False

    def __init__(self, cfg: dict, device: torch.device, training: bool = True):
        if cfg["crappifier"]["kind"] != "damage":
            raise ValueError(f"config: task {cfg['task']} needs crappifier.kind 'damage'")
        super().__init__(cfg, device, training)

    def damage(self, clean: np.ndarray, rng: np.random.Generator):
        from .damage import damage
        return damage(clean, rng, self.crappifier)


class RepairTask(_DamageTask):
    """The damage detector: RGB in, the probability that each pixel is damaged out (task `repair`)."""

    name = "repair"
    in_channels = 3
    out_channels = 1

    def __init__(self, cfg: dict, device: torch.device, training: bool = True):
        super().__init__(cfg, device, training)
        r = cfg.get("loss", {}).get("repair", {})
        self.pos_weight = float(r.get("pos_weight", 3.0))
        self.dice = float(r.get("dice", 1.0))
        self.threshold = float(r.get("threshold", 0.5))
        self.grow = int(r.get("grow", 1))

    def generator_config(self) -> GeneratorConfig:
        cfg = super().generator_config()
        cfg.residual = False
        return cfg

    def pair(self, clean: np.ndarray, rng: np.random.Generator):
        from .data import chw
        damaged, _, mask = self.damage(clean, rng)
        return chw(damaged), torch.from_numpy(mask.astype(np.float32))[None]

    def content_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # Damage is a few per cent of the pixels: weighted BCE for every pixel plus a soft-F1
        # (Dice) term on the whole batch, which is what the goal measures.
        bce = F.binary_cross_entropy_with_logits(pred, target, pos_weight=torch.tensor(self.pos_weight, device=pred.device))
        p = torch.sigmoid(pred)
        dice = 1 - (2 * (p * target).sum() + 1) / (p.sum() + target.sum() + 1)
        return bce + self.dice * dice

    def image(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(pred)

    def metrics(self, pred: torch.Tensor, target: torch.Tensor, inp: torch.Tensor) -> Dict[str, list]:
        hit = (torch.sigmoid(pred) >= self.threshold).float()
        tp = (hit * target).flatten(1).sum(1)
        fp = (hit * (1 - target)).flatten(1).sum(1)
        fn = ((1 - hit) * target).flatten(1).sum(1)
        # Pixel counts (their means keep the ratios): precision, recall, F1 and IoU over the whole set.
        return {"tp": tp.tolist(), "fp": fp.tolist(), "fn": fn.tolist()}

    @staticmethod
    def score(m: Dict[str, float]) -> float:
        return 2 * m["tp"] / max(1e-9, 2 * m["tp"] + m["fp"] + m["fn"])

    def export_module(self, gen: nn.Module) -> nn.Module:
        return _SigmoidExport(gen)

    def manifest_fields(self, gcfg: GeneratorConfig) -> dict:
        return {
            "task": "repair",
            "input": {"name": "input", "layout": "NCHW", "channels": 3, "frames": 1, "range": [0, 1], "normalization": None},
            "size": {"kind": "dynamic", "multiple": gcfg.multiple},
            "output": {"name": "output", "layout": "NCHW", "kind": "mask", "range": [0, 1],
                       "threshold": self.threshold, "grow": self.grow},
            "scale": 1,
            # No global pooling in the graph (context off), so tiles agree; the overlap hides the
            # encoder's stride-32 border effects.
            "tile": {"size": 512, "overlap": 64},
        }


class _SigmoidExport(nn.Module):
    def __init__(self, gen: nn.Module):
        super().__init__()
        self.gen = gen

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.gen(x))


class InpaintTask(_DamageTask):
    """The learned filler: the image with its holes zeroed and the mask in, RGB out (task `inpaint`).
    Holes are the true damage mask grown by 0..`grow` px, as the engine grows the detector's."""

    name = "inpaint"
    in_channels = 4
    out_channels = 3

    def __init__(self, cfg: dict, device: torch.device, training: bool = True):
        super().__init__(cfg, device, training)
        r = cfg.get("loss", {}).get("inpaint", {})
        self.hole_weight = float(r.get("hole_weight", 6.0))
        self.max_grow = int(r.get("grow", 2))

    def generator_config(self) -> InpaintConfig:
        return InpaintConfig(**dict(self.cfg.get("generator", {})))

    def pair(self, clean: np.ndarray, rng: np.random.Generator):
        from .data import chw
        damaged, clean8, mask = self.damage(clean, rng)
        m = grow_mask(torch.from_numpy(mask.astype(np.float32))[None, None], int(rng.integers(0, self.max_grow + 1)))[0]
        d, c = chw(damaged), chw(clean8)
        # target carries what the loss and the metrics need: clean, hole mask, damaged input
        return torch.cat([d * (1 - m), m], 0), torch.cat([c, m, d], 0)

    def target(self, clean: torch.Tensor) -> torch.Tensor:
        return clean

    def image(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return pred

    def real_view(self, target: torch.Tensor) -> torch.Tensor:
        return target[:, :3]

    def content_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        clean, m = target[:, :3], target[:, 3:4]
        err = (pred - clean).abs()
        hole = (err * m).sum() / (m.sum() * 3 + 1)
        # the known pixels are copied by the graph; the hole term is what is learned, the plain L1
        # keeps the gradient finite on images without damage
        return self.hole_weight * hole + err.mean()

    def metrics(self, pred: torch.Tensor, target: torch.Tensor, inp: torch.Tensor) -> Dict[str, list]:
        clean, m, damaged = target[:, :3], target[:, 3:4], target[:, 4:7]
        got, base = mask_psnr(pred, clean, m), mask_psnr(damaged, clean, m)
        ok = ~torch.isnan(got)
        # images without damage have no hole PSNR: they count as zero gain
        return {"psnr_hole": torch.where(ok, got, torch.zeros_like(got)).tolist(),
                "psnr_hole_input": torch.where(ok, base, torch.zeros_like(base)).tolist(),
                "holes": ok.float().tolist()}

    @staticmethod
    def score(m: Dict[str, float]) -> float:
        return (m["psnr_hole"] - m["psnr_hole_input"]) / max(1e-9, m["holes"])

    def export_module(self, gen: nn.Module) -> nn.Module:
        return _InpaintExport(gen)

    def export_inputs(self, h: int, w: int, seed: int):
        g = torch.Generator().manual_seed(seed)
        img = torch.rand(1, 3, h, w, generator=g)
        m = (torch.rand(1, 1, h, w, generator=g) < 0.1).float()
        return [img * (1 - m), m], ["input", "mask"]

    def manifest_fields(self, gcfg: InpaintConfig) -> dict:
        return {
            "task": "inpaint",
            "input": {"name": "input", "layout": "NCHW", "channels": 3, "frames": 1, "range": [0, 1], "normalization": None},
            "maskInput": {"name": "mask", "range": [0, 1]},
            "size": {"kind": "dynamic", "multiple": gcfg.multiple},
            "output": {"name": "output", "layout": "NCHW", "kind": "rgb", "range": [0, 1]},
            "scale": 1,
            "tile": {"size": 512, "overlap": 128},
        }


class _InpaintExport(nn.Module):
    """The engine's two inputs (image with holes at 0, mask with 1 = hole) -> RGB."""

    def __init__(self, gen: nn.Module):
        super().__init__()
        self.gen = gen

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.gen(torch.cat([image * (1 - mask), mask], 1))


TASKS = {"restore": RestoreTask, "colorize": ColorizeTask, "microscopy": MicroscopyTask, "repair": RepairTask,
         "inpaint": InpaintTask}


def make_task(cfg: dict, device: torch.device, training: bool = True) -> Task:
    """training=False (export, evaluation) skips what only losses need, such as VGG16."""
    name = cfg.get("task")
    if name not in TASKS:
        raise ValueError(f"config: task must be one of {sorted(TASKS)}, got {name!r}")
    return TASKS[name](cfg, device, training)
