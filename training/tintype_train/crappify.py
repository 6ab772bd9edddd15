"""Crappifiers: turn a clean crop into the damaged input a model learns to undo.

Each works on an HxWx3 uint8 array with an explicit numpy Generator so every sample is
reproducible from (seed, sample index): that is what makes resumed runs continue identically.
"""

from __future__ import annotations

import io
import string
from dataclasses import dataclass, field, fields
from typing import Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

Range = Tuple[float, float]


def _uniform(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(r[0], r[1]))


def _from_dict(cls, d: dict | None):
    d = dict(d or {})
    known = {f.name for f in fields(cls)}
    unknown = set(d) - known
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown option(s) {sorted(unknown)}")
    for k, v in d.items():
        if isinstance(v, list):
            d[k] = tuple(v)
    return cls(**d)


def to_float(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float32) / 255.0


def to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    mode = "L" if img.ndim == 2 or img.shape[2] == 1 else "RGB"
    Image.fromarray(img.squeeze() if mode == "L" else img, mode).save(buf, "JPEG", quality=int(quality))
    out = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert(mode))
    return out.reshape(img.shape)


def rescale(img: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    filters = [Image.NEAREST, Image.BILINEAR, Image.BICUBIC, Image.LANCZOS]
    small = (max(1, round(w * factor)), max(1, round(h * factor)))
    pil = Image.fromarray(img).resize(small, filters[int(rng.integers(1, 4))])
    return np.asarray(pil.resize((w, h), filters[int(rng.integers(0, 4))]))


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return np.asarray(Image.fromarray(img).filter(ImageFilter.GaussianBlur(radius=sigma)))


def gaussian_noise(x: np.ndarray, sigma: float, rng: np.random.Generator, colour: bool = True) -> np.ndarray:
    shape = x.shape if colour else x.shape[:2] + (1,)
    return x + rng.normal(0.0, sigma, size=shape).astype(np.float32)


def poisson_noise(x: np.ndarray, peak: float, rng: np.random.Generator) -> np.ndarray:
    """Shot noise: `peak` photons at full scale, so dark areas are relatively noisier."""
    return (rng.poisson(np.clip(x, 0, None) * peak) / peak).astype(np.float32)


def gaussian_blur_2d(x: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of a float HxW array with edge padding (PIL cannot blur float images)."""
    r = max(1, int(np.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2).astype(np.float32)
    k /= k.sum()
    p = np.pad(x, r, mode="edge")
    h, w = x.shape
    rows = sum(k[i] * p[:, i : i + w] for i in range(2 * r + 1))
    return sum(k[i] * rows[i : i + h, :] for i in range(2 * r + 1)).astype(np.float32)


def film_grain(x: np.ndarray, strength: float, size: float, rng: np.random.Generator) -> np.ndarray:
    """Monochrome, spatially correlated grain, strongest in the mid-tones as on silver film."""
    h, w = x.shape[:2]
    noise = rng.normal(0.0, 1.0, size=(h, w)).astype(np.float32)
    if size > 0.5:
        noise = gaussian_blur_2d(noise, size)
        noise /= noise.std() + 1e-6
    lum = x.mean(axis=2, keepdims=True)
    return x + strength * noise[..., None] * (0.4 + 2.4 * lum * (1 - lum))


def dust_and_scratches(img: np.ndarray, specks: int, scratches: int, rng: np.random.Generator) -> np.ndarray:
    pil = Image.fromarray(img)
    draw = ImageDraw.Draw(pil)
    h, w = img.shape[:2]
    for _ in range(specks):
        r = float(rng.uniform(0.5, 2.5))
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        v = int(rng.choice([rng.integers(0, 50), rng.integers(205, 256)]))
        draw.ellipse([x - r, y - r, x + r, y + r], fill=(v, v, v))
    for _ in range(scratches):
        x0 = rng.uniform(0, w)
        x1 = x0 + rng.uniform(-0.1, 0.1) * w
        y0, y1 = sorted(rng.uniform(0, h, size=2))
        v = int(rng.choice([rng.integers(0, 60), rng.integers(200, 256)]))
        draw.line([x0, y0, x1, y1 + h * 0.3], fill=(v, v, v), width=int(rng.integers(1, 3)))
    return np.asarray(pil)


def text_overlay(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    pil = Image.fromarray(img)
    draw = ImageDraw.Draw(pil)
    h, w = img.shape[:2]
    n = int(rng.integers(3, 12))
    text = "".join(rng.choice(list(string.ascii_letters + string.digits + " "), size=n))
    colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
    draw.text((float(rng.uniform(0, w * 0.7)), float(rng.uniform(0, h * 0.9))), text, fill=colour,
              font=ImageFont.load_default())
    return np.asarray(pil)


@dataclass
class DecrappifyConfig:
    """JPEG damage, noise, grain, blur, dust: the restore model's inputs. Probabilities per sample."""

    p_single: float = 0.35  # one pure degradation (JPEG only or Gaussian only), as in the benchmarks
    p_rescale: float = 0.3
    rescale: Range = (0.5, 0.95)
    p_blur: float = 0.2
    blur_sigma: Range = (0.3, 1.2)
    p_grain: float = 0.25
    grain_strength: Range = (0.01, 0.06)
    grain_size: Range = (0.0, 1.5)
    p_gauss: float = 0.5
    gauss_sigma: Range = (2 / 255, 30 / 255)
    p_gauss_colour: float = 0.7
    p_poisson: float = 0.2
    poisson_peak: Range = (30.0, 300.0)
    p_dust: float = 0.15
    dust_specks: Tuple[int, int] = (1, 25)
    scratches: Tuple[int, int] = (0, 3)
    p_text: float = 0.05
    p_jpeg: float = 0.85
    jpeg_quality: Tuple[int, int] = (10, 70)

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if rng.random() < self.p_single:
            if rng.random() < 0.5:
                return jpeg(img, int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1)))
            x = gaussian_noise(to_float(img), _uniform(rng, self.gauss_sigma), rng)
            return to_uint8(x)
        if rng.random() < self.p_rescale:
            img = rescale(img, _uniform(rng, self.rescale), rng)
        if rng.random() < self.p_blur:
            img = blur(img, _uniform(rng, self.blur_sigma))
        x = to_float(img)
        if rng.random() < self.p_grain:
            x = film_grain(x, _uniform(rng, self.grain_strength), _uniform(rng, self.grain_size), rng)
        if rng.random() < self.p_poisson:
            x = poisson_noise(x, _uniform(rng, self.poisson_peak), rng)
        if rng.random() < self.p_gauss:
            x = gaussian_noise(x, _uniform(rng, self.gauss_sigma), rng, colour=rng.random() < self.p_gauss_colour)
        img = to_uint8(x)
        if rng.random() < self.p_dust:
            img = dust_and_scratches(img, int(rng.integers(*self.dust_specks, endpoint=True)),
                                     int(rng.integers(*self.scratches, endpoint=True)), rng)
        if rng.random() < self.p_text:
            img = text_overlay(img, rng)
        if rng.random() < self.p_jpeg:
            img = jpeg(img, int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1)))
        return img


@dataclass
class ColorizeConfig:
    """Greyscale with strong brightness/contrast jitter and noise, as DeOldify's video model was
    trained, so the colorizer does not depend on a photo's exposure or grain."""

    brightness: Range = (-0.25, 0.25)
    contrast: Range = (0.5, 1.5)
    gamma: Range = (0.7, 1.4)
    p_jitter: float = 0.8
    p_noise: float = 0.4
    noise_sigma: Range = (0.0, 0.06)
    p_grain: float = 0.2
    grain_strength: Range = (0.01, 0.05)
    p_jpeg: float = 0.2
    jpeg_quality: Tuple[int, int] = (30, 90)

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """HxWx3 uint8 colour -> HxWx1 uint8 grey."""
        y = to_float(img) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        y = y[..., None]
        if rng.random() < self.p_jitter:
            y = np.clip(y, 0, 1) ** _uniform(rng, self.gamma)
            c = _uniform(rng, self.contrast)
            y = (y - 0.5) * c + 0.5 + _uniform(rng, self.brightness)
        if rng.random() < self.p_grain:
            y = film_grain(np.repeat(y, 3, 2), _uniform(rng, self.grain_strength), 1.0, rng)[..., :1]
        if rng.random() < self.p_noise:
            y = gaussian_noise(y, _uniform(rng, self.noise_sigma), rng)
        g = to_uint8(y)
        if rng.random() < self.p_jpeg:
            g = jpeg(g, int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1)))
        return g


@dataclass
class MicroscopyConfig:
    """Gaussian + Poisson noise and downsampling, for single- or multi-frame fluorescence SR."""

    scale: int = 1
    p_poisson: float = 0.8
    poisson_peak: Range = (5.0, 200.0)
    p_gauss: float = 0.8
    gauss_sigma: Range = (0.0, 0.08)

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """HxWx1 (or x3, reduced to grey) uint8 -> (H/scale)x(W/scale)x1 uint8."""
        g = img if img.shape[2] == 1 else (to_float(img) @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
        x = to_float(g) if g.dtype == np.uint8 else g
        if self.scale > 1:
            h, w = x.shape[:2]
            # Box averaging: a camera pixel integrates the light over its area.
            x = x[: h - h % self.scale, : w - w % self.scale]
            x = x.reshape(h // self.scale, self.scale, w // self.scale, self.scale, 1).mean(axis=(1, 3))
        if rng.random() < self.p_poisson:
            x = poisson_noise(x, _uniform(rng, self.poisson_peak), rng)
        if rng.random() < self.p_gauss:
            x = gaussian_noise(x, _uniform(rng, self.gauss_sigma), rng)
        return to_uint8(x)


CRAPPIFIERS = {"decrappify": DecrappifyConfig, "colorize": ColorizeConfig, "microscopy": MicroscopyConfig}


def make_crappifier(kind: str, options: dict | None = None):
    if kind == "damage":  # print damage with its true mask (damage.py; the repair and inpaint tasks)
        from .damage import DamageConfig
        return _from_dict(DamageConfig, options)
    if kind not in CRAPPIFIERS:
        raise ValueError(f"unknown crappifier {kind!r}; choose one of {sorted([*CRAPPIFIERS, 'damage'])}")
    return _from_dict(CRAPPIFIERS[kind], options)
