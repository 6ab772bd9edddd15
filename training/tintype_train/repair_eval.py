"""Measuring the repair models on photos with synthetic damage (the true mask is known), and
looking at them on real damaged prints.

- `damage_set`: a deterministic benchmark set: held-out photos (never in the training pack) with
  damage.py's damage at full size, as damaged / clean / mask PNGs and an index.json. The engine's
  benchmark (`npm run bench -- repair-quality`) reads the same files.
- `eval_detector`: pixel precision, recall, F1 and IoU of the thresholded detector output over a
  whole set, for several thresholds (pick the threshold on the pack's val split, report on the
  held-out set).
- `eval_inpaint`: PSNR and SSIM inside the true mask, damaged vs filled, for the learned filler.
- `real_sheet`: real prints with the detected mask overlaid (red) and 1:1 crops, to look at.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .damage import damage_seeded, make_damage
from .evaluate import load_rgb, y_channel

IMAGE_EXT = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
# Held out of training: the pack is built from datasets/train (and train-extra) only.
DEFAULT_SOURCES = ("eval/denoise/Kodak24", "eval/denoise/McMaster")


def _files(folder: Path) -> List[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXT)


def _save_png(arr: np.ndarray, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp.png")
    Image.fromarray(arr).save(tmp)
    os.replace(tmp, path)


def damage_set(datasets: str | Path, out: str | Path, sources: Sequence[str] = DEFAULT_SOURCES, seed: int = 1000,
               limit: int = 0, log=print) -> dict:
    """Writes OUT/NNN.{damaged,clean,mask}.png and OUT/index.json; every photo damaged (p_clean 0)."""
    datasets, out = Path(datasets), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = make_damage({"p_clean": 0.0})
    items = []
    for src in sources:
        folder = datasets / src
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: no such folder (damage-set sources are under --datasets)")
        files = _files(folder)[: limit or None]
        for f in files:
            i = len(items)
            d, c, m = damage_seeded(load_rgb(f), seed + i, cfg)
            stem = f"{i:03d}"
            _save_png(d, out / f"{stem}.damaged.png")
            _save_png(c, out / f"{stem}.clean.png")
            _save_png(m * 255, out / f"{stem}.mask.png")
            items.append({"name": stem, "source": f"{src}/{f.name}", "width": int(d.shape[1]), "height": int(d.shape[0]),
                          "damaged_fraction": round(float(m.mean()), 5)})
    index = {"seed": seed, "sources": list(sources), "items": items}
    tmp = out / ".index.json.tmp"
    tmp.write_text(json.dumps(index, indent=1) + "\n")
    os.replace(tmp, out / "index.json")
    log(f"damage-set: {len(items)} photos -> {out}")
    return index


def _read_set(set_dir: Path):
    index = json.loads((set_dir / "index.json").read_text())
    for it in index["items"]:
        d = load_rgb(set_dir / f"{it['name']}.damaged.png")
        c = load_rgb(set_dir / f"{it['name']}.clean.png")
        m = np.asarray(Image.open(set_dir / f"{it['name']}.mask.png").convert("L")) >= 128
        yield it, d, c, m


def _val_set(pack: Path, seed: int):
    """The pack's val split (centre photos at pack size) with damage: where thresholds are chosen."""
    from .pack import read_pack
    cfg = make_damage({"p_clean": 0.0})
    for i, f in enumerate(read_pack(pack, "val")):
        img = load_rgb(f)
        d, c, m = damage_seeded(img, seed + i, cfg)
        yield {"name": f.name}, d, c, m.astype(bool)


def false_alarms(checkpoint: str, pack: Optional[str] = None, seed: int = 3000,
                 thresholds: Sequence[float] = (0.3, 0.4, 0.5, 0.6, 0.7), limit: int = 0,
                 negatives: str = "details") -> dict:
    """How much of the photo's own thin structure the detector takes for damage: the pack's val
    photos with damage.py's photo details (rods, lit edges, patterns, hair strands) drawn in and
    no damage at all. Every flagged pixel is a false alarm; reported over the detail pixels (those
    the details changed by the damage mask's own threshold) and over all pixels. `negatives` picks
    what is drawn: "details" (photo_details), "borders" (print_border) or "straight" (straight_details)."""
    from .crappify import to_float, to_uint8
    from .damage import LUMA, photo_details, print_border, straight_details
    draw = {"details": photo_details, "borders": print_border, "straight": straight_details}.get(negatives)
    if draw is None:
        raise ValueError(f"false alarms: negatives must be details, borders or straight, not {negatives!r}")
    from .export import load_generator
    from .pack import read_pack
    _, gen, rec = load_generator(checkpoint)
    cfg = make_damage({"p_details": 1.0})
    flagged = np.zeros((len(thresholds), 2))
    detail_px = total_px = n = 0
    for i, f in enumerate(read_pack(Path(pack or "training/data/pack"), "val")):
        x = to_float(load_rgb(f))
        xd = draw(x, np.random.default_rng([seed + i, 1913]), cfg)
        detail = np.abs((xd - x) @ LUMA) >= cfg.mask_change
        prob = detect(gen, to_uint8(xd))
        for k, t in enumerate(thresholds):
            hit = prob >= t
            flagged[k] += [np.sum(hit & detail), np.sum(hit)]
        detail_px += int(detail.sum())
        total_px += detail.size
        n += 1
        if limit and n >= limit:
            break
    rows = [{"threshold": t, "detail_flagged": round(a / max(1, detail_px), 4), "all_flagged": round(b / max(1, total_px), 4)}
            for t, (a, b) in zip(thresholds, flagged)]
    return {"checkpoint": str(checkpoint), "step": rec.get("step"), "set": f"pack val + photo details ({negatives}), no damage (seed {seed})" if negatives != "details"
            else f"pack val + photo details, no damage (seed {seed})",
            "photos": n, "detail_fraction": round(detail_px / max(1, total_px), 4), "rows": rows}


def _padded(x: torch.Tensor, multiple: int) -> tuple:
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    return F.pad(x, (0, pw, 0, ph), mode="replicate"), h, w


def detect(gen, img: np.ndarray, tile: int = 512) -> np.ndarray:
    """Probability of damage per pixel (H, W) from a detector generator (logits out), in tiles."""
    x = torch.from_numpy(img.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    m = gen.cfg.multiple
    h, w = x.shape[-2:]
    out = np.zeros((h, w), np.float32)
    # tiles with a 32-px margin, so tile borders do not show (the engine blends its overlaps)
    margin = 32
    with torch.no_grad():
        for y0 in range(0, h, tile):
            for x0 in range(0, w, tile):
                ya, xa = max(0, y0 - margin), max(0, x0 - margin)
                yb, xb = min(h, y0 + tile + margin), min(w, x0 + tile + margin)
                xt, th, tw = _padded(x[..., ya:yb, xa:xb], m)
                p = torch.sigmoid(gen(xt))[0, 0, :th, :tw].numpy()
                out[y0: min(h, y0 + tile), x0: min(w, x0 + tile)] = p[y0 - ya: y0 - ya + min(tile, h - y0),
                                                                        x0 - xa: x0 - xa + min(tile, w - x0)]
    return out


def _counts(prob: np.ndarray, truth: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    res = []
    for t in thresholds:
        hit = prob >= t
        res.append([np.sum(hit & truth), np.sum(hit & ~truth), np.sum(~hit & truth)])
    return np.array(res, np.float64)


def _scores(c: np.ndarray) -> dict:
    tp, fp, fn = c
    p = tp / max(1.0, tp + fp)
    r = tp / max(1.0, tp + fn)
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * tp / max(1.0, 2 * tp + fp + fn), 4),
            "iou": round(tp / max(1.0, tp + fp + fn), 4)}


def eval_detector(checkpoint: str, set_dir: Optional[str] = None, pack: Optional[str] = None, seed: int = 2000,
                  thresholds: Sequence[float] = (0.3, 0.4, 0.5, 0.6, 0.7), limit: int = 0) -> dict:
    """Pixel P/R/F1/IoU over the whole set (damaged pixels of all photos together) per threshold."""
    from .export import load_generator
    _, gen, rec = load_generator(checkpoint)
    data = _read_set(Path(set_dir)) if set_dir else _val_set(Path(pack or "training/data/pack"), seed)
    total = np.zeros((len(thresholds), 3))
    n = 0
    for it, d, _, m in data:
        total += _counts(detect(gen, d), m, thresholds)
        n += 1
        if limit and n >= limit:
            break
    rows = [{"threshold": t, **_scores(c)} for t, c in zip(thresholds, total)]
    best = max(rows, key=lambda r: r["f1"])
    return {"checkpoint": str(checkpoint), "step": rec.get("step"), "set": set_dir or f"pack val (seed {seed})",
            "photos": n, "rows": rows, "best": best}


def breakdown(checkpoint: str, pack: Optional[str] = None, seed: int = 2000, threshold: float = 0.6,
              limit: int = 0) -> dict:
    """Where a detector's F1 is lost, on the pack's val split with damage (where thresholds are chosen):
    recall per damage kind; misses the damage visibly changed (>= mask_change in luma after the scan's
    softness, before JPEG) or not; false alarms that the damage visibly changed but the label leaves
    out, in the 1-px ring just outside the label, or farther (the picture taken for damage); and F1
    after growing the mark by 1-2 px into pixels the detector gives at least a floor (the engine's
    growth), to see whether the label is wider than what is detected."""
    from .crappify import to_float
    from .damage import LUMA
    from .export import load_generator
    from .pack import read_pack
    _, gen, rec = load_generator(checkpoint)
    cfg = make_damage({"p_clean": 0.0})
    no_jpeg = make_damage({"p_clean": 0.0, "p_jpeg": 0.0})
    kinds_px: Dict[str, np.ndarray] = {}
    total = np.zeros(3)
    miss = np.zeros(2)  # visible, not visible
    alarms = np.zeros(3)  # visibly changed but unlabelled, 1-px ring, farther
    grown: Dict[str, np.ndarray] = {}
    n = 0
    for i, f in enumerate(read_pack(Path(pack or "training/data/pack"), "val")):
        img = load_rgb(f)
        kinds: Dict[str, np.ndarray] = {}
        d, _, m = damage_seeded(img, seed + i, cfg, kinds)
        d0, c0, _ = damage_seeded(img, seed + i, no_jpeg)
        m = m.astype(bool)
        visible = (np.abs((to_float(d0) - to_float(c0)) @ LUMA) >= cfg.mask_change) | kinds.get("tear", False)
        p = detect(gen, d)
        hit = p >= threshold
        total += _counts(p, m, [threshold])[0]
        miss += [np.sum(~hit & m & visible), np.sum(~hit & m & ~visible)]
        ring = grow(m, 1) & ~m
        fa = hit & ~m
        alarms += [np.sum(fa & visible), np.sum(fa & ring & ~visible), np.sum(fa & ~ring & ~visible)]
        for k, km in kinds.items():
            kinds_px.setdefault(k, np.zeros(2))
            kinds_px[k] += [km.sum(), np.sum(km & hit)]
        for g in (1, 2):
            for floor in (0.1, 0.3):
                key = f"grow {g} px into p >= {floor}"
                grown.setdefault(key, np.zeros(3))
                grown[key] += _counts((grow(hit, g) & (p >= floor)).astype(np.float32), m, [0.5])[0]
        n += 1
        if limit and n >= limit:
            break
    tp, fp, fn = total
    return {"checkpoint": str(checkpoint), "step": rec.get("step"), "set": f"pack val (seed {seed})", "photos": n,
            "threshold": threshold, **_scores(total),
            "recall_by_kind": {k: {"pixels": int(v[0]), "recall": round(v[1] / max(1, v[0]), 4)} for k, v in kinds_px.items()},
            "misses": {"visible": int(miss[0]), "not_visible": int(miss[1])},
            "false_alarms": {"visible_unlabelled": int(alarms[0]), "ring_1px": int(alarms[1]), "farther": int(alarms[2])},
            "grown": {k: _scores(v) for k, v in grown.items()}}


def masked_ssim(a: np.ndarray, b: np.ndarray, m: np.ndarray, peak: float = 255.0) -> float:
    """Mean SSIM (Gaussian window 11, sigma 1.5, on Y) over the pixels where m is true."""
    x = torch.from_numpy(y_channel(a).astype(np.float64))[None, None]
    y = torch.from_numpy(y_channel(b).astype(np.float64))[None, None]
    g = torch.exp(-0.5 * ((torch.arange(11, dtype=torch.float64) - 5) / 1.5) ** 2)
    g = (g / g.sum())
    k = (g[:, None] * g[None, :])[None, None]
    blur = lambda t: F.conv2d(F.pad(t, (5, 5, 5, 5), mode="reflect"), k)
    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (sxx + syy + c2))
    return float(s[0, 0].numpy()[m].mean())


def masked_psnr(a: np.ndarray, b: np.ndarray, m: np.ndarray) -> float:
    """PSNR (dB) over the RGB values of the pixels where m is true."""
    d = (a.astype(np.float64) - b.astype(np.float64))[m]
    return float(10 * np.log10(255.0 ** 2 / max(1e-10, np.mean(d ** 2))))


def grow(m: np.ndarray, px: int) -> np.ndarray:
    if px <= 0:
        return m
    t = torch.from_numpy(m.astype(np.float32))[None, None]
    return F.max_pool2d(t, 2 * px + 1, stride=1, padding=px)[0, 0].numpy() > 0.5


def inpaint(gen, img: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The learned filler on a whole photo (hole = True where to fill)."""
    x = torch.from_numpy(img.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    m = torch.from_numpy(hole.astype(np.float32))[None, None]
    xt, h, w = _padded(torch.cat([x * (1 - m), m], 1), gen.cfg.multiple)
    with torch.no_grad():
        y = gen(xt)[0, :, :h, :w]
    return (y.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()


def eval_inpaint(checkpoint: str, set_dir: str, grows: Sequence[int] = (0, 1, 2), limit: int = 0) -> dict:
    """PSNR/SSIM inside the true mask: the damaged input vs the learned fill of the true mask grown by g."""
    from .export import load_generator
    _, gen, rec = load_generator(checkpoint)
    rows: Dict[str, Dict[str, list]] = {"damaged": {"psnr": [], "ssim": []}}
    for g in grows:
        rows[f"learned, mask grown {g} px"] = {"psnr": [], "ssim": []}
    n = 0
    for it, d, c, m in _read_set(Path(set_dir)):
        if not m.any():
            continue
        rows["damaged"]["psnr"].append(masked_psnr(d, c, m))
        rows["damaged"]["ssim"].append(masked_ssim(d, c, m))
        for g in grows:
            out = inpaint(gen, d, grow(m, g))
            rows[f"learned, mask grown {g} px"]["psnr"].append(masked_psnr(out, c, m))
            rows[f"learned, mask grown {g} px"]["ssim"].append(masked_ssim(out, c, m))
        n += 1
        if limit and n >= limit:
            break
    table = [{"fill": k, "psnr": round(float(np.mean(v["psnr"])), 2), "ssim": round(float(np.mean(v["ssim"])), 4)}
             for k, v in rows.items()]
    return {"checkpoint": str(checkpoint), "step": rec.get("step"), "set": set_dir, "photos": n,
            "metric": "mean over photos of PSNR (RGB) and SSIM (Y) inside the true damage mask", "rows": table}


def real_sheet(checkpoint: str, folder: str | Path, out: str | Path, names: Sequence[str] = (), crop: int = 192,
               threshold: float = 0.5, max_side: int = 1024, limit: int = 8) -> None:
    """For each real print: the print, its detected mask in red, and a 1:1 crop of each around the
    most-detected spot. Prints larger than max_side are shrunk first (detection is at that size)."""
    from .export import load_generator
    _, gen, _ = load_generator(checkpoint)
    files = [Path(folder) / n for n in names] if names else _files(Path(folder))[:limit]
    rows = []
    for f in files:
        img = load_rgb(f)
        h, w = img.shape[:2]
        s = min(1.0, max_side / max(h, w))
        if s < 1:
            img = np.asarray(Image.fromarray(img).resize((round(w * s), round(h * s)), Image.LANCZOS))
        p = detect(gen, img)
        hit = p >= threshold
        over = img.copy()
        over[hit] = (0.4 * over[hit] + 0.6 * np.array([255, 0, 0])).astype(np.uint8)
        # the crop around the densest detection (a box filter of the mask)
        dens = F.avg_pool2d(torch.from_numpy(hit.astype(np.float32))[None, None], crop, stride=crop // 4)[0, 0].numpy()
        iy, ix = np.unravel_index(int(np.argmax(dens)), dens.shape)
        y0 = min(max(0, iy * (crop // 4)), img.shape[0] - crop)
        x0 = min(max(0, ix * (crop // 4)), img.shape[1] - crop)
        thumb = lambda a: np.asarray(Image.fromarray(a).resize((crop * 2 * a.shape[1] // max(a.shape[:2]),
                                                                 crop * 2 * a.shape[0] // max(a.shape[:2]))))
        t1, t2 = thumb(img), thumb(over)
        tile = np.zeros((2 * crop, 4 * crop + 2 * t1.shape[1], 3), np.uint8)
        tile[: t1.shape[0], : t1.shape[1]] = t1
        tile[: t2.shape[0], t1.shape[1]: 2 * t1.shape[1]] = t2
        c1 = img[y0: y0 + crop, x0: x0 + crop]
        c2 = over[y0: y0 + crop, x0: x0 + crop]
        tile[: c1.shape[0], 2 * t1.shape[1]: 2 * t1.shape[1] + c1.shape[1]] = c1
        tile[: c2.shape[0], 2 * t1.shape[1] + crop: 2 * t1.shape[1] + crop + c2.shape[1]] = c2
        rows.append(tile)
    wmax = max(r.shape[1] for r in rows)
    sheet = np.concatenate([np.pad(r, ((0, 0), (0, wmax - r.shape[1]), (0, 0))) for r in rows], 0)
    _save_png(sheet, Path(out))


def choose_grow(detector: str, filler: str, pack: str = "training/data/pack", threshold: float = 0.5,
                grows: Sequence[int] = (0, 1, 2, 3), seed: int = 2000, limit: int = 0) -> dict:
    """The mask growth that gives the best fill of the *true* damage when the *detected* mask is
    filled (with the learned filler), on the pack's val split: the engine's `output.grow`."""
    from .export import load_generator
    _, det, _ = load_generator(detector)
    _, inp, _ = load_generator(filler)
    res: Dict[int, list] = {g: [] for g in grows}
    base = []
    n = 0
    for _, d, c, m in _val_set(Path(pack), seed):
        hit = detect(det, d) >= threshold
        base.append(masked_psnr(d, c, m))
        for g in grows:
            res[g].append(masked_psnr(inpaint(inp, d, grow(hit, g)), c, m))
        n += 1
        if limit and n >= limit:
            break
    rows = [{"grow": g, "psnr_in_true_mask": round(float(np.mean(v)), 2)} for g, v in res.items()]
    return {"photos": n, "threshold": threshold, "damaged_psnr": round(float(np.mean(base)), 2), "rows": rows,
            "best": max(rows, key=lambda r: r["psnr_in_true_mask"])}


def score_outputs(set_dir: str | Path, out_dir: str | Path) -> dict:
    """Scores what another program (the engine's benchmark) made of a damage set: OUT/detected/NNN.png
    (a detected mask, white = damage) against the true masks, and every other OUT/METHOD/NNN.png (a
    repaired photo) by PSNR/SSIM inside the true mask, beside the damaged input's own."""
    set_dir, out_dir = Path(set_dir), Path(out_dir)
    methods = sorted(p.name for p in out_dir.iterdir() if p.is_dir() and p.name != "detected")
    det = np.zeros(3)
    fills: Dict[str, Dict[str, list]] = {k: {"psnr": [], "ssim": []} for k in ["damaged", *methods]}
    n = 0
    for it, d, c, m in _read_set(set_dir):
        n += 1
        f = out_dir / "detected" / f"{it['name']}.png"
        if f.is_file():
            det += _counts(np.asarray(Image.open(f).convert("L")).astype(np.float32) / 255.0, m, [0.5])[0]
        if not m.any():
            continue
        fills["damaged"]["psnr"].append(masked_psnr(d, c, m))
        fills["damaged"]["ssim"].append(masked_ssim(d, c, m))
        for k in methods:
            g = out_dir / k / f"{it['name']}.png"
            if not g.is_file():
                raise FileNotFoundError(f"{g}: missing ({k} has no output for {it['name']})")
            r = load_rgb(g)
            fills[k]["psnr"].append(masked_psnr(r, c, m))
            fills[k]["ssim"].append(masked_ssim(r, c, m))
            # outside the true mask (and away from its edge) a repair should change nothing
            far = ~grow(m, 4)
            fills[k].setdefault("changed_outside", []).append(float(np.mean(np.abs(r.astype(int) - d.astype(int))[far] > 1)))
    rows = []
    for k, v in fills.items():
        row = {"method": k, "psnr": round(float(np.mean(v["psnr"])), 2), "ssim": round(float(np.mean(v["ssim"])), 4)}
        if "changed_outside" in v:
            row["changed_outside"] = round(float(np.mean(v["changed_outside"])), 5)
        rows.append(row)
    out = {"set": str(set_dir), "photos": n, "fill": rows,
           "metric": "mean over photos: PSNR (RGB) and SSIM (Y) inside the true mask; changed_outside: share of pixels "
                     "more than 4 px from the true mask that moved by more than 1 level"}
    if (out_dir / "detected").is_dir():
        out["detection"] = _scores(det)
    return out
