"""URL filter, FineWeb's first step: datatrove's ``URLFilter`` rules on ``doc.url``, run before
extraction. Drops a page when its registered domain or full host is on the UT1 blocklist, its URL
is on the UT1 URL list, a URL token is a banned word, two or more tokens are "soft" banned
words, or the normalised URL contains a banned subword.

The lists are read from the installed ``datatrove`` wheel (never copied into this repository).
datatrove holds the 4.5 M domains as a Python set (624 MB more RSS per worker, measured); we keep
sorted 64-bit hashes in a cache file built once per machine (``ensure_cache``: one builder under a
file lock, atomic rename) that every worker memory-maps (36 MB on disk, shared through the page
cache; 44 MB more RSS per worker, 9 MB of it private; a false match needs a 64-bit hash
collision, about 1 in 4e12 per lookup).

Two deliberate fixes over datatrove (each can be switched off in ``URLFilterConfig``):
* URL tokens are lowercased before the word rules (datatrove lets ``/PORN-videos`` through);
* UT1 list URLs carry no scheme, so a page URL is matched with and without its scheme
  (datatrove compares the full URL and never matches).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import socket
import tarfile
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xxhash

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from curate.blocks import Filter
from curate.checks import check_range, check_types
from curate.document import Document

log = logging.getLogger(__name__)
_NON_ALNUM = re.compile(r"[^a-zA-Z0-9]+")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_CACHE_FORMAT = "v1"


@dataclass(frozen=True)
class URLFilterConfig:
    """datatrove's URLFilter options plus our two fixes (on by default)."""

    soft_word_threshold: int = 2
    extra_domains: tuple[str, ...] = ()
    extra_urls: tuple[str, ...] = ()
    banned_words: tuple[str, ...] = ()
    banned_subwords: tuple[str, ...] = ()
    soft_banned_words: tuple[str, ...] = ()
    use_integrated_lists: bool = True
    lowercase_url_words: bool = True  # fix: datatrove matches banned words case-sensitively
    match_url_without_scheme: bool = True  # fix: UT1 list URLs have no scheme
    cache_dir: str | None = None  # default: $CURATE_CACHE_DIR or ~/.cache/curate

    def __post_init__(self) -> None:
        check_types(self)
        check_range(self, "soft_word_threshold", 0)


def normalize(text: str) -> str:
    """datatrove's normalisation of list words and URLs: keep [a-zA-Z0-9], lowercase."""
    return _NON_ALNUM.sub("", text).lower()


def _word_list(lines: Iterable[str]) -> set[str]:
    return {normalize(line) for line in lines if line and line[0] != "#"}


def datatrove_assets() -> Path:
    """The ``assets`` folder of the installed datatrove package."""
    import importlib.util

    spec = importlib.util.find_spec("datatrove")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("url_filter needs the datatrove package installed (it ships the UT1 lists)")
    return Path(next(iter(spec.submodule_search_locations))) / "assets"


def _hash(text: str) -> int:
    return xxhash.xxh3_64_intdigest(text.encode("utf-8"))


def _build_cache(tarball: Path, folder: Path) -> None:
    """Hash UT1's domains into a sorted uint64 array and copy its URL list into ``folder``."""
    folder.mkdir(parents=True)
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar:
            handle = tar.extractfile(member)
            if handle is None:
                continue
            lines = (raw.decode("utf-8", "replace").strip() for raw in handle if raw[:1] != b"#")
            if member.name == "domains":
                hashes = np.unique(np.fromiter(map(_hash, lines), dtype=np.uint64))
                np.save(folder / "domains.npy", hashes)
            elif member.name == "urls":
                (folder / "urls.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if not (folder / "domains.npy").exists():
        np.save(folder / "domains.npy", np.empty(0, dtype=np.uint64))
    if not (folder / "urls.txt").exists():
        (folder / "urls.txt").write_text("", encoding="utf-8")


def _complete(folder: Path) -> bool:
    return (folder / "domains.npy").exists() and (folder / "urls.txt").exists()


def ensure_cache(tarball: Path, folder: Path) -> Path:
    """Build the cache folder once per machine, safely under concurrent workers.

    Builders serialise on an exclusive ``flock`` beside the folder: the first builds (~10 s) while
    the others wait, then find it done. The build goes into a private temporary folder that is
    renamed into place in one atomic step, so a reader never sees half a cache; a builder killed
    midway leaves only its temporary folder, which the next builder removes. Where ``flock`` is
    unavailable (Windows, some network filesystems) concurrent builders each build and the first
    rename wins.
    """
    if _complete(folder):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "a+b") as lock:
        locked = False
        if fcntl is not None:
            with contextlib.suppress(OSError):  # no locking on this filesystem: build, first rename wins
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released when the file closes
                locked = True
        if _complete(folder):  # another process built it while we waited
            return folder
        if locked:  # no other builder is running: what temporary folders remain are from killed ones
            for stale in folder.parent.glob(f".{folder.name}.*"):
                shutil.rmtree(stale, ignore_errors=True)
        tmp = folder.parent / f".{folder.name}.{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            _build_cache(tarball, tmp)
            if folder.exists() and not _complete(folder):  # left by a crashed build of an older version
                shutil.rmtree(folder, ignore_errors=True)
            try:
                os.rename(tmp, folder)  # atomic; fails if a lockless concurrent builder got there first
            except OSError:
                if not _complete(folder):
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def cache_folder(cache_dir: str | None = None, tarball: Path | None = None) -> Path:
    """Where the cache of this datatrove wheel's lists lives (keyed by the tarball's size and mtime)."""
    tarball = tarball or datatrove_assets() / "url_filterblacklistsv0_3_0.tar.gz"
    stat = tarball.stat()
    key = hashlib.sha1(f"{_CACHE_FORMAT}:{stat.st_size}:{int(stat.st_mtime)}".encode()).hexdigest()[:12]
    root = Path(cache_dir or os.environ.get("CURATE_CACHE_DIR") or Path.home() / ".cache" / "curate")
    return root / "url_filter" / key


def load_blocklists(cache_dir: str | None = None, tarball: Path | None = None) -> tuple[np.ndarray, set[str]]:
    """(sorted domain hashes, memory-mapped; list URLs) of the UT1 lists shipped with datatrove."""
    tarball = tarball or datatrove_assets() / "url_filterblacklistsv0_3_0.tar.gz"
    try:
        folder = ensure_cache(tarball, cache_folder(cache_dir, tarball))
    except OSError as e:  # no writable cache (read-only home, full disk): this worker builds its own
        log.warning("url_filter: cannot use the cache (%s); building a private copy (~10 s)", e)
        private = Path(tempfile.mkdtemp(prefix="curate-url-filter-"))
        _build_cache(tarball, private / "lists")
        domains = np.load(private / "lists" / "domains.npy")  # in memory: the folder goes now
        urls = set((private / "lists" / "urls.txt").read_text(encoding="utf-8").splitlines())
        shutil.rmtree(private, ignore_errors=True)
    else:
        domains = np.load(folder / "domains.npy", mmap_mode="r")
        urls = set((folder / "urls.txt").read_text(encoding="utf-8").splitlines())
    urls.discard("")
    return domains, urls


class URLFilter(Filter):
    """Drops pages whose URL is blocklisted or carries banned words (runs on ``doc.url``)."""

    name = "url_filter"
    transient = ("_domains", "_urls", "_tld")

    def __init__(self, config: URLFilterConfig | None = None, name: str | None = None) -> None:
        super().__init__(name)
        self.config = cfg = config or URLFilterConfig()
        self._extra_domains = {d.strip() for d in cfg.extra_domains if d and d[0] != "#"}
        self._domains: np.ndarray | None = None
        self._urls: set[str] | None = None
        self._tld = None
        assets = datatrove_assets() if cfg.use_integrated_lists else None

        def words(extra: tuple[str, ...], file: str) -> frozenset[str]:
            found = _word_list(extra)
            if assets is not None:
                found |= _word_list((assets / file).read_text(encoding="utf-8").splitlines())
            found.discard("")
            return frozenset(found)

        self.banned_words = words(cfg.banned_words, "banned_words.txt")
        self.soft_banned_words = words(cfg.soft_banned_words, "soft_banned_words.txt")
        self.banned_subwords = tuple(sorted(words(cfg.banned_subwords, "banned_subwords.txt")))

    def setup(self) -> None:
        from tldextract import TLDExtract

        self._tld = TLDExtract(suffix_list_urls=())  # the public-suffix snapshot in the wheel: offline
        extra_urls = {u.strip() for u in self.config.extra_urls if u and u[0] != "#"}
        if self.config.use_integrated_lists:
            self._domains, urls = load_blocklists(self.config.cache_dir)
            self._urls = urls | extra_urls
        else:
            self._domains, self._urls = np.empty(0, dtype=np.uint64), extra_urls

    def _listed_domain(self, domain: str) -> bool:
        if not domain:
            return domain in self._extra_domains
        if domain in self._extra_domains:
            return True
        h = np.uint64(_hash(domain))
        i = int(np.searchsorted(self._domains, h))
        return i < len(self._domains) and self._domains[i] == h

    def drop_reason(self, doc: Document) -> str | None:
        url = doc.url or doc.metadata.get("url")
        if not url:
            return None  # nothing to judge (datatrove asserts instead)
        cfg = self.config
        info = self._tld(url)
        if self._listed_domain(info.top_domain_under_public_suffix):
            return "domain"
        if self._listed_domain(info.fqdn):
            return "subdomain"
        if url in self._urls or (cfg.match_url_without_scheme and _SCHEME.sub("", url, count=1) in self._urls):
            return "url"
        url_words = set(_NON_ALNUM.split(url.lower() if cfg.lowercase_url_words else url))
        if not self.banned_words.isdisjoint(url_words):
            return "hard_blacklisted"
        if len(self.soft_banned_words.intersection(url_words)) >= cfg.soft_word_threshold:
            return "soft_blacklisted"
        normalized = normalize(url)
        if any(word in normalized for word in self.banned_subwords):
            return "blacklisted_subword"
        return None
