"""Datasets whose every sample is a pure function of (seed, index): resumable, and identical
with any number of DataLoader workers."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, Sampler

FRAME_SHIFT = 3  # max pixel shift between consecutive frames in synthetic 3-frame samples


class ImageCache:
    """Decoded pack images, loaded on first use (each DataLoader worker keeps its own)."""

    def __init__(self, files: Sequence[Path]):
        self.files = list(files)
        self._cache: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.files)

    def get(self, i: int) -> np.ndarray:
        img = self._cache.get(i)
        if img is None:
            try:
                with Image.open(self.files[i]) as im:
                    img = np.asarray(im.convert("RGB"))
            except OSError as err:
                raise ValueError(f"{self.files[i]}: cannot read image ({err})") from err
            self._cache[i] = img
        return img


def random_crop(img: np.ndarray, size: int, rng: np.random.Generator, flip: bool = True) -> np.ndarray:
    h, w = img.shape[:2]
    if min(h, w) < size:
        f = size / min(h, w)
        img = np.asarray(Image.fromarray(img).resize((max(size, round(w * f)), max(size, round(h * f))), Image.BICUBIC))
        h, w = img.shape[:2]
    y = int(rng.integers(0, h - size + 1))
    x = int(rng.integers(0, w - size + 1))
    out = img[y: y + size, x: x + size]
    if flip and rng.random() < 0.5:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def centre_crop(img: np.ndarray, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    if min(h, w) < size:
        f = size / min(h, w)
        img = np.asarray(Image.fromarray(img).resize((max(size, round(w * f)), max(size, round(h * f))), Image.BICUBIC))
        h, w = img.shape[:2]
    y, x = (h - size) // 2, (w - size) // 2
    return np.ascontiguousarray(img[y: y + size, x: x + size])


def squash(img: np.ndarray, size: int) -> np.ndarray:
    """The whole photo resized to size x size, as the app renders a photo for the colorizer."""
    return np.asarray(Image.fromarray(img).resize((size, size), Image.LANCZOS))


def holdout_split(files: Sequence[Path], every: int):
    """(train, held out): every `every`-th photo (0 = none) is kept out of training, so that choices
    made during training (checkpoint, decoding temperature) never look at the validation set."""
    if every <= 0:
        return list(files), []
    files = list(files)
    return ([f for i, f in enumerate(files) if i % every != every - 1],
            [f for i, f in enumerate(files) if i % every == every - 1])


def chw(img: np.ndarray) -> torch.Tensor:
    if img.ndim == 2:
        img = img[..., None]
    return torch.from_numpy(np.array(img.transpose(2, 0, 1), dtype=np.float32)) / 255.0


def grey3(img: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 colour -> the same photo in black and white, still three equal channels."""
    y = img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.repeat(np.clip(np.rint(y), 0, 255).astype(np.uint8)[..., None], 3, axis=2)


class PairDataset(Dataset):
    """Sample i: an image, a crop and its crappification(s), all drawn from rng(seed, i).

    With `stability`, each sample carries two independent crappifications of one target. With
    `p_grey`, that share of the training samples is made black-and-white first (target and input),
    so a restorer also learns greyscale JPEGs and scans, which carry no chroma damage. With `p_squash`,
    that share of the training samples is the whole photo squashed to the crop size (maybe mirrored),
    as the app renders a photo for the colorizer, instead of a random crop."""

    def __init__(self, images: ImageCache, task, crop: int, seed: int, stability: bool = False,
                 fixed: bool = False, p_grey: float = 0.0, fixed_view: str = "centre", p_squash: float = 0.0):
        if fixed_view not in ("centre", "squash"):
            raise ValueError(f"data.val_view must be 'centre' or 'squash', not {fixed_view!r}")
        self.images, self.task, self.crop, self.seed = images, task, crop, seed
        self.stability, self.fixed, self.p_grey, self.fixed_view = stability, fixed, p_grey, fixed_view
        self.p_squash = p_squash

    def __len__(self) -> int:
        return len(self.images) if self.fixed else 2 ** 62

    def _inputs(self, clean: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        frames = self.task.frames
        if frames == 1:
            return chw(self.task.crappify(clean[FRAME_SHIFT: FRAME_SHIFT + self.crop, FRAME_SHIFT: FRAME_SHIFT + self.crop]
                                          if clean.shape[0] > self.crop else clean, rng))
        out = []
        for t in range(frames):
            # Neighbouring frames: the same scene shifted a little, each damaged independently.
            dy, dx = (FRAME_SHIFT, FRAME_SHIFT) if t == frames // 2 else rng.integers(0, 2 * FRAME_SHIFT + 1, size=2)
            out.append(chw(self.task.crappify(clean[dy: dy + self.crop, dx: dx + self.crop], rng)))
        return torch.cat(out, 0)

    def __getitem__(self, idx: int):
        rng = np.random.default_rng([self.seed, int(idx)])
        margin = 2 * FRAME_SHIFT if self.task.frames > 1 else 0
        if self.fixed:
            img = self.images.get(idx)
            clean = squash(img, self.crop + margin) if self.fixed_view == "squash" else centre_crop(img, self.crop + margin)
        else:
            img = self.images.get(int(rng.integers(len(self.images))))
            # Drawn only when asked for, so the stream of configs without it is unchanged.
            if self.p_squash > 0 and rng.random() < self.p_squash:
                clean = squash(img, self.crop + margin)
                clean = np.ascontiguousarray(clean[:, ::-1]) if rng.random() < 0.5 else clean
            else:
                clean = random_crop(img, self.crop + margin, rng)
            # Drawn only when asked for, so the stream of configs without it is unchanged.
            if self.p_grey > 0 and rng.random() < self.p_grey:
                clean = grey3(clean)
        if hasattr(self.task, "pair"):
            # Tasks whose target comes out of the damage itself (repair: the true mask).
            return self.task.pair(clean, rng)
        target = chw(clean[margin // 2: margin // 2 + self.crop, margin // 2: margin // 2 + self.crop]
                     if margin else clean)
        target = self.task.target(target)
        x1 = self._inputs(clean, rng)
        if not self.stability:
            return x1, target
        return x1, self._inputs(clean, rng), target


class CountingSampler(Sampler):
    """Yields start, start+1, ...: sample indices continue across resumes."""

    def __init__(self, start: int, count: int):
        self.start, self.count = start, count

    def __iter__(self):
        return iter(range(self.start, self.start + self.count))

    def __len__(self) -> int:
        return self.count
