"""Recipes: everything needed to reproduce a mask (parameters, seed, versions)."""

from __future__ import annotations

import dataclasses
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

_PACKAGES = ("napari-unsup-seg", "torch", "numpy", "scikit-image", "higra", "pydensecrf2")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a result depends on."""
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def jsonable(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses as dicts, arrays as lists, paths as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def make_recipe(params: Any, **details: Any) -> dict:
    """A JSON-ready record of parameters, details of the run and package versions."""
    return {
        "parameters": jsonable(params),
        **{k: jsonable(v) for k, v in details.items()},
        "versions": package_versions(),
    }
