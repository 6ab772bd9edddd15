"""Checkpoints that resume across sessions: models, optimizers, phase, step, RNG, metric curve.

Written atomically (temp file + rename), so a kill mid-save leaves the previous checkpoint.
Adam's moments can be stored as bfloat16 to make checkpoints small enough to commit.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any, Dict

import numpy as np
import torch

from .compat import load_torch

FORMAT = 1


def rng_state() -> Dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def _cast_optimizer(state: dict, dtype: torch.dtype) -> dict:
    out = {"param_groups": state["param_groups"], "state": {}}
    for k, s in state["state"].items():
        out["state"][k] = {n: (v.to(dtype) if torch.is_tensor(v) and v.is_floating_point() and v.dim() > 0 else v)
                           for n, v in s.items()}
    return out


def atomic_save(obj: Any, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_checkpoint(path: str | Path, *, config: dict, phase: str, step: int, phase_step: int,
                    models: Dict[str, torch.nn.Module], optimizers: Dict[str, torch.optim.Optimizer],
                    extra: Dict[str, Any], optimizer_dtype: str = "float32") -> None:
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[optimizer_dtype]
    obj = {
        "format": FORMAT,
        "config": config,
        "phase": phase,
        "step": step,
        "phase_step": phase_step,
        "models": {k: {n: t.detach().cpu() for n, t in m.state_dict().items()} for k, m in models.items()},
        "optimizers": {k: _cast_optimizer(o.state_dict(), dtype) for k, o in optimizers.items()},
        "rng": rng_state(),
        "extra": extra,
    }
    atomic_save(obj, path)


def load_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    try:
        obj = load_torch(path)
    except Exception as err:  # a truncated or foreign file: say which one
        raise ValueError(f"{path}: not a readable checkpoint ({err})") from err
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ValueError(f"{path}: not a tintype checkpoint (format {FORMAT})")
    return obj


def restore_optimizer(opt: torch.optim.Optimizer, state: dict) -> None:
    opt.load_state_dict(_cast_optimizer(state, torch.float32))
