"""A report as data: numbered sections of captioned tables, figures and paragraphs, rendered by
one Jinja2 template (``templates/report.html.j2``) into a self-contained HTML file.

Tables and figures are numbered in order of appearance (Table 1, Figure 1 ...); every table
and figure carries a title, the population it describes and footnotes (method, direction of
benefit). Cells are formatted before rendering (:func:`fmt`).
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import jinja2
import pandas as pd

SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def readable_dose(label: str) -> str:
    """``"1e+11 particles"`` → ``"1×10¹¹ particles"``; ``"3e+11 particles"`` → ``"3×10¹¹ particles"``."""
    m = re.match(r"^\s*([0-9.]+)[eE]([+-]?\d+)(.*)$", str(label))
    if not m:
        return str(label)
    mantissa, exponent, rest = m.groups()
    mant = f"{float(mantissa):g}"
    return f"{mant}×10{str(int(exponent)).translate(SUPERSCRIPT)}{rest}"


def fmt(x, digits: int = 2) -> str:
    """A table cell: integers as such, floats with ``digits`` decimals, p-values as ``<0.001``."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e6 and digits == 0):
        return str(int(x))
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def fmt_p(p) -> str:
    if p is None or not math.isfinite(float(p)):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


NUMERIC_CELL = re.compile(r"^(–|[<>≤≥]?-?\d[\d.,]*(e[+-]?\d+)?%?( \(.*\))?(, -?\d[\d.,]*)?)$")


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]
    population: str = ""
    footnotes: list[str] = field(default_factory=list)

    @property
    def numeric_columns(self) -> set[int]:
        """Columns whose non-empty cells are all numbers (right-aligned in the template)."""
        out = set()
        for j in range(len(self.columns)):
            cells = [row[j] for row in self.rows if j < len(row) and row[j] != ""]
            if cells and all(NUMERIC_CELL.match(c) for c in cells):
                out.add(j)
        return out

    @classmethod
    def from_frame(cls, title: str, df: pd.DataFrame, population: str = "", footnotes=(), digits: int = 2,
                   rename: dict | None = None, p_columns=("p_value",)) -> "Table":
        df = df.rename(columns=rename or {})
        p_cols = {(rename or {}).get(c, c) for c in p_columns}
        rows = [[fmt_p(v) if c in p_cols else fmt(v, digits) for c, v in zip(df.columns, rec)]
                for rec in df.itertuples(index=False)]
        return cls(title, [str(c) for c in df.columns], rows, population, list(footnotes))


@dataclass
class Figure:
    title: str
    png: bytes
    population: str = ""
    footnotes: list[str] = field(default_factory=list)

    @property
    def base64(self) -> str:
        return base64.b64encode(self.png).decode("ascii")


@dataclass
class Paragraph:
    text: str


@dataclass
class Preformatted:
    """Text shown as written (monospace, line breaks kept): a result's own text summary."""

    text: str


@dataclass
class Section:
    title: str
    blocks: list = field(default_factory=list)


@dataclass
class Document:
    title: str
    subtitle: str
    sections: list[Section]
    provenance: list[str] = field(default_factory=list)

    def render(self) -> str:
        text = resources.files("oasim.report").joinpath("templates/report.html.j2").read_text(encoding="utf-8")
        env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
        counters = {"table": 0, "figure": 0}
        numbered = []
        for s_index, section in enumerate(self.sections, 1):
            blocks = []
            for block in section.blocks:
                kind = type(block).__name__.lower()
                number = None
                if kind in counters:
                    counters[kind] += 1
                    number = counters[kind]
                blocks.append({"kind": kind, "number": number, "b": block})
            numbered.append({"number": s_index, "title": section.title, "blocks": blocks})
        return env.from_string(text).render(doc=self, sections=numbered)

    def write(self, path: str | Path) -> Path:
        """Write the HTML atomically (:func:`oasim.io.atomic_write_text`), replacing an earlier file."""
        from ..io import atomic_write_text

        return atomic_write_text(path, self.render(), force=True)
