"""Memoised ``search`` for readability's class/id regexes (trafilatura's readability fork).

Why: ``Document.remove_unlikely_candidates`` runs a 20-word case-insensitive alternation on the
class and id of every element (~5% of an accelerated ``extract()``: with ``re.I`` the regex
engine cannot skip ahead), and pages repeat their class names. ``search`` is a pure function of
the string, so answering a repeated string from a memo returns an equal match. Only these calls
use it, and only inside :func:`~.install.accelerated`; outside, the stand-in calls the pattern.
"""

from __future__ import annotations

import re
from typing import Any

# the regexes whose subjects are short, repeated class/id strings (divToPElementsRe's subjects are
# serialised subtrees: unique, long, not worth keeping)
MEMOISED = ("unlikelyCandidatesRe", "okMaybeItsACandidateRe", "positiveRe", "negativeRe")
MEMO_LIMIT = 1 << 16  # entries per regex before the memo starts over (bounded memory)
MEMO_MAX_LEN = 256  # longer subjects (rare, possibly huge on hostile pages) are searched, not kept
_MISSING = object()


class MemoSearch:
    """Stands in for a compiled pattern; ``search(string)`` memoised while ``active()`` says so."""

    __slots__ = ("pattern", "active", "memo")

    def __init__(self, pattern: re.Pattern, active: Any) -> None:
        self.pattern = pattern
        self.active = active
        self.memo: dict[str, re.Match | None] = {}

    def search(self, string: str, *args: Any, **kwargs: Any) -> re.Match | None:
        if args or kwargs or len(string) > MEMO_MAX_LEN or not self.active():
            return self.pattern.search(string, *args, **kwargs)
        found = self.memo.get(string, _MISSING)
        if found is _MISSING:
            found = self.pattern.search(string)
            if len(self.memo) >= MEMO_LIMIT:
                self.memo.clear()
            self.memo[string] = found
        return found  # type: ignore[return-value]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pattern, name)

    def __repr__(self) -> str:
        return repr(self.pattern)
