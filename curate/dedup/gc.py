"""Garbage collection of a MinHash step folder: what no committed batch, and no resume, reads again.

Policy (run automatically after each committed batch, and by ``curate gc OUTDIR [--dry-run]``):

* **plan folders** (``plans/<id>/``: edges, candidates, markers) of committed batches, except
  the latest one (kept for inspection, without its copies of verification payloads; nothing
  reads it); uncommitted plans whose shards a
  committed batch of the same settings already holds (superseded). An uncommitted plan over
  shards no batch holds is kept: a rerun resumes it. So is one made with other settings after
  the ledger's last commit (a rebuild in progress); one made with other settings before it was
  superseded by the batches committed since.
* **per-shard files of committed shards**: signatures, shingle sets and band keys (and their
  markers). A committed shard is never planned again; its band keys are in the folder's index,
  and verification payloads (when verification asks for them) in the index's ``sigs/`` or
  ``shingles/``. What stays per document is what the table in ``benchmarks/README_dedup.md`` lists.
* **attempt files no marker names**: other attempts of uncommitted shards' signatures and band
  keys, removal lists no pointer or kept plan names, index files no ledger entry names.

Files without an attempt id (written before attempt ids existed) are left alone.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from curate.dedup.layout import StepLayout, safe_name
from curate.dedup.ledger import Ledger, config_key, read_ledger
from curate.storage import exists, filesystem, iter_json, join, read_json

_ATTEMPT_FILE = re.compile(r"^(.+)\.([0-9a-f]{16})\.parquet$")
_MARKER_STEM = re.compile(r"\.[0-9a-f]{16}$")  # a band marker's signature attempt


@dataclass
class Collected:
    """What a collection removed (or, dry, would remove)."""

    files: int = 0
    bytes: int = 0
    plans: list[str] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)  # bytes per kind of file

    def to_dict(self) -> dict[str, Any]:
        return {"files": self.files, "bytes": self.bytes, "plans": self.plans, "bytes_by_kind": self.by_kind}


class _Sweeper:
    def __init__(self, step_root: str, dry_run: bool) -> None:
        self.fs, self.root = filesystem(step_root)
        self.dry_run = dry_run
        self.out = Collected()

    def listing(self, folder: str) -> list[tuple[str, int]]:
        path = join(self.root, folder)
        if not self.fs.exists(path):
            return []
        return [(str(p), int(info.get("size") or 0)) for p, info in self.fs.find(path, detail=True).items()]

    def remove(self, path: str, size: int, kind: str) -> None:
        self.out.files += 1
        self.out.bytes += size
        self.out.by_kind[kind] = self.out.by_kind.get(kind, 0) + size
        if not self.dry_run:
            self.fs.rm(path)

    def remove_tree(self, folder: str, kind: str) -> None:
        for path, size in self.listing(folder):
            self.remove(path, size, kind)
        if not self.dry_run and self.fs.exists(join(self.root, folder)):
            self.fs.rm(join(self.root, folder), recursive=True)


def _plans_to_remove(step: StepLayout, ledger: Ledger, plan_ids: list[str]) -> list[str]:
    committed = {b["plan"] for b in ledger.batches}
    latest = ledger.batches[-1]["plan"] if ledger.batches else None
    shards = set(ledger.shards)
    out = []
    for pid in plan_ids:
        if pid == latest:
            continue
        if pid in committed:
            out.append(pid)
            continue
        plan_file = step.plan(pid).plan_file
        if not exists(plan_file):
            continue
        recorded = read_json(plan_file)
        if not shards & set(recorded["key"]["shards"]):
            continue  # shards no batch holds: a rerun resumes it
        same_settings = config_key_of(recorded.get("config", {})) == ledger.config
        # other settings: a rebuild still to commit if made after the ledger's last commit, else one
        # the ledger's batches superseded (the ledger was started again after it, or it lost)
        if same_settings or _older(plan_file, step.ledger):
            out.append(pid)
    return out


def _older(path: str, than: str) -> bool:
    """Whether ``path`` was last written before ``than`` (False when a store gives no times)."""
    times = []
    for p in (path, than):
        fs, local = filesystem(p)
        info = fs.info(local)
        t = info.get("mtime") or info.get("LastModified") or info.get("updated")
        if t is None:
            return False
        times.append(t.timestamp() if hasattr(t, "timestamp") else float(t))
    return times[0] < times[1]


def config_key_of(config: dict[str, Any]) -> str:
    """:func:`config_key` of a config as stored in a plan file."""
    from curate.dedup.config import MinHashConfig

    try:
        return config_key(MinHashConfig(**config))
    except (TypeError, ValueError):
        return ""


def collect_step(step_root: str, dry_run: bool = False) -> Collected:
    """Remove (``dry_run``: only count) the garbage of one step folder; call it with no run writing there."""
    step = StepLayout(step_root)
    ledger = read_ledger(step_root)
    sweep = _Sweeper(step_root, dry_run)
    if ledger is None:
        return sweep.out
    committed = {safe_name(s) for s in ledger.shards}
    plan_dirs = (
        [posixpath.basename(p) for p in sweep.fs.ls(join(sweep.root, "plans"), detail=False)]
        if sweep.fs.exists(join(sweep.root, "plans"))
        else []
    )
    for pid in _plans_to_remove(step, ledger, plan_dirs):
        sweep.remove_tree(join("plans", pid), "plans")
        sweep.out.plans.append(pid)
    if ledger.batches:  # the latest committed plan stays for inspection, without its payload copies
        for path, size in sweep.listing(join("plans", ledger.batches[-1]["plan"], "verify", "fetched")):
            if path.endswith(".parquet"):
                sweep.remove(path, size, "plans")
    _sweep_shard_files(sweep, committed)
    _sweep_removals(sweep, step, [p for p in plan_dirs if p not in sweep.out.plans])
    _sweep_index(sweep, ledger)
    latest = ledger.batches[-1].get("kept_counts") if ledger.batches else None
    for info in sweep.fs.ls(sweep.root, detail=True):  # removed documents per survivor: the latest only
        name = posixpath.basename(info["name"])
        if name.startswith("kept_counts.") and name != f"kept_counts.{latest}.parquet":
            sweep.remove(info["name"], int(info.get("size") or 0), "removals")
    return sweep.out


def _markers(sweep: _Sweeper, listing: list[tuple[str, int]]) -> dict[str, dict[str, Any]]:
    """Marker file path -> content, for the ``.json`` files of a listing (temporaries left out)."""
    paths = [p for p, _ in listing if p.endswith(".json") and ".tmp-" not in posixpath.basename(p)]
    return (
        dict(zip(paths, iter_json([sweep.fs.unstrip_protocol(p) for p in paths]), strict=True))
        if paths
        else {}
    )


def _sweep_shard_files(sweep: _Sweeper, committed: set[str]) -> None:
    """Signatures, shingle sets, band keys: all of committed shards, other attempts of the rest."""
    sigs, bands, shingles = sweep.listing("sigs"), sweep.listing("bands"), sweep.listing("shingles")
    sig_markers = _markers(sweep, sigs)
    current = {posixpath.basename(p)[: -len(".json")]: m.get("attempt") for p, m in sig_markers.items()}
    for kind, listing in (("signatures", sigs), ("shingles", shingles)):
        for path, size in listing:
            name = posixpath.basename(path)
            if path in sig_markers:
                if name[: -len(".json")] in committed:
                    sweep.remove(path, size, kind)
                continue
            m = _ATTEMPT_FILE.match(name)
            if m and (m.group(1) in committed or current.get(m.group(1)) != m.group(2)):
                sweep.remove(path, size, kind)
    band_markers = _markers(sweep, bands)
    live: set[str] = set()
    for path, info in band_markers.items():
        name = posixpath.basename(path)[: -len(".json")]
        shard = _MARKER_STEM.sub("", name)
        if shard in committed or info.get("sig_attempt") != current.get(shard):
            sweep.remove(path, dict(bands).get(path, 0), "bands")
        else:
            live.add(str(info.get("attempt")))
    for path, size in bands:
        m = _ATTEMPT_FILE.match(posixpath.basename(path))
        if path not in band_markers and m and (m.group(1) in committed or m.group(2) not in live):
            sweep.remove(path, size, "bands")


def _sweep_removals(sweep: _Sweeper, step: StepLayout, kept_plans: list[str]) -> None:
    """Removal lists named neither by their shard's pointer nor by a kept plan's cluster marker."""
    listing = sweep.listing("removals")
    pointers = [(posixpath.basename(p)[: -len(".json")], p) for p, _ in listing if p.endswith(".json")]
    named = (
        {
            (s, m.get("attempt"))
            for (s, _), m in zip(
                pointers, iter_json([sweep.fs.unstrip_protocol(p) for _, p in pointers]), strict=True
            )
        }
        if pointers
        else set()
    )
    clusters = [c for c in (step.plan(p).cluster_marker for p in kept_plans) if exists(c)]
    live = {m.get("attempt") for m in iter_json(clusters)} if clusters else set()
    for path, size in listing:
        m = _ATTEMPT_FILE.match(posixpath.basename(path))
        if m and (m.group(1), m.group(2)) not in named and m.group(2) not in live:
            sweep.remove(path, size, "removals")


def _sweep_index(sweep: _Sweeper, ledger: Ledger) -> None:
    """Files of the folder's index that no ledger entry names (a rebuilt ledger, a crashed commit)."""
    named = {(b["name"], a) for b in ledger.batches for a in [b.get("attempt"), *(b.get("parts") or [])]}
    for path, size in sweep.listing("index"):
        m = _ATTEMPT_FILE.match(posixpath.basename(path))
        if m and (m.group(1), m.group(2)) not in named:
            sweep.remove(path, size, "index")


def step_roots(outdir: str) -> list[str]:
    """The MinHash step folders of an output folder (``curate run``'s or ``curate dedup``'s ``_work/<step>``)."""
    fs, root = filesystem(join(outdir.rstrip("/"), "_work"))
    if not fs.exists(root):
        return []
    out = []
    for p in sorted(fs.ls(root, detail=False)):
        if fs.isdir(p) and (fs.exists(join(str(p), "batches.json")) or fs.exists(join(str(p), "plans"))):
            out.append(join(outdir.rstrip("/"), "_work", posixpath.basename(str(p))))
    return out
