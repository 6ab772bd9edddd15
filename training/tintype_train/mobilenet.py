"""MobileNetV2 1.0 (ImageNet) as a PyTorch encoder, with its weights read from Coral's TFLite file.

The file (../shared/weights/coral-mobilenet-v2/tf2_mobilenet_v2_1.0_224_ptq.tflite, Apache-2.0)
holds int8 weights quantised per output channel with batch norm already folded into each
convolution, and int32 biases. Dequantised (q * scale; zero points are 0), every convolution is a
plain conv + bias. TFLite's conventions differ from PyTorch's and are converted here:
- tensors are NHWC; conv kernels OHWI, depthwise kernels [1, H, W, C];
- SAME padding with stride 2 pads one pixel on the right and bottom only (even inputs);
- activations are fused into the op (RELU6 on expand/depthwise, none on the projection);
- the uint8 input is quantised with scale 1/127.5 and zero point 127: the network sees RGB in
  [-1, 1].
The reader needs only Debian's python3-flatbuffers (no TensorFlow); the schema's field numbers
used below are those of tensorflow/lite/schema/schema.fbs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# Builtin operator codes (schema.fbs BuiltinOperator).
_CONV, _DEPTHWISE, _ADD, _MEAN = 3, 4, 0, 40
_RELU6 = 3  # ActivationFunctionType
_SAME = 0  # Padding
# TensorType -> numpy dtype for the ones this file uses.
_DTYPES = {0: np.float32, 2: np.int32, 3: np.uint8, 9: np.int8}

# (expansion t, channels c, repeats n, first stride s): the MobileNetV2 paper's table 2.
SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
# Channels of the features the decoder taps at strides 2, 4, 8, 16 and 32 (before the 1x1 to 1280).
TAP_CHANNELS = (16, 24, 32, 96, 320)
HEAD_CHANNELS = 1280


@dataclass
class TfliteConv:
    depthwise: bool
    weight: np.ndarray  # PyTorch layout (O, I/groups, kh, kw), float32, dequantised
    bias: np.ndarray
    stride: int
    same: bool
    relu6: bool


def read_tflite_convs(path: str | Path) -> tuple[List[TfliteConv], dict]:
    """The CONV_2D and DEPTHWISE_CONV_2D ops of a TFLite model in graph order, dequantised,
    plus the input tensor's quantisation {'scale', 'zero_point'}."""
    try:
        from flatbuffers import encode
        from flatbuffers import number_types as N
        from flatbuffers.table import Table
    except ImportError as err:  # pragma: no cover - depends on the machine
        raise RuntimeError("reading TFLite needs the flatbuffers module (Debian: python3-flatbuffers)") from err
    path = Path(path)
    try:
        buf = bytearray(path.read_bytes())
    except OSError as err:
        raise ValueError(f"{path}: cannot read TFLite model ({err})") from err
    if buf[4:8] != b"TFL3":
        raise ValueError(f"{path}: not a TFLite flatbuffer (no TFL3 identifier)")

    def off(t: Table, i: int) -> int:
        return t.Offset(4 + 2 * i)

    def tables(t: Table, i: int) -> list:
        o = off(t, i)
        if not o:
            return []
        start = t.Vector(o)
        return [Table(t.Bytes, t.Indirect(start + 4 * k)) for k in range(t.VectorLen(o))]

    def array(t: Table, i: int, flags) -> Optional[np.ndarray]:
        o = off(t, i)
        return t.GetVectorAsNumpy(flags, o) if o else None

    def scalar(t: Table, i: int, flags, default=0):
        o = off(t, i)
        return t.Get(flags, o + t.Pos) if o else default

    def sub(t: Table, i: int) -> Optional[Table]:
        o = off(t, i)
        return Table(t.Bytes, t.Indirect(o + t.Pos)) if o else None

    model = Table(buf, encode.Get(N.UOffsetTFlags.packer_type, buf, 0))
    codes = [max(scalar(c, 0, N.Int8Flags), scalar(c, 3, N.Int32Flags)) for c in tables(model, 1)]
    graph = tables(model, 2)[0]
    tensors = tables(graph, 0)
    buffers = tables(model, 4)

    def tensor(idx: int) -> tuple[np.ndarray, Optional[np.ndarray]]:
        t = tensors[idx]
        shape = [int(v) for v in array(t, 0, N.Int32Flags)]
        dtype = _DTYPES[scalar(t, 1, N.Int8Flags)]
        raw = array(buffers[scalar(t, 2, N.Uint32Flags)], 0, N.Uint8Flags)
        if raw is None:
            raise ValueError(f"{path}: tensor {idx} has no data")
        data = np.frombuffer(raw.tobytes(), dtype=dtype).reshape(shape)
        q = sub(t, 4)
        scale = None if q is None else array(q, 2, N.Float32Flags)
        if q is not None and scale is not None:
            zp = array(q, 3, N.Int64Flags)
            axis = scalar(q, 6, N.Int32Flags)
            bshape = [1] * len(shape)
            bshape[axis] = -1
            zp_b = 0 if zp is None else zp.reshape(bshape) if zp.size > 1 else zp[0]
            data = (data.astype(np.float64) - zp_b) * scale.reshape(bshape).astype(np.float64)
        return data.astype(np.float32), scale

    convs: List[TfliteConv] = []
    for op in tables(graph, 3):
        code = codes[scalar(op, 0, N.Uint32Flags)]
        if code not in (_CONV, _DEPTHWISE):
            continue
        ins = array(op, 1, N.Int32Flags)
        w, _ = tensor(int(ins[1]))
        b, _ = tensor(int(ins[2]))
        opts = sub(op, 4)
        padding = scalar(opts, 0, N.Int8Flags)
        stride = scalar(opts, 1, N.Int32Flags, 1)
        act = scalar(opts, 4 if code == _DEPTHWISE else 3, N.Int8Flags)
        if code == _DEPTHWISE:
            weight = np.ascontiguousarray(w[0].transpose(2, 0, 1)[:, None])  # [1,H,W,C] -> (C,1,H,W)
        else:
            weight = np.ascontiguousarray(w.transpose(0, 3, 1, 2))  # OHWI -> OIHW
        convs.append(TfliteConv(code == _DEPTHWISE, weight, b, int(stride), padding == _SAME, act == _RELU6))
    inp = sub(tensors[int(array(graph, 1, N.Int32Flags)[0])], 4)
    quant = {"scale": float(array(inp, 2, N.Float32Flags)[0]), "zero_point": int(array(inp, 3, N.Int64Flags)[0])}
    return convs, quant


class ConvAct(nn.Module):
    """Conv with TFLite's SAME padding (stride 2: right/bottom only) and optional ReLU6."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, relu6: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=0 if stride == 2 else k // 2, groups=groups)
        self.stride, self.k, self.relu6 = stride, k, relu6

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 2 and self.k > 1:
            # For even sizes TF's SAME pads (k-2)//2 before and k//2 after (k=3: 0 and 1).
            x = F.pad(x, ((self.k - 2) // 2, self.k // 2, (self.k - 2) // 2, self.k // 2))
        x = self.conv(x)
        return F.relu6(x) if self.relu6 else x


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, t: int):
        super().__init__()
        hidden = cin * t
        layers = [] if t == 1 else [ConvAct(cin, hidden, 1)]
        layers += [ConvAct(hidden, hidden, 3, stride, groups=hidden), ConvAct(hidden, cout, 1, relu6=False)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class MobileNetV2(nn.Module):
    """MobileNetV2 1.0. features() returns the last map of each stride (2, 4, 8, 16, 32) and the
    1x1-conv head (1280 channels at stride 32); classify() adds pooling and the 1001-way logits."""

    def __init__(self, classifier: bool = False):
        super().__init__()
        blocks: List[nn.Module] = [ConvAct(3, 32, 3, 2)]
        c = 32
        self.taps: List[int] = []  # index in `blocks` after which a stride ends
        for t, cout, n, s in SETTINGS:
            for i in range(n):
                blocks.append(InvertedResidual(c, cout, s if i == 0 else 1, t))
                c = cout
        self.blocks = nn.ModuleList(blocks)
        # Where each output stride's last block sits: after blocks 1, 3, 6, 13 and 17.
        self.tap_index = (1, 3, 6, 13, 17)
        self.head = ConvAct(320, HEAD_CHANNELS, 1)
        self.classifier = nn.Conv2d(HEAD_CHANNELS, 1001, 1) if classifier else None

    @staticmethod
    def normalise(rgb01: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 1] -> the [-1, 1] the network was trained on (the TFLite input's quantisation)."""
        return rgb01 * 2.0 - 1.0

    def features(self, x: torch.Tensor) -> List[torch.Tensor]:
        """x: normalised RGB (B,3,H,W), H and W multiples of 32 -> [s2, s4, s8, s16, s32]."""
        out = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.tap_index:
                out.append(x)
        return out

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        if self.classifier is None:
            raise RuntimeError("MobileNetV2 was built without its classifier")
        h = self.head(self.features(x)[-1]).mean((2, 3), keepdim=True)
        return torch.flatten(self.classifier(h), 1)

    def conv_layers(self) -> List[nn.Conv2d]:
        convs = [m.conv for m in self.modules() if isinstance(m, ConvAct)]
        return convs + ([self.classifier] if self.classifier is not None else [])


def load_coral_mobilenet_v2(model: MobileNetV2, path: str | Path) -> dict:
    """Fills `model` (in graph order) from the TFLite file; checks every shape, stride and
    activation against the file. Returns the input quantisation."""
    convs, quant = read_tflite_convs(path)
    layers = [m for m in model.modules() if isinstance(m, ConvAct)]
    want = len(layers) + (1 if model.classifier is not None else 0)
    if len(convs) < want:
        raise ValueError(f"{path}: {len(convs)} convolutions, MobileNetV2 needs {want}")
    for i, layer in enumerate(layers):
        src = convs[i]
        conv = layer.conv
        if tuple(src.weight.shape) != tuple(conv.weight.shape) or src.stride != layer.stride \
                or src.relu6 != layer.relu6 or src.depthwise != (conv.groups > 1) or not src.same:
            raise ValueError(f"{path}: convolution {i} is {src.weight.shape} stride {src.stride} "
                             f"relu6 {src.relu6}; expected {tuple(conv.weight.shape)} stride {layer.stride}")
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(src.weight))
            conv.bias.copy_(torch.from_numpy(src.bias))
    if model.classifier is not None:
        src = convs[len(layers)]
        if tuple(src.weight.shape) != tuple(model.classifier.weight.shape):
            raise ValueError(f"{path}: classifier is {src.weight.shape}")
        with torch.no_grad():
            model.classifier.weight.copy_(torch.from_numpy(src.weight))
            model.classifier.bias.copy_(torch.from_numpy(src.bias))
    return quant


class Int8Conv2d(nn.Module):
    """A Conv2d whose weight is stored as int8 with one float scale per output channel and
    dequantised in the graph (Cast * scale; ONNX Runtime folds it once at load). The encoder's
    weights came from int8 per-channel data, so a frozen encoder round-trips exactly and the ONNX
    file keeps its 2.2 M encoder weights in a quarter of the space."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        w = conv.weight.detach().float()
        scale = w.abs().flatten(1).amax(1).clamp_min(1e-12) / 127.0
        q = torch.round(w / scale.view(-1, 1, 1, 1)).clamp(-127, 127).to(torch.int8)
        self.register_buffer("q", q)
        self.register_buffer("scale", scale.view(-1, 1, 1, 1).contiguous())
        self.bias = None if conv.bias is None else nn.Parameter(conv.bias.detach().clone(), requires_grad=False)
        self.stride, self.padding, self.dilation, self.groups = conv.stride, conv.padding, conv.dilation, conv.groups
        self.max_error = float((q.float() * self.scale - w).abs().max())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.q.float() * self.scale, self.bias, self.stride, self.padding, self.dilation, self.groups)


def int8_weights(encoder: MobileNetV2) -> float:
    """Replaces the encoder's convolutions by Int8Conv2d in place; returns the largest weight error."""
    worst = 0.0
    for layer in [m for m in encoder.modules() if isinstance(m, ConvAct)]:
        layer.conv = Int8Conv2d(layer.conv)
        worst = max(worst, layer.conv.max_error)
    return worst
