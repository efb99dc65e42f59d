"""Pages generated from the code at build time (mkdocs-gen-files runs this file).

* ``model/states.md``: every state of :class:`oasim.model.KneeModel` (name, unit, doc, module).
* ``model/equations.md``: the rate laws. Each biology module's ``derivatives(s, p, g)`` is called
  with sympy symbols, as :mod:`oasim.solvers.codegen` does, except that the shared signals ``g``
  stay symbols; the signals themselves are rendered from ``compute_signals`` with the same
  symbols. Substituting the signals back gives exactly ``KneeModel().derivatives`` (checked by
  ``tests/docs/test_model_pages.py``). Equations are MathML (sympy's presentation printer):
  browsers render it natively, so no script or font is fetched.
* ``guides/scenarios.md``: every scenario kind's fields from the models in ``oasim.scenario.KINDS``.
* ``guides/program.md``: the program guide with the stage outputs of ``oasim.program.OUTPUTS``.
* ``statistics/arm-table.md``: the arm-table columns from the schema (``ArmRow``).
* ``model/parameters/<set>.md``: one table per parameter file (value, unit, cv, source kind,
  source with its bib keys linked to ``model/references.md``).
* ``tutorials/<name>.md``: each ``docs/tutorials/<name>.py`` with its captured output. The output
  is read from ``$OASIM_TUTORIAL_OUTPUT_DIR/<name>.txt`` when that variable is set (the test
  suite runs the tutorials once and builds the site from their output); otherwise the build
  runs each script itself.

The module is importable (``tests/docs`` use its functions); the page writing runs only when
mkdocs-gen-files executes it.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

import sympy  # noqa: E402
from sympy.printing.mathml import MathMLPresentationPrinter  # noqa: E402

from oasim.model import knee  # noqa: E402
from oasim.model.signals import Signals, compute_signals  # noqa: E402
from oasim.parameters import ParameterSet, bibliography_keys  # noqa: E402

TUTORIALS = ("reproduce_seed_study", "design_and_size_trial", "analyse_adam_data", "why_efficacy_varies")

# Parameter files in the entry format of oasim.parameters (value, unit, source[, cv, prior]).
PARAMETER_FILES = (
    *sorted((REPO / "src/oasim/parameters/sets").glob("*.toml")),
    REPO / "src/oasim/endpoints/observation_human.toml",
    REPO / "src/oasim/trial/products.toml",
)
SOURCE_PREFIXES = ("derived:", "calibrated:", "assumed:")


# --- the model -----------------------------------------------------------------------------------


class _SymbolNamespace:
    """Attribute access returns the sympy symbol of that name (positive, like codegen's parameters)."""

    def __init__(self, **assumptions):
        self._assumptions = assumptions
        self.names: list[str] = []

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self.names:
            self.names.append(name)
        return sympy.Symbol(name, **self._assumptions)


def symbolic_equations() -> dict:
    """The model's rate laws as sympy expressions, with the shared signals kept as symbols.

    Returns ``{"modules": [(module, {state: rate})], "signals": {name: expression},
    "state_symbols": {...}, "parameter_symbols": {...}}``; ``rate`` uses state, parameter and
    signal symbols, and every signal expression uses state and parameter symbols only.
    """
    model = knee.KneeModel()
    s = SimpleNamespace(**{n: sympy.Symbol(n, real=True) for n in model.state_names})
    p = _SymbolNamespace(positive=True)
    g = SimpleNamespace(**{f: sympy.Symbol(f, real=True) for f in Signals.__dataclass_fields__})
    modules = [(module, module.derivatives(s, p, g)) for module in model.modules]
    signals = {f: sympy.sympify(getattr(compute_signals(s, p), f)) for f in Signals.__dataclass_fields__}
    return {"modules": modules, "signals": signals, "state_symbols": vars(s), "signal_symbols": vars(g),
            "parameter_names": tuple(p.names)}


class _NamePrinter(MathMLPresentationPrinter):
    """Presentation MathML that prints each symbol by its full code name (no sub/superscripts)."""

    def _print_Symbol(self, sym, style="plain"):
        mi = self.dom.createElement("mi")
        mi.setAttribute("mathvariant", "normal" if len(sym.name) > 1 else "italic")
        mi.appendChild(self.dom.createTextNode(sym.name))
        return mi


def _rounded(expr):
    """``expr`` with every float shown to 6 significant digits (display only)."""
    expr = sympy.sympify(expr)
    return expr.xreplace({f: sympy.Float(f, 6) for f in expr.atoms(sympy.Float)})


def _mi(name: str) -> str:
    return f'<mi mathvariant="normal">{html.escape(name)}</mi>'


def mathml(lhs_mathml: str, expr) -> str:
    """``<math display="block">lhs = expr</math>`` for one equation."""
    body = _NamePrinter({"mul_symbol": "dot"}).doprint(_rounded(expr))
    return f'<math display="block"><mrow>{lhs_mathml}<mo>=</mo>{body}</mrow></math>'


def derivative_lhs(state: str) -> str:
    return f"<mfrac><mrow><mi>d</mi>{_mi(state)}</mrow><mrow><mi>d</mi><mi>t</mi></mrow></mfrac>"


def _first_paragraph(doc: str | None) -> str:
    return (doc or "").strip().split("\n\n")[0].replace("\n", " ")


def states_page() -> str:
    model = knee.KneeModel()
    owner = {st.name: module.__name__.rsplit(".", 1)[1] for module in model.modules for st in module.STATES}
    lines = [
        "# States",
        "",
        f"The knee model (`oasim.model.KneeModel`) has **{len(model.states)} states**, listed here from",
        "the model itself (`KneeModel().states`, in solver order). *Scale* is the typical magnitude",
        "used for the solver's tolerances and internal scaling only, not a parameter of the biology.",
        "",
        "| # | state | unit | meaning | module | scale |",
        "|---|---|---|---|---|---|",
    ]
    for i, st in enumerate(model.states):
        lines.append(f"| {i} | `{st.name}` | {st.unit} | {st.doc} | [{owner[st.name]}](equations.md#{owner[st.name]}) "
                     f"| {st.scale:g} |")
    lines += ["", f"The model names **{len(model.parameter_names)} parameters**; their values live in the "
              "[parameter sets](parameters/index.md)."]
    return "\n".join(lines) + "\n"


def equations_page() -> str:
    eq = symbolic_equations()
    lines = [
        "# Equations",
        "",
        "Rendered at build time from the code: each biology module's `derivatives(s, p, g)` is",
        "called with sympy symbols, as the code generator (`oasim.solvers.codegen`) calls the whole",
        "model, but the signals shared between modules (`g`, normalised to 1 in the healthy joint)",
        "are kept as named symbols and listed [below](#shared-signals). Substituting them gives",
        "exactly the right-hand side the solver kernels are generated from (a test checks this).",
        "Names are the code's names: states carry their unit (`il1b_pM`), parameters are the",
        "entries of the [parameter sets](parameters/index.md). Time is in days.",
        "",
    ]
    for module, rates in eq["modules"]:
        short = module.__name__.rsplit(".", 1)[1]
        lines += [f"## {short}", "", _first_paragraph(module.__doc__), ""]
        refs = getattr(module, "REFERENCES", ())
        if refs:
            lines += ["References: " + ", ".join(_cite(k) for k in refs) + ".", ""]
        for name, rate in rates.items():
            lines += ['<div class="oasim-equation" markdown="0">', mathml(derivative_lhs(name), rate), "</div>", ""]
    lines += ["## Shared signals", "",
              _first_paragraph(sys.modules["oasim.model.signals"].__doc__), ""]
    for name, expr in eq["signals"].items():
        lines += ['<div class="oasim-equation" markdown="0">', mathml(_mi(name), expr), "</div>", ""]
    return "\n".join(lines) + "\n"


# --- parameters and references -------------------------------------------------------------------


def _cite(key: str) -> str:
    return f"[{key}](references.md#{key.lower()})"


def _link_keys(source: str, keys: frozenset[str], prefix: str) -> str:
    """The source text with every bib key made a link to the references page."""
    text = html.escape(source).replace("|", "\\|")
    return re.sub(r"[A-Za-z][A-Za-z0-9]+", lambda m: (f"[{m.group(0)}]({prefix}references.md#{m.group(0).lower()})"
                                                      if m.group(0) in keys else m.group(0)), text)


def parameter_rows(path: Path) -> list[dict]:
    """One row per parameter of a parameter file: name, value, unit, cv, kind, source."""
    ps = ParameterSet.load(path)
    return [{"name": p.name, "value": f"{p.value:.6g}", "unit": p.unit, "cv": "" if p.cv is None else f"{p.cv:g}",
             "kind": p.source_kind, "source": p.source} for p in ps]


def parameter_page(path: Path) -> str:
    ps = ParameterSet.load(path)
    keys = bibliography_keys()
    rows = parameter_rows(path)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["kind"]] = counts.get(r["kind"], 0) + 1
    rel = path.relative_to(REPO)
    lines = [
        "---", "hide:", "  - toc", "---", "",
        f"# Parameter set `{ps.name}`",
        "",
        f"{ps.description}",
        "",
        f"Generated from `{rel}` ({len(rows)} parameters; sources: "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + "). *kind* is `read` (the value",
        "is read in the cited source), `derived` (computed from cited values), `calibrated` (fitted",
        "to the named targets) or `assumed` (no source found; the reason is given). *cv* is the",
        "coefficient of variation of the log-normal population distribution.",
        "",
        "| name | value | unit | cv | kind | source |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| `{r['name']}` | {r['value']} | {html.escape(r['unit'])} | {r['cv']} | {r['kind']} "
                     f"| {_link_keys(r['source'], keys, '../')} |")
    return "\n".join(lines) + "\n"


def _latex_text(value: str) -> str:
    from pybtex.richtext import Text

    return Text.from_latex(value).render_as("text")


def references_page() -> str:
    """Every entry of ``references.bib`` (parsed with pybtex), anchored by its key."""
    from pybtex.database import parse_file

    bib = parse_file(str(REPO / "src/oasim/parameters/references.bib"), "bibtex")
    lines = ["# References", "",
             "Every entry of `src/oasim/parameters/references.bib`, the bibliography that parameter",
             "sources and model modules cite by key.", ""]
    for key in sorted(bib.entries, key=str.lower):
        entry = bib.entries[key]
        authors = "; ".join(_latex_text(str(person)) for person in entry.persons.get("author", []))
        f = {k.lower(): _latex_text(v) for k, v in entry.fields.items()}
        venue = f.get("journal") or f.get("booktitle") or f.get("institution") or f.get("publisher") or ""
        parts = [f"**{key}**", f"{authors} ({f.get('year', 'n.d.')}).", f"{f.get('title', '')}."]
        if venue:
            parts.append(f"*{venue}*" + (f" {f['volume']}" if "volume" in f else "")
                         + (f": {f['pages']}" if "pages" in f else "") + ".")
        if "doi" in f:
            parts.append(f"doi:{f['doi']}.")
        if "url" in f:
            parts.append(f"<{f['url']}>")
        if "note" in f:
            parts.append(f"({f['note']})")
        text = " ".join(parts).replace("|", "\\|")
        lines += [f'<a id="{key.lower()}"></a>', "", f"- {text}", ""]
    return "\n".join(lines) + "\n"


def parameters_index_page() -> str:
    lines = ["# Parameter sets", "",
             "Every number of the model lives in a data file with its unit and source (`oasim params",
             "show NAME` prints the same table in a terminal). The tables below are generated from",
             "those files at build time; a test checks that every row has a unit and a source.", "",
             "| set | file | parameters | description |", "|---|---|---|---|"]
    for path in PARAMETER_FILES:
        ps = ParameterSet.load(path)
        lines.append(f"| [{ps.name}]({path.stem}.md) | `{path.relative_to(REPO)}` | {len(ps)} | {ps.description} |")
    lines += ["", "Population covariates (`src/oasim/population/covariates_human_koa.toml`) and the calibration",
              "priors (`src/oasim/calibration/priors_human.toml`) use their own formats; see",
              "[calibration](../../guides/calibration.md)."]
    return "\n".join(lines) + "\n"


# --- the arm table -------------------------------------------------------------------------------

# What each column means; the allowed values come from the schema (oasim.calibration.arms.ArmRow).
# A column added to the schema without a line here stops the build (KeyError).
ARM_COLUMN_MEANING = {
    "study": "study label; one design per (study, arm)",
    "arm": "arm label within the study",
    "product": "what was injected",
    "cell_source": "MSC tissue of origin (`none` unless `product = msc`)",
    "dose": "dose per injection; empty = not reported (the row is then skipped by replays)",
    "dose_unit": "unit of `dose`: `cells` for MSCs, `particles` or `ug_protein` for exosomes, `none` otherwise",
    "injection_days": "days of the injections after the first, `;`-separated, e.g. `0;180`",
    "co_injection": "product injected together with the therapy",
    "n": "subjects analysed in the arm",
    "kl_grades": "Kellgren-Lawrence grade or range within 1-4, e.g. `2-4`",
    "endpoint": "what was measured",
    "scale_max": "the instrument's maximum as reported (e.g. 100 for WOMAC on 0-100 mm, 2400 for WOMAC VA3.1); required for scores",
    "statistic": "which summary the row reports",
    "month": "visit month; month 0 = baseline (conditions the arm's simulated baseline)",
    "value": "the published statistic",
    "spread_type": "`sd` / `se` (the number in `spread_low`), `iqr` / `ci95` (the interval's ends in `spread_low`, `spread_high`), `none`",
    "spread_low": "SD or SE, or the lower end of the interval",
    "spread_high": "the upper end of the interval (iqr, ci95)",
}


def _allowed(field) -> str:
    import typing

    args = typing.get_args(field.annotation)
    literal = next((a for a in (field.annotation, *args) if typing.get_origin(a) is typing.Literal), None)
    if literal is not None:
        return " / ".join(f"`{v}`" for v in typing.get_args(literal))
    kind = {str: "text", int: "integer", float: "number"}
    if typing.get_origin(field.annotation) is tuple:
        return f"one or more {kind[args[0]]}s in the text form given under meaning"
    base = next((a for a in (field.annotation, *args) if a in kind), None)
    text = kind.get(base, "list" if typing.get_origin(field.annotation) is tuple else str(field.annotation))
    for m in field.metadata:
        for attr, op in (("ge", ">="), ("gt", ">"), ("min_length", "length >=")):
            if getattr(m, attr, None) is not None:
                text += f" {op} {getattr(m, attr):g}"
    if type(None) in args:
        text += ", may be empty"
    return text


def arm_table_page() -> str:
    import csv

    from oasim.calibration.arms import COLUMNS, ArmRow

    lines = ["# The arm table", "",
             "Published trial arms in one form, the input of `oasim validate-against` and `oasim calibrate`:",
             "one row per arm × endpoint × visit, with exactly these columns in this order. The allowed",
             "values are generated from the schema in code (`oasim.calibration.arms.ArmRow`);",
             "`read_arm_table(path)` rejects a malformed table naming the row and the column (exit code 2",
             "from the CLI).", "",
             "| column | allowed values | meaning |", "|---|---|---|"]
    for name in COLUMNS:
        field = ArmRow.model_fields[name]
        lines.append(f"| `{name}` | {_allowed(field)} | {ARM_COLUMN_MEANING[name]} |")
    lines += ["", "Consistency rules checked per row: `dose_unit` fits the product; `msc` needs a",
              "`cell_source`; scores need `scale_max`; a proportion lies in [0, 1]; `sd`/`se` need",
              "`spread_low` > 0; `iqr`/`ci95` need both ends.", "",
              "## The shipped table", "",
              "`src/oasim/data/calibration/arms.csv` holds the curated published arms; `sources.csv` gives",
              "each (study, arm) its source and how each number was obtained, `excluded.csv` the rows the",
              "vocabulary cannot hold and why. Its first rows:", "", "```text"]
    with open(REPO / "src/oasim/data/calibration/arms.csv", newline="", encoding="utf-8") as f:
        for k, row in enumerate(csv.reader(f)):
            if k > 6:
                break
            lines.append(",".join(row))
    lines += ["```", "",
              "How a row is replayed, conditioned and scored: [Calibration and validate-against]"
              "(../guides/calibration.md)."]
    return "\n".join(lines) + "\n"


# --- the scenario reference ----------------------------------------------------------------------


def _type_text(annotation) -> str:
    """A field's annotation in words: Literal values, lists, unions, tables."""
    import typing

    from pydantic import BaseModel

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " / ".join(f"`{v!r}`" if isinstance(v, str) else f"`{v}`" for v in args).replace("'", '"')
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        kinds = [_type_text(a) for a in args if a is not type(None)]
        text = " or ".join(kinds)
        return text + (" (optional)" if type(None) in args else "")
    if origin is tuple:
        return f"list of {_type_text(args[0])}"
    if origin is dict:
        return "table"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    return {str: "text", int: "integer", float: "number", bool: "true / false"}.get(annotation, str(annotation))


def _constraints(field) -> str:
    ops = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"), ("min_length", "length >="),
           ("max_length", "length <="), ("pattern", "matching"))
    out = []
    for m in field.metadata:
        for attr, op in ops:
            value = getattr(m, attr, None)
            if value is not None:
                out.append(f"{op} `{value}`" if attr == "pattern" else f"{op} {value:g}")
    return ", ".join(out)


def _toml_value(value) -> str:
    """``value`` as written in a TOML file (numbers in %g)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _default(field) -> str:
    from pydantic_core import PydanticUndefined

    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return "**required**"
    else:
        value = field.default
    if hasattr(value, "model_dump"):
        return "(table below)"
    if value is None:
        return "(none)"
    text = _toml_value(value)
    return f"`{text}`" if len(text) <= 40 else f"`{text[:37]}...`"


def _model_of(annotation):
    """The pydantic model inside ``annotation`` and whether it is a list of them."""
    import typing

    from pydantic import BaseModel

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    if origin is tuple and args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return args[0], True
    if args:
        for a in args:
            found = _model_of(a)
            if found[0] is not None:
                return found
    return None, False


def _model_sections(model, path: str, is_list: bool) -> list[str]:
    """A ``### [path]`` section per (nested) table of ``model``; the top level has no heading."""
    nested = []
    rows = ["| field | type | allowed | default |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        sub, sub_is_list = _model_of(field.annotation)
        if sub is not None:
            nested.append((name, sub, sub_is_list))
        rows.append(f"| `{name}` | {_type_text(field.annotation).replace('|', '&#124;')} "
                    f"| {_constraints(field)} | {_default(field)} |")
    heading = [f"### `[[{path}]]`" if is_list else f"### `[{path}]`", ""] if path else []
    doc = _first_paragraph(model.__doc__) if path else ""
    lines = [*heading, *([doc, ""] if doc else []), *rows, ""]
    for name, sub, sub_is_list in nested:
        lines += _model_sections(sub, f"{path}.{name}" if path else name, sub_is_list)
    return lines


def scenario_reference_page() -> str:
    """Every scenario kind's fields, from the pydantic models named in ``oasim.scenario.KINDS``."""
    import importlib

    from oasim.scenario import KINDS

    lines = ["# Scenario reference", "",
             "Every field of every scenario `kind`, generated from the pydantic models the loader",
             "validates against (`oasim.scenario.KINDS`). A scenario file is TOML: top-level fields,",
             "then `[tables]` and `[[arrays of tables]]` as listed. `oasim validate FILE` checks a file",
             "and names every wrong field with its value and what is allowed; an unknown field is an",
             "error (a misspelling is never ignored). Models may check more than a field's own range",
             "(e.g. visits must start at month 0); those rules are in the model's code and in the",
             "messages of `oasim validate`. In a program scenario, *text* where a number or list is",
             "expected is a reference `\"from:<stage>.<output>\"` ([program](program.md)).", ""]
    for kind, spec in KINDS.items():
        module, _, attribute = spec.model.partition(":")
        model = getattr(importlib.import_module(module), attribute)
        lines += [f"## `kind = \"{kind}\"`", "", spec.description, ""]
        lines += _model_sections(model, "", False)
    return "\n".join(lines) + "\n"


# --- the program guide ---------------------------------------------------------------------------


def program_page() -> str:
    """``guides/program.md`` from ``docs/_gen/program.md``: the stage outputs table from
    ``oasim.program.OUTPUTS``, the example scenario file, and a captured run's output."""
    from oasim.program.scenario import OUTPUTS

    rows = ["| stage | output | unit |", "|---|---|---|"]
    rows += [f"| `{stage}` | `{name}` | {unit} |" for stage, outputs in OUTPUTS.items() for name, unit in outputs.items()]
    template = (REPO / "docs/_gen/program.md").read_text("utf-8")
    return (template.replace("{outputs_table}", "\n".join(rows))
            .replace("{program_toml}", (REPO / "examples/program.toml").read_text("utf-8").rstrip())
            .replace("{program_output}", (REPO / "docs/_gen/program_output.txt").read_text("utf-8").strip("\n")))


# --- tutorials -----------------------------------------------------------------------------------


def split_tutorial(source: str) -> tuple[str, str]:
    """(docstring as markdown, code without the docstring) of a tutorial script."""
    match = re.match(r'\s*"""(.*?)"""\n', source, re.S)
    if not match:
        raise ValueError("a tutorial starts with a docstring that introduces it")
    return match.group(1).strip(), source[match.end():].strip()


def run_tutorial(name: str, out_dir: Path) -> tuple[str, float]:
    """Run ``docs/tutorials/<name>.py`` from the repository root; (stdout, wall seconds)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(REPO / "docs/tutorials" / f"{name}.py"), str(out_dir / name)],
                          cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"tutorial {name} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout, seconds


def tutorial_page(name: str, output: str, seconds: float | None = None) -> str:
    intro, code = split_tutorial((REPO / "docs/tutorials" / f"{name}.py").read_text("utf-8"))
    took = "" if seconds is None else f" (it took {seconds:.0f} s of wall time)"
    return "\n".join([intro, "", "## The script", "",
                      f"`docs/tutorials/{name}.py`, run from the repository root "
                      f"(`python docs/tutorials/{name}.py OUT_DIR`):", "",
                      "```python", code, "```", "", "## What it prints", "",
                      f"Captured from the run that built this page{took}:", "", "```text", output.rstrip(), "```", ""])


def tutorial_outputs() -> dict[str, tuple[str, float | None]]:
    """``{name: (stdout, wall seconds or None)}``: from ``$OASIM_TUTORIAL_OUTPUT_DIR`` or a fresh run."""
    given = os.environ.get("OASIM_TUTORIAL_OUTPUT_DIR")
    if given:
        import json

        timings_path = Path(given) / "timings.json"
        timings = json.loads(timings_path.read_text("utf-8")) if timings_path.is_file() else {}
        return {name: ((Path(given) / f"{name}.txt").read_text("utf-8"), timings.get(name)) for name in TUTORIALS}
    import tempfile

    with tempfile.TemporaryDirectory(prefix="oasim-tutorials-") as tmp:
        return {name: run_tutorial(name, Path(tmp)) for name in TUTORIALS}


def write_pages() -> None:
    import mkdocs_gen_files

    pages = {"model/states.md": states_page(), "model/equations.md": equations_page(),
             "model/references.md": references_page(), "model/parameters/index.md": parameters_index_page(),
             "statistics/arm-table.md": arm_table_page(), "guides/program.md": program_page(),
             "guides/scenarios.md": scenario_reference_page()}
    for path in PARAMETER_FILES:
        pages[f"model/parameters/{path.stem}.md"] = parameter_page(path)
    for name, (output, seconds) in tutorial_outputs().items():
        pages[f"tutorials/{name}.md"] = tutorial_page(name, output, seconds)
        mkdocs_gen_files.set_edit_path(f"tutorials/{name}.md", f"tutorials/{name}.py")
    for page, text in pages.items():
        with mkdocs_gen_files.open(page, "w") as f:
            f.write(text)


if __name__ in ("__main__", "<run_path>"):
    write_pages()
