"""Benchmarks (not tests): the decrappifier on LIVE1/classic5 JPEG and CBSD68/Kodak24 noise,
PSNR/SSIM on Y; the colorizer's colourfulness and PSNR on datasets/val. Without a checkpoint
only the baselines (degraded input, greyscale input) are computed."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .color import colourfulness, lab_to_rgb, rgb_to_lab
from .pack import list_images

NOISE_SEED = 20240601


def y_channel(rgb: np.ndarray) -> np.ndarray:
    """BT.601 studio-swing Y (16..235) as MATLAB's rgb2ycbcr, the benchmarks' convention."""
    x = rgb.astype(np.float64)
    if x.ndim == 2:
        x = np.repeat(x[..., None], 3, 2)
    return 16.0 + (65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]) / 255.0


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak ** 2 / mse)


def ssim(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """Wang et al. SSIM: 11x11 Gaussian window (sigma 1.5), valid region only."""
    x = torch.from_numpy(a.astype(np.float64))[None, None]
    y = torch.from_numpy(b.astype(np.float64))[None, None]
    g = torch.exp(-0.5 * ((torch.arange(11, dtype=torch.float64) - 5) / 1.5) ** 2)
    g = g / g.sum()
    gv, gh = g.view(1, 1, 11, 1), g.view(1, 1, 1, 11)
    win = lambda t: F.conv2d(F.conv2d(t, gv), gh)  # separable: 22 taps instead of 121
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    mx, my = win(x), win(y)
    sxx = win(x * x) - mx ** 2
    syy = win(y * y) - my ** 2
    sxy = win(x * y) - mx * my
    m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (sxx + syy + c2))
    return float(m.mean())


def jpeg_bytes(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())))


def load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


class GeneratorRunner:
    """Runs a trained generator (torch, eval mode) on whole images, padded to its size multiple."""

    def __init__(self, checkpoint: str | Path, device: Optional[str] = None, temperature: Optional[float] = None,
                 rebalance: Optional[float] = None):
        from .export import load_generator
        from .tasks import ColorizeTask
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.task, self.gen, self.record = load_generator(checkpoint)
        if temperature is not None and isinstance(self.task, ColorizeTask):
            self.task.temperature = float(temperature)
        if rebalance is not None and isinstance(self.task, ColorizeTask):
            self.task.rebalance = float(rebalance)
        if isinstance(self.task, ColorizeTask) and self.task.prior is None and (rebalance or self.task.rebalance):
            raise ValueError(f"{checkpoint}: no colour prior in the checkpoint, so a rebalanced decoding has nothing to divide by")
        self.gen.to(self.device)
        self.multiple = self.gen.cfg.multiple

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = self.multiple
        ph, pw = (-h) % m, (-w) % m
        xp = F.pad(x, (0, pw, 0, ph), mode="reflect" if min(h, w) > max(ph, pw) else "replicate")
        y = self.gen(xp.to(self.device)).float().cpu()
        s, k = self.gen.cfg.scale, self.gen.cfg.out_stride
        # A strided colorizer answers at 1/k resolution: keep the part over the unpadded image.
        return y[..., : -(-h * s // k), : -(-w * s // k)]

    def tiled(self, x: torch.Tensor, tile: int = 384, overlap: int = 32) -> torch.Tensor:
        """Runs overlapping tiles and keeps each tile's centre, as the engine tiles restore models
        (self-attention over a whole large photo would need tens of GB)."""
        h, w = x.shape[-2:]
        if h <= tile and w <= tile:
            return self(x)
        s = self.gen.cfg.scale
        out = torch.zeros(x.shape[0], self.gen.cfg.out_channels, h * s, w * s)
        step = tile - 2 * overlap
        for y0 in range(0, h, step):
            for x0 in range(0, w, step):
                ty, tx = max(0, min(y0 - overlap, h - tile)), max(0, min(x0 - overlap, w - tile))
                y = self(x[..., ty: ty + tile, tx: tx + tile])
                ky, kx = y0 - ty, x0 - tx
                hh, ww = min(step, h - y0), min(step, w - x0)
                out[..., y0 * s: (y0 + hh) * s, x0 * s: (x0 + ww) * s] = \
                    y[..., ky * s: (ky + hh) * s, kx * s: (kx + ww) * s]
        return out

    def restore(self, rgb: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(rgb.transpose(2, 0, 1)[None].astype(np.float32) / 255.0)
        y = self.tiled(x)[0].clamp(0, 1).numpy().transpose(1, 2, 0)
        return np.clip(np.rint(y * 255), 0, 255).astype(np.uint8)

    def colorize(self, rgb: np.ndarray, size: int) -> np.ndarray:
        """DeOldify's way: render chroma on a small square, keep the photo's own lightness."""
        return self.colorize_at(rgb, size, [(self.task.temperature, self.task.rebalance)])[0]

    def colorize_at(self, rgb: np.ndarray, size: int, decodings: List[Tuple[float, float]]) -> List[np.ndarray]:
        """colorize() with each decoding (temperature, rebalance) from one forward pass (a sweep)."""
        t = torch.from_numpy(rgb.transpose(2, 0, 1)[None].astype(np.float32) / 255.0)
        lab = rgb_to_lab(t)
        grey = (t * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        small = F.interpolate(grey, size=(size, size), mode="bilinear", align_corners=False)
        logits = self(small)
        outs = []
        task = self.task
        keep = task.temperature, task.rebalance
        for temperature, rebalance in decodings:
            task.temperature, task.rebalance = float(temperature), float(rebalance)
            ab = task.decode(logits)
            ab = F.interpolate(ab, size=rgb.shape[:2], mode="bilinear", align_corners=False)
            out = lab_to_rgb(torch.cat([lab[:, :1], ab], 1))[0].numpy().transpose(1, 2, 0)
            outs.append(np.clip(np.rint(out * 255), 0, 255).astype(np.uint8))
        task.temperature, task.rebalance = keep
        return outs


def _restore_cases(datasets: Path) -> List[dict]:
    cases = []
    for name in ("LIVE1", "classic5"):
        files = list_images(datasets / "eval" / "jpeg" / name)
        for q in (10, 20):
            cases.append({"set": name, "degradation": f"jpeg q{q}", "files": files, "kind": "jpeg", "q": q})
    cbsd_list = datasets / "eval" / "denoise" / "CBSD68.txt"
    cbsd = []
    if cbsd_list.is_file():
        for line in cbsd_list.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and not line.startswith("#"):
                cbsd.append(datasets / "eval" / "sr" / "BSD100" / parts[1])
    kodak = list_images(datasets / "eval" / "denoise" / "Kodak24")
    for name, files in (("CBSD68", cbsd), ("Kodak24", kodak)):
        for s in (15, 25):
            cases.append({"set": name, "degradation": f"noise sigma {s}", "files": files, "kind": "noise", "sigma": s})
    return cases


def _degrade(case: dict, clean: np.ndarray, index: int) -> np.ndarray:
    if case["kind"] == "jpeg":
        # Colour JPEG with PIL's default 4:2:0 chroma subsampling: what photos on disk look like.
        return jpeg_bytes(clean, case["q"])
    rng = np.random.default_rng([NOISE_SEED, case["sigma"], index])
    noisy = clean.astype(np.float64) + rng.normal(0.0, case["sigma"], clean.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def eval_restore(datasets: str | Path, checkpoint: Optional[str] = None, limit: int = 0,
                 only: Optional[List[str]] = None, log: Callable = print) -> Dict:
    """`only`: case names such as "LIVE1" or "LIVE1 jpeg q10" (a prefix of "SET DEGRADATION")."""
    datasets = Path(datasets)
    runner = GeneratorRunner(checkpoint) if checkpoint else None
    rows = []
    cases = _restore_cases(datasets)
    if only:
        cases = [c for c in cases if any(f"{c['set']} {c['degradation']}".startswith(o) for o in only)]
        if not cases:
            raise ValueError(f"--only {only}: no benchmark case matches")
    for case in cases:
        files = case["files"][:limit] if limit else case["files"]
        if not files:
            log(f"eval-restore: {case['set']}: no images, skipped")
            continue
        acc: Dict[str, list] = {"psnr_input": [], "ssim_input": [], "psnr_model": [], "ssim_model": [],
                                "psnr_input_yjpeg": [], "ssim_input_yjpeg": [], "psnr_model_yjpeg": [],
                                "ssim_model_yjpeg": []}
        t0 = time.time()
        for i, f in enumerate(files):
            clean = load_rgb(f)
            bad = _degrade(case, clean, i)
            yc = y_channel(clean)
            yb = y_channel(bad)
            acc["psnr_input"].append(psnr(yc, yb))
            acc["ssim_input"].append(ssim(yc, yb))
            if case["kind"] == "jpeg":
                # Published JPEG anchors compress the rounded Y channel alone; kept for comparison.
                y8 = np.clip(np.rint(yc), 0, 255).astype(np.uint8)
                yj = jpeg_bytes(y8, case["q"])
                acc["psnr_input_yjpeg"].append(psnr(y8, yj))
                acc["ssim_input_yjpeg"].append(ssim(y8, yj))
                if runner is not None:
                    # A grey image goes through the colour model as R=G=B; its Y is compared.
                    out = runner.restore(np.repeat(yj[..., None], 3, 2))
                    yo = out.astype(np.float64).mean(axis=2)
                    acc["psnr_model_yjpeg"].append(psnr(y8, yo))
                    acc["ssim_model_yjpeg"].append(ssim(y8, yo))
            if runner is not None:
                yo = y_channel(runner.restore(bad))
                acc["psnr_model"].append(psnr(yc, yo))
                acc["ssim_model"].append(ssim(yc, yo))
        row = {"set": case["set"], "degradation": case["degradation"], "images": len(files)}
        row.update({k: round(float(np.mean(v)), 4) for k, v in acc.items() if v})
        rows.append(row)
        log(f"eval-restore: {row} ({time.time() - t0:.1f} s)")
    return {"metric": "PSNR (dB) / SSIM on Y (BT.601 studio swing); input = degraded image; *_yjpeg = the "
                      "published protocol (the Y channel alone JPEG-compressed)",
            "checkpoint": checkpoint, "rows": rows}


def _val_files(datasets: Path, limit: int) -> List[Path]:
    files = list_images(datasets / "val")
    return files[:limit] if limit else files


def eval_colorize(datasets: str | Path, checkpoint: Optional[str] = None, size: int = 256,
                  temperature: Optional[float] = None, limit: int = 0, log: Callable = print,
                  sweep: Optional[List[float]] = None, files: Optional[List[Path]] = None,
                  rebalance: Optional[float] = None, sweep_rebalance: Optional[List[float]] = None) -> Dict:
    """With `sweep` (temperatures) and/or `sweep_rebalance` (decode_bias powers), also each decoding's
    colourfulness and PSNR on their grid (one forward pass per photo). `files`: other photos than
    datasets/val (e.g. a config's held-out training photos, on which the decoding may be chosen
    without looking at the validation set)."""
    datasets = Path(datasets)
    runner = GeneratorRunner(checkpoint, temperature=temperature, rebalance=rebalance) if checkpoint else None
    acc: Dict[str, list] = {"colourfulness_gt": [], "psnr_grey": [], "colourfulness_model": [], "psnr_model": []}
    grid: List[Tuple[float, float]] = []
    if runner is not None and (sweep or sweep_rebalance):
        temps = [float(x) for x in sweep] if sweep else [runner.task.temperature]
        powers = [float(x) for x in sweep_rebalance] if sweep_rebalance else [runner.task.rebalance]
        grid = [(t, r) for r in powers for t in temps]
    swept: Dict[Tuple[float, float], Dict[str, list]] = {g: {"c": [], "p": []} for g in grid}
    for f in (files[:limit] if limit else files) if files is not None else _val_files(datasets, limit):
        rgb = load_rgb(f)
        t = torch.from_numpy(rgb.transpose(2, 0, 1)[None].astype(np.float32) / 255.0)
        lab = rgb_to_lab(t)
        # Greyscale "prediction": the photo's lightness with zero chroma, composed like a model's.
        grey = lab_to_rgb(torch.cat([lab[:, :1], torch.zeros_like(lab[:, 1:])], 1))[0].numpy().transpose(1, 2, 0)
        grey8 = np.clip(np.rint(grey * 255), 0, 255).astype(np.uint8)
        acc["colourfulness_gt"].append(colourfulness(rgb))
        acc["psnr_grey"].append(psnr(rgb, grey8))
        if runner is not None:
            outs = runner.colorize_at(rgb, size, [(runner.task.temperature, runner.task.rebalance)] + grid)
            acc["colourfulness_model"].append(colourfulness(outs[0]))
            acc["psnr_model"].append(psnr(rgb, outs[0]))
            for g, o in zip(grid, outs[1:]):
                swept[g]["c"].append(colourfulness(o))
                swept[g]["p"].append(psnr(rgb, o))
    res = {"metric": "mean over images at full resolution: Hasler-Suesstrunk colourfulness, RGB PSNR (dB)",
           "images": len(acc["psnr_grey"]), "checkpoint": checkpoint, "render_size": size,
           "photos": "datasets/val" if files is None else f"{len(files)} given photos",
           "temperature": temperature if temperature is not None else (runner.task.temperature if runner else None),
           "rebalance": runner.task.rebalance if runner else None}
    res.update({k: round(float(np.mean(v)), 4) for k, v in acc.items() if v})
    if runner is not None:
        res["goal_colourfulness"] = abs(res["colourfulness_model"] - res["colourfulness_gt"]) <= 8
        res["goal_psnr"] = res["psnr_model"] >= res["psnr_grey"] - 0.5
        if swept:
            res["sweep"] = [{"temperature": t, "rebalance": r, "colourfulness_model": round(float(np.mean(v["c"])), 4),
                             "psnr_model": round(float(np.mean(v["p"])), 4)} for (t, r), v in swept.items()]
    log(f"eval-colorize: {res}")
    return res


def contact_sheet(datasets: str | Path, checkpoint: str, out: str | Path, size: int = 256,
                  temperature: Optional[float] = None, thumb: int = 160, row_width: int = 1600,
                  rebalance: Optional[float] = None) -> None:
    """Historical photos (datasets/bw) side by side: original | colorized."""
    runner = GeneratorRunner(checkpoint, temperature=temperature, rebalance=rebalance)
    files = list_images(Path(datasets) / "bw")
    tiles = []
    for f in files:
        rgb = load_rgb(f)
        coloured = runner.colorize(rgb, size)
        pair = np.concatenate([rgb, coloured], 1)
        h, w = pair.shape[:2]
        sc = thumb / h
        tiles.append(np.asarray(Image.fromarray(pair).resize((max(1, round(w * sc)), thumb), Image.BILINEAR)))
    # Rows filled left to right up to `row_width` pixels, so wide and narrow pairs pack tightly.
    rows, row, used = [], [], 0
    for t in tiles:
        if row and used + t.shape[1] > row_width:
            rows.append(row)
            row, used = [], 0
        row.append(t)
        used += t.shape[1] + 8
    if row:
        rows.append(row)
    width = max(sum(t.shape[1] + 8 for t in r) for r in rows)
    sheet = np.full((len(rows) * (thumb + 8), width, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        x = 0
        for t in row:
            sheet[r * (thumb + 8): r * (thumb + 8) + thumb, x: x + t.shape[1]] = t
            x += t.shape[1] + 8
    out = Path(out)
    tmp = out.with_name(f".{out.stem}.tmp{out.suffix}")
    # JPEG (by extension) keeps a sheet of 69 photo pairs small enough to commit.
    Image.fromarray(sheet).save(tmp, quality=85) if out.suffix.lower() in (".jpg", ".jpeg") else Image.fromarray(sheet).save(tmp)
    tmp.replace(out)
