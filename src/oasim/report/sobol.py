"""The Sobol' report of ``oasim explain --method sobol``: one table and one figure per output."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path


def write_sobol_report(result, out: Path, force: bool = False, provenance: dict | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io import atomic_output_dir

    parts = ["<h1>Why efficacy varies: Sobol' indices of the MSC effect on WOMAC pain</h1>",
             "<p>Each virtual knee is simulated with and without MSC injections (twins); the output is the "
             "individual effect on expected WOMAC pain (0–20; negative = benefit). S1: share of the effect's "
             "variance explained by a factor alone; ST: with all its interactions (SALib, Saltelli sampling, "
             f"{result.n_evaluations} knees × 2). Bars: 95 % bootstrap intervals.</p>"]
    for k, (name, table) in enumerate(result.tables.items(), start=1):
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
        png = base64.b64encode(buf.getvalue()).decode()
        parts.append(f"<h2>{k}. {html.escape(name)}</h2>")
        parts.append(f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{png}">'
                     f"<figcaption>Figure {k}. Sobol' indices of {html.escape(name)}, ranked by ST.</figcaption></figure>")
        parts.append(table.sort_values("ST", ascending=False).to_html(index=False, float_format=lambda x: f"{x:.3f}",
                                                                      border=0))
    style = "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}" \
            "td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}</style>"
    with atomic_output_dir(out, force) as tmp:
        result.long_table().to_csv(tmp / "sobol.csv", index=False)
        (tmp / "provenance.json").write_text(json.dumps(provenance or {}, indent=2))
        (tmp / "report.html").write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>Sobol'</title>"
                                         f"{style}</head><body>{''.join(parts)}</body></html>", "utf-8")
    return out
