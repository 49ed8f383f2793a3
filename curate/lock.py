"""One run per output folder: a lock file with a heartbeat, and stale-lock detection after a crash.

The lock is created with ``O_CREAT | O_EXCL`` (atomic on POSIX filesystems). A lock is stale when
its process is gone (same host) or its heartbeat is older than ``stale_after`` seconds (another
host, or a frozen machine); a stale lock is taken over with a warning. On object stores there is
no atomic create: the lock is best effort there, and the exactly-once shard commits still hold.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from types import TracebackType

from curate.storage import filesystem, is_local

log = logging.getLogger(__name__)


class LockedError(RuntimeError):
    """Another live run holds the output folder."""


class RunLock:
    def __init__(self, outdir: str, stale_after: float = 300.0, heartbeat: float = 30.0) -> None:
        self.outdir = outdir
        self.path = f"{outdir.rstrip('/')}/_lock"
        self.stale_after = stale_after
        self.heartbeat = heartbeat
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.fs, self.fs_path = filesystem(self.path)

    def _owner(self) -> dict:
        return {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}

    def _create(self) -> bool:
        body = json.dumps(self._owner())
        if is_local(self.fs):
            os.makedirs(os.path.dirname(self.fs_path), exist_ok=True)
            try:
                fd = os.open(self.fs_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "w") as f:
                f.write(body)
            return True
        if self.fs.exists(self.fs_path):
            return False
        self.fs.pipe(self.fs_path, body.encode())
        return True

    def _is_stale(self) -> tuple[bool, str]:
        try:
            owner = json.loads(self.fs.cat(self.fs_path))
            age = time.time() - self.fs.modified(self.fs_path).timestamp()
        except (FileNotFoundError, ValueError):
            return True, "unreadable lock"
        who = f"pid {owner.get('pid')} on {owner.get('host')}"
        if owner.get("host") == socket.gethostname():
            try:
                os.kill(int(owner["pid"]), 0)
            except ProcessLookupError:
                return True, f"{who} is gone"
            except PermissionError:
                pass
            return False, who
        if age > self.stale_after:
            return True, f"{who} has not refreshed it for {age:.0f}s"
        return False, who

    def acquire(self) -> None:
        if self._create():
            self._start_heartbeat()
            return
        stale, who = self._is_stale()
        if not stale:
            raise LockedError(f"{self.outdir} is being written by another run ({who}); lock file: {self.path}")
        log.warning("taking over a stale lock on %s (%s)", self.outdir, who)
        self.fs.rm(self.fs_path)
        if not self._create():
            raise LockedError(f"{self.outdir}: another run took the lock first ({self.path})")
        self._start_heartbeat()

    def _start_heartbeat(self) -> None:
        def beat() -> None:
            while not self._stop.wait(self.heartbeat):
                try:
                    if is_local(self.fs):
                        os.utime(self.fs_path)
                    else:
                        self.fs.touch(self.fs_path, truncate=False)
                except OSError:
                    pass

        self._thread = threading.Thread(target=beat, name="curate-lock-heartbeat", daemon=True)
        self._thread.start()

    def release(self) -> None:
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
