"""Frozen-encoder features, computed once for the whole training pack and kept (float16) in memory.

While a pretrained encoder is frozen its output for a given input never changes, so running it
at every step wastes most of a CPU step. The cache holds, for each pack photo and each view, the
encoder taps the decoder needs, the grey input the encoder saw and the true a,b at the decoder's
output resolution. A decoder step then costs only the decoder. Views:
- "squash": the whole photo resized to `size` x `size`, as the app renders a photo for the
  colorizer (it squashes to the render size and merges the chroma back over the original);
- "squash_flip": the same, mirrored;
- "crop": a random `size` crop of the pack photo (short side 224), randomly mirrored.
Each view's grey input is the task's crappifier (exposure jitter, noise, grain, JPEG) with an
rng drawn from (seed, photo, view), so a cache is a pure function of its inputs; it is saved
under `dir` with a key of those inputs and reloaded (memory-mapped) by later runs.

A "twin" cache (`salt` > 0) holds the same views (the same crops) damaged again with other random
draws: two frames of one film, say. The stability loss compares the chroma predicted from both.
It may hold only some of the views (`view_ids`: their positions in the main cache's view list).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from .color import rgb_to_lab
from .data import ImageCache, chw, random_crop, squash

VIEWS = ("squash", "squash_flip", "crop")
CACHE_FORMAT = 1


def view_image(img: np.ndarray, view: str, size: int, rng: np.random.Generator) -> np.ndarray:
    if view in ("squash", "squash_flip"):
        out = squash(img, size)
        return np.ascontiguousarray(out[:, ::-1]) if view == "squash_flip" else out
    if view == "crop":
        return random_crop(img, size, rng)
    raise ValueError(f"data.cache_views: unknown view {view!r}; choose from {list(VIEWS)}")


class FeatureCache:
    def __init__(self, arrays: dict, meta: dict):
        self.arrays = arrays
        self.meta = meta
        self.taps = int(meta["taps"])

    def __len__(self) -> int:
        return int(self.arrays["grey"].shape[0])

    def batch(self, idx: np.ndarray, device: torch.device):
        """(feats list, grey (B,1,S,S) in 0..1, ab (B,2,s,s)) as float32 tensors."""
        idx = np.sort(idx)  # sequential reads from the memory map
        feats = [torch.from_numpy(np.asarray(self.arrays[f"tap{i}"][idx])).to(device).float() for i in range(self.taps)]
        grey = torch.from_numpy(np.asarray(self.arrays["grey"][idx])).to(device).float() / 255.0
        ab = torch.from_numpy(np.asarray(self.arrays["ab"][idx])).to(device).float()
        return feats, grey, ab

    @staticmethod
    def key(images: ImageCache, gen_state_digest: str, views: Sequence[str], size: int, seed: int,
            crappifier: dict, out_stride: int, salt: int = 0, view_ids: Optional[Sequence[int]] = None) -> str:
        h = hashlib.sha256()
        for f in images.files:
            h.update(f.name.encode())
            h.update(str(f.stat().st_size).encode())
        fields = {"encoder": gen_state_digest, "views": list(views), "size": size, "seed": seed,
                  "crappifier": crappifier, "out_stride": out_stride, "format": CACHE_FORMAT}
        if salt:
            fields["salt"] = salt
            fields["view_ids"] = list(view_ids or [])
        h.update(json.dumps(fields, sort_keys=True).encode())
        return h.hexdigest()[:16]

    @classmethod
    def build_or_load(cls, gen, task, images: ImageCache, cache_dir: Optional[Path], views: Sequence[str], size: int,
                      seed: int, device: torch.device, batch: int = 16, log=print, salt: int = 0,
                      view_ids: Optional[Sequence[int]] = None) -> "FeatureCache":
        enc_digest = hashlib.sha256()
        for name, t in sorted(gen.encoder.state_dict().items()):
            enc_digest.update(name.encode())
            enc_digest.update(t.detach().cpu().numpy().tobytes())
        view_ids = list(range(len(views))) if view_ids is None else list(view_ids)
        key = cls.key(images, enc_digest.hexdigest(), views, size, seed, task.cfg["crappifier"], gen.cfg.out_stride,
                      salt, view_ids)
        folder = None if cache_dir is None else Path(cache_dir) / key
        if folder is not None and (folder / "meta.json").is_file():
            meta = json.loads((folder / "meta.json").read_text())
            arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in meta["arrays"]}
            log(f"feature cache{' (twin)' if salt else ''}: {len(arrays['grey'])} views loaded from {folder}")
            return cls(arrays, meta)
        n = len(images) * len(views)
        log(f"feature cache{' (twin)' if salt else ''}: encoding {len(images)} photos x {len(views)} views at {size} px ...")
        start = time.time()
        arrays: dict = {}
        gen.eval()
        pending: List[tuple] = []

        def flush() -> None:
            greys = torch.stack([p[1] for p in pending]).to(device)
            rgbs = torch.stack([p[2] for p in pending]).to(device)
            with torch.no_grad():
                feats = gen.encode(greys)
                lab = rgb_to_lab(rgbs)
                ab = F.adaptive_avg_pool2d(lab[:, 1:], feats[0].shape[-2:])
            rows = [p[0] for p in pending]
            for i, f in enumerate(feats):
                name = f"tap{i}"
                if name not in arrays:
                    arrays[name] = np.zeros((n, *f.shape[1:]), np.float16)
                arrays[name][rows] = f.cpu().numpy().astype(np.float16)
            if "ab" not in arrays:
                arrays["ab"] = np.zeros((n, *ab.shape[1:]), np.float16)
                arrays["grey"] = np.zeros((n, 1, size, size), np.uint8)
            arrays["ab"][rows] = ab.cpu().numpy().astype(np.float16)
            arrays["grey"][rows] = (greys * 255).round().clamp(0, 255).to(torch.uint8).cpu().numpy()
            pending.clear()

        for i in range(len(images)):
            img = images.get(i)
            for j, view in enumerate(views):
                # A twin's view draws the same crop as the main cache's, whose position is view_ids[j].
                rng = np.random.default_rng([seed, 31337, i, view_ids[j]])
                clean = view_image(img, view, size, rng)
                # A twin draws the same view (same crop) but its own damage.
                damage = np.random.default_rng([seed, 31337, i, view_ids[j], salt]) if salt else rng
                pending.append((i * len(views) + j, chw(task.crappify(clean, damage)), chw(clean)))
                if len(pending) == batch:
                    flush()
            if (i + 1) % 200 == 0:
                log(f"feature cache: {i + 1}/{len(images)} photos, {time.time() - start:.0f} s")
        if pending:
            flush()
        meta = {"format": CACHE_FORMAT, "key": key, "taps": sum(1 for k in arrays if k.startswith("tap")),
                "arrays": sorted(arrays), "views": list(views), "size": size, "count": n}
        mb = sum(a.nbytes for a in arrays.values()) / 2 ** 20
        log(f"feature cache: {n} views, {mb:.0f} MiB, {time.time() - start:.0f} s")
        if folder is not None:
            tmp = folder.with_name(folder.name + ".tmp")
            tmp.mkdir(parents=True, exist_ok=True)
            for name, a in arrays.items():
                np.save(tmp / f"{name}.npy", a)
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
            if folder.exists():
                import shutil
                shutil.rmtree(folder)
            os.replace(tmp, folder)
        return cls(arrays, meta)
