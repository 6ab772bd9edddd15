"""ONNX export (dynamic H/W, opset 17) with the engine's manifest.json, a parity fixture
(input/output as raw float32) and a model card."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from .checkpoint import checkpoint_exists, read_checkpoint_file
from .compat import onnx_export_kwargs, strip_spectral_norm
from .models import GatedUNet, MobileUNet, count_params, make_generator
from .tasks import ColorizeTask, RepairTask, make_task

OPSET = 17  # the newest torch 1.13 writes; onnxruntime-node 1.30 reads it


def load_generator(path: str | Path):
    """(task, generator in eval mode, record) from best_gen.pt or latest.pt."""
    path = Path(path)
    if not checkpoint_exists(path):
        raise FileNotFoundError(f"{path}: no generator checkpoint")
    rec = read_checkpoint_file(path)
    if not isinstance(rec, dict) or "config" not in rec:
        raise ValueError(f"{path}: not a tintype checkpoint")
    state = rec["generator"] if "generator" in rec else rec["models"]["gen"]
    prior = rec.get("prior", rec.get("extra", {}).get("prior"))
    task = make_task(rec["config"], torch.device("cpu"), training=False)
    if isinstance(task, ColorizeTask):
        task.set_prior(prior)
    gen = make_generator(task.generator_config())
    if "encoder_source" in rec:
        # A slim checkpoint (slim_checkpoint): the frozen encoder comes from its pretrained file.
        from .mobilenet import load_coral_mobilenet_v2
        src = rec["encoder_source"]
        enc = Path(src["file"])
        if not enc.is_file():
            raise FileNotFoundError(f"{path}: its encoder weights {enc} are not here (the checkpoint keeps the decoder only)")
        if hashlib.sha256(enc.read_bytes()).hexdigest() != src["sha256"]:
            raise ValueError(f"{path}: {enc} is not the encoder file it was trained with (sha256 differs)")
        load_coral_mobilenet_v2(gen.encoder, enc)
        missing, unexpected = gen.load_state_dict(state, strict=False)
        if unexpected or any(not k.startswith("encoder.") for k in missing):
            raise ValueError(f"{path}: generator weights do not fit the config ({(missing + unexpected)[:3]})")
    else:
        gen.load_state_dict(state)
    gen.eval()
    return task, gen, rec


def slim_checkpoint(src: str | Path, out: str | Path, log=print) -> None:
    """Writes `src` (a best_gen.pt of a MobileUNet whose encoder stayed frozen) without the encoder
    weights, naming the pretrained file (and its sha256) they are reloaded from: the decoder alone
    is a quarter of the size. Refused when the encoder differs from that file (it was fine-tuned)."""
    from .mobilenet import MobileNetV2, load_coral_mobilenet_v2
    task, gen, rec = load_generator(src)
    pre = rec["config"].get("pretrained") or {}
    enc_file = pre.get("encoder")
    if not enc_file and pre.get("init_from"):
        # a stage started from a slim checkpoint: its encoder came from that checkpoint's file
        from .checkpoint import read_checkpoint_file
        enc_file = (read_checkpoint_file(Path(pre["init_from"])).get("encoder_source") or {}).get("file")
    if getattr(gen, "encoder", None) is None or not enc_file:
        raise ValueError(f"{src}: only a generator with a MobileNetV2 encoder from pretrained.encoder can be slimmed")
    ref = MobileNetV2()
    load_coral_mobilenet_v2(ref, enc_file)
    full = ref.state_dict()
    for k, v in gen.encoder.state_dict().items():  # a context encoder keeps only its first blocks
        if not torch.equal(v, full[k]):
            raise ValueError(f"{src}: encoder weight {k} differs from {enc_file} (fine-tuned): cannot slim")
    state = rec["generator"] if "generator" in rec else rec["models"]["gen"]
    slim = {k: rec[k] for k in ("format", "config", "step", "phase", "metrics", "prior") if k in rec}
    # latest.pt keeps the colour prior under "extra": without it a rebalanced decoding has nothing to divide by
    slim["prior"] = rec.get("prior", rec.get("extra", {}).get("prior"))
    slim["generator"] = {k: v for k, v in state.items() if not k.startswith("encoder.")}
    slim["encoder_source"] = {"file": enc_file, "sha256": hashlib.sha256(Path(enc_file).read_bytes()).hexdigest()}
    from .checkpoint import atomic_save
    atomic_save(slim, Path(out), 0.0)
    log(f"slim: {out} ({Path(out).stat().st_size / 2**20:.1f} MiB), encoder from {enc_file}")


def average_checkpoints(srcs: Sequence[str | Path], out: str | Path, log=print) -> None:
    """Writes the mean of several generators' weights (best_gen.pt format) to `out`: points of one
    fine-tuning run, or stages from one common start, lie in one basin, and their mean is usually
    better than each (stochastic weight averaging); the held-out curve says whether it is. All must
    share the generator config. Spectral norm's power-iteration vectors (`*_u`, `*_v`) are not
    weights and are taken from the first checkpoint."""
    if len(srcs) < 2:
        raise ValueError("average: give at least two checkpoints")
    loaded = [load_generator(s) for s in srcs]
    _, gen0, rec0 = loaded[0]
    for s, (_, _, rec) in zip(srcs[1:], loaded[1:]):
        if rec["config"].get("generator") != rec0["config"].get("generator"):
            raise ValueError(f"{s}: generator config differs from {srcs[0]}'s: cannot average")
    states = [g.state_dict() for _, g, _ in loaded]
    avg = {}
    for k, v in states[0].items():
        # Weights all runs share (a frozen encoder) stay bit-exact, so the result can still be slimmed.
        same = all(torch.equal(st[k], v) for st in states[1:])
        if v.is_floating_point() and not same and not (k.endswith("_u") or k.endswith("_v")):
            avg[k] = sum(st[k] for st in states) / len(states)
        else:
            avg[k] = v
    rec = {k: rec0[k] for k in ("format", "config", "phase") if k in rec0}
    rec["step"] = max(int(r.get("step", 0)) for _, _, r in loaded)
    priors = [r.get("prior", r.get("extra", {}).get("prior")) for _, _, r in loaded]
    rec["prior"] = next((p for p in priors if p is not None), None)
    rec["metrics"] = {"averaged_from": [f"{s} (step {int(r.get('step', 0))})" for s, (_, _, r) in zip(srcs, loaded)]}
    rec["generator"] = avg
    from .checkpoint import atomic_save
    atomic_save(rec, Path(out), 0.0)
    log(f"average: {out} = mean of {len(srcs)} generators ({', '.join(map(str, srcs))})")


def _write_f32(path: Path, arr: np.ndarray) -> None:
    path.write_bytes(np.ascontiguousarray(arr, dtype="<f4").tobytes())


def export_model(checkpoint: str | Path, out_dir: str | Path, model_id: str, name: str, *,
                 license: str = "MIT", source: str = "Tintype training toolkit", version: str = "1.0.0",
                 temperature: Optional[float] = None, input_blur: float = 0.0, parity_size: Optional[tuple] = None,
                 rebalance: Optional[float] = None,
                 parity_dir: Optional[str | Path] = None, threshold: Optional[float] = None,
                 grow: Optional[int] = None, summary: Optional[str] = None, log=print) -> dict:
    """Writes OUT/ID.onnx and OUT/manifest.json, and the parity fixture to parity_dir (default
    OUT/parity; keep it out of resources/models, the app does not need it)."""
    task, gen, rec = load_generator(checkpoint)
    if temperature is not None and isinstance(task, ColorizeTask):
        task.temperature = float(temperature)
    if rebalance is not None:
        if not isinstance(task, ColorizeTask):
            raise ValueError("--rebalance is for colorize models")
        if rebalance and task.prior is None:
            raise ValueError(f"{checkpoint}: no colour prior in the checkpoint, so --rebalance has nothing to divide by")
        task.rebalance = float(rebalance)
    if isinstance(task, RepairTask):
        # chosen after training, on the validation split (eval-repair, choose-grow)
        task.threshold = float(threshold) if threshold is not None else task.threshold
        task.grow = int(grow) if grow is not None else task.grow
    if input_blur:
        if not isinstance(task, ColorizeTask):
            raise ValueError("--input-blur is for colorize models")
        task.input_blur = float(input_blur)
    plain = strip_spectral_norm(copy.deepcopy(gen)).eval()
    folding = True
    if getattr(plain, "encoder", None) is not None:
        # int8 encoder weights (dequantised in the graph), so the file stays small; constant folding
        # would turn them back into float32 initializers.
        from .mobilenet import int8_weights
        err = int8_weights(plain.encoder)
        folding = False
        log(f"export: encoder weights stored as int8 per channel (largest weight change {err:.2e})")
    module = task.export_module(plain).eval()
    gcfg = plain.cfg
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_name = "model.onnx"
    m = gcfg.multiple

    def inputs(h: int, w: int, seed: int):
        """The graph's inputs (one image; the inpainter adds its mask) and their names."""
        if hasattr(task, "export_inputs"):
            return task.export_inputs(h, w, seed)
        cin = gcfg.in_channels * gcfg.frames
        return [torch.rand(1, cin, h, w, generator=torch.Generator().manual_seed(seed))], ["input"]

    dummy, names = inputs(2 * m, 2 * m, 0)
    tmp = out_dir / f".{onnx_name}.tmp"
    axes = {n: {0: "batch", 2: "height", 3: "width"} for n in names}
    with torch.no_grad(), warnings.catch_warnings():
        # torch 1.13 notes that strided slices are not constant-folded: harmless, and noisy.
        warnings.filterwarnings("ignore", message="Constant folding")
        torch.onnx.export(module, tuple(dummy), str(tmp), opset_version=OPSET, input_names=names, output_names=["output"],
                          dynamic_axes={**axes, "output": {0: "batch", 2: "out_height", 3: "out_width"}},
                          do_constant_folding=folding, **onnx_export_kwargs())
    os.replace(tmp, out_dir / onnx_name)
    digest = hashlib.sha256((out_dir / onnx_name).read_bytes()).hexdigest()

    manifest = {"id": model_id, "name": name, "version": version, "file": onnx_name, **task.manifest_fields(gcfg),
                "license": license, "source": source, "sha256": digest, **({"summary": summary} if summary else {}),
                "description": f"{task.name} generator, {count_params(plain) / 1e6:.2f} M parameters, "
                               f"step {rec.get('step')} ({rec.get('phase')})"}
    _atomic_json(out_dir / "manifest.json", manifest)

    # Parity fixture: a non-square input exercises both dynamic axes.
    h, w = parity_size or (2 * m, 3 * m)
    xs, names = inputs(h, w, 1)
    with torch.no_grad():
        y = module(*xs)
    pdir = Path(parity_dir) if parity_dir else out_dir / "parity"
    pdir.mkdir(parents=True, exist_ok=True)
    files = []
    for i, (x, n) in enumerate(zip(xs, names)):
        f = "input.f32" if i == 0 else f"input{i}.f32"
        _write_f32(pdir / f, x.numpy())
        files.append({"name": n, "shape": list(x.shape), "file": f})
    _write_f32(pdir / "output.f32", y.numpy())
    # "inputs" lists every graph input (the inpainter has two); "input" is the first, as before
    _atomic_json(pdir / "parity.json", {"input": files[0], **({"inputs": files} if len(files) > 1 else {}),
                                        "output": {"name": "output", "shape": list(y.shape), "file": "output.f32"},
                                        "tolerance": 1e-3})
    # parity.json names the model so a fixture kept elsewhere still finds it
    fixture = json.loads((pdir / "parity.json").read_text())
    fixture["model"] = os.path.relpath(out_dir / onnx_name, pdir)
    _atomic_json(pdir / "parity.json", fixture)
    log(f"export: {out_dir / onnx_name} ({(out_dir / onnx_name).stat().st_size / 2**20:.1f} MiB), manifest, parity fixture in {pdir}")
    return manifest


def _atomic_json(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)


def _pack_extra(pack: Optional[str]) -> str:
    """What the pack added beyond shared/datasets/train (pack --extra/--thin), from its manifest."""
    try:
        opts = json.loads((Path(pack) / "manifest.json").read_text()).get("options", {})
    except (OSError, TypeError, json.JSONDecodeError):
        return ""
    if not opts.get("extra"):
        return ""
    thin = ", ".join(f"every {n}th of {k}" for k, n in opts.get("thin", {}).items())
    return f", plus {', '.join(opts['extra'])}" + (f" ({thin})" if thin else "")


def _freeze_note(cfg: dict, rec: dict) -> str:
    freeze = int(cfg["optim"].get("freeze_encoder_steps", 0))
    if freeze >= int(rec.get("step") or 0):
        return f"frozen for all {rec.get('step')} steps"
    return f"trained frozen for {freeze} steps, then at {cfg['optim'].get('encoder_lr_mult', 1)}x the learning rate"


def _architecture(gen) -> str:
    if isinstance(gen, GatedUNet):
        return "gated-convolution U-Net (DeepFill v2's gated convolutions, dilated bottleneck at stride 8)"
    if isinstance(gen, MobileUNet) and gen.full is not None:
        return "U-Net decoder with a full-resolution stage (a convolution stack on the input joins the upsampled stride-2 decoder)"
    return "self-attention U-Net with spectral normalization"


def write_model_card(path: str | Path, manifest: dict, checkpoint: str | Path, metrics: Optional[dict] = None,
                     notes: str = "") -> None:
    """A model card from what the checkpoint knows; hardware and benchmark numbers go in `notes`."""
    _, gen, rec = load_generator(checkpoint)
    cfg = rec["config"]
    lines = [f"# {manifest['name']} ({manifest['id']} {manifest['version']})", "",
             f"- Task: {manifest['task']}; input {manifest['input']['channels']} channel(s) x "
             f"{manifest['input'].get('frames', 1)} frame(s), output {manifest['output']['kind']}",
             f"- Architecture: {_architecture(gen)}, {count_params(gen) / 1e6:.2f} M parameters, "
             f"config {json.dumps(cfg.get('generator', {}), sort_keys=True)}",
             *([f"- Encoder: MobileNetV2 1.0 pretrained on ImageNet, weights from "
                f"google-coral/test_data tf2_mobilenet_v2_1.0_224_ptq.tflite (int8 per channel, batch norm folded; "
                f"Apache-2.0), dequantised; " + _freeze_note(cfg, rec)]
               if isinstance(gen, MobileUNet) else []),
             f"- Training data: the pack built by `python3 -m tintype_train pack` from shared/datasets/train "
             f"(ImageNet sample, BSDS500 train+test, T91, wallpapers; BSD100/CBSD68 excluded)"
             + _pack_extra(cfg.get("data", {}).get("pack")),
             f"- Crappifier: {json.dumps(cfg.get('crappifier', {}), sort_keys=True)}",
             f"- Selected checkpoint: step {rec.get('step')} in phase {rec.get('phase')} (best validation score)",
             f"- Validation at that step: {json.dumps(rec.get('metrics', {}), sort_keys=True)}",
             f"- sha256 of {manifest['file']}: {manifest['sha256']}", ""]
    if metrics:
        lines += ["## Benchmarks", ""]
        for name, res in metrics.items():
            lines += [f"### {name}", "", res.get("metric", ""), ""]
            rows = res.get("rows")
            if rows:
                keys = [k for k in rows[0] if k not in ("set", "degradation")]
                lines += ["| set | degradation | " + " | ".join(keys) + " |",
                          "|---|---|" + "---|" * len(keys)]
                lines += [f"| {r['set']} | {r['degradation']} | " + " | ".join(str(r.get(k, "")) for k in keys) + " |"
                          for r in rows]
            else:
                lines += [f"- {k}: {v}" for k, v in res.items() if k != "metric"]
            lines.append("")
    if notes:
        lines += ["## Notes", "", notes, ""]
    tmp = Path(path).with_name(f".{Path(path).name}.tmp")
    tmp.write_text("\n".join(lines))
    os.replace(tmp, path)
