"""Inference with numpy + onnxruntime only (no torch)."""
