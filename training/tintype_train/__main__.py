"""python3 -m tintype_train {pack,train,export,slim,average,select,eval-*,peer-colorize,damage-sheet,damage-set,repair-sheet} ...  (see training/README.md)"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _set(cfg: dict, assignments) -> dict:
    """--set a.b.c=VALUE (VALUE parsed as JSON when it parses, else kept as a string)."""
    for item in assignments or []:
        if "=" not in item:
            raise ValueError(f"--set {item!r}: expected key.path=value")
        key, raw = item.split("=", 1)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = cfg
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return cfg


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m tintype_train")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("pack", help="build the deterministic training pack")
    p.add_argument("--datasets", default="../shared/datasets")
    p.add_argument("--out", default="training/data/pack")
    p.add_argument("--short-side", type=int, default=224)
    p.add_argument("--quality", type=int, default=85)
    p.add_argument("--max-mb", type=float, default=50.0)
    p.add_argument("--limit", type=int, default=0, help="at most N images per split (tests)")
    p.add_argument("--extra", action="append", default=[], metavar="FOLDER",
                   help="more training photos under --datasets, e.g. train-extra (repeatable)")
    p.add_argument("--thin", action="append", default=[], metavar="FOLDER=N",
                   help="keep every Nth photo of FOLDER, e.g. train-extra/clothing=4 (repeatable)")

    p = sub.add_parser("train", help="train (resumes from RUN_DIR/latest.pt)")
    p.add_argument("--config", required=True)
    p.add_argument("--run-dir", required=True)
    p.add_argument("--set", action="append", metavar="KEY=VALUE")
    p.add_argument("--minutes", type=float)
    p.add_argument("--max-steps", type=int)
    p.add_argument("--stop-after", choices=["gen", "save_outputs", "critic", "gan"])
    p.add_argument("--device")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint in RUN_DIR")
    p.add_argument("--enter-phase", choices=["gen", "save_outputs", "critic", "gan"],
                   help="continue a resumed run in this phase (e.g. more GAN after 'done'); its step count restarts")

    p = sub.add_parser("export", help="ONNX + manifest.json + parity fixture")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--id", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--version", default="1.0.0")
    p.add_argument("--license", default="MIT")
    p.add_argument("--source", default="Tintype training toolkit (training/)")
    p.add_argument("--temperature", type=float, help="colorize: annealed-mean decoding temperature")
    p.add_argument("--rebalance", type=float,
                   help="colorize: decoding times the inverse training colour prior to this power (0: plain annealed mean)")
    p.add_argument("--threshold", type=float, help="repair: the mask threshold in the manifest (eval-repair picks it)")
    p.add_argument("--grow", type=int, help="repair: the mask growth in px in the manifest (choose-grow picks it)")
    p.add_argument("--summary", help="one line for people choosing a model (manifest summary)")
    p.add_argument("--input-blur", type=float, default=0.0, metavar="SIGMA",
                   help="colorize: Gaussian blur of the grey input inside the graph (a video variant: less grain, less flicker)")
    p.add_argument("--card", help="also write a model card (Markdown) here")
    p.add_argument("--card-notes", default="", help="free text for the card: GPU time, sessions, caveats")
    p.add_argument("--card-metrics", action="append", help="eval-restore/eval-colorize --json output to include")
    p.add_argument("--parity-dir", help="where the parity fixture goes (default OUT/parity)")

    p = sub.add_parser("slim", help="a frozen-encoder MobileUNet checkpoint without its encoder (reloaded from the pretrained file)")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", required=True)

    p = sub.add_parser("average", help="mean of several generators' weights (same config), as best_gen.pt")
    p.add_argument("--out", required=True)
    p.add_argument("checkpoints", nargs="+")

    p = sub.add_parser("select", help="best point of a run's validation curve")
    p.add_argument("--run-dir", required=True)
    p.add_argument("--key", default="score")
    p.add_argument("--window", type=int, default=1)
    p.add_argument("--phase", action="append")

    p = sub.add_parser("eval-restore", help="PSNR/SSIM on Y: LIVE1/classic5 JPEG q10/q20, CBSD68/Kodak24 sigma 15/25")
    p.add_argument("--datasets", default="../shared/datasets")
    p.add_argument("--checkpoint", help="generator checkpoint; without it only the degraded-input baseline")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--only", action="append", help='e.g. "LIVE1 jpeg q10" (repeatable; a prefix matches)')
    p.add_argument("--json")

    p = sub.add_parser("eval-colorize", help="colourfulness and PSNR on datasets/val")
    p.add_argument("--datasets", default="../shared/datasets")
    p.add_argument("--checkpoint")
    p.add_argument("--size", type=int, default=256, help="render size (long side) for the model")
    p.add_argument("--temperature", type=float)
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--json")
    p.add_argument("--sheet", help="contact sheet of datasets/bw (PNG)")
    p.add_argument("--sweep", help="also these decoding temperatures, e.g. 0.3,0.4,0.5 (one forward pass per photo)")
    p.add_argument("--rebalance", type=float,
                   help="decoding: the predicted distribution times the inverse training colour prior to this power")
    p.add_argument("--sweep-rebalance", help="also these rebalance powers, e.g. 0,0.3,0.6 (a grid with --sweep)")
    p.add_argument("--holdout-source", action="append", metavar="FOLDER",
                   help="with --holdout-of: only held-out photos packed from this source folder, e.g. train/imagenet-sample")
    p.add_argument("--holdout-of", metavar="CONFIG",
                   help="on CONFIG's held-out training photos (data.holdout_every) instead of datasets/val")

    p = sub.add_parser("peer-colorize", help="DeOldify-style PyTorch eager colorization (the speed peer); JSON timings")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--render", type=int, default=256)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--temperature", type=float)
    p.add_argument("--out-dir", required=True)
    p.add_argument("inputs", nargs="+")

    p = sub.add_parser("damage-sheet", help="PNG of photos with synthetic print damage: damaged | true mask | clean")
    p.add_argument("--datasets", default="../shared/datasets")
    p.add_argument("--source", default="val/imagenet-sample", help="folder under --datasets")
    p.add_argument("--count", type=int, default=12)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", action="append", metavar="OPTION=VALUE", help="damage option, e.g. p_fold=1")
    p.add_argument("--out", required=True)

    p = sub.add_parser("damage-set", help="held-out photos with synthetic damage at full size (damaged/clean/mask PNGs)")
    p.add_argument("--datasets", default="../shared/datasets")
    p.add_argument("--source", action="append", help="folders under --datasets (default Kodak24 and McMaster)")
    p.add_argument("--seed", type=int, default=1000)
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--out", required=True)

    p = sub.add_parser("eval-repair", help="damage detector: pixel precision/recall/F1/IoU per threshold")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--set-dir", help="a damage-set folder (default: the pack's val split with damage)")
    p.add_argument("--pack", default="training/data/pack")
    p.add_argument("--thresholds", default="0.3,0.4,0.5,0.6,0.7")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--false-alarms", action="store_true",
                   help="instead: undamaged val photos with thin photo details drawn in; the share of them flagged")
    p.add_argument("--negatives", default="details", choices=["details", "borders", "straight"],
                   help="with --false-alarms: which photo details are drawn (damage.py's photo_details, print_border, straight_details)")
    p.add_argument("--breakdown", type=float, metavar="THRESHOLD",
                   help="instead: where F1 is lost at this threshold on the val split (per damage kind, misses, false alarms, growth)")
    p.add_argument("--json")

    p = sub.add_parser("eval-inpaint", help="learned filler: PSNR/SSIM inside the true mask on a damage-set")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--set-dir", required=True)
    p.add_argument("--grow", default="0,1,2")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--json")

    p = sub.add_parser("choose-grow", help="mask growth for the detector's manifest: fill of the true damage from the detected mask")
    p.add_argument("--detector", required=True)
    p.add_argument("--filler", required=True)
    p.add_argument("--pack", default="training/data/pack")
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--grow", default="0,1,2,3")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--json")

    p = sub.add_parser("score-repair", help="score another program's masks and repairs of a damage-set (the engine benchmark)")
    p.add_argument("--set-dir", required=True)
    p.add_argument("--out-dir", required=True, help="OUT/detected/NNN.png masks, OUT/METHOD/NNN.png repaired photos")
    p.add_argument("--json")

    p = sub.add_parser("repair-sheet", help="real prints with the detected damage in red and 1:1 crops (PNG)")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--folder", default="../shared/datasets/bw/deoldify-test-images")
    p.add_argument("--name", action="append", default=[])
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--max-side", type=int, default=1024)
    p.add_argument("--limit", type=int, default=8)
    p.add_argument("--out", required=True)

    a = ap.parse_args(argv)
    try:
        return _run(a)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _threads() -> None:
    """Some torch builds (Debian's 1.13) start with one intra-op thread whatever the machine has;
    use every core unless TINTYPE_TORCH_THREADS says otherwise."""
    import os

    import torch
    want = os.environ.get("TINTYPE_TORCH_THREADS")
    n = int(want) if want else (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    if n > 0 and torch.get_num_threads() != n:
        torch.set_num_threads(n)


def _run(a) -> int:
    if a.cmd != "pack":  # every other command runs torch
        _threads()
    if a.cmd == "pack":
        from .pack import build_pack
        thin = {}
        for item in a.thin:
            folder, _, n = item.rpartition("=")
            if not folder or not n.isdigit() or int(n) < 1:
                raise ValueError(f"--thin {item!r}: expected FOLDER=N with N >= 1")
            thin[folder] = int(n)
        build_pack(a.datasets, a.out, short_side=a.short_side, quality=a.quality, max_mb=a.max_mb, limit=a.limit,
                   extra=tuple(a.extra), thin=thin)
    elif a.cmd == "train":
        from .train import Trainer, load_config
        cfg = _set(load_config(a.config), a.set)
        trainer = Trainer(cfg, a.run_dir, device=a.device, resume=not a.fresh)
        if a.enter_phase:
            trainer.enter_phase(a.enter_phase)
        trainer.run(minutes=a.minutes, max_steps=a.max_steps, stop_after=a.stop_after)
    elif a.cmd == "export":
        from .export import export_model, write_model_card
        man = export_model(a.checkpoint, a.out, a.id, a.name, license=a.license, source=a.source, version=a.version,
                           temperature=a.temperature, input_blur=a.input_blur, parity_dir=a.parity_dir, rebalance=a.rebalance,
                           threshold=a.threshold, grow=a.grow, summary=a.summary)
        if a.card:
            metrics = None
            if a.card_metrics:
                metrics = {}
                for f in a.card_metrics:
                    try:
                        metrics[Path(f).stem] = json.loads(Path(f).read_text())
                    except (OSError, json.JSONDecodeError) as err:
                        raise ValueError(f"{f}: cannot read metrics ({err})") from err
            write_model_card(a.card, man, a.checkpoint, metrics=metrics, notes=a.card_notes)
    elif a.cmd == "slim":
        from .export import slim_checkpoint
        slim_checkpoint(a.checkpoint, a.out)
    elif a.cmd == "average":
        from .export import average_checkpoints
        average_checkpoints(a.checkpoints, a.out)
    elif a.cmd == "select":
        from .selection import read_curve, select_best
        best = select_best(read_curve(a.run_dir), key=a.key, window=a.window, phases=a.phase)
        if best is None:
            raise ValueError(f"{a.run_dir}: no validation row with '{a.key}'")
        print(json.dumps(best))
    elif a.cmd == "eval-restore":
        from .evaluate import eval_restore
        res = eval_restore(a.datasets, a.checkpoint, limit=a.limit, only=a.only)
        _emit(res, a.json)
    elif a.cmd == "eval-colorize":
        from .evaluate import contact_sheet, eval_colorize
        sweep = [float(x) for x in a.sweep.split(",")] if a.sweep else None
        files = None
        if a.holdout_of:
            from .data import holdout_split
            from .pack import read_pack
            from .train import load_config
            d = load_config(a.holdout_of)["data"]
            files = holdout_split(read_pack(Path(d["pack"]), "train"), int(d["holdout_every"]))[1]
            if not files:
                raise ValueError(f"{a.holdout_of}: data.holdout_every is 0, so no training photo is held out")
            if a.holdout_source:
                from .pack import pack_sources
                src = pack_sources(Path(d["pack"]))
                files = [f for f in files if any(src[f].startswith(s.rstrip("/") + "/") for s in a.holdout_source)]
                if not files:
                    raise ValueError(f"--holdout-source {a.holdout_source}: no held-out photo comes from there")
        elif a.holdout_source:
            raise ValueError("--holdout-source needs --holdout-of")
        res = eval_colorize(a.datasets, a.checkpoint, size=a.size, temperature=a.temperature, limit=a.limit, sweep=sweep,
                            files=files, rebalance=a.rebalance,
                            sweep_rebalance=[float(x) for x in a.sweep_rebalance.split(",")] if a.sweep_rebalance else None)
        _emit(res, a.json)
        if a.sheet:
            if not a.checkpoint:
                raise ValueError("--sheet needs --checkpoint")
            contact_sheet(a.datasets, a.checkpoint, a.sheet, size=a.size, temperature=a.temperature, rebalance=a.rebalance)
    elif a.cmd == "damage-sheet":
        from .damage import make_damage, sample_sheet
        from .evaluate import load_rgb
        opts = _set({}, a.set)
        folder = Path(a.datasets) / a.source
        files = sorted(p for p in folder.iterdir() if p.is_file())[: a.count] if folder.is_dir() else []
        if not files:
            raise ValueError(f"{folder}: no photos")
        sample_sheet([load_rgb(f) for f in files], a.out, seed=a.seed, size=a.size, cfg=make_damage(opts))
        print(f"damage-sheet: {len(files)} photos -> {a.out}")
    elif a.cmd == "damage-set":
        from .repair_eval import DEFAULT_SOURCES, damage_set
        damage_set(a.datasets, a.out, sources=a.source or DEFAULT_SOURCES, seed=a.seed, limit=a.limit)
    elif a.cmd == "eval-repair":
        from .repair_eval import eval_detector
        th = [float(x) for x in a.thresholds.split(",")]
        if a.false_alarms:
            from .repair_eval import false_alarms
            _emit(false_alarms(a.checkpoint, a.pack, thresholds=th, limit=a.limit, negatives=a.negatives), a.json)
            return 0
        if a.breakdown is not None:
            from .repair_eval import breakdown
            _emit(breakdown(a.checkpoint, a.pack, threshold=a.breakdown, limit=a.limit), a.json)
            return 0
        _emit(eval_detector(a.checkpoint, a.set_dir, a.pack, thresholds=th, limit=a.limit), a.json)
    elif a.cmd == "eval-inpaint":
        from .repair_eval import eval_inpaint
        _emit(eval_inpaint(a.checkpoint, a.set_dir, grows=[int(x) for x in a.grow.split(",")], limit=a.limit), a.json)
    elif a.cmd == "choose-grow":
        from .repair_eval import choose_grow
        _emit(choose_grow(a.detector, a.filler, a.pack, a.threshold, [int(x) for x in a.grow.split(",")], limit=a.limit),
              a.json)
    elif a.cmd == "score-repair":
        from .repair_eval import score_outputs
        _emit(score_outputs(a.set_dir, a.out_dir), a.json)
    elif a.cmd == "repair-sheet":
        from .repair_eval import real_sheet
        real_sheet(a.checkpoint, a.folder, a.out, names=a.name, threshold=a.threshold, max_side=a.max_side,
                   limit=a.limit)
    elif a.cmd == "peer-colorize":
        from .peer import main_json
        print(main_json(a))
    return 0


def _emit(res: dict, path) -> None:
    text = json.dumps(res, indent=1)
    print(text)
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
