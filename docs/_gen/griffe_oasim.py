"""A griffe extension for oasim's docstrings (used by mkdocstrings for the API reference).

Many oasim docstrings write a parameter as ``name : what it is`` in numpy style, with the
description where numpy style puts the type (the type is in the signature). Rendered as is,
the description would appear in the *Type* column. This extension rewrites such lines to
``name`` + an indented description before griffe parses the docstring. A line is taken as a
description when its text after `` : `` has four or more words besides "or", "of", "and" and
"optional"; short texts (``str``,
``mapping or sequence``, ``numpy.random.Generator or int, optional``) stay types. Sphinx roles
(``:class:`~oasim.protocol.Dose``` and the like) become code spans.
"""

from __future__ import annotations

import re

import griffe

_SECTIONS = ("Parameters", "Other Parameters", "Attributes", "Returns", "Yields", "Raises")
_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj):`~?([^`]+)`")
_ENTRY = re.compile(r"^(?P<indent>\s*)(?P<name>[\w*]+(?:\s*,\s*[\w*]+)*)\s+:\s+(?P<text>.+)$")


def _is_description(text: str) -> bool:
    words = re.sub(r"``[^`]*``|`[^`]*`", "x", text).replace(",", " ").split()
    return len([w for w in words if w not in ("or", "of", "and", "optional")]) >= 4


def rewrite(doc: str) -> str:
    """The docstring with ``name : long description`` entries as ``name`` + indented text."""
    lines = doc.splitlines()
    out: list[str] = []
    section = None
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() in _SECTIONS and set(nxt.strip()) == {"-"}:
            section = line.strip()
        elif section and line.strip() and not line.startswith((" ", "\t")) and set(line.strip()) != {"-"} \
                and line.strip() not in _SECTIONS and not _ENTRY.match(line):
            section = None  # free text after the section ends it
        match = _ENTRY.match(line) if section else None
        if match and not match.group("indent") and _is_description(match.group("text")):
            out += [match.group("name"), "    " + match.group("text")]
        else:
            out.append(line)
    # Sphinx roles (:class:`~a.b.C`) read as plain code in Markdown
    return _ROLE.sub(lambda m: f"`{m.group(1).split('.')[-1] if m.group(0).count('~') else m.group(1)}`", "\n".join(out))


class OasimDocstrings(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
