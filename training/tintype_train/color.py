"""Colour maths shared by training, export and evaluation: sRGB <-> CIE Lab (D65), luma,
quantized ab chroma bins, class rebalancing and annealed-mean decoding."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

_RGB2XYZ = torch.tensor(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
)
_WHITE = torch.tensor([0.950456, 1.0, 1.088754])
_EPS = 216.0 / 24389.0
_KAPPA = 24389.0 / 27.0
AB_SCALE = 128.0
LUMA = (0.299, 0.587, 0.114)  # BT.601, the weights the benchmarks' Y channel uses as well


def luma(rgb: torch.Tensor) -> torch.Tensor:
    """(B,3,H,W) in 0..1 -> (B,1,H,W) BT.601 luma in 0..1."""
    w = rgb.new_tensor(LUMA).view(1, 3, 1, 1)
    return (rgb * w).sum(1, keepdim=True)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(B,3,H,W) sRGB 0..1 -> (B,3,H,W) L 0..100, a/b roughly -110..110."""
    rgb = rgb.clamp(0, 1)
    lin = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = torch.einsum("ij,bjhw->bihw", _RGB2XYZ.to(rgb), lin)
    xyz = xyz / _WHITE.to(rgb).view(1, 3, 1, 1)
    f = torch.where(xyz > _EPS, xyz.clamp_min(1e-12) ** (1.0 / 3.0), (_KAPPA * xyz + 16.0) / 116.0)
    L = 116.0 * f[:, 1:2] - 16.0
    a = 500.0 * (f[:, 0:1] - f[:, 1:2])
    b = 200.0 * (f[:, 1:2] - f[:, 2:3])
    return torch.cat([L, a, b], 1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Inverse of rgb_to_lab; result clamped to 0..1 (out-of-gamut chroma clips)."""
    L, a, b = lab[:, 0:1], lab[:, 1:2], lab[:, 2:3]
    fy = (L + 16.0) / 116.0
    fx = fy + a / 500.0
    fz = fy - b / 200.0
    f = torch.cat([fx, fy, fz], 1)
    xyz = torch.where(f ** 3 > _EPS, f ** 3, (116.0 * f - 16.0) / _KAPPA)
    xyz = xyz * _WHITE.to(lab).view(1, 3, 1, 1)
    lin = torch.einsum("ij,bjhw->bihw", torch.linalg.inv(_RGB2XYZ).to(lab), xyz).clamp(0, 1)
    rgb = torch.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin.clamp_min(1e-12) ** (1 / 2.4) - 0.055)
    return rgb.clamp(0, 1)


class ChromaBins:
    """A grid of `n` x `n` bins over a,b in [-128, 128) with bin centres, soft encoding and decoding."""

    def __init__(self, n: int = 16):
        self.n = n
        self.width = 2 * AB_SCALE / n
        centres_1d = -AB_SCALE + self.width * (torch.arange(n, dtype=torch.float32) + 0.5)
        a, b = torch.meshgrid(centres_1d, centres_1d, indexing="ij")
        # (Q, 2): bin q = ia * n + ib
        self.centres = torch.stack([a.reshape(-1), b.reshape(-1)], 1)

    @property
    def q(self) -> int:
        return self.n * self.n

    def _grid_pos(self, ab: torch.Tensor) -> torch.Tensor:
        # Continuous bin coordinate, so that centre i sits at integer i.
        return ((ab + AB_SCALE) / self.width - 0.5).clamp(0, self.n - 1)

    def nearest(self, ab: torch.Tensor) -> torch.Tensor:
        """(B,2,H,W) -> (B,H,W) long index of the nearest bin."""
        idx = self._grid_pos(ab).round().long()
        return idx[:, 0] * self.n + idx[:, 1]

    def soft_targets(self, ab: torch.Tensor):
        """Bilinear soft encoding onto the 4 surrounding bin centres: (indices (B,4,H,W), weights (B,4,H,W))."""
        pos = self._grid_pos(ab)
        lo = pos.floor().clamp(0, self.n - 2)
        frac = pos - lo
        lo = lo.long()
        ia0, ib0 = lo[:, 0], lo[:, 1]
        fa, fb = frac[:, 0], frac[:, 1]
        idx = torch.stack(
            [ia0 * self.n + ib0, ia0 * self.n + ib0 + 1, (ia0 + 1) * self.n + ib0, (ia0 + 1) * self.n + ib0 + 1], 1
        )
        w = torch.stack([(1 - fa) * (1 - fb), (1 - fa) * fb, fa * (1 - fb), fa * fb], 1)
        return idx, w

    def decode(self, logits: torch.Tensor, temperature: float, bias: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Annealed mean: softmax(logits / T + bias) . centres -> (B,2,H,W) ab in Lab units.
        T=1 is the plain mean (desaturated); T -> 0 approaches the mode (vivid, noisier).
        `bias` (Q,) is decode_bias(): the predicted distribution reweighted towards rare colours."""
        z = logits / temperature
        if bias is not None:
            z = z + bias.to(logits).view(1, -1, 1, 1)
        p = torch.softmax(z, dim=1)
        return torch.einsum("bqhw,qc->bchw", p, self.centres.to(logits))

    def histogram(self, ab: torch.Tensor) -> torch.Tensor:
        return torch.bincount(self.nearest(ab).reshape(-1), minlength=self.q).float()


def rebalance_weights(prior: torch.Tensor, mix: float, power: float = 1.0, sigma_bins: float = 0.0) -> torch.Tensor:
    """Per-bin class weights w ~ ((1-mix) * p + mix / Q) ** -power, normalized so E_p[w] = 1.

    mix=1 or power=0 means no rebalancing; mix=0.5, power=1 is Zhang et al.'s "half uniform".
    Rare (saturated) colours get larger weights, which pushes the model away from sepia.
    """
    p = prior.double().clamp_min(0)
    p = p / p.sum()
    if sigma_bins > 0:
        n = int(math.isqrt(p.numel()))
        r = int(math.ceil(3 * sigma_bins))
        k1 = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float64) / sigma_bins) ** 2)
        k1 = k1 / k1.sum()
        img = p.view(1, 1, n, n)
        img = F.conv2d(F.pad(img, (r, r, 0, 0), mode="replicate"), k1.view(1, 1, 1, -1))
        img = F.conv2d(F.pad(img, (0, 0, r, r), mode="replicate"), k1.view(1, 1, -1, 1))
        p = img.reshape(-1) / img.sum()
    q = p.numel()
    w = ((1 - mix) * p + mix / q) ** (-power)
    w = w / (p * w).sum()
    return w.float()


def decode_bias(prior: torch.Tensor, power: float, mix: float = 0.5, sigma_bins: float = 0.0) -> torch.Tensor:
    """Log of rebalance_weights(prior, mix, power): added to logits / T before the softmax, it multiplies
    the predicted distribution by the inverse training colour prior (smoothed and mixed with uniform,
    so the weights stay bounded), p' ~ p ** (1/T) * w. power 0 is plain annealed-mean decoding."""
    return torch.log(rebalance_weights(prior, mix, power, sigma_bins))


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colourfulness of an HxWx3 image in 0..255."""
    rgb = rgb.astype(np.float64)
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return float(np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))
