"""Every README example runs as written.

Each runs from a "repository root" of its own (symlinks to this checkout's curate/, filters/,
pipelines/ beside a ../shared link), so its relative paths are the README's and its outputs stay
out of the checkout. Python blocks run with the installed-package mapping removed from
``sys.meta_path``: that is what a user who ran ``pip install .`` gets in the repository root (the
checkout's ``curate/`` first on ``sys.path``), where ``curate.filters`` used to fail to import.
Command lines that need the network (https://, s3://, a Ray cluster) or a package install are not
run here; ``test_examples_not_run_are_only_those`` lists them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, flags=re.S)
NOT_LOCAL = ("://", "ray ", "pip install", "pytest", "RAY_ADDRESS")
# a user who installed with `pip install .`, not `-e`: no editable finder maps curate.filters
NO_EDITABLE = (
    "import sys\n"
    "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower() "
    "and 'editable' not in type(f).__module__.lower()]\n"
)


@pytest.fixture
def repo_root(tmp_path: Path) -> Path:
    shared = ROOT.parent / "shared"
    if not (shared / "data").exists():
        pytest.skip(f"real test data not found at {shared / 'data'}")
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("curate", "filters", "pipelines"):
        (repo / name).symlink_to(ROOT / name)
    (tmp_path / "shared").symlink_to(shared)
    return repo


def command_lines(block: str) -> list[str]:
    """Shell lines of a block, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", block)
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def local_commands() -> list[str]:
    out = []
    for lang, body in BLOCKS:
        if lang != "bash":
            continue
        for line in command_lines(body):
            line = line.split("&&")[-1].strip()  # `pip install . && curate run ...`: the run
            if line.startswith("curate ") and not any(s in line for s in NOT_LOCAL):
                out.append(line)
    return out


PYTHON = [body for lang, body in BLOCKS if lang == "python"]


@pytest.mark.parametrize("code", PYTHON, ids=[f"python-{i}" for i in range(len(PYTHON))])
def test_python_example_runs_as_written(code: str, repo_root: Path) -> None:
    env = {**os.environ, "PYTHONPATH": ""}
    proc = subprocess.run([sys.executable, "-c", NO_EDITABLE + code], cwd=repo_root, capture_output=True,
                          text=True, timeout=600, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_local_command_examples_run_as_written(repo_root: Path) -> None:
    commands = local_commands()
    assert any("curate run ../shared/data/warc/*.warc.gz" in c for c in commands)
    for cmd in commands:
        proc = subprocess.run(["bash", "-c", cmd], cwd=repo_root, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"{cmd}\n{proc.stderr[-3000:]}"
    # the README says: run it again and it says there is nothing to do
    again = subprocess.run(
        ["bash", "-c", commands[0]], cwd=repo_root, capture_output=True, text=True, timeout=900
    )
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_examples_not_run_are_only_those() -> None:
    """Blocks not run: network or cluster commands, installs, and config files (cron, systemd, YAML)."""
    skipped = []
    for lang, body in BLOCKS:
        if lang in ("cron", "ini", "yaml"):
            continue
        for line in command_lines(body) if lang == "bash" else []:
            last = line.split("&&")[-1].strip()
            if not (last.startswith("curate ") and not any(s in last for s in NOT_LOCAL)):
                skipped.append(line)
    assert all(any(s in line for s in NOT_LOCAL) for line in skipped), skipped
