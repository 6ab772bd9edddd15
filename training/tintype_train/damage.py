"""Synthetic print damage with its true mask: what the repair models (damage detection and the
learned inpainter) learn from.

Scanned prints carry thin bright scratches (the emulsion scraped off down to the white paper) and
dark ones (scratches on the negative, pencil, dirt), crazed emulsion (networks of fine branching
cracks), dust specks and hairs on the scanner glass, folds (a bright crease where the emulsion
cracked, with a light and a dark flank from the bent paper) and torn or missing corners. Clean
training photos get these drawn on them, so the damaged pixels are known exactly.

Each element is drawn anti-aliased (supersampled 4x, then box-filtered) as a coverage map `a` and
composited over the photo, out = photo * (1 - a) + value * a. A pixel is *damaged* (mask = 1) when
an element visibly changed it (by at least `mask_change` in luma), anti-aliased edges and halos
included: a faint white scratch over a white sky changes nothing and is not something to find or
repair. Torn areas are damaged whatever their colour. The soft light and dark flanks of a fold are
shading, not damage, and stay out of the mask (its crease is in).

The photo is first made black-and-white, sepia-toned or left in colour (`p_grey`, `p_sepia`), and
after the damage the whole print gets the scan's own softness, grain and JPEG, so the damage sits
in the picture as it does on a real scan. Every sample is a pure function of the rng passed in
(`damage(img, rng)`) or of a seed (`damage_seeded(img, seed)`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .crappify import Range, _from_dict, _uniform, film_grain, gaussian_blur_2d, jpeg, to_float, to_uint8

SS = 4  # supersampling factor for anti-aliased drawing
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
IntRange = Tuple[int, int]


@dataclass
class DamageConfig:
    """Probabilities per sample, counts per sample (scaled by the image's area relative to 224x224)."""

    p_grey: float = 0.45  # black-and-white print
    p_sepia: float = 0.3  # sepia-toned print (else colour)
    p_clean: float = 0.08  # no damage at all: the detector must also learn to stay quiet
    # A scan of a print is smooth at the pixel level and its damage sharp; the training photos are
    # small. Enlarging part of a photo (bicubic) before the damage gives scan-like statistics.
    p_zoom: float = 0.5
    zoom: Range = (1.0, 2.5)
    scratches: IntRange = (0, 5)  # long thin curves
    scratch_width: Range = (0.6, 4.0)  # px
    scratch_opacity: Range = (0.35, 1.0)
    p_bright: float = 0.7  # bright (emulsion scraped to paper) vs dark
    p_cracks: float = 0.3  # crazed emulsion: a few branching crack networks
    cracks: IntRange = (1, 3)
    dust: IntRange = (0, 30)  # specks
    dust_radius: Range = (0.4, 3.5)
    hairs: IntRange = (0, 2)
    p_fold: float = 0.15
    p_tear: float = 0.1
    # after the damage: the scan
    p_soft: float = 0.35
    soft_sigma: Range = (0.3, 0.8)
    p_grain: float = 0.4
    grain_strength: Range = (0.005, 0.03)
    p_jpeg: float = 0.4
    jpeg_quality: IntRange = (60, 95)
    # what counts as damaged: a pixel the damage changed by at least this much luma (8 levels)
    mask_change: float = 0.03
    # Hard negatives: thin structures that belong to the photo (metal rods with a highlight, lit
    # edges of objects, embroidery/lace/lettering patterns, bundles of hair strands), drawn into
    # the clean print before any damage, so they are in the clean target and never in the mask.
    # Off by default so the held-out damage sets (damage-set, the pack's val) stay as they were.
    p_details: float = 0.0
    details: IntRange = (1, 4)
    # Film scratches: perfectly straight lines from edge to edge (mostly along the frame's height, as a
    # projector's gate or a scanner's transport draws them; also across and at other angles). They
    # teach that straight and edge-to-edge is damage too when it has no body of its own (a rod among
    # the photo details has one). Off by default (no rng draws), so the held-out sets stay as they were.
    p_film: float = 0.0
    film: IntRange = (1, 2)
    film_width: Range = (0.8, 3.5)
    detail_soft: Range = (0.3, 1.0)  # the lens: photo content is never sharper than this (sigma, px)
    # More hard negatives, for what 1.1.0 still takes for damage on real prints (each off by default,
    # no rng draws, so the held-out sets and the false-alarm set stay as they were):
    # - print borders: the print's own edge, a mount's margin or a light/dark line hugging the frame,
    #   straight and edge to edge but within a few px of the edge (NativeWoman1926's left border);
    p_borders: float = 0.0
    # - straight thin details: thin rods with a shadow side and ends inside the picture (clamp and
    #   stand rods), rails (parallel thin lines, with ties) and bead trim or piping (a regular row of
    #   small dots or a bright line beside a dark seam), the 1860Girls collar and MementoMori clamp.
    p_straight: float = 0.0
    straight: IntRange = (1, 3)
    tear_size: Range = (0.1, 0.35)  # a torn corner's radius, of the short side


def _sepia(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Luma (H,W) in 0..1 -> a sepia print: warm toning whose strength varies per print."""
    k = _uniform(rng, (0.5, 1.0))
    tint = np.array([1.0, 0.86, 0.66], np.float32)
    toned = y[..., None] * (1 - k + k * tint) + k * np.array([0.06, 0.04, 0.0], np.float32) * (1 - y[..., None])
    return np.clip(toned, 0, 1)


def _tone(x: np.ndarray, rng: np.random.Generator, cfg: DamageConfig) -> Tuple[np.ndarray, str]:
    r = rng.random()
    if r < cfg.p_grey:
        return np.repeat((x @ LUMA)[..., None], 3, 2), "grey"
    if r < cfg.p_grey + cfg.p_sepia:
        return _sepia(x @ LUMA, rng), "sepia"
    return x, "colour"


class _Canvas:
    """One element's coverage, drawn at SS x and box-filtered down to the photo's size."""

    def __init__(self, w: int, h: int):
        self.w, self.h = w, h
        self.im = Image.new("L", (w * SS, h * SS), 0)
        self.draw = ImageDraw.Draw(self.im)

    def line(self, pts: np.ndarray, widths: np.ndarray, alphas: np.ndarray) -> None:
        """A polyline whose width and opacity vary along it (per segment), round joints."""
        for i in range(len(pts) - 1):
            w = max(1.0, widths[i] * SS)
            fill = int(round(255 * float(np.clip(alphas[i], 0, 1))))
            (x0, y0), (x1, y1) = pts[i] * SS, pts[i + 1] * SS
            self.draw.line([(x0, y0), (x1, y1)], fill=fill, width=int(round(w)))
            r = w / 2
            if r > 1.5:
                self.draw.ellipse([x1 - r, y1 - r, x1 + r, y1 + r], fill=fill)

    def alpha(self) -> np.ndarray:
        return np.asarray(self.im.resize((self.w, self.h), Image.BOX), np.float32) / 255.0


def _smooth_curve(rng: np.random.Generator, w: int, h: int, length: float, wiggle: float, step: float = 1.5) -> np.ndarray:
    """A random smooth curve: heading changes by a smoothed random walk (scratches, hairs)."""
    n = max(2, int(length / step))
    x, y = rng.uniform(-0.1 * w, 1.1 * w), rng.uniform(-0.1 * h, 1.1 * h)
    heading = rng.uniform(0, 2 * math.pi)
    turn = rng.normal(0, wiggle, n)
    # a low-pass filtered turn rate gives long gentle bends rather than jitter
    k = np.ones(9) / 9
    turn = np.convolve(turn, k, mode="same") + rng.normal(0, wiggle * 0.1)
    heads = heading + np.cumsum(turn)
    xs = x + np.cumsum(np.cos(heads) * step)
    ys = y + np.cumsum(np.sin(heads) * step)
    return np.stack([xs, ys], 1)


def _varying(rng: np.random.Generator, n: int, lo: float, hi: float, freq: float = 0.05) -> np.ndarray:
    """A value along a curve that drifts smoothly between lo and hi (width, opacity)."""
    t = np.arange(n)
    phase, f2 = rng.uniform(0, 2 * math.pi, 2), rng.uniform(0.3, 1.0) * freq
    v = 0.5 + 0.3 * np.sin(t * f2 + phase[0]) + 0.2 * np.sin(t * f2 * 2.7 + phase[1])
    base = rng.uniform(lo, hi)
    return np.clip(base * (0.6 + 0.8 * v), lo * 0.5, hi)


def _crack(rng: np.random.Generator, start: np.ndarray, heading: float, length: float, depth: int,
           out: List[np.ndarray]) -> None:
    """A jagged crack that forks (crazed emulsion): straight-ish segments with sharp turns."""
    n = max(2, int(length / 2.0))
    heads = heading + np.cumsum(rng.normal(0, 0.35, n))
    pts = start + np.cumsum(np.stack([np.cos(heads), np.sin(heads)], 1) * 2.0, 0)
    pts = np.vstack([start[None], pts])
    out.append(pts)
    if depth <= 0:
        return
    for _ in range(int(rng.integers(1, 3))):
        at = int(rng.integers(1, len(pts)))
        _crack(rng, pts[at], heads[min(at, n - 1)] + rng.choice([-1, 1]) * rng.uniform(0.4, 1.3),
               length * rng.uniform(0.3, 0.7), depth - 1, out)


def _paper_value(rng: np.random.Generator, tone: str, bright: bool, base: np.ndarray) -> np.ndarray:
    """RGB of exposed paper (bright) or of dirt/ink (dark), in the print's tone."""
    if bright:
        v = _uniform(rng, (0.82, 1.0))
        col = np.array([v, v * 0.97, v * 0.9], np.float32) if tone == "sepia" else np.full(3, v, np.float32)
    else:
        v = _uniform(rng, (0.0, 0.2))
        col = np.full(3, v, np.float32)
    return col


def _composite(x: np.ndarray, a: np.ndarray, value: np.ndarray) -> np.ndarray:
    return x * (1 - a[..., None]) + value * a[..., None]


def damage(img: np.ndarray, rng: np.random.Generator, cfg: DamageConfig | None = None,
           kinds: dict | None = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HxWx3 uint8 clean photo -> (damaged HxWx3 uint8, clean HxWx3 uint8 in the same tone and
    scan, mask HxW uint8 0/1). `kinds`, if given, receives each damage kind's own mask (HxW bool:
    'fold', 'crack', 'scratch', 'hair', 'dust', 'tear'), for measuring; the rng draws the same."""
    cfg = cfg or DamageConfig()
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"damage: expected an HxWx3 uint8 image, got {img.shape} {img.dtype}")
    h, w = img.shape[:2]
    if rng.random() < cfg.p_zoom:
        f = _uniform(rng, cfg.zoom)
        ch, cw = max(4, round(h / f)), max(4, round(w / f))
        y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        img = np.asarray(Image.fromarray(img[y0: y0 + ch, x0: x0 + cw]).resize((w, h), Image.BICUBIC))
    area = (h * w) / (224.0 * 224.0)
    diag = math.hypot(w, h)
    x = to_float(img)
    if cfg.p_details > 0 and rng.random() < cfg.p_details:
        x = photo_details(x, rng, cfg)
    if cfg.p_straight > 0 and rng.random() < cfg.p_straight:
        x = straight_details(x, rng, cfg)
    if cfg.p_borders > 0 and rng.random() < cfg.p_borders:
        x = print_border(x, rng, cfg)
    x, tone = _tone(x, rng, cfg)
    clean = x.copy()
    mask = np.zeros((h, w), bool)
    torn = np.zeros((h, w), bool)

    def count(r: IntRange) -> int:
        return int(rng.integers(r[0], r[1] + 1) * max(0.25, area) ** 0.5 + rng.random())

    def apply(a: np.ndarray, value: np.ndarray, mark: bool = True, kind: str = "") -> None:
        nonlocal x
        before = x @ LUMA
        x = _composite(x, a, value)
        if mark:
            changed = np.abs(x @ LUMA - before) >= cfg.mask_change
            mask[changed] = True
            if kinds is not None and kind:
                kinds[kind] = kinds.get(kind, np.zeros((h, w), bool)) | changed

    if rng.random() >= cfg.p_clean:
        # folds first: scratches and dust lie over them
        if rng.random() < cfg.p_fold:
            _fold(rng, w, h, tone, apply)
        if rng.random() < cfg.p_cracks:
            for _ in range(int(rng.integers(cfg.cracks[0], cfg.cracks[1] + 1))):
                paths: List[np.ndarray] = []
                _crack(rng, np.array([rng.uniform(0, w), rng.uniform(0, h)]), rng.uniform(0, 2 * math.pi),
                       rng.uniform(0.15, 0.5) * diag, int(rng.integers(1, 4)), paths)
                c = _Canvas(w, h)
                op = _uniform(rng, (0.5, 1.0))
                for p in paths:
                    c.line(p, np.full(len(p), _uniform(rng, (0.5, 1.4))), np.full(len(p), op))
                apply(c.alpha(), _paper_value(rng, tone, rng.random() < cfg.p_bright, x), kind="crack")
        for _ in range(count(cfg.scratches)):
            length = rng.uniform(0.2, 1.2) * diag
            pts = _smooth_curve(rng, w, h, length, wiggle=rng.uniform(0.002, 0.03))
            c = _Canvas(w, h)
            c.line(pts, _varying(rng, len(pts), *cfg.scratch_width),
                   _varying(rng, len(pts), *cfg.scratch_opacity))
            apply(c.alpha(), _paper_value(rng, tone, rng.random() < cfg.p_bright, x), kind="scratch")
        if cfg.p_film > 0 and rng.random() < cfg.p_film:
            for _ in range(int(rng.integers(cfg.film[0], cfg.film[1] + 1))):
                c = _Canvas(w, h)
                c.line(*_film_scratch(rng, w, h, cfg))
                apply(c.alpha(), _paper_value(rng, tone, rng.random() < cfg.p_bright, x), kind="film")
        for _ in range(count(cfg.hairs)):
            pts = _smooth_curve(rng, w, h, rng.uniform(0.1, 0.4) * diag, wiggle=rng.uniform(0.05, 0.15), step=1.0)
            c = _Canvas(w, h)
            c.line(pts, np.full(len(pts), _uniform(rng, (0.5, 1.2))), _varying(rng, len(pts), 0.6, 1.0))
            apply(c.alpha(), _paper_value(rng, tone, rng.random() < 0.5, x), kind="hair")
        n_dust = count(cfg.dust)
        if n_dust:
            # specks of one brightness class share a layer (cheap); irregular: 1-3 overlapping blobs
            for bright in (True, False):
                c = _Canvas(w, h)
                for _ in range(n_dust // 2 + (n_dust % 2 if bright else 0)):
                    cx, cy = rng.uniform(0, w) * SS, rng.uniform(0, h) * SS
                    for _ in range(int(rng.integers(1, 4))):
                        r = _uniform(rng, cfg.dust_radius) * SS
                        rx, ry = r * rng.uniform(0.6, 1.4), r * rng.uniform(0.6, 1.4)
                        ox, oy = rng.normal(0, r * 0.6, 2)
                        c.draw.ellipse([cx + ox - rx, cy + oy - ry, cx + ox + rx, cy + oy + ry],
                                       fill=int(255 * rng.uniform(0.6, 1.0)))
                apply(c.alpha(), _paper_value(rng, tone, bright, x), kind="dust")
        if rng.random() < cfg.p_tear:
            a = _tear(rng, w, h, cfg.tear_size)
            # the scanner lid (white) or bed (black), or the mount card behind the print
            v = rng.choice([rng.uniform(0.85, 1.0), rng.uniform(0.0, 0.12), rng.uniform(0.4, 0.75)])
            col = np.array([v, v * 0.96, v * 0.88], np.float32) if tone == "sepia" else np.full(3, v, np.float32)
            apply(a, col, kind="tear")
            torn |= a >= 0.5  # what is gone is damage even where the backing matches the photo
    mask |= torn

    # the scan: the same softness and grain on the clean and the damaged print
    if rng.random() < cfg.p_soft:
        s = _uniform(rng, cfg.soft_sigma)
        x = np.stack([gaussian_blur_2d(x[..., i], s) for i in range(3)], 2)
        clean = np.stack([gaussian_blur_2d(clean[..., i], s) for i in range(3)], 2)
    if rng.random() < cfg.p_grain:
        g_strength, state = _uniform(rng, cfg.grain_strength), rng.bit_generator.state
        x = film_grain(x, g_strength, 0.7, rng)
        rng.bit_generator.state = state  # the very same grain on the clean print
        clean = film_grain(clean, g_strength, 0.7, rng)
    out, clean8 = to_uint8(x), to_uint8(clean)
    if rng.random() < cfg.p_jpeg:
        q = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
        out, clean8 = jpeg(out, q), jpeg(clean8, q)
    return out, clean8, mask.astype(np.uint8)


def photo_details(x: np.ndarray, rng: np.random.Generator, cfg: DamageConfig) -> np.ndarray:
    """Thin real structures drawn into a clean HxWx3 float photo (the detector's hard negatives).

    What tells them from damage, as on real prints: a rod's highlight runs inside a body of its
    own colour and is perfectly straight; a lit edge runs along a boundary between two regions;
    embroidery, lace and lettering repeat a motif on a grid; hair comes in bundles of near-parallel
    strands; and all of it is as soft as the lens (blurred), never paper-white on top of the picture.
    """
    h, w = x.shape[:2]
    diag = math.hypot(w, h)
    mean = float((x @ LUMA).mean())

    def soft(a: np.ndarray) -> np.ndarray:
        return gaussian_blur_2d(a, _uniform(rng, cfg.detail_soft))

    def contrast(lo: float = 0.15, hi: float = 0.5) -> float:
        # a tone that differs visibly from the picture's average, either way
        d = _uniform(rng, (lo, hi))
        return float(np.clip(mean - d if (mean > 0.5) == (rng.random() < 0.75) else mean + d, 0.02, 0.98))

    def colour(v: float) -> np.ndarray:
        tint = rng.uniform(0.85, 1.15, 3).astype(np.float32)
        return np.clip(v * tint, 0, 1)

    for _ in range(int(rng.integers(cfg.details[0], cfg.details[1] + 1))):
        kind = int(rng.integers(0, 4))
        if kind == 0:  # a rod, wire or pole: a body with a narrower highlight inside it
            ang = rng.choice([0.0, math.pi / 2]) + rng.normal(0, 0.05) if rng.random() < 0.6 else rng.uniform(0, math.pi)
            d = np.array([math.cos(ang), math.sin(ang)])
            c = np.array([rng.uniform(0, w), rng.uniform(0, h)])
            half = rng.uniform(0.15, 0.6) * diag
            width = _uniform(rng, (1.5, 6.0))
            pts = np.stack([c - half * d, c + half * d])
            body = _Canvas(w, h)
            body.line(pts, np.full(2, width), np.ones(2))
            x = _composite(x, soft(body.alpha()), colour(contrast(0.15, 0.45)))
            off = np.array([-d[1], d[0]]) * width * rng.uniform(-0.25, 0.25)
            hl = _Canvas(w, h)
            hl.line(pts + off, np.full(2, max(0.6, width * rng.uniform(0.2, 0.45))), np.full(2, rng.uniform(0.6, 1.0)))
            x = _composite(x, soft(hl.alpha()), colour(_uniform(rng, (0.75, 1.0))))
        elif kind == 1:  # an object's lit edge: a region of its own tone with a thin bright rim on one side
            cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
            rw, rh = rng.uniform(0.15, 0.6) * w, rng.uniform(0.15, 0.6) * h
            rot = rng.normal(0, 0.08) if rng.random() < 0.6 else rng.uniform(0, math.pi)
            corners = np.array([[-rw, -rh], [rw, -rh], [rw, rh], [-rw, rh]]) / 2
            cr, sr = math.cos(rot), math.sin(rot)
            corners = corners @ np.array([[cr, sr], [-sr, cr]]) + np.array([cx, cy])
            im = Image.new("L", (w * SS, h * SS), 0)
            ImageDraw.Draw(im).polygon([(float(a) * SS, float(b) * SS) for a, b in corners], fill=255)
            region = np.asarray(im.resize((w, h), Image.BOX), np.float32) / 255.0
            x = _composite(x, soft(region), colour(contrast(0.2, 0.6)))
            rim = _Canvas(w, h)
            for k in rng.choice(4, int(rng.integers(1, 3)), replace=False):
                seg = np.stack([corners[k], corners[(k + 1) % 4]])
                rim.line(seg, np.full(2, _uniform(rng, (0.8, 2.5))), np.full(2, rng.uniform(0.6, 1.0)))
            x = _composite(x, soft(rim.alpha()), colour(_uniform(rng, (0.7, 1.0))))
        elif kind == 2:  # embroidery, lace, lettering: a small motif repeated on a grid
            x0, y0 = rng.uniform(0, 0.6) * w, rng.uniform(0, 0.6) * h
            x1, y1 = x0 + rng.uniform(0.25, 0.6) * w, y0 + rng.uniform(0.25, 0.6) * h
            cell = _uniform(rng, (6.0, 22.0))
            stroke = _uniform(rng, (0.7, 1.6))
            motif = int(rng.integers(0, 2))
            flower = [(rng.uniform(0, 2 * math.pi), rng.uniform(0.2, 0.4)) for _ in range(int(rng.integers(4, 7)))]
            glyph = [rng.uniform(-0.35, 0.35, 4) for _ in range(int(rng.integers(2, 5)))]
            c = _Canvas(w, h)
            for gy in np.arange(y0, y1, cell):
                for gx in np.arange(x0, x1, cell * (0.7 if motif else 1.0)):
                    px, py = gx + rng.normal(0, cell * 0.05), gy + rng.normal(0, cell * 0.05)
                    if motif == 0:  # petals: outlined ellipses around a centre
                        for a0, r in flower:
                            ex, ey = px + math.cos(a0) * r * cell, py + math.sin(a0) * r * cell
                            rr = r * cell * 0.6 * SS
                            c.draw.ellipse([ex * SS - rr, ey * SS - rr, ex * SS + rr, ey * SS + rr],
                                           outline=255, width=max(1, int(round(stroke * SS))))
                    else:  # glyph-like strokes
                        for g in glyph:
                            seg = np.array([[px + g[0] * cell, py + g[1] * cell], [px + g[2] * cell, py + g[3] * cell]])
                            c.line(seg, np.full(2, stroke), np.ones(2))
            x = _composite(x, soft(c.alpha() * rng.uniform(0.6, 1.0)), colour(contrast(0.25, 0.6)))
        else:  # hair, fur, grass: a bundle of near-parallel thin strands, lighter and darker
            base = _smooth_curve(rng, w, h, rng.uniform(0.2, 0.6) * diag, wiggle=rng.uniform(0.01, 0.05), step=1.0)
            tang = np.gradient(base, axis=0)
            normal = np.stack([-tang[:, 1], tang[:, 0]], 1) / (np.linalg.norm(tang, axis=1, keepdims=True) + 1e-6)
            n = int(rng.integers(12, 50))
            spacing = _uniform(rng, (1.2, 4.0))
            for bright in (True, False):
                c = _Canvas(w, h)
                for k in range(n):
                    if (k % 2 == 0) != bright:
                        continue
                    off = (k - n / 2) * spacing + rng.normal(0, spacing * 0.3)
                    drift = np.cumsum(rng.normal(0, 0.03, len(base)))
                    c.line(base + normal * (off + drift)[:, None], np.full(len(base), _uniform(rng, (0.5, 1.3))),
                           _varying(rng, len(base), 0.3, 0.9))
                v = float(np.clip(mean + (1 if bright else -1) * _uniform(rng, (0.1, 0.35)), 0, 1))
                x = _composite(x, soft(c.alpha()), colour(v))
    return np.clip(x, 0, 1).astype(np.float32)


def _detail_tools(x: np.ndarray, rng: np.random.Generator, cfg: DamageConfig):
    """soft (the lens blur of a coverage map) and colour (a tone tinted a little) for photo content."""
    def soft(a: np.ndarray) -> np.ndarray:
        return gaussian_blur_2d(a, _uniform(rng, cfg.detail_soft))

    def colour(v: float) -> np.ndarray:
        return np.clip(v * rng.uniform(0.85, 1.15, 3).astype(np.float32), 0, 1)
    return soft, colour


def print_border(x: np.ndarray, rng: np.random.Generator, cfg: DamageConfig) -> np.ndarray:
    """The print's own border drawn into a clean HxWx3 float photo (a hard negative): on 1 to 4
    sides, either a thin light or dark line hugging the frame (0-4 px in, 0.8-3 px wide) or a
    margin band (the mount or the paper's unexposed edge, 2-18 px deep) with a rim where it meets
    the picture. Straight and edge to edge like a film scratch, but on the frame's edge, which a
    film scratch is only by chance; the scan is a little skewed (up to 0.01 rad)."""
    h, w = x.shape[:2]
    soft, colour = _detail_tools(x, rng, cfg)
    sides = [k for k in range(4) if rng.random() < 0.5] or [int(rng.integers(0, 4))]
    for side in sides:
        along = h if side in (0, 1) else w  # sides 0/1: left/right (vertical), 2/3: top/bottom
        skew = rng.normal(0, 0.004) * along
        if rng.random() < 0.6:  # a line hugging the edge
            depth, width = _uniform(rng, (0.0, 4.0)), _uniform(rng, (0.8, 3.0))
            band = None
        else:  # a margin band, its rim where it meets the picture
            depth, width = _uniform(rng, (2.0, 18.0)), _uniform(rng, (0.8, 2.0))
            band = colour(float(rng.choice([_uniform(rng, (0.8, 1.0)), _uniform(rng, (0.0, 0.15)),
                                             _uniform(rng, (0.55, 0.8))])))
        inner = depth + width / 2
        a0, a1 = (inner, inner + skew) if side in (0, 2) else (-inner, -inner + skew)
        if side in (0, 1):
            base = 0.0 if side == 0 else float(w)
            seg = np.array([[base + a0, -2.0], [base + a1, h + 2.0]])
            poly = [(base, -2.0), (base + a0, -2.0), (base + a1, h + 2.0), (base, h + 2.0)]
        else:
            base = 0.0 if side == 2 else float(h)
            seg = np.array([[-2.0, base + a0], [w + 2.0, base + a1]])
            poly = [(-2.0, base), (-2.0, base + a0), (w + 2.0, base + a1), (w + 2.0, base)]
        if band is not None:
            im = Image.new("L", (w * SS, h * SS), 0)
            ImageDraw.Draw(im).polygon([(a * SS, b * SS) for a, b in poly], fill=255)
            x = _composite(x, soft(np.asarray(im.resize((w, h), Image.BOX), np.float32) / 255.0), band)
        rim = _Canvas(w, h)
        rim.line(seg, np.full(2, width), np.full(2, rng.uniform(0.5, 1.0)))
        v = _uniform(rng, (0.7, 1.0)) if rng.random() < 0.65 else _uniform(rng, (0.0, 0.2))
        x = _composite(x, soft(rim.alpha()), colour(v))
    return np.clip(x, 0, 1).astype(np.float32)


def straight_details(x: np.ndarray, rng: np.random.Generator, cfg: DamageConfig) -> np.ndarray:
    """Straight (or nearly) thin picture details drawn into a clean HxWx3 float photo (hard
    negatives): what tells each from a scratch is drawn with it. A thin rod (1-3 px) has a shadow
    side, ends inside the picture, and often a joint or knob; rails are 2-3 parallel lines at one
    spacing, with ties across; bead trim is a regular row of small dots beside a dark seam, and
    piping a bright line beside one."""
    h, w = x.shape[:2]
    diag = math.hypot(w, h)
    soft, colour = _detail_tools(x, rng, cfg)

    def direction() -> np.ndarray:
        ang = rng.choice([0.0, math.pi / 2]) + rng.normal(0, 0.02) if rng.random() < 0.6 else rng.uniform(0, math.pi)
        return np.array([math.cos(ang), math.sin(ang)])

    for _ in range(int(rng.integers(cfg.straight[0], cfg.straight[1] + 1))):
        kind = int(rng.integers(0, 3))
        d = direction()
        nrm = np.array([-d[1], d[0]])
        c = np.array([rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h])
        bright = rng.random() < 0.7
        if kind == 0:  # a thin rod: shadow side, highlight, ends inside, a joint or knob
            half = rng.uniform(0.1, 0.35) * diag
            width = _uniform(rng, (1.0, 3.0))
            pts = np.stack([c - half * d, c + half * d])
            sh = _Canvas(w, h)
            sh.line(pts + nrm * width * 0.8, np.full(2, width * rng.uniform(0.6, 1.0)), np.full(2, rng.uniform(0.4, 0.9)))
            x = _composite(x, soft(sh.alpha()), colour(_uniform(rng, (0.0, 0.2))))
            rod = _Canvas(w, h)
            rod.line(pts, np.full(2, width), np.full(2, rng.uniform(0.7, 1.0)))
            for end in pts if rng.random() < 0.6 else []:
                r = width * rng.uniform(1.2, 2.5) * SS
                ex, ey = end * SS
                rod.draw.ellipse([ex - r, ey - r, ex + r, ey + r], fill=255)
            x = _composite(x, soft(rod.alpha()), colour(_uniform(rng, (0.7, 1.0)) if bright else _uniform(rng, (0.05, 0.3))))
        elif kind == 1:  # rails: parallel thin lines, one spacing, ties across
            half = rng.uniform(0.3, 0.8) * diag
            n, gap, width = int(rng.integers(2, 4)), _uniform(rng, (3.0, 10.0)), _uniform(rng, (0.7, 2.0))
            cv = _Canvas(w, h)
            for k in range(n):
                cv.line(np.stack([c - half * d, c + half * d]) + nrm * gap * k, np.full(2, width), np.ones(2))
            if rng.random() < 0.6:
                every = _uniform(rng, (5.0, 16.0))
                for t in np.arange(-half, half, every):
                    p = c + d * t
                    cv.line(np.stack([p - nrm * gap * 0.3, p + nrm * gap * (n - 0.7)]), np.full(2, width * 0.8), np.ones(2))
            x = _composite(x, soft(cv.alpha() * rng.uniform(0.6, 1.0)),
                           colour(_uniform(rng, (0.65, 1.0)) if bright else _uniform(rng, (0.0, 0.3))))
        else:  # bead trim or piping along a straight or gently bending edge, beside a dark seam
            pts = _smooth_curve(rng, w, h, rng.uniform(0.2, 0.6) * diag, wiggle=rng.uniform(0.0, 0.01), step=1.0)
            tang = np.gradient(pts, axis=0)
            side = np.stack([-tang[:, 1], tang[:, 0]], 1) / (np.linalg.norm(tang, axis=1, keepdims=True) + 1e-6)
            size = _uniform(rng, (0.7, 1.8))
            seam = _Canvas(w, h)
            seam.line(pts + side * size * 1.6, np.full(len(pts), _uniform(rng, (0.7, 1.5))), np.full(len(pts), rng.uniform(0.5, 0.9)))
            x = _composite(x, soft(seam.alpha()), colour(_uniform(rng, (0.0, 0.2))))
            cv = _Canvas(w, h)
            if rng.random() < 0.6:  # beads
                every = max(1, int(round(size * rng.uniform(2.0, 3.5))))
                for ex, ey in pts[::every] * SS:
                    r = size * SS
                    cv.draw.ellipse([ex - r, ey - r, ex + r, ey + r], fill=255)
            else:  # piping
                cv.line(pts, np.full(len(pts), size * 1.2), np.ones(len(pts)))
            x = _composite(x, soft(cv.alpha() * rng.uniform(0.7, 1.0)), colour(_uniform(rng, (0.7, 1.0))))
    return np.clip(x, 0, 1).astype(np.float32)


def _film_scratch(rng: np.random.Generator, w: int, h: int, cfg: DamageConfig):
    """A straight scratch across the whole picture: points, widths and opacities for _Canvas.line.
    Half run along the height (within a hundredth of a radian), a fifth across, the rest at any
    angle; the width is nearly constant, the opacity drifts, and a third of them are broken in places."""
    r = rng.random()
    ang = (math.pi / 2 if r < 0.5 else 0.0 if r < 0.7 else rng.uniform(0, math.pi)) + rng.normal(0, 0.01)
    d = np.array([math.cos(ang), math.sin(ang)])
    c = np.array([rng.uniform(0, w), rng.uniform(0, h)])
    half = math.hypot(w, h)  # past both edges
    n = max(2, int(2 * half / 2.0))
    pts = c + np.linspace(-half, half, n)[:, None] * d
    wobble = np.convolve(rng.normal(0, 0.1, n), np.ones(15) / 15, mode="same")
    widths = _uniform(rng, cfg.film_width) * np.clip(1 + wobble, 0.8, 1.2)
    alphas = _varying(rng, n, *cfg.scratch_opacity)
    if rng.random() < 1 / 3:
        alphas = alphas * (rng.random(n) > 0.15)
    return pts, widths, alphas


def _fold(rng: np.random.Generator, w: int, h: int, tone: str, apply) -> None:
    """A fold across the print: a bright broken crease with a light flank and a dark flank."""
    # a nearly straight line across, through a random point
    cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h
    ang = rng.uniform(0, math.pi)
    d = np.array([math.cos(ang), math.sin(ang)])
    t = np.linspace(-1.5, 1.5, 200)[:, None] * max(w, h)
    bow = rng.normal(0, 0.01) * (t[:, 0] / max(w, h)) ** 2 * max(w, h)
    pts = np.array([cx, cy]) + t * d + bow[:, None] * np.array([-d[1], d[0]])
    normal = np.array([-d[1], d[0]])
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dist = (xx - cx) * normal[0] + (yy - cy) * normal[1]
    sigma = rng.uniform(2.0, 6.0)
    # flanks: the paper bends, one side catches the scanner light, the other is in shadow
    flank = _uniform(rng, (0.08, 0.25))
    light = np.clip(np.exp(-0.5 * ((dist - sigma) / sigma) ** 2) * flank, 0, 1)
    dark = np.clip(np.exp(-0.5 * ((dist + sigma) / sigma) ** 2) * flank, 0, 1)
    # shading of the bent paper, not damage to fill: not in the mask
    apply(light.astype(np.float32), np.full(3, 1.0, np.float32), False)
    apply(dark.astype(np.float32), np.zeros(3, np.float32), False)
    # the crease: cracked emulsion, bright, broken in places
    c = _Canvas(w, h)
    alphas = _varying(rng, len(pts), 0.3, 1.0, freq=0.2) * (rng.random(len(pts)) > 0.1)
    c.line(pts, _varying(rng, len(pts), 0.8, 3.0, freq=0.15), alphas)
    apply(c.alpha(), _paper_value(rng, tone, True, None), kind="fold")


def _tear(rng: np.random.Generator, w: int, h: int, size_range: Range = (0.1, 0.35)) -> np.ndarray:
    """Coverage of a torn-off corner (or a bite out of an edge) with a ragged edge."""
    corner = int(rng.integers(0, 4))
    size = rng.uniform(*size_range) * min(w, h)
    # a ragged polyline from one edge to the other around the corner
    n = 40
    ang = np.linspace(0, math.pi / 2, n)
    r = size * (1 + np.cumsum(rng.normal(0, 0.04, n)))
    r = np.clip(r + rng.normal(0, size * 0.03, n), size * 0.3, size * 2)
    px, py = r * np.cos(ang), r * np.sin(ang)
    if corner in (1, 2):
        px = w - px
    if corner in (2, 3):
        py = h - py
    ox, oy = (0 if corner in (0, 3) else w), (0 if corner in (0, 1) else h)
    poly = [(ox * SS, oy * SS)] + [(float(a) * SS, float(b) * SS) for a, b in zip(px, py)]
    im = Image.new("L", (w * SS, h * SS), 0)
    ImageDraw.Draw(im).polygon(poly, fill=255)
    # paper fibres: a slightly soft edge
    im = im.filter(ImageFilter.GaussianBlur(SS * 0.5))
    return np.asarray(im.resize((w, h), Image.BOX), np.float32) / 255.0


def make_damage(options: dict | None = None) -> DamageConfig:
    return _from_dict(DamageConfig, options)


def damage_seeded(img: np.ndarray, seed: int, cfg: DamageConfig | None = None, kinds: dict | None = None):
    return damage(img, np.random.default_rng([int(seed), 1913]), cfg, kinds)


def sample_sheet(images: List[np.ndarray], out: str, seed: int = 0, size: int = 224, cfg: DamageConfig | None = None) -> None:
    """A PNG sheet: for each photo, damaged | true mask | clean, to check the damage by eye."""
    from .data import centre_crop
    rows = []
    for i, img in enumerate(images):
        crop = centre_crop(img, size)
        d, c, m = damage_seeded(crop, seed + i, cfg)
        rows.append(np.concatenate([d, np.repeat(m[..., None] * 255, 3, 2).astype(np.uint8), c], 1))
    cols = 2
    while len(rows) % cols:
        rows.append(np.zeros_like(rows[0]))
    grid = np.concatenate([np.concatenate(rows[i: i + cols], 1) for i in range(0, len(rows), cols)], 0)
    Image.fromarray(grid).save(out)
