"""Shared fixtures: the real data in ../shared/data (tests skip, with the reason, when it is absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no hub downloads in tests: every model is a local file
# tests build WARCs and run `curate run` on them at once: a just-written file is finished here
# (tests of the settle policy itself pass --settle-seconds / InputConfig explicitly)
os.environ.setdefault("CURATE_SETTLE_SECONDS", "0")


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real test data not found at {path} (../shared/data beside the repository)")
    return path


@pytest.fixture(scope="session")
def warc_dir() -> Path:
    return shared_path("warc")


@pytest.fixture(scope="session")
def gpt2_tokenizer() -> Path:
    return shared_path("tokenizers", "gpt2.json")


@pytest.fixture(scope="session")
def wcxb_pages() -> Path:
    return shared_path("pages", "wcxb-dev.parquet")
