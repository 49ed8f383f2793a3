"""Maps the root folders filters/ and pipelines/ into the `curate` import package.

They install as ``curate.filters`` and ``curate.pipelines`` (for ``pip install .`` and
``pip install -e .``) and never as top-level ``filters`` / ``pipelines`` modules.
Everything else about the project is in pyproject.toml.
"""

from setuptools import find_packages, setup

ROOTS = {"curate": "curate", "curate.filters": "filters", "curate.pipelines": "pipelines"}


def _packages() -> list[str]:
    found = []
    for package, folder in ROOTS.items():
        found.append(package)
        found += [f"{package}.{sub}" for sub in find_packages(folder)]
    return found


setup(packages=_packages(), package_dir=ROOTS)
