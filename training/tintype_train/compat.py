"""Differences between PyTorch 1.13 (Debian, CI) and 2.x (GPU machine) kept in one place."""

from __future__ import annotations

import inspect

import torch
import torch.nn as nn


def spectral_norm(module: nn.Module) -> nn.Module:
    # The hook-based version exists in 1.13 and 2.x alike and can be removed before export;
    # the parametrization variant would change state-dict keys between versions.
    return nn.utils.spectral_norm(module)


def strip_spectral_norm(model: nn.Module) -> nn.Module:
    """Folds spectral normalization into plain weights so the exported graph has no power iteration."""
    for module in model.modules():
        for hook in list(module._forward_pre_hooks.values()):
            if type(hook).__name__ == "SpectralNorm":
                nn.utils.remove_spectral_norm(module)
                break
    return model


def onnx_export_kwargs() -> dict:
    # PyTorch >= 2.9 defaults to the dynamo exporter, whose dynamic-shape handling differs;
    # the TorchScript exporter behaves the same on 1.13 and 2.x.
    params = inspect.signature(torch.onnx.export).parameters
    return {"dynamo": False} if "dynamo" in params else {}


def load_torch(path, map_location="cpu"):
    # 2.6 made weights_only=True the default; our checkpoints hold numpy RNG state and dicts.
    params = inspect.signature(torch.load).parameters
    if "weights_only" in params:
        return torch.load(path, map_location=map_location, weights_only=False)
    return torch.load(path, map_location=map_location)
