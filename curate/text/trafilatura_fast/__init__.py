"""trafilatura, faster, same bytes: its XPath lists compiled to Python passes.

``fast_extract(html, **kwargs)`` is ``trafilatura.extract(html, **kwargs)`` with the accelerator on
for that call only; ``accelerated()`` does the same for any trafilatura call inside a ``with``
block. See benchmarks/README_extract.md for the design, the measurements and the guarantees.
"""

from curate.text.trafilatura_fast.extract import fast_extract
from curate.text.trafilatura_fast.install import CHECK, FAST, Mismatch, accelerated, plan

__all__ = ["CHECK", "FAST", "Mismatch", "accelerated", "fast_extract", "plan"]
