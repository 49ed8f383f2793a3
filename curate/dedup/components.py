"""Connected components over edge arrays with numpy: no Python object per document.

Min-label hooking plus pointer jumping (Shiloach-Vishkin style): each round streams the edges
once, hooks the larger of two differing roots under the smaller (``np.minimum.at``), then
compresses every path with ``parent = parent[parent]`` until stable. ``parent[x] <= x`` always
holds, so labels only decrease and the loop ends; at the end every component's root is its
smallest node - exactly the ``first`` keep rule when nodes are numbered in global order.
Memory is one integer per node plus one chunk of edges; edges can live in memory-mapped files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

EdgeChunks = Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]


def node_dtype(n_nodes: int) -> type[np.integer]:
    """uint32 while it fits: halves the memory of the parent array and of the edges."""
    return np.uint32 if n_nodes < np.iinfo(np.uint32).max else np.int64


def compress(parent: np.ndarray) -> np.ndarray:
    """Point every node at its root (repeated pointer jumping, O(log depth) vectorised passes)."""
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            return parent
        parent = grand


def connected_components(
    n_nodes: int, edge_chunks: EdgeChunks, max_rounds: int = 1000
) -> tuple[np.ndarray, int]:
    """``(root of every node, rounds)``; ``edge_chunks()`` must yield the same edges on every call."""
    parent = np.arange(n_nodes, dtype=node_dtype(n_nodes))
    for rounds in range(1, max_rounds + 1):
        changed = False
        for u, v in edge_chunks():
            pu, pv = parent[u], parent[v]
            differ = pu != pv
            if not differ.any():
                continue
            changed = True
            pu, pv = pu[differ], pv[differ]
            np.minimum.at(parent, np.maximum(pu, pv), np.minimum(pu, pv))
        parent = compress(parent)
        if not changed:
            return parent, rounds
    raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")
