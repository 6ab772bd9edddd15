"""Tiny generated fixtures for the unit tests (nothing is read from shared/datasets)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def synthetic_image(rng: np.random.Generator, w: int = 64, h: int = 48) -> Image.Image:
    im = Image.new("RGB", (w, h), tuple(int(c) for c in rng.integers(0, 256, 3)))
    d = ImageDraw.Draw(im)
    for _ in range(5):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        d.ellipse([x, y, x + int(rng.integers(4, 24)), y + int(rng.integers(4, 24))],
                  fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    return im


def make_datasets(root: Path, train: int = 6, val: int = 2, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for split, n in (("train", train), ("val", val)):
        d = root / split / "synthetic"
        d.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            synthetic_image(rng).save(d / f"{i:03d}.png")
    return root


def tiny_config(pack: Path, task: str = "restore", **over) -> dict:
    from tintype_train.train import DEFAULTS, merge
    cfg = {
        "task": task,
        "crappifier": {"kind": {"restore": "decrappify", "colorize": "colorize", "microscopy": "microscopy"}[task],
                       "options": {}},
        "generator": {"width": 8, "depth": 2, "blocks": 1, "attention_level": 1},
        "critic": {"width": 8, "layers": 1},
        "data": {"pack": str(pack), "crop": 32, "batch": 2, "val_size": 32, "val_count": 2, "val_batch": 2},
        "schedule": {"gen_steps": 3, "save_outputs": 4, "critic_steps": 2, "gan_steps": 2, "catchup_max": 2,
                     "critic_steps_per_gen": 2},
        "val_every": 2,
        "checkpoint_every": 100,
    }
    if task == "colorize":
        cfg["loss"] = {"color": {"bins": 8, "l1_weight": 0.5}}
    return merge(merge(DEFAULTS, cfg), over)


def quiet(*_args, **_kw) -> None:
    pass


os.environ.setdefault("OMP_NUM_THREADS", "1")
