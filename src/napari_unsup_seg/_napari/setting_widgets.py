"""magicgui widgets for typed fields: those of :class:`core.settings.RunSettings` and of a dataclass.

:func:`setting_widget` makes the widget of one run setting from the field's type and
metadata (default, range or choices, help text as the tooltip; a file's path is a text
field), so the form shows what the CLI's flag says. :func:`dataclass_container` makes a container of
one widget per number or flag of a parameter dataclass (the dense CRF's).
"""

from __future__ import annotations

import dataclasses
import typing

from magicgui.widgets import Container, create_widget

from ..core.settings import RunSettings, describe


def setting_widget(name: str, *, choices=None, label: str | None = None, **options):
    """The magicgui widget of the :class:`RunSettings` field ``name``.

    ``choices`` (values, or (text, value) pairs) replace the field's own and make a list;
    the other ``options`` go to the widget.
    """
    meta = describe(name)
    value, kind = meta["default"], typing.get_type_hints(RunSettings)[name]
    options = {"tooltip": meta["help"], **options}
    widget_type = None
    choices = choices if choices is not None else meta["choices"]
    if choices is not None:
        widget_type, options["choices"] = "ComboBox", choices
    elif meta["path"]:
        # its text as typed; the form's own button browses (magicgui's FileEdit dialog is out of reach of tests)
        widget_type, value, kind = "LineEdit", value or "", str
    elif kind in (int, float):
        options.update(min=meta["low"], max=meta["high"])
    return create_widget(value=value, annotation=kind, name=name, label=label, widget_type=widget_type, options=options)


def dataclass_container(cls, *, low: float = 0, high: float = 10_000, step: float = 0.01) -> Container:
    """A container of one typed widget per number or flag of the dataclass ``cls``, at its defaults.

    Numbers range over [``low``, ``high``]; floats move by ``step``. A widget's name is the
    field's, its label the name in words.
    """
    defaults = cls()
    widgets = []
    for f in dataclasses.fields(defaults):
        value = getattr(defaults, f.name)
        if not isinstance(value, int | float | bool):
            continue
        options = {} if isinstance(value, bool) else {"min": low, "max": high}
        if isinstance(value, float):
            options["step"] = step
        widgets.append(
            create_widget(
                value=value, annotation=type(value), name=f.name, label=f.name.replace("_", " "), options=options
            )
        )
    return Container(widgets=widgets)
