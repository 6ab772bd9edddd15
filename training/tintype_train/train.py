"""NoGAN training: pretrain the generator, save its outputs, pretrain the critic on them as a
binary classifier, then a short GAN phase in which the critic first catches up to a loss
threshold. Checkpoints resume across sessions; a time budget ends a run cleanly."""

from __future__ import annotations

import copy
import json
import math
import signal
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from torch.utils.data import DataLoader

from .checkpoint import (atomic_save, checkpoint_exists, load_checkpoint, restore_optimizer, save_checkpoint,
                         set_rng_state)
from .color import rgb_to_lab
from .data import CountingSampler, ImageCache, PairDataset, centre_crop, chw, holdout_split
from .losses import critic_loss, generator_adv_loss, stability_loss
from .feature_cache import FeatureCache
from .models import Critic, CriticConfig, count_params, make_generator
from .pack import read_pack
from .selection import write_curve
from .tasks import ColorizeTask, make_task

PHASES = ["gen", "save_outputs", "critic", "gan", "done"]

DEFAULTS: dict = {
    "task": "restore",
    "seed": 0,
    "crappifier": {"kind": "decrappify", "options": {}},
    "generator": {},
    "critic": {"width": 32, "layers": 3, "dropout": 0.15, "attention": True},
    "loss": {"feature": 0.0, "vgg_weights": None, "vgg_random": False, "stability": 0.0, "gan_weight": 0.02,
             "color": {}},
    "data": {"pack": "training/data/pack", "crop": 128, "batch": 16, "workers": 0, "val_size": 256, "val_count": 60,
             "val_batch": 8, "grey": 0.0,
             # p_squash: share of training samples that are the whole photo squashed (the app's view), not a crop.
             "p_squash": 0.0,
             # holdout_every N: every Nth training photo is held out and is the validation set that picks
             # the checkpoint, instead of the pack's val split (which then stays unseen by any choice).
             # val_view: "centre" crops, or "squash" (the whole photo squashed, as the app renders).
             "holdout_every": 0, "val_view": "centre",
             # With the stability loss: the cached views that get a twin (null = all); frozen steps then
             # draw only those views.
             "twin_views": None,
             # Pretrained encoder, frozen: train the decoder on cached encoder features (feature_cache.py).
             "cache_views": [], "cache_size": 224, "cache_dir": "training/data/feature-cache"},
    # Pretrained weights loaded into a fresh generator: {"encoder": TFLITE} for encoder "mobilenet_v2".
    "pretrained": {},
    "optim": {"lr": 1e-3, "weight_decay": 1e-3, "warmup": 200, "final_lr_frac": 0.05, "clip": 1.0,
              "critic_lr": 2e-4, "gan_lr": 2e-5, "gan_critic_lr": 2e-5,
              # Discriminative learning rates (fast.ai / DeOldify): a pretrained encoder is frozen for
              # the first freeze_encoder_steps of the gen phase, then trains at lr * encoder_lr_mult.
              "freeze_encoder_steps": 0, "encoder_lr_mult": 0.1},
    "schedule": {"gen_steps": 4000, "save_outputs": 1024, "critic_steps": 400, "gan_steps": 400,
                 "critic_threshold": 0.65, "catchup_max": 300, "critic_steps_per_gen": 5},
    "val_every": 250,
    "checkpoint_every": 250,
    "optimizer_dtype": "float32",
    "max_file_mb": 0,
    # bf16 autocast is opt-in (spectral norm's power iteration was not checked under it); TF32 is on.
    "amp": False,
}

# Changing these would make a checkpoint's weights meaningless.
_FROZEN = ("task", "generator", "critic")


def merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_config(path: Optional[str]) -> dict:
    if path is None:
        return copy.deepcopy(DEFAULTS)
    p = Path(path)
    try:
        cfg = merge(DEFAULTS, json.loads(p.read_text()))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{p}: cannot read config ({err})") from err
    grey = float(cfg["data"]["grey"])
    if not 0.0 <= grey <= 1.0 or (grey > 0 and cfg["task"] == "colorize"):
        raise ValueError(f"{p}: data.grey must be in [0, 1], and 0 for colorize (its targets are colour)")
    return cfg


def colour_prior(images: ImageCache, task: ColorizeTask, max_images: int = 300, size: int = 64) -> torch.Tensor:
    """Empirical ab-bin frequencies of the training pack (deterministic subset)."""
    hist = torch.zeros(task.bins.q)
    step = max(1, len(images) // max_images)
    for i in range(0, len(images), step):
        rgb = chw(centre_crop(images.get(i), size))[None]
        hist += task.bins.histogram(rgb_to_lab(rgb)[:, 1:])
    return hist + 1.0  # never zero: unseen colours get a finite weight


class Trainer:
    def __init__(self, cfg: dict, run_dir: str | Path, device: Optional[str] = None, log: Callable = print,
                 resume: bool = True):
        self.run_dir = Path(run_dir)
        self.log = log
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
            torch.backends.cudnn.benchmark = True
        ckpt_path = self.run_dir / "latest.pt"
        ckpt = load_checkpoint(ckpt_path) if resume and checkpoint_exists(ckpt_path) else None
        if ckpt is not None:
            for key in _FROZEN:
                if json.dumps(ckpt["config"].get(key), sort_keys=True) != json.dumps(cfg.get(key), sort_keys=True):
                    raise ValueError(f"{ckpt_path}: config '{key}' differs from the checkpoint's; "
                                     f"use a new --run-dir or the checkpoint's config")
        self.cfg = cfg
        seed = int(cfg["seed"])
        torch.manual_seed(seed)
        np.random.seed(seed % 2 ** 32)

        self.task = make_task(cfg, self.device)
        self.gen = make_generator(self.task.generator_config()).to(self.device)
        if ckpt is None:
            self._load_pretrained(cfg.get("pretrained") or {})
        critic_in = 1 if self.task.out_channels == 1 else 3
        self.critic = Critic(CriticConfig(in_channels=critic_in, **cfg["critic"])).to(self.device)
        o = cfg["optim"]
        enc = getattr(self.gen, "encoder_parameters", lambda: [])()
        enc_ids = {id(p) for p in enc}
        groups = [{"params": [p for p in self.gen.parameters() if id(p) not in enc_ids], "lr_mult": 1.0}]
        if enc:
            groups.append({"params": enc, "lr_mult": float(o["encoder_lr_mult"]), "encoder": True})
        self.opt_g = torch.optim.AdamW(groups, lr=o["lr"], betas=(0.9, 0.99), weight_decay=o["weight_decay"])
        self.opt_c = torch.optim.AdamW(self.critic.parameters(), lr=o["critic_lr"], betas=(0.5, 0.99), weight_decay=0.0)

        d = cfg["data"]
        pack = Path(d["pack"])
        train_files, held = holdout_split(read_pack(pack, "train"), int(d["holdout_every"]))
        self.train_images = ImageCache(train_files)
        self.val_images = ImageCache((held if held else read_pack(pack, "val"))[: int(d["val_count"])])

        self.phase, self.step, self.phase_step, self.samples = "gen", 0, 0, 0
        self.curve: list = []
        self.best: Optional[dict] = None
        self.elapsed = 0.0
        self.caught_up = False
        self.critic_ema: Optional[float] = None
        prior = None
        if ckpt is not None:
            self._restore(ckpt)
            prior = ckpt["extra"].get("prior")
        if isinstance(self.task, ColorizeTask):
            if prior is None:
                prior = colour_prior(self.train_images, self.task)
            self.task.set_prior(prior)
        self._loader_iter = None
        self._saved = None
        self._stop = False
        self._cache: Optional[FeatureCache] = None
        self._twin: Optional[FeatureCache] = None
        self._twin_ids: list = []
        self.log(f"train: {self.task.name} on {self.device}, generator {count_params(self.gen) / 1e6:.2f} M params, "
                 f"critic {count_params(self.critic) / 1e6:.2f} M; phase {self.phase} step {self.step}"
                 + (" (resumed)" if ckpt is not None else ""))

    def _load_pretrained(self, pre: dict) -> None:
        unknown = set(pre) - {"encoder", "init_from"}
        if unknown:
            raise ValueError(f"config 'pretrained': unknown keys {sorted(unknown)}")
        if pre.get("init_from"):
            # A new stage that starts from another run's generator (e.g. fine-tuning after a frozen run).
            # load_generator also reads slim checkpoints (their frozen encoder comes from its file).
            # A generator that adds a pretrained context encoder may start from one without it: its
            # new modules (encoder.*, context.*) keep their own start (the context's last layer is zero).
            from .export import load_generator
            _, src, _ = load_generator(Path(pre["init_from"]))
            added = bool(self.gen.cfg.context_encoder) and not getattr(src.cfg, "context_encoder", "")
            missing, unexpected = self.gen.load_state_dict(src.state_dict(), strict=not added)
            if unexpected or any(not k.startswith(("encoder.", "context.")) for k in missing):
                raise ValueError(f"{pre['init_from']}: generator weights do not fit the config ({(missing + unexpected)[:3]})")
            self.log(f"pretrained: generator from {pre['init_from']}" + (" (context encoder added)" if added else ""))
        if pre.get("encoder"):
            if self.gen.cfg.encoder != "mobilenet_v2" and self.gen.cfg.context_encoder != "mobilenet_v2":
                raise ValueError("pretrained.encoder needs generator.encoder or generator.context_encoder 'mobilenet_v2'")
            if pre.get("init_from") and self.gen.cfg.encoder == "mobilenet_v2":
                raise ValueError("pretrained: init_from already holds the MobileUNet's encoder; drop pretrained.encoder")
            from .mobilenet import load_coral_mobilenet_v2
            load_coral_mobilenet_v2(self.gen.encoder, pre["encoder"])
            self.gen.encoder.to(self.device)
            self.log(f"pretrained: MobileNetV2 encoder from {pre['encoder']}")

    def encoder_frozen(self) -> bool:
        has = bool(getattr(self.gen, "encoder_parameters", lambda: [])())
        return has and self.phase == "gen" and self.phase_step < int(self.cfg["optim"]["freeze_encoder_steps"])

    # state --------------------------------------------------------------------------------
    def _restore(self, ckpt: dict) -> None:
        self.gen.load_state_dict(ckpt["models"]["gen"])
        self.critic.load_state_dict(ckpt["models"]["critic"])
        if ckpt["optimizers"]:
            restore_optimizer(self.opt_g, ckpt["optimizers"]["gen"])
            restore_optimizer(self.opt_c, ckpt["optimizers"]["critic"])
        else:
            self.log("resume: checkpoint has no optimizer state (optimizer_dtype none): Adam restarts")
        self.phase, self.step, self.phase_step = ckpt["phase"], ckpt["step"], ckpt["phase_step"]
        e = ckpt["extra"]
        self.samples, self.curve, self.best = e["samples"], e["curve"], e["best"]
        self.elapsed, self.caught_up, self.critic_ema = e["elapsed"], e["caught_up"], e["critic_ema"]
        set_rng_state(ckpt["rng"])

    def save(self) -> None:
        extra = {"samples": self.samples, "curve": self.curve, "best": self.best, "elapsed": self.elapsed,
                 "caught_up": self.caught_up, "critic_ema": self.critic_ema,
                 "prior": getattr(self.task, "prior", None)}
        save_checkpoint(self.run_dir / "latest.pt", config=self.cfg, phase=self.phase, step=self.step,
                        phase_step=self.phase_step, models={"gen": self.gen, "critic": self.critic},
                        optimizers={"gen": self.opt_g, "critic": self.opt_c}, extra=extra,
                        optimizer_dtype=self.cfg["optimizer_dtype"], max_file_mb=float(self.cfg["max_file_mb"]))
        write_curve(self.curve, self.run_dir)

    def save_generator(self, path: Path, metrics: dict) -> None:
        atomic_save({"format": 1, "config": self.cfg, "step": self.step, "phase": self.phase, "metrics": metrics,
                     "generator": {n: t.detach().cpu() for n, t in self.gen.state_dict().items()},
                     "prior": getattr(self.task, "prior", None)}, path, float(self.cfg["max_file_mb"]))

    # data ---------------------------------------------------------------------------------
    def _batch(self):
        if self._loader_iter is None:
            d = self.cfg["data"]
            ds = PairDataset(self.train_images, self.task, int(d["crop"]), int(self.cfg["seed"]),
                             stability=float(self.cfg["loss"]["stability"]) > 0, p_grey=float(d["grey"]),
                             p_squash=float(d["p_squash"]))
            workers = int(d["workers"])
            # Its own generator: a DataLoader iterator otherwise draws a seed from the global torch RNG,
            # so a resumed run (new iterator) would see different dropout masks than an uninterrupted one.
            extra = {"num_workers": workers, "prefetch_factor": 4} if workers else {}
            loader = DataLoader(ds, batch_size=int(d["batch"]), sampler=CountingSampler(self.samples, 2 ** 40),
                                pin_memory=self.device.type == "cuda", generator=torch.Generator().manual_seed(0),
                                **extra)
            self._loader_iter = iter(loader)
        batch = next(self._loader_iter)
        self.samples += int(self.cfg["data"]["batch"])
        return [t.to(self.device, non_blocking=True) for t in batch]

    def _autocast(self):
        if self.device.type == "cuda" and self.cfg["amp"]:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return torch.autocast("cpu", enabled=False)

    def _lr(self, base: float, total: int) -> float:
        o = self.cfg["optim"]
        warm = min(int(o["warmup"]), max(1, total // 10))
        s = self.phase_step
        if s < warm:
            return base * (s + 1) / warm
        t = min(1.0, (s - warm) / max(1, total - warm))
        lo = base * float(o["final_lr_frac"])
        return lo + 0.5 * (base - lo) * (1 + math.cos(math.pi * t))

    @staticmethod
    def _set_lr(opt: torch.optim.Optimizer, lr: float, frozen: bool = False) -> None:
        for g in opt.param_groups:
            g["lr"] = 0.0 if (frozen and g.get("encoder")) else lr * g.get("lr_mult", 1.0)

    # steps --------------------------------------------------------------------------------
    def _content(self, batch):
        """Generator loss on a batch (with the stability loss when configured) and the outputs."""
        if len(batch) == 3:
            x1, x2, t = batch
            y = self.gen(torch.cat([x1, x2], 0))
            y1, y2 = y[: len(x1)], y[len(x1):]
            w = float(self.cfg["loss"]["stability"])
            loss = stability_loss(y1, y2, t, self.task.content_loss, self.task.consistency_view)
            # w scales the consistency term relative to the two content terms
            loss = loss + (w - 1.0) * torch.nn.functional.l1_loss(self.task.consistency_view(y1),
                                                                  self.task.consistency_view(y2))
            return loss, y1, t
        x, t = batch
        y = self.gen(x)
        return self.task.content_loss(y, t), y, t

    def _cached_batch(self):
        """(feats, grey, ab), or with the stability loss ((feats, grey, ab), twin's (feats, grey, ab))."""
        d = self.cfg["data"]
        stable = float(self.cfg["loss"]["stability"]) > 0
        if self._cache is None:
            build = lambda salt: FeatureCache.build_or_load(
                self.gen, self.task, self.train_images, Path(d["cache_dir"]) if d["cache_dir"] else None,
                list(d["cache_views"]), int(d["cache_size"]), int(self.cfg["seed"]), self.device, log=self.log,
                salt=salt)
            self._cache = build(0)
            # The same views damaged again: what the stability loss compares the first answers with.
            self._twin = None
            if stable:
                views = list(d["cache_views"])
                twin_views = list(d["twin_views"] or views)
                unknown = [v for v in twin_views if v not in views]
                if unknown:
                    raise ValueError(f"data.twin_views {unknown} are not in data.cache_views {views}")
                # In the main cache's order, so that sorted twin rows map to sorted main rows.
                self._twin_ids = sorted(views.index(v) for v in twin_views)
                twin_views = [views[k] for k in self._twin_ids]
                self._twin = FeatureCache.build_or_load(
                    self.gen, self.task, self.train_images, Path(d["cache_dir"]) if d["cache_dir"] else None,
                    twin_views, int(d["cache_size"]), int(self.cfg["seed"]), self.device, log=self.log, salt=1,
                    view_ids=self._twin_ids)
            # Building ran the encoder in eval mode; spectral norm must see train mode before the step
            # (in eval mode it skips its power iteration and would scale by a random-vector estimate).
            self.gen.train()
        rng = np.random.default_rng([int(self.cfg["seed"]), 4242, self.step])
        self.samples += int(d["batch"])
        if stable:
            idx = np.sort(rng.choice(len(self._twin), int(d["batch"]), replace=False))
            per, ids = len(self._twin_ids), np.array(self._twin_ids)
            main = (idx // per) * len(d["cache_views"]) + ids[idx % per]  # the same photo and view
            return self._cache.batch(main, self.device), self._twin.batch(idx, self.device)
        return self._cache.batch(rng.choice(len(self._cache), int(d["batch"]), replace=False), self.device)

    def _cached_loss(self, batch) -> torch.Tensor:
        if len(batch) == 3:
            feats, grey, ab = batch
            return self.task.color_loss(self.gen.decode(feats, grey), ab)
        (f1, g1, ab), (f2, g2, _) = batch
        y = self.gen.decode([torch.cat([a, b], 0) for a, b in zip(f1, f2)], torch.cat([g1, g2], 0))
        y1, y2 = y[: len(g1)], y[len(g1):]
        # As _content: both answers against the truth, plus w times how far they differ.
        w = float(self.cfg["loss"]["stability"])
        view = self.task.consistency_view
        return (self.task.color_loss(y1, ab) + self.task.color_loss(y2, ab)
                + w * torch.nn.functional.l1_loss(view(y1), view(y2)))

    def _gen_step(self, adversarial: bool) -> dict:
        self.gen.train()
        frozen = self.encoder_frozen()
        for p in getattr(self.gen, "encoder_parameters", lambda: [])():
            p.requires_grad_(not frozen)
        if frozen and self.cfg["data"]["cache_views"] and not adversarial:
            batch = self._cached_batch()
            with self._autocast():
                loss = self._cached_loss(batch)
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
            clip = float(self.cfg["optim"]["clip"])
            if clip > 0:
                torch.nn.utils.clip_grad_norm_([p for p in self.gen.parameters() if p.requires_grad], clip)
            self.opt_g.step()
            return {"loss": float(loss), "cached": 1}
        batch = self._batch()
        with self._autocast():
            loss, y, t = self._content(batch)
            stats = {"loss": float(loss)}
            if adversarial:
                self.critic.eval()
                adv = generator_adv_loss(self.critic(self.task.image(y, t)))
                loss = loss + float(self.cfg["loss"]["gan_weight"]) * adv
                stats["adv"] = float(adv)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        clip = float(self.cfg["optim"]["clip"])
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(self.gen.parameters(), clip)
        self.opt_g.step()
        return stats

    def _critic_step(self, real: torch.Tensor, fake: torch.Tensor) -> float:
        self.critic.train()
        with self._autocast():
            loss = critic_loss(self.critic(real), self.critic(fake))
        self.opt_c.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_c.step()
        v = float(loss)
        self.critic_ema = v if self.critic_ema is None else 0.9 * self.critic_ema + 0.1 * v
        return v

    def _fresh_pair(self):
        """Real and generated views for a critic step in the GAN phase."""
        batch = self._batch()
        self.gen.eval()
        with torch.no_grad(), self._autocast():
            x, t = batch[0], batch[-1]
            fake = self.task.image(self.gen(x), t).float()
        return self.task.real_view(t), fake

    # phases -------------------------------------------------------------------------------
    def _outputs_path(self) -> Path:
        return self.run_dir / "gen_outputs.npz"

    def save_outputs(self) -> None:
        """NoGAN step 2: the pretrained generator's outputs, which the critic then learns to spot."""
        n = int(self.cfg["schedule"]["save_outputs"])
        d = self.cfg["data"]
        # A fixed index range apart from the training stream: regenerated identically if lost.
        ds = PairDataset(self.train_images, self.task, int(d["crop"]), int(self.cfg["seed"]) + 7919)
        reals, fakes = [], []
        self.gen.eval()
        with torch.no_grad():
            for start in range(0, n, int(d["batch"])):
                items = [ds[i] for i in range(start, min(n, start + int(d["batch"])))]
                x = torch.stack([it[0] for it in items]).to(self.device)
                t = torch.stack([it[-1] for it in items]).to(self.device)
                with self._autocast():
                    fake = self.task.image(self.gen(x), t).float()
                to8 = lambda v: (v.clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
                reals.append(to8(self.task.real_view(t)))
                fakes.append(to8(fake))
        path = self._outputs_path()
        tmp = path.with_name(".gen_outputs.tmp.npz")
        np.savez(tmp, real=np.concatenate(reals), fake=np.concatenate(fakes))
        tmp.replace(path)
        self.log(f"save_outputs: {n} generator outputs -> {path}")

    def _critic_pretrain_step(self) -> dict:
        if self._saved is None:
            if not self._outputs_path().is_file():
                self.save_outputs()
            z = np.load(self._outputs_path())
            self._saved = (torch.from_numpy(z["real"]), torch.from_numpy(z["fake"]))
        real_all, fake_all = self._saved
        rng = np.random.default_rng([int(self.cfg["seed"]), 99, self.phase_step])
        b = min(int(self.cfg["data"]["batch"]), len(real_all))
        ir = torch.from_numpy(rng.choice(len(real_all), b, replace=False))
        ifk = torch.from_numpy(rng.choice(len(fake_all), b, replace=False))
        real = real_all[ir].to(self.device).float() / 255.0
        fake = fake_all[ifk].to(self.device).float() / 255.0
        return {"critic": self._critic_step(real, fake)}

    def _gan_step(self) -> dict:
        s = self.cfg["schedule"]
        thr = float(s["critic_threshold"])
        stats: dict = {}
        if not self.caught_up:
            # The critic first catches up with the generator it will judge.
            for _ in range(int(s["catchup_max"])):
                stats["critic"] = self._critic_step(*self._fresh_pair())
                if self.critic_ema is not None and self.critic_ema < thr:
                    break
            self.caught_up = True
            stats["catchup"] = True
        stats.update(self._gen_step(adversarial=True))
        # Adaptive switching: train the critic again until its loss is back under the threshold.
        for i in range(int(s["critic_steps_per_gen"])):
            stats["critic"] = self._critic_step(*self._fresh_pair())
            if self.critic_ema is not None and self.critic_ema < thr and i >= 0:
                break
        return stats

    def validate(self) -> dict:
        d = self.cfg["data"]
        ds = PairDataset(self.val_images, self.task, int(d["val_size"]), int(self.cfg["seed"]) + 1, fixed=True,
                         fixed_view=str(d["val_view"]))
        sums: dict = {}
        count = 0
        self.gen.eval()
        with torch.no_grad():
            for start in range(0, len(ds), int(d["val_batch"])):
                items = [ds[i] for i in range(start, min(len(ds), start + int(d["val_batch"])))]
                x = torch.stack([it[0] for it in items]).to(self.device)
                t = torch.stack([it[-1] for it in items]).to(self.device)
                with self._autocast():
                    y = self.gen(x)
                m = self.task.metrics(y.float(), t, x)
                for k, v in m.items():
                    sums[k] = sums.get(k, 0.0) + float(sum(v))
                count += len(items)
        means = {k: v / count for k, v in sums.items()}
        means["score"] = self.task.score(means)
        row = {"step": self.step, "phase": self.phase, "phase_step": self.phase_step,
               "elapsed_s": round(self.elapsed, 1), **{k: round(v, 4) for k, v in means.items()}}
        self.curve.append(row)
        if self.best is None or means["score"] > self.best["score"]:
            self.best = {"score": means["score"], "step": self.step, "phase": self.phase}
            self.save_generator(self.run_dir / "best_gen.pt", row)
        self.log("val: " + " ".join(f"{k}={v}" for k, v in row.items()))
        return row

    def enter_phase(self, phase: str) -> None:
        if phase not in PHASES[:-1]:
            raise ValueError(f"phase must be one of {PHASES[:-1]}")
        if phase != self.phase:
            self.log(f"phase {self.phase} -> {phase} (requested)")
            self.phase, self.phase_step, self._loader_iter = phase, 0, None
            if phase == "gan":
                self.caught_up = False

    def _advance(self) -> None:
        self.phase = PHASES[PHASES.index(self.phase) + 1]
        if self.phase == "save_outputs" and not self.task.adversarial:
            self.phase = "done"  # a segmentation or inpainting task: no critic, no GAN
        self.phase_step = 0
        self._loader_iter = None
        self.log(f"phase -> {self.phase}")

    def run(self, minutes: Optional[float] = None, max_steps: Optional[int] = None,
            stop_after: Optional[str] = None) -> str:
        """Trains until the time budget, max_steps (this run), the end of `stop_after` or 'done'."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        start = time.time()
        base_elapsed = self.elapsed
        steps_this_run = 0
        s = self.cfg["schedule"]
        o = self.cfg["optim"]
        prev = signal.signal(signal.SIGTERM, lambda *_: setattr(self, "_stop", True))
        last_save = time.time()
        try:
            while self.phase != "done" and not self._stop:
                if minutes is not None and time.time() - start > minutes * 60:
                    self.log("time budget reached")
                    break
                if max_steps is not None and steps_this_run >= max_steps:
                    break
                phase = self.phase
                if phase == "gen":
                    total = int(s["gen_steps"])
                    if self.phase_step >= total:
                        if not self.curve or self.curve[-1]["step"] != self.step:
                            self.validate()
                        self._advance()
                        self.save()
                        continue
                    self._set_lr(self.opt_g, self._lr(float(o["lr"]), total), frozen=self.encoder_frozen())
                    stats = self._gen_step(adversarial=False)
                elif phase == "save_outputs":
                    self.save_outputs()
                    self._advance()
                    self.save()
                    continue
                elif phase == "critic":
                    total = int(s["critic_steps"])
                    if self.phase_step >= total:
                        self._advance()
                        self.save()
                        continue
                    self._set_lr(self.opt_c, self._lr(float(o["critic_lr"]), total))
                    stats = self._critic_pretrain_step()
                else:  # gan
                    total = int(s["gan_steps"])
                    if self.phase_step >= total:
                        if not self.curve or self.curve[-1]["step"] != self.step:
                            self.validate()
                        self._advance()
                        self.save()
                        continue
                    self._set_lr(self.opt_g, float(o["gan_lr"]))
                    self._set_lr(self.opt_c, float(o["gan_critic_lr"]))
                    stats = self._gan_step()
                self.phase_step += 1
                self.step += 1
                steps_this_run += 1
                self.elapsed = base_elapsed + time.time() - start
                if self.step % 50 == 0 or self.phase_step <= 2:
                    self.log(f"{phase} step {self.step} ({self.phase_step}/{total}) "
                             + " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in stats.items()))
                if phase in ("gen", "gan") and self.phase_step % int(self.cfg["val_every"]) == 0:
                    self.validate()
                if self.step % int(self.cfg["checkpoint_every"]) == 0 or time.time() - last_save > 300:
                    self.save()
                    last_save = time.time()
                if stop_after and phase == stop_after and self.phase_step >= total:
                    break
        finally:
            signal.signal(signal.SIGTERM, prev)
        self.elapsed = base_elapsed + time.time() - start
        if stop_after and self.phase == stop_after:
            # finish the phase's bookkeeping (validation, transition) so the next run starts clean
            total = {"gen": s["gen_steps"], "critic": s["critic_steps"], "gan": s["gan_steps"]}.get(stop_after, 0)
            if self.phase_step >= int(total):
                if stop_after in ("gen", "gan") and (not self.curve or self.curve[-1]["step"] != self.step):
                    self.validate()
                self._advance()
        self.save()
        self.log(f"stopped in phase {self.phase} at step {self.step}; elapsed {self.elapsed:.0f} s")
        return self.phase
