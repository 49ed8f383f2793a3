"""``keep: datatrove``: the survivor datatrove's ``MinhashDedupCluster`` picks, document for document.

datatrove does not keep the earliest document of a cluster. Its bucket stage walks each band's
signatures in sorted order (band values, then file, then position) and emits ``(previous,
current)`` for every two consecutive equal ones; its cluster stage unions those pairs, bucket
after bucket, *by size* (the root of the larger set wins; on a tie the previous document's root),
and keeps each set's final root. The survivor therefore depends on the order of the unions, which
is rebuilt here from the members' signatures: same pairs, same order, same union rule.

Costs a Python loop over the pairs (as datatrove's cluster stage does), so it is meant for
FineWeb-faithful runs; ``first`` stays the fast vectorised rule.
"""

from __future__ import annotations

import numpy as np

from curate.dedup.plan import Plan
from curate.dedup.signatures import read_signatures


def member_signatures(plan: Plan, members: np.ndarray) -> np.ndarray:
    """Signatures ``(len(members), num_hashes)`` of batch documents given by (sorted) global number."""
    out = np.empty((members.size, plan.config.num_hashes), dtype=np.uint64)
    shard = plan.shard_of(members)
    for s in np.unique(shard).tolist():
        at = np.flatnonzero(shard == s)
        sigs, _ = read_signatures(plan.sig_file(s))
        out[at] = sigs[members[at] - plan.shard_offsets[s]]
    return out


def datatrove_pairs(sigs: np.ndarray, bands: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)`` row indices of datatrove's bucket-stage pairs, in the order its cluster stage reads them."""
    us, vs = [], []
    position = np.arange(sigs.shape[0])
    for band in range(bands):
        vals = sigs[:, band * rows : (band + 1) * rows]
        # lexsort: last key first; rows are in global order, so ``position`` breaks ties as datatrove does
        order = np.lexsort((position, *(vals[:, r] for r in range(rows - 1, -1, -1))))
        v = vals[order]
        equal = (v[1:] == v[:-1]).all(axis=1)
        us.append(order[:-1][equal])
        vs.append(order[1:][equal])
    return np.concatenate(us), np.concatenate(vs)


def union_by_size_roots(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Final root of each of ``n`` nodes after datatrove's ``union(a[i], b[i])`` in order."""
    parent = list(range(n))
    size = [1] * n

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        ra, rb = find(x), find(y)
        if ra == rb:
            continue
        if size[ra] < size[rb]:
            ra, rb = rb, ra
        parent[rb] = ra
        size[ra] += size[rb]
    return np.fromiter((find(x) for x in range(n)), dtype=np.int64, count=n)


def datatrove_keepers(plan: Plan, members: np.ndarray) -> np.ndarray:
    """The survivor (global number) of each member's cluster under datatrove's rule."""
    if members.size == 0:
        return members.astype(np.int64)
    sigs = member_signatures(plan, members)
    a, b = datatrove_pairs(sigs, plan.config.bands, plan.config.rows)
    return members[union_by_size_roots(members.size, a, b)].astype(np.int64)
