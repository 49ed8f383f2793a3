"""The plan of one global run: which shards, in which order, numbered how, against which index.

Documents get one global number each: earlier index runs first, then the shards in the order the
pipeline lists them, each shard's documents in stream order. "Earlier" is "smaller number", so
the ``first`` keep rule and "earlier runs always win" are both just "keep the minimum".
The plan is small and picklable: it is the only thing tasks receive besides their own key.
"""

from __future__ import annotations

import hashlib
import json
import math
import posixpath
import uuid
from dataclasses import asdict, dataclass

import numpy as np

from curate.dedup.config import MinHashConfig
from curate.dedup.index_manifest import IndexRun, index_snapshot
from curate.dedup.layout import PlanLayout, StepLayout
from curate.dedup.ledger import Ledger
from curate.storage import exists, file_names, iter_json, read_json, write_json


@dataclass(frozen=True)
class Plan:
    step_root: str
    plan_id: str
    config: MinHashConfig
    shard_ids: tuple[str, ...]
    shard_docs: tuple[int, ...]
    shard_offsets: tuple[int, ...]  # global number of each shard's first document
    n_short: int  # documents too short for one shingle: numbered, never banded
    n_index: int  # documents of earlier index runs, numbered [0, n_index)
    index_runs: tuple[IndexRun, ...]
    index_dir: str | None
    run_name: str
    bits: int  # band keys are partitioned by their top ``bits`` bits
    n_final: int = 0  # documents numbered below are final (index runs, shards already written): they win
    written: int = 0  # the first ``written`` shards are already output: their removal lists are settled
    base_plan: str | None = None  # the plan whose removal lists those shards were written with
    sig_attempts: tuple[str | None, ...] = ()  # the attempt each shard's signature marker names
    sig_digests: tuple[str | None, ...] = ()  # the digest each shard's signature marker records
    n_external: int = 0  # documents of the shared index (``index_dir``): numbered before the folder's own
    # set by the driver once a stage is committed (empty before): the attempt each task's marker names
    band_attempts: tuple[str | None, ...] = ()
    pair_attempts: tuple[str | None, ...] = ()

    def band_attempt(self, shard: int) -> str | None:
        return self.band_attempts[shard] if self.band_attempts else None

    def pair_attempt(self, part: int) -> str | None:
        return self.pair_attempts[part] if self.pair_attempts else None

    def sig_file(self, shard: int) -> str:
        """The committed signature file of shard ``shard`` (the one its marker named at plan time)."""
        return self.payload_file(shard, "sig")

    def payload_file(self, shard: int, column: str) -> str:
        attempt = self.sig_attempts[shard] if self.sig_attempts else None
        return self.step.payloads(self.shard_ids[shard], column, attempt)

    @property
    def partitions(self) -> int:
        return 1 << self.bits

    @property
    def n_total(self) -> int:
        return self.n_index + sum(self.shard_docs)

    @property
    def verify(self) -> bool:
        return self.config.verify_threshold is not None

    @property
    def source_offsets(self) -> np.ndarray:
        """First global number of each signature source: index runs, then shards (ascending)."""
        return np.array([r.offset for r in self.index_runs] + list(self.shard_offsets), dtype=np.int64)

    @property
    def n_sources(self) -> int:
        return len(self.index_runs) + len(self.shard_ids)

    def source_of(self, docs: np.ndarray) -> np.ndarray:
        """Signature source (index run ``k`` or shard ``k - len(index_runs)``) of global numbers."""
        return np.searchsorted(self.source_offsets, docs, side="right") - 1

    def shard_of(self, docs: np.ndarray) -> np.ndarray:
        """Shard of batch documents given by global number."""
        return np.searchsorted(np.asarray(self.shard_offsets, dtype=np.int64), docs, side="right") - 1

    @property
    def step(self) -> StepLayout:
        return StepLayout(self.step_root)

    @property
    def layout(self) -> PlanLayout:
        return self.step.plan(self.plan_id)


def _run_name(step: StepLayout) -> str:
    """This workdir's name in the index; created once, so a resumed run recognises its own entry."""
    if exists(step.run_file):
        return read_json(step.run_file)["run_name"]
    name = f"run-{uuid.uuid4().hex[:12]}"
    write_json(step.run_file, {"run_name": name})
    return name


def _bits(config: MinHashConfig, records: int) -> int:
    if config.partitions is not None:
        return int(math.log2(config.partitions))
    return max(0, math.ceil(math.log2(max(1, math.ceil(records / config.records_per_partition)))))


def make_plan(
    step_root: str,
    shard_ids: list[str],
    config: MinHashConfig,
    index_dir: str | None,
    written: int = 0,
    ledger: Ledger | None = None,
) -> Plan:
    """Read the shards' signature markers and the index manifest; write (or reuse) the plan.

    ``shard_ids`` is the batch: the shards after ``ledger``'s committed ones, which are index
    runs of this plan (numbered after the shared index's runs, before the batch).
    """
    step = StepLayout(step_root)
    if len(set(shard_ids)) != len(shard_ids):
        raise ValueError("shard ids must be unique")
    docs, digests, short, sig_attempts = [], [], 0, []
    fingerprint = config.signature_fingerprint()
    committed = file_names(step.sig_markers)  # one listing, not one check per shard
    for sid in shard_ids:
        if posixpath.basename(step.sig_marker(sid)) not in committed:
            raise FileNotFoundError(f"no committed MinHash signatures for shard {sid!r} ({step.sig(sid)})")
    for sid, info in zip(shard_ids, iter_json([step.sig_marker(sid) for sid in shard_ids]), strict=True):
        if info["fingerprint"] != fingerprint:
            raise ValueError(
                f"signatures of shard {sid!r} were made with other settings (n_grams/hashes/seed); "
                "delete them to recompute"
            )
        if config.stores_shingles and "shingles" not in info:
            raise ValueError(
                f"signatures of shard {sid!r} were made without shingle sets, which "
                "verify_method='exact' needs; delete them to recompute, or use verify_method='estimate'"
            )
        docs.append(int(info["n_docs"]))
        digests.append(info.get("digest"))
        sig_attempts.append(info.get("attempt"))
        short += int(info["n_short"])
    workdir_run = _run_name(step)
    # the shared index's entries of this workdir are its own batches, which the folder's own index
    # (the ledger's runs, every document) already holds: they are left out of the snapshot
    runs, n_external = index_snapshot(index_dir, config, workdir_run) if index_dir else ((), 0)
    if ledger is not None and ledger.batches:
        runs = runs + ledger.local_runs(step, n_external)
    n_index = n_external + (ledger.n_docs if ledger is not None else 0)
    records = (sum(docs) - short + n_index) * config.bands
    bits = _bits(config, records)
    offsets, at = [], n_index
    for n in docs:
        offsets.append(at)
        at += n
    fields = {
        "band": config.band_fingerprint(),
        "keep": config.keep,
        "shards": shard_ids,
        "docs": docs,
        "digests": digests,
        "index": [asdict(r) for r in runs],
        "index_dir": index_dir,
        "bits": bits,
    }
    if config.verify_threshold is not None:  # only then: unverified plans keep their ids
        fields["verify_threshold"] = config.verify_threshold
        fields["verify_method"] = config.verify_method
        fields["verify_layout"] = 2  # fetched files per target shard, routed by the fetch markers
    if written:  # written shards' decisions are settled (under either keep rule)
        fields["written"] = written
    if config.removal_rule != "components":  # only then: FineWeb-rule plans keep their ids
        fields["removal"] = config.removal_rule
    key = json.dumps(fields)
    plan_id = hashlib.sha1(key.encode()).hexdigest()[:12]
    # named by plan, not only by workdir: a rerun with other settings adds a new entry (superseding
    # this workdir's earlier ones at commit) instead of rewriting a committed entry's files in place
    run_name = f"{workdir_run}.{plan_id}"
    layout = step.plan(plan_id)
    recorded = read_json(layout.plan_file) if exists(layout.plan_file) else {}
    base = recorded["base"] if "base" in recorded else _base_plan(step, written)
    plan = Plan(
        step_root=step_root,
        plan_id=plan_id,
        config=config,
        shard_ids=tuple(shard_ids),
        shard_docs=tuple(docs),
        shard_offsets=tuple(offsets),
        n_short=short,
        n_index=n_index,
        index_runs=runs,
        index_dir=index_dir,
        run_name=run_name,
        bits=bits,
        n_final=n_index + sum(docs[:written]),
        written=written,
        base_plan=base,
        sig_attempts=tuple(sig_attempts),
        sig_digests=tuple(digests),
        n_external=n_external,
    )
    if not recorded:
        write_json(
            layout.plan_file,
            {"key": json.loads(key), "config": config.to_dict(), "run": run_name, "base": base},
        )
    return plan


def _base_plan(step: StepLayout, written: int) -> str | None:
    """The plan the written shards were output with: the one ``current`` names when this plan is first made.

    Recorded in the plan file, so a resumed plan keeps its base even after its own cluster stage
    moved ``current`` to itself.
    """
    if not written:
        return None
    if not exists(step.current):
        raise FileNotFoundError(
            f"{written} shard(s) are already written but {step.current} is missing: "
            "their removal lists (what was removed from them) are unknown"
        )
    return read_json(step.current)["plan_id"]
