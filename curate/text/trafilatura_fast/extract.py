"""``fast_extract``: ``trafilatura.extract`` with the accelerator, same arguments, same result."""

from __future__ import annotations

from typing import Any

from curate.text.trafilatura_fast.install import accelerated


def fast_extract(filecontent: Any, *args: Any, **kwargs: Any) -> str | None:
    """``trafilatura.extract(filecontent, *args, **kwargs)``, accelerated for this call only."""
    from trafilatura import extract

    with accelerated():
        return extract(filecontent, *args, **kwargs)
