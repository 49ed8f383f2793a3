"""One run per output folder.

Local and network filesystems: the lock is an ``flock`` held on ``OUTDIR/_lock`` for the whole
run. The kernel (or the NFS lock manager) releases it the instant the holder dies, however it
dies, so there is no stale lock to detect: no PID that can be reused after a container restart,
no heartbeat to trust, and no rm-then-create takeover for two runs to race on. The file itself
is never deleted (deleting a locked file would let a second run lock a new inode); it only says
who holds it, for the error message.

Object stores have no locks: there a lock object with a heartbeat is best effort (a holder whose
heartbeat is older than ``stale_after`` is taken over, and the taker re-reads the object to check
it won). Shard commits stay exactly-once regardless: only the driver commits, by marker.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from types import TracebackType

from curate.storage import filesystem, is_local

log = logging.getLogger(__name__)
_HELD: set[int] = set()  # flock'd descriptors of this process


def _close_inherited() -> None:
    """In a forked child (a worker): drop the parent's lock descriptors, so the lock dies with the
    driver and never lingers in an orphaned worker."""
    for fd in list(_HELD):
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


os.register_at_fork(after_in_child=_close_inherited)


class LockedError(RuntimeError):
    """Another live run holds the output folder."""


class RunLock:
    """``with RunLock(outdir):`` — exclusive use of ``outdir`` (or of any folder: the dedup index)."""

    def __init__(self, outdir: str, stale_after: float = 300.0, heartbeat: float = 30.0) -> None:
        self.outdir = outdir
        self.path = f"{outdir.rstrip('/')}/_lock"
        self.stale_after = stale_after
        self.heartbeat = heartbeat
        self.token = uuid.uuid4().hex
        self._fd: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.fs, self.fs_path = filesystem(self.path)

    def _owner(self) -> dict:
        return {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time(), "token": self.token}

    # -- local / network filesystems: flock ------------------------------------------------
    def _acquire_flock(self) -> None:
        import fcntl

        os.makedirs(os.path.dirname(self.fs_path) or ".", exist_ok=True)
        fd = os.open(self.fs_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = _describe(_read_fd(fd))
            os.close(fd)
            raise LockedError(
                f"{self.outdir} is being written by another run ({who}); lock file: {self.path}"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(self._owner()).encode(), 0)
        self._fd = fd
        _HELD.add(fd)

    # -- object stores: best-effort lock object with a heartbeat ----------------------------
    def _acquire_object(self) -> None:
        if self.fs.exists(self.fs_path):
            try:
                owner = json.loads(self.fs.cat(self.fs_path))
                age = time.time() - self.fs.modified(self.fs_path).timestamp()
            except (FileNotFoundError, ValueError):
                owner, age = {}, float("inf")
            if age <= self.stale_after:
                raise LockedError(
                    f"{self.outdir} is being written by another run ({_describe(owner)}); lock object: {self.path}"
                )
            log.warning(
                "taking over a stale lock on %s (%s, no heartbeat for %.0fs)",
                self.outdir,
                _describe(owner),
                age,
            )
        self.fs.pipe(self.fs_path, json.dumps(self._owner()).encode())
        time.sleep(min(1.0, self.heartbeat))  # a racing taker writes too: the last write wins, and says so
        try:
            won = json.loads(self.fs.cat(self.fs_path)).get("token") == self.token
        except (FileNotFoundError, ValueError):
            won = False
        if not won:
            raise LockedError(f"{self.outdir}: another run took the lock first ({self.path})")
        self._start_heartbeat()

    def _start_heartbeat(self) -> None:
        def beat() -> None:
            while not self._stop.wait(self.heartbeat):
                with contextlib.suppress(OSError):
                    self.fs.touch(self.fs_path, truncate=False)

        self._thread = threading.Thread(target=beat, name="curate-lock-heartbeat", daemon=True)
        self._thread.start()

    def acquire(self) -> None:
        if is_local(self.fs):
            self._acquire_flock()
        else:
            self._acquire_object()

    def release(self) -> None:
        if self._fd is not None:
            _HELD.discard(self._fd)
            os.close(self._fd)  # releases the flock; the file stays (see the module docstring)
            self._fd = None
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(self.fs_path)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def _read_fd(fd: int) -> dict:
    try:
        return json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return {}


def _describe(owner: dict) -> str:
    return f"pid {owner.get('pid')} on {owner.get('host')}" if owner else "owner unknown"
