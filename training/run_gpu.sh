#!/usr/bin/env bash
# One GPU session's training, launched through the device tool from the repository root:
#   bash training/run_gpu.sh MODEL MINUTES [--set key=value ...]
# MODEL names training/configs/MODEL.json (restore, colorize, colorize-mnv2, repair, inpaint). It needs the config's
# pack carried along (carry: ["training/data/pack"]; colorize-mnv2: training/data/pack-extra and
# training/data/weights), resumes from training/checkpoints/MODEL/ when that holds a checkpoint, trains for MINUTES, exports to check the graph, and leaves in $OUT (at most 8 files
# of <= 16 MiB come back): latest.pt (or latest.pt.partNNN), best_gen.pt, run.tar.gz (logs, curve,
# manifest, parity fixture). docs/training.md says what to do with them.
set -euo pipefail
model="${1:?usage: run_gpu.sh restore|colorize MINUTES [--set k=v ...]}"
minutes="${2:-9}"
shift $(( $# >= 2 ? 2 : $# ))
cd "$(dirname "$0")/.."
out="${OUT:-training/runs/out-$model}"
mkdir -p "$out"
# On the GPU machine the plain python3 is the one with PyTorch (/usr/bin/python3 may lack it).
if [ -z "${TINTYPE_PYTHON:-}" ]; then
  for py in "$(command -v python3)" /usr/bin/python3; do
    if [ -n "$py" ] && "$py" -c 'import torch' 2>/dev/null; then TINTYPE_PYTHON="$py"; break; fi
  done
fi
[ -n "${TINTYPE_PYTHON:-}" ] || { echo "no python3 with torch found (set TINTYPE_PYTHON)" >&2; exit 2; }
export TINTYPE_PYTHON
export PYTHONUNBUFFERED=1
run="training/runs/$model"
mkdir -p "$run"
log="$run/train_log.txt"

pack="$("$TINTYPE_PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1])).get("data", {}).get("pack", "training/data/pack"))' "training/configs/$model.json")"
[ -f "$pack/manifest.json" ] || { echo "no training pack: build $pack with 'training/tintype-train pack' (see docs/training.md) and carry it" >&2; exit 2; }
# Pretrained weights (colorize-mnv2): only the repository travels, so they are carried in
# training/data/weights (copied there from ../shared/weights on the CPU machine).
if grep -q '"training/data/weights/' "training/configs/$model.json" && [ ! -d training/data/weights ]; then
  echo "config $model needs training/data/weights (see docs/training.md) carried along" >&2; exit 2
fi
if compgen -G "training/checkpoints/$model/latest.pt*" >/dev/null; then
  cp training/checkpoints/"$model"/latest.pt* training/checkpoints/"$model"/best_gen.pt* "$run"/ 2>/dev/null || true
  echo "resuming from training/checkpoints/$model" | tee -a "$log"
fi
{ nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true; "$TINTYPE_PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'; } | tee -a "$log"

set +e
training/tintype-train train --config "training/configs/$model.json" --run-dir "$run" --minutes "$minutes" "$@" 2>&1 | tee -a "$log"
status=${PIPESTATUS[0]}
set -e

# Export on the GPU machine too: it proves the graph exports under PyTorch 2.x (the bundled model is
# exported again on the CPU machine from best_gen.pt, where onnxruntime-node checks parity).
if compgen -G "$run/best_gen.pt*" >/dev/null; then
  training/tintype-train export --checkpoint "$run/best_gen.pt" --out "$run/export" --id "tintype-$model" \
    --name "Tintype $model" 2>&1 | tee -a "$log" || echo "export failed" | tee -a "$log"
  if [ -f "$run/export/model.onnx" ] && "$TINTYPE_PYTHON" -c 'import onnxruntime' 2>/dev/null; then
    "$TINTYPE_PYTHON" - "$run/export" <<'PY' 2>&1 | tee -a "$log"
import json, sys, numpy as np, onnxruntime as ort
d = sys.argv[1]
p = json.load(open(f"{d}/parity/parity.json"))
m = json.load(open(f"{d}/manifest.json"))
feeds = {t["name"]: np.fromfile(f"{d}/parity/{t['file']}", "<f4").reshape(t["shape"]) for t in p.get("inputs", [p["input"]])}
y = np.fromfile(f"{d}/parity/output.f32", "<f4").reshape(p["output"]["shape"])
got = ort.InferenceSession(f"{d}/{m['file']}", providers=["CPUExecutionProvider"]).run(None, feeds)[0]
print("parity (python onnxruntime):", float(np.abs(got - y).max()))
PY
  fi
fi

cp "$run"/latest.pt* "$out"/ 2>/dev/null || true
cp "$run"/best_gen.pt* "$out"/ 2>/dev/null || true
tar -czf "$out/run.tar.gz" -C "$run" $(cd "$run" && ls -d train_log.txt metrics.csv metrics.json export/manifest.json export/parity 2>/dev/null)
ls -la "$out"
exit "$status"
