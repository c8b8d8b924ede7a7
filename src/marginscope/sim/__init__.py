"""Synthetic trader behaviour and test signals (every output is labelled synthetic)."""
