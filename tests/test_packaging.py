"""filters/ and pipelines/ install as curate.filters / curate.pipelines, never as top-level modules."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_maps_root_folders_into_the_curate_package(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("curate-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "curate/filters/extract.py" in names
    assert "curate/pipelines/fineweb.yaml" in names
    assert "curate/cli.py" in names
    top = {n.split("/", 1)[0] for n in names}
    assert "filters" not in top and "pipelines" not in top and "tests" not in top and "benchmarks" not in top


def test_editable_install_imports_mapped_packages(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    python = env_dir / "bin" / "python"
    # inside a virtualenv, "system" site-packages are the base interpreter's, which lack our
    # dependencies (and pip): the probe env sees the running environment's packages through a .pth
    outer = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    (site,) = env_dir.glob("lib/python*/site-packages")
    (site / "outer-env.pth").write_text("\n".join(outer) + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "-q", "-e", str(ROOT)],
        check=True,
        capture_output=True,
    )
    probe = (
        "import importlib.util, curate.filters.extract, curate.pipelines, curate.recipes;"
        "assert importlib.util.find_spec('filters') is None, 'top-level filters importable';"
        "assert importlib.util.find_spec('pipelines') is None, 'top-level pipelines importable';"
        "print(curate.filters.extract.__file__);"
        "print(sorted(curate.recipes.builtin_recipes()))"
    )
    out = subprocess.run([str(python), "-c", probe], check=True, capture_output=True, text=True, cwd=tmp_path)
    lines = out.stdout.splitlines()
    assert lines[0] == str(ROOT / "filters" / "extract.py")  # editable: the working tree itself
    assert "fineweb" in lines[1] and "fast" in lines[1]


def test_installed_trafilatura_is_finewebs() -> None:
    """FineWeb's extraction is trafilatura >=1.8,<1.12 (datatrove's processing extra); 2.x gives
    other text on ~7% of pages, so the default install must stay in that range."""
    from importlib import metadata

    major, minor = (int(x) for x in metadata.version("trafilatura").split(".")[:2])
    assert (1, 8) <= (major, minor) < (1, 12)


def test_ruff_clean() -> None:
    """The style gate runs in CI too: `ruff check` over the whole repository."""
    import shutil

    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it is in the test extra)")
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([ruff, "check", "."], cwd=root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
