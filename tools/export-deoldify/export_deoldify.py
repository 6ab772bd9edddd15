#!/usr/bin/env python3
"""Export DeOldify's original PyTorch generator weights (.pth) to an ONNX model Tintype can import.

For people who hold DeOldify's weights (ColorizeArtistic_gen.pth, ColorizeStable_gen.pth,
ColorizeVideo_gen.pth) and a checkout of https://github.com/jantic/DeOldify with its own Python
environment (fastai 1.x, as DeOldify's requirements pin it). The script imports DeOldify from that
checkout to rebuild the generator exactly as DeOldify does, wraps it so the ONNX graph follows the
convention Tintype's catalog uses for DeOldify, and writes:

    OUT/model.onnx      input "input"  float32 [1, 3, H, W], RGB (grey replicated), values 0..255
                        output "output" float32 [1, 3, H, W], RGB, values 0..255
    OUT/manifest.json   Tintype's manifest for it (sha256 filled in)

then:  npx tintype models import OUT/model.onnx --manifest OUT/manifest.json

The ImageNet normalization DeOldify applies to its input, and the de-normalization it applies to
the prediction (its data bunch normalizes the targets too), happen inside the graph, so the engine
feeds plain 0..255 pixels. H and W stay dynamic but must be multiples of 32: the U-Net's skip
connections only line up at those sizes once traced.

This script cannot run inside Tintype's own build (no DeOldify checkout, no weights there);
`--selftest` exports a small stand-in network through the same wrapper to check that the PyTorch
install can export at all.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# DeOldify's three generators: which builder in deoldify.generators makes each one, and the render
# size Tintype proposes (DeOldify's own render_factor x 16, capped to 192..512).
WEIGHTS = {
    'artistic': {'file': 'ColorizeArtistic_gen', 'builder': 'gen_inference_deep', 'render': 384},
    'stable': {'file': 'ColorizeStable_gen', 'builder': 'gen_inference_wide', 'render': 384},
    'video': {'file': 'ColorizeVideo_gen', 'builder': 'gen_inference_wide', 'render': 320},
}
MULTIPLE = 32


class PixelConvention(nn.Module):
    """Takes 0..255 RGB, normalizes as DeOldify's data pipeline does, returns 0..255 RGB."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net
        self.register_buffer('mean', torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer('std', torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x / 255.0 - self.mean) / self.std
        y = self.net(z)
        y = y * self.std + self.mean
        return torch.clamp(y * 255.0, 0.0, 255.0)


def strip_spectral_norm(model: nn.Module) -> int:
    """Bakes spectral-normalized weights into plain ones, so the graph holds constants, not the power iteration."""
    count = 0
    for module in model.modules():
        if hasattr(module, 'weight_orig'):
            torch.nn.utils.remove_spectral_norm(module)
            count += 1
    return count


def load_deoldify(checkout: Path, kind: str, weights_file: Path | None) -> nn.Module:
    """Rebuilds the generator with DeOldify's own code; weights come from <checkout>/models/<name>.pth."""
    sys.path.insert(0, str(checkout))
    try:
        from deoldify import device as dev  # type: ignore[import-not-found]
        from deoldify.device_id import DeviceId  # type: ignore[import-not-found]

        dev.set(device=DeviceId.CPU)
    except ImportError:
        pass  # older checkouts have no device module; they default to what torch finds
    try:
        import deoldify.generators as generators  # type: ignore[import-not-found]
    except ImportError as err:
        raise SystemExit(f'{checkout}: cannot import deoldify.generators ({err}); run this with DeOldify\'s environment') from err

    spec = WEIGHTS[kind]
    root = checkout
    name = spec['file']
    if weights_file is not None:
        # DeOldify looks for <root>/models/<name>.pth; point it at the file's folder.
        weights_file = weights_file.resolve()
        if weights_file.parent.name != 'models':
            raise SystemExit(f'{weights_file}: put the .pth in a folder named "models" (DeOldify loads <root>/models/<name>.pth)')
        root = weights_file.parent.parent
        name = weights_file.stem
    if not (root / 'models' / f'{name}.pth').is_file():
        raise SystemExit(f'{root / "models" / (name + ".pth")}: weights not found')
    learn = getattr(generators, spec['builder'])(root_folder=root, weights_name=name)
    return learn.model


class StandIn(nn.Module):
    """A small U-Net-like network used by --selftest in place of DeOldify (random weights)."""

    def __init__(self):
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU())
        self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode='nearest'), nn.Conv2d(8, 3, 3, padding=1))
        self.head = nn.utils.spectral_norm(nn.Conv2d(6, 3, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([x, self.up(self.down(x))], dim=1))


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open('rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--deoldify', type=Path, help='path to a checkout of github.com/jantic/DeOldify')
    ap.add_argument('--weights', choices=sorted(WEIGHTS), default='artistic', help='which generator (default: artistic)')
    ap.add_argument('--weights-file', type=Path, help='a .pth inside a folder named models/ (default: <checkout>/models/<name>.pth)')
    ap.add_argument('--out', type=Path, required=True, help='output folder for model.onnx and manifest.json')
    ap.add_argument('--size', type=int, default=256, help='trace size in px, a multiple of 32 (default 256)')
    ap.add_argument('--fixed', action='store_true', help='export a fixed --size x --size model instead of a dynamic one')
    ap.add_argument('--opset', type=int, default=17)
    ap.add_argument('--id', help='model id in the manifest (default: deoldify-<weights>-local)')
    ap.add_argument('--selftest', action='store_true', help='export a stand-in network instead of DeOldify (checks the toolchain)')
    args = ap.parse_args()

    if args.size % MULTIPLE:
        raise SystemExit(f'--size must be a multiple of {MULTIPLE}')
    if args.selftest:
        net: nn.Module = StandIn()
    elif args.deoldify is None:
        raise SystemExit('--deoldify PATH is required (or --selftest)')
    else:
        net = load_deoldify(args.deoldify.resolve(), args.weights, args.weights_file)
    net.eval()
    baked = strip_spectral_norm(net)
    model = PixelConvention(net).eval()

    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / 'model.onnx'
    tmp_path = args.out / '.model.onnx.tmp'
    dummy = torch.full((1, 3, args.size, args.size), 128.0)
    axes = {0: 'batch', 2: 'height', 3: 'width'}
    with torch.no_grad():
        torch.onnx.export(
            model,
            dummy,
            str(tmp_path),
            input_names=['input'],
            output_names=['output'],
            opset_version=args.opset,
            do_constant_folding=True,
            dynamic_axes=None if args.fixed else {'input': axes, 'output': axes},
        )
    tmp_path.replace(onnx_path)

    spec = WEIGHTS[args.weights]
    render = args.size if args.fixed else spec['render']
    manifest = {
        'id': args.id or (f'deoldify-{args.weights}-local' if not args.selftest else 'deoldify-selftest'),
        'name': f'DeOldify {args.weights.capitalize()} (exported locally)' if not args.selftest else 'DeOldify export self-test',
        'version': '1.0.0',
        'task': 'colorize',
        'file': 'model.onnx',
        'input': {'name': 'input', 'layout': 'NCHW', 'channels': 3, 'frames': 1, 'range': [0, 255], 'normalization': None},
        'size': {'kind': 'fixed', 'value': args.size} if args.fixed else {'kind': 'dynamic', 'multiple': MULTIPLE},
        'output': {'name': 'output', 'layout': 'NCHW', 'kind': 'rgb', 'range': [0, 255]},
        'scale': 1,
        'renderSize': {'default': render, 'min': render if args.fixed else 192, 'max': render if args.fixed else 512},
        'license': 'MIT',
        'source': f'https://github.com/jantic/DeOldify ({spec["file"]}.pth, exported with tools/export-deoldify)',
        'sha256': sha256_of(onnx_path),
    }
    (args.out / 'manifest.json').write_text(json.dumps(manifest, indent=2) + '\n')
    print(f'wrote {onnx_path} ({onnx_path.stat().st_size} bytes, {baked} spectral-norm layers baked) and {args.out / "manifest.json"}')
    print(f'next: npx tintype models import {onnx_path} --manifest {args.out / "manifest.json"}')


if __name__ == '__main__':
    main()
