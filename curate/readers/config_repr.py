"""A config repr that leaves out options added later while they keep their default value.

Why: an output folder fingerprints ``repr(config)`` and refuses a run whose repr differs. A new
option whose default keeps the old behaviour must not change the repr, or every folder written
before it (an hourly job's) would be refused after an upgrade; once set, it shows and counts.
"""

from __future__ import annotations

import dataclasses
from typing import Any

NEW_OPTION = {"repr": "when_set"}  # field(metadata=NEW_OPTION, repr=False)


def repr_showing_set_options(config: Any) -> str:
    """The dataclass repr, plus every NEW_OPTION field whose value is not its default."""
    shown = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if f.repr or (f.metadata.get("repr") == "when_set" and value != f.default):
            shown.append(f"{f.name}={value!r}")
    return f"{type(config).__name__}({', '.join(shown)})"
