"""The unit that flows through a pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Document:
    """One web page (or text) on its way through the pipeline.

    ``html`` holds the raw page only until extraction replaces it with ``text``; blocks that
    derive costly views of the text (word splits, shingles) keep them in ``cache``, which is
    cleared whenever ``text`` is replaced through :meth:`set_text`, so filters share one split.
    """

    id: str
    text: str = ""
    url: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    html: bytes | None = None
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def set_text(self, text: str) -> None:
        """Replace the text and forget every view derived from the old one."""
        self.text = text
        self.cache.clear()
