"""Tintype's training toolkit: crappifiers, a self-attention U-Net, NoGAN training, ONNX export.

Runs on PyTorch 2.x (GPU) and on Debian's python3-torch 1.13 (CPU, CI smoke test).
"""

__version__ = "0.1.0"
