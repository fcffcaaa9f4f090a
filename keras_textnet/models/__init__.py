"""Backbones, presets and the TextNet model."""
