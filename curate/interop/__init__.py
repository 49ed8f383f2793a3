"""Bridges to other data-processing libraries: run their steps as curate blocks."""

from curate.interop.datatrove import DatatroveStep

__all__ = ["DatatroveStep"]
