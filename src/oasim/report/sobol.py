"""The Sobol' report of ``oasim explain --method sobol``: one table and one figure per output,
rendered with the project's report document (:mod:`oasim.report.document`)."""

from __future__ import annotations

import io
import json
from pathlib import Path


def _bars(table) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = table.sort_values("ST", ascending=True)
    fig, ax = plt.subplots(figsize=(6.5, 0.32 * len(t) + 1))
    y = range(len(t))
    ax.barh([i + 0.2 for i in y], t["ST"], 0.4, xerr=[t["ST"] - t["ST_low"], t["ST_high"] - t["ST"]],
            label="total order ST", color="C0")
    ax.barh([i - 0.2 for i in y], t["S1"], 0.4, xerr=[t["S1"] - t["S1_low"], t["S1_high"] - t["S1"]],
            label="first order S1", color="C1")
    ax.set_yticks(list(y), t["factor"], fontsize=8)
    ax.set_xlabel("share of variance")
    ax.legend(fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def write_sobol_report(result, out: Path, force: bool = False, provenance: dict | None = None) -> Path:
    from ..io import atomic_output_dir
    from .document import Document, Figure, Paragraph, Section, Table

    population = f"{result.n_evaluations} virtual knees, each simulated with and without MSC injections"
    method = ("SALib: Saltelli sampling, Sobol' estimators, 95 % bootstrap intervals. S1: share of the effect's "
              "variance explained by a factor alone; ST: with all its interactions. An index whose interval reaches "
              "0 is not told apart from no effect at this sample size (more base samples narrow it).")
    sections = [Section("Method", [Paragraph(
        "Each virtual knee is simulated with and without MSC injections (twins); the output is the individual "
        "effect on expected WOMAC pain (0-20, each twin kept on the instrument's range; negative = benefit). "
        + method)])]
    for name, table in result.tables.items():
        ranked = table.sort_values("ST", ascending=False)
        sections.append(Section(name, [
            Figure(f"Sobol' indices of {name}, ranked by ST", _bars(table), population, [method]),
            Table.from_frame(f"Sobol' indices of {name}", ranked, population, [method], digits=3)]))
    doc = Document("Why efficacy varies: Sobol' indices of the MSC effect on WOMAC pain",
                   f"oasim explain --method sobol, n_base {result.n_base}", sections,
                   [f"{k}: {v}" for k, v in (provenance or {}).items()])
    with atomic_output_dir(out, force) as tmp:
        result.long_table().to_csv(tmp / "sobol.csv", index=False)
        (tmp / "provenance.json").write_text(json.dumps(provenance or {}, indent=2))
        doc.write(tmp / "report.html")
    return out
