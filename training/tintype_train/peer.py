"""The speed peer: a trained colorizer run the way DeOldify runs its models, in PyTorch eager.

DeOldify's ModelImageVisualizer opens the photo with PIL, makes it grey, resizes it to a square
render size, runs the model, resizes the result back to the photo's size and keeps the photo's
own luminance (YCbCr Y) under the prediction's chroma, then saves. This does those steps with
Tintype's checkpoint so that `bench/colorize-peer.ts` compares runtimes, not models.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .color import lab_to_rgb, rgb_to_lab
from .export import load_generator


def peer_colorize(checkpoint: str | Path, inputs: list, out_dir: str | Path, render: int = 256,
                  threads: int = 0, temperature: float | None = None) -> dict:
    t0 = time.perf_counter()
    if threads:
        torch.set_num_threads(threads)
    task, gen, _ = load_generator(checkpoint)
    if temperature is not None:
        task.temperature = float(temperature)
    load_s = time.perf_counter() - t0
    out_dir = Path(out_dir)
    photos = []
    with torch.no_grad():
        for src in inputs:
            t = {"start": time.perf_counter()}
            orig = Image.open(src)
            orig.load()
            t["decode"] = time.perf_counter()
            grey = orig.convert("L")
            small = grey.resize((render, render), Image.BILINEAR)
            x = torch.from_numpy(np.asarray(small, dtype=np.float32) / 255.0)[None, None]
            t["pre"] = time.perf_counter()
            logits = gen(x)
            t["model"] = time.perf_counter()
            ab = torch.nn.functional.interpolate(task.decode(logits), size=(render, render), mode="bilinear",
                                                 align_corners=False)
            # The model's answer as a small RGB image (DeOldify's models answer RGB): its own
            # lightness L from the small grey input, its predicted a,b.
            L = rgb_to_lab(x.expand(-1, 3, -1, -1))[:, :1]
            rgb_small = lab_to_rgb(torch.cat([L, ab], 1))[0]
            pred = Image.fromarray(np.clip(np.rint(rgb_small.permute(1, 2, 0).numpy() * 255), 0, 255).astype(np.uint8))
            # DeOldify's post-processing: resize the prediction up, keep the original's Y.
            pred = pred.resize(orig.size, Image.BILINEAR)
            y = orig.convert("YCbCr").split()[0]
            _, cb, cr = pred.convert("YCbCr").split()
            final = Image.merge("YCbCr", (y, cb, cr)).convert("RGB")
            t["post"] = time.perf_counter()
            dst = out_dir / (Path(src).stem + ".jpg")
            final.save(dst, quality=90)
            t["save"] = time.perf_counter()
            photos.append({"file": str(src), "decode_s": t["decode"] - t["start"], "pre_s": t["pre"] - t["decode"],
                           "model_s": t["model"] - t["pre"], "post_s": t["post"] - t["model"],
                           "save_s": t["save"] - t["post"], "total_s": t["save"] - t["start"]})
    return {"torch": torch.__version__, "threads": torch.get_num_threads(), "load_s": load_s, "photos": photos}


def main_json(args) -> str:
    return json.dumps(peer_colorize(args.checkpoint, args.inputs, args.out_dir, render=args.render,
                                    threads=args.threads, temperature=args.temperature))
