"""Deterministic training pack: resized JPEGs plus a manifest, small enough (<= ~50 MB) to travel
with the repository to a GPU machine. Same sources and options -> byte-identical pack."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
PACK_FORMAT = 1


def list_images(root: Path) -> list[Path]:
    return sorted((p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXT and p.is_file()),
                  key=lambda p: p.relative_to(root).as_posix())


def _thumb(path: Path) -> tuple[float, np.ndarray]:
    with Image.open(path) as im:
        w, h = im.size
        t = np.asarray(im.convert("L").resize((16, 16), Image.BILINEAR), dtype=np.float32)
    return w / h, t


class BenchmarkGuard:
    """Keeps benchmark images (eval/**: BSD100 and its CBSD68 subset, LIVE1, Kodak24...) out of a pack.

    BSD100 files are renamed (img_001.png) and re-encoded, so names cannot be trusted: a train image
    is dropped when its 16x16 thumbnail matches a benchmark image's (same aspect ratio)."""

    def __init__(self, datasets_root: Path, tolerance: float = 6.0):
        self.tolerance = tolerance
        eval_root = datasets_root / "eval"
        self.thumbs = [(p, *_thumb(p)) for p in list_images(eval_root)] if eval_root.is_dir() else []

    def match(self, path: Path) -> Path | None:
        aspect, t = _thumb(path)
        for p, a, u in self.thumbs:
            if abs(a - aspect) < 0.01 and float(np.sqrt(((t - u) ** 2).mean())) < self.tolerance:
                return p
        return None


def _encode(path: Path, short_side: int, quality: int) -> tuple[bytes, int, int]:
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            w, h = im.size
            if min(w, h) > short_side:
                f = short_side / min(w, h)
                im = im.resize((max(1, round(w * f)), max(1, round(h * f))), Image.LANCZOS)
            buf = io.BytesIO()
            # 4:4:4 keeps chroma sharp: the colorizer and the restorer learn colour edges from these.
            im.save(buf, "JPEG", quality=quality, subsampling=0, optimize=True)
            return buf.getvalue(), im.size[0], im.size[1]
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: cannot read image ({err})") from err


def thinned(files: list[Path], root: Path, thin: dict[str, int]) -> list[Path]:
    """Keeps every Nth file of the folders named in `thin` ({"train-extra/clothing": 4}), so one
    narrow kind of scene stays a minority of the samples."""
    out, seen = [], {k: 0 for k in thin}
    for p in files:
        rel = p.relative_to(root).as_posix()
        key = next((k for k in thin if rel.startswith(k.rstrip("/") + "/")), None)
        if key is not None:
            seen[key] += 1
            if (seen[key] - 1) % int(thin[key]):
                continue
        out.append(p)
    return out


def build_pack(datasets_root: str | Path, out_dir: str | Path, short_side: int = 224, quality: int = 85,
               max_mb: float = 50.0, limit: int = 0, splits: tuple[str, ...] = ("train", "val"), log=print,
               extra: tuple[str, ...] = (), thin: dict[str, int] | None = None) -> dict:
    """`extra` folders (under datasets_root, e.g. "train-extra") join the train split after its own
    photos; `thin` keeps every Nth photo of the folders it names."""
    datasets_root = Path(datasets_root)
    out_dir = Path(out_dir)
    guard = BenchmarkGuard(datasets_root)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    entries, total, skipped = [], 0, []
    for split in splits:
        src = datasets_root / split
        if not src.is_dir():
            raise FileNotFoundError(f"{src}: dataset split not found")
        files = list_images(src)
        if split == "train":
            for folder in extra:
                if not (datasets_root / folder).is_dir():
                    raise FileNotFoundError(f"{datasets_root / folder}: extra training folder not found")
                files += list_images(datasets_root / folder)
            files = thinned(files, datasets_root, thin or {})
        if guard.thumbs:
            kept = []
            for p in files:
                hit = guard.match(p)
                if hit is None:
                    kept.append(p)
                else:
                    skipped.append(f"{p.relative_to(datasets_root).as_posix()} = {hit.relative_to(datasets_root).as_posix()}")
            files = kept
        if limit:
            files = files[:limit]
        (tmp / split).mkdir(parents=True, exist_ok=True)
        for i, path in enumerate(files):
            data, w, h = _encode(path, short_side, quality)
            name = f"{split}/{i:05d}.jpg"
            (tmp / name).write_bytes(data)
            total += len(data)
            entries.append({"file": name, "source": path.relative_to(datasets_root).as_posix(), "width": w,
                            "height": h, "sha256": hashlib.sha256(data).hexdigest()})
        log(f"pack: {split}: {len(files)} images" + (f" ({len(skipped)} benchmark images left out so far)" if skipped else ""))
    if total > max_mb * 1024 * 1024:
        shutil.rmtree(tmp)
        raise ValueError(f"pack would be {total / 2**20:.1f} MiB > --max-mb {max_mb}: lower --short-side or --quality")
    options = {"short_side": short_side, "quality": quality, "limit": limit}
    if extra or thin:  # recorded only when used, so the default pack's manifest stays byte-identical
        options.update({"extra": list(extra), "thin": dict(sorted((thin or {}).items()))})
    manifest = {"format": PACK_FORMAT, "options": options,
                "excluded_as_benchmark": skipped, "total_bytes": total, "images": entries}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
    log(f"pack: {len(entries)} images, {total / 2**20:.1f} MiB -> {out_dir}")
    return manifest


def read_pack(pack_dir: str | Path, split: str) -> list[Path]:
    pack_dir = Path(pack_dir)
    mf = pack_dir / "manifest.json"
    if not mf.is_file():
        raise FileNotFoundError(f"{mf}: no pack manifest (build one with: python3 -m tintype_train pack)")
    manifest = json.loads(mf.read_text())
    if manifest.get("format") != PACK_FORMAT:
        raise ValueError(f"{mf}: unsupported pack format {manifest.get('format')}")
    files = [pack_dir / e["file"] for e in manifest["images"] if e["file"].startswith(split + "/")]
    if not files:
        raise ValueError(f"{mf}: no images in split {split!r}")
    return files


def pack_sources(pack_dir: str | Path) -> dict[Path, str]:
    """A pack's file (as read_pack lists it) -> the photo it was made from, relative to the datasets root."""
    pack_dir = Path(pack_dir)
    manifest = json.loads((pack_dir / "manifest.json").read_text())
    return {pack_dir / e["file"]: e["source"] for e in manifest["images"]}
