"""Checkpoints that resume across sessions: models, optimizers, phase, step, RNG, metric curve.

Written atomically (temp file + rename), so a kill mid-save leaves the previous checkpoint.
Adam's moments can be stored as bfloat16 to make checkpoints small enough to commit.
"""

from __future__ import annotations

import io
import os
import random
from pathlib import Path
from typing import Any, Dict

import numpy as np
import torch

from .compat import load_torch

FORMAT = 1


def rng_state() -> Dict[str, Any]:
    # numpy's state as plain lists: a numpy-2 pickle does not load under numpy 1.x and vice versa.
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": random.getstate(), "numpy": [kind, keys.tolist(), pos, has_gauss, cached],
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    random.setstate(state["python"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def _cast_optimizer(state: dict, dtype: torch.dtype) -> dict:
    out = {"param_groups": state["param_groups"], "state": {}}
    for k, s in state["state"].items():
        out["state"][k] = {n: (v.to(dtype) if torch.is_tensor(v) and v.is_floating_point() and v.dim() > 0 else v)
                           for n, v in s.items()}
    return out


def _parts(path: Path) -> list:
    return sorted(path.parent.glob(path.name + ".part*"))


def atomic_save(obj: Any, path: str | Path, max_file_mb: float = 0) -> None:
    """torch.save via temp file + rename. With max_file_mb, a larger checkpoint is written as
    NAME.part000, NAME.part001... (the GPU machine returns files of at most 16 MiB)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save(obj, buf)
    data = buf.getvalue()
    limit = int(max_file_mb * 2 ** 20) if max_file_mb else 0
    chunks = [data] if not limit or len(data) <= limit else [data[i: i + limit] for i in range(0, len(data), limit)]
    names = [path] if len(chunks) == 1 else [path.with_name(f"{path.name}.part{i:03d}") for i in range(len(chunks))]
    stale = [p for p in _parts(path) + ([path] if path.exists() else []) if p not in names]
    for name, chunk in zip(names, chunks):
        tmp = name.with_name(f".{name.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, name)
    for p in stale:
        p.unlink()


def read_checkpoint_file(path: str | Path) -> Any:
    """Loads NAME, or NAME.part000.. joined."""
    path = Path(path)
    parts = _parts(path)
    if path.is_file():
        return load_torch(path)
    if not parts:
        raise FileNotFoundError(f"{path}: checkpoint not found")
    return load_torch(io.BytesIO(b"".join(p.read_bytes() for p in parts)))


def checkpoint_exists(path: str | Path) -> bool:
    path = Path(path)
    return path.is_file() or bool(_parts(path))


def save_checkpoint(path: str | Path, *, config: dict, phase: str, step: int, phase_step: int,
                    models: Dict[str, torch.nn.Module], optimizers: Dict[str, torch.optim.Optimizer],
                    extra: Dict[str, Any], optimizer_dtype: str = "float32", max_file_mb: float = 0) -> None:
    """optimizer_dtype: float32, bfloat16 (Adam moments halved: small enough to commit) or none
    (weights only; a resumed run restarts Adam's moments)."""
    if optimizer_dtype not in ("float32", "bfloat16", "none"):
        raise ValueError(f"optimizer_dtype must be float32, bfloat16 or none, not {optimizer_dtype!r}")
    dtype = torch.bfloat16 if optimizer_dtype == "bfloat16" else torch.float32
    obj = {
        "format": FORMAT,
        "config": config,
        "phase": phase,
        "step": step,
        "phase_step": phase_step,
        "models": {k: {n: t.detach().cpu() for n, t in m.state_dict().items()} for k, m in models.items()},
        "optimizers": {} if optimizer_dtype == "none" else
        {k: _cast_optimizer(o.state_dict(), dtype) for k, o in optimizers.items()},
        "rng": rng_state(),
        "extra": extra,
    }
    atomic_save(obj, path, max_file_mb)


def load_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if not checkpoint_exists(path):
        raise FileNotFoundError(f"{path}: checkpoint not found")
    try:
        obj = read_checkpoint_file(path)
    except Exception as err:  # a truncated or foreign file: say which one
        raise ValueError(f"{path}: not a readable checkpoint ({err})") from err
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ValueError(f"{path}: not a tintype checkpoint (format {FORMAT})")
    return obj


def restore_optimizer(opt: torch.optim.Optimizer, state: dict) -> None:
    opt.load_state_dict(_cast_optimizer(state, torch.float32))
