"""What an exception means to a scheduler: an exit code and one line, never a traceback.

Why: exit 1 means "some work failed, rerun to resume"; exit 2 means "fix the job". A bad
setting reported as 1 gets retried forever; a retryable failure reported as 2 pages a human.
Errors nobody mapped are bugs and keep their traceback.
"""

from __future__ import annotations

import errno
import logging
import socket
import sys
from collections.abc import Callable, Iterator
from typing import Any

EXIT_OK, EXIT_PARTIAL, EXIT_CONFIG, EXIT_LOCKED = 0, 1, 2, 3
RESUME = "rerun the same command to resume"

log = logging.getLogger("curate")

# module fsspec (or we) failed to import -> the extra that installs it
_EXTRAS = {"s3fs": "s3", "aiohttp": "http", "requests": "http", "ray": "ray", "matplotlib": "report"}
_CREDENTIAL_ERRORS = ("NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError", "NoAuthTokenError")
_CREDENTIAL_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "AccessDenied")
_NETWORK_ERRORS = ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError")
_AWS_HINT = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), or run where an instance role grants access"
)


def explain(exc: BaseException) -> tuple[int, str] | None:
    """``(exit code, one-line message)`` for errors that are the user's to fix or a rerun's to resume."""
    from curate.lock import LockedError
    from curate.readers.inputs import InputError
    from curate.registry import ConfigError

    if isinstance(exc, LockedError):
        return EXIT_LOCKED, str(exc)
    if _is_retryable(exc):
        line = _first_line(exc)
        return EXIT_PARTIAL, line if "rerun" in line else f"{line} ({RESUME})"
    credentials = _credentials(exc)
    if credentials:
        return EXIT_CONFIG, credentials
    network = _network(exc)
    if network:
        return EXIT_PARTIAL, network
    if isinstance(exc, ConfigError | InputError):
        return EXIT_CONFIG, _first_line(exc)
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        # the driver could not write (a marker, stats.json): nothing partial counts; free space, rerun
        return EXIT_PARTIAL, f"{exc.strerror}: {exc.filename or 'output'} (free space, then {RESUME})"
    if isinstance(exc, ImportError):
        extra = _missing_extra(exc)
        return (EXIT_CONFIG, extra) if extra else None
    if isinstance(exc, PermissionError):
        return EXIT_CONFIG, f"permission denied: {exc}"
    if isinstance(exc, FileNotFoundError | NotADirectoryError | IsADirectoryError):
        return EXIT_CONFIG, _first_line(exc)
    return None


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _is_retryable(exc: BaseException) -> bool:
    """A stage or global step whose finished tasks are committed: a rerun resumes (imported lazily)."""
    names = {type(e).__name__ for e in _chain(exc)}
    if "GlobalStepFailed" in names:
        return True
    try:
        from curate.dedup.step import StageFailed
    except ImportError:
        return False
    return any(isinstance(e, StageFailed) for e in _chain(exc))


def _missing_extra(exc: ImportError) -> str | None:
    """fsspec raises ``ImportError("Install s3fs to access S3")`` for an ``s3://`` path without s3fs.

    Only an ImportError that names its missing module (fsspec's, or ours for ``--ray``) is mapped;
    any other is a broken install and keeps its traceback.
    """
    for e in _chain(exc):
        name = getattr(e, "name", None)
        if not name:
            continue
        top = name.split(".")[0]
        if top in _EXTRAS:
            return f"{_first_line(exc)}: pip install \"curate[{_EXTRAS[top]}]\" (needs {top})"
        if e is not exc and top in str(exc):  # fsspec's message for a protocol we have no extra for
            return f"{_first_line(exc)}: pip install {top}"
    return None


def _credentials(exc: BaseException) -> str | None:
    """Missing or refused object-store credentials (botocore's errors, or s3fs's PermissionError)."""
    for e in _chain(exc):
        if type(e).__name__ in _CREDENTIAL_ERRORS:
            return f"no usable AWS credentials ({_first_line(e)}): {_AWS_HINT}"
        code = getattr(e, "response", {}).get("Error", {}).get("Code") if hasattr(e, "response") else None
        if code in _CREDENTIAL_CODES:
            return f"AWS refused the credentials ({code}: {_first_line(e)}): {_AWS_HINT}"
    if isinstance(exc, PermissionError) and exc.filename is None and exc.errno is None:
        # s3fs/gcsfs turn AccessDenied, InvalidAccessKeyId, ... into a bare PermissionError
        return f"object store refused access ({_first_line(exc)}): check the credentials: {_AWS_HINT}"
    return None


def _network(exc: BaseException) -> str | None:
    """An unreachable host or a timeout: the network's fault, not the job's; a rerun retries."""
    for e in _chain(exc):
        library_io = isinstance(e, OSError) and type(e).__module__.startswith(("aiohttp", "urllib3", "requests"))
        if (
            isinstance(e, ConnectionError | TimeoutError | socket.gaierror)
            or library_io
            or type(e).__name__ in _NETWORK_ERRORS
        ):
            return f"network error: {_first_line(exc)} ({type(e).__name__}; rerun the same command to retry)"
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


def report(exc: BaseException, stream: Any) -> int | None:
    """Print the one line for ``exc`` and return its exit code; None for an error nobody mapped."""
    mapped = explain(exc)
    if mapped is None:
        return None
    code, message = mapped
    log.info("details (shown with -v)", exc_info=exc)
    print(f"curate: error: {message}", file=stream)
    return code


def run_command(func: Callable[[Any], int | None], args: Any) -> int:
    """Run a subcommand: mapped errors and interruptions become their exit code and one line."""
    from curate.commands.interrupt import Interrupted, interrupts_raise

    with interrupts_raise():
        try:
            return int(func(args) or 0)
        except Interrupted as e:
            resumes = getattr(args, "command", None) in ("run", "dedup")  # estimate and pii start over
            print(f"curate: interrupted; {RESUME if resumes else 'rerun the same command to start again'}", file=sys.stderr)
            return e.exit_code
        except Exception as e:
            code = report(e, sys.stderr)
            if code is None:
                raise
            return code
