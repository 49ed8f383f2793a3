"""A source checkout imports like the installed package.

``filters/`` and ``pipelines/`` are root folders that install as ``curate.filters`` and
``curate.pipelines`` (setup.py). Python started in the repository root after ``pip install .``
imports the checkout's ``curate/`` (the current folder comes first on ``sys.path``), which has no
such subfolders: every ``curate.filters`` import failed there. This loads them from beside it.
"""

from __future__ import annotations

import importlib.util
import os
import sys


def load_checkout_subpackages() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    parent = sys.modules["curate"]
    for name in ("filters", "pipelines"):
        full = f"curate.{name}"
        init = os.path.join(root, name, "__init__.py")
        if full in sys.modules or os.path.isdir(os.path.join(here, name)) or not os.path.isfile(init):
            continue
        if importlib.util.find_spec(full) is not None:  # an installed or editable mapping has it
            continue
        spec = importlib.util.spec_from_file_location(full, init, submodule_search_locations=[os.path.dirname(init)])
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        sys.modules[full] = module
        spec.loader.exec_module(module)
        setattr(parent, name, module)
