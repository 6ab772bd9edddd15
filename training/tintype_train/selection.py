"""The validation curve and the automatic choice of checkpoint.

DeOldify's authors picked the generator "just before the inflection point" of the GAN phase by
eye; here the curve of a validation score is kept (CSV + JSON) and the best point is chosen."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Iterable, List, Optional, Sequence


def write_curve(rows: Sequence[dict], run_dir: str | Path) -> None:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    keys: List[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    for name, write in (("metrics.json", _write_json), ("metrics.csv", _write_csv)):
        tmp = run_dir / f".{name}.tmp"
        with open(tmp, "w", newline="") as f:
            write(f, rows, keys)
        os.replace(tmp, run_dir / name)


def _write_json(f, rows, _keys):
    json.dump(list(rows), f, indent=1)
    f.write("\n")


def _write_csv(f, rows, keys):
    w = csv.DictWriter(f, fieldnames=keys)
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in keys})


def read_curve(run_dir: str | Path) -> List[dict]:
    path = Path(run_dir) / "metrics.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no metric curve")
    return json.loads(path.read_text())


def smooth(values: Sequence[float], window: int) -> List[float]:
    """Trailing moving average, so a point is judged only by what was known when it was saved."""
    out = []
    for i in range(len(values)):
        chunk = values[max(0, i - window + 1): i + 1]
        out.append(sum(chunk) / len(chunk))
    return out


def select_best(rows: Sequence[dict], key: str = "score", window: int = 1, phases: Optional[Iterable[str]] = None,
                higher_is_better: bool = True) -> Optional[dict]:
    """The row with the best (optionally smoothed) score; earliest on ties. None if no row qualifies."""
    allowed = set(phases) if phases is not None else None
    cand = [r for r in rows if key in r and r[key] is not None and (allowed is None or r.get("phase") in allowed)]
    if not cand:
        return None
    vals = smooth([float(r[key]) for r in cand], max(1, window))
    best_i = 0
    for i, v in enumerate(vals):
        if (v > vals[best_i]) if higher_is_better else (v < vals[best_i]):
            best_i = i
    return cand[best_i]
