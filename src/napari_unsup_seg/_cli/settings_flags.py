"""The flags of :class:`core.settings.RunSettings`: one per field, made from its metadata."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from pathlib import Path

from ..core.settings import RunSettings, describe
from .common import number


def _kind(annotation) -> type:
    """int, float, bool, str or dict: the type of a field, ``None`` left out of optional ones."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if args else annotation


def flagged_fields() -> list[dataclasses.Field]:
    """The fields that have a flag (a dict of sub-settings has none)."""
    hints = typing.get_type_hints(RunSettings)
    return [f for f in dataclasses.fields(RunSettings) if _kind(hints[f.name]) is not dict]


def add_settings_flags(parser) -> None:
    """Add one ``--flag`` per field of :class:`RunSettings`, its help saying the default."""
    hints = typing.get_type_hints(RunSettings)
    for f in flagged_fields():
        meta, kind = describe(f.name), _kind(hints[f.name])
        flag = "--" + (meta["flag"] or f.name).replace("_", "-")
        options = {"dest": f.name, "default": meta["default"], "help": meta["help"]}
        if meta["metavar"]:
            options["metavar"] = meta["metavar"]
        if kind is bool:
            if meta["default"] is not None:  # None: the help says when it is on
                options["help"] += f" (default {'on' if meta['default'] else 'off'})"
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **options)
            continue
        if meta["default"] is not None:
            options["help"] += f" (default {meta['default']})"
        if meta["choices"]:
            options["choices"] = meta["choices"]
        elif kind in (int, float):
            options["type"] = number(kind, meta["low"], meta["high"])
        elif meta["path"]:
            options["type"] = Path
        parser.add_argument(flag, **options)


def settings_from(args) -> RunSettings:
    """The :class:`RunSettings` of parsed flags."""
    values = {f.name: getattr(args, f.name) for f in flagged_fields()}
    values.update({name: str(value) for name, value in values.items() if isinstance(value, Path)})
    return RunSettings(**values)
