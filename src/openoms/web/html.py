"""A very small HTML template helper that escapes every value unless it is already HTML.

``render("<p>$text</p>", text=user_text)`` escapes ``user_text``; a value built by
:func:`render` or :func:`join` (an :class:`Html`) is inserted as it is. Templates are
:class:`string.Template` strings (``$name``), written in this package, never from input.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from string import Template

__all__ = ["Html", "join", "render"]


class Html(str):
    """Text that is already HTML (escaped where it had to be)."""

    __slots__ = ()


def _escaped(value: object) -> str:
    if isinstance(value, Html):
        return value
    return html.escape("" if value is None else str(value), quote=True)


def render(template: str, **values: object) -> Html:
    """``template`` with every ``$name`` replaced by its escaped value."""
    return Html(Template(template).substitute({k: _escaped(v) for k, v in values.items()}))


def join(parts: Iterable[Html], separator: str = "") -> Html:
    """Fragments made by :func:`render`, one after the other."""
    return Html(separator.join(_escaped(part) for part in parts))
