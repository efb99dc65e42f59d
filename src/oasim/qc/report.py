"""Self-contained HTML release report of a lot (figures embedded as base64 PNG).

The template is ``templates/release_report.html.j2``; the figures are also saved as PNG files
beside the report. No PDF is produced (print the HTML to PDF from a browser if needed).
"""

from __future__ import annotations

import base64
from importlib import resources
from pathlib import Path

import jinja2

import oasim
from oasim.qc import criteria, figures


def _figures(result) -> dict[str, bytes]:
    return {
        "flow_overlays": figures.to_png(figures.flow_overlays(result.identity)),
        "nta_distribution": figures.to_png(figures.nta_distribution(result.nta)),
        "trilineage": figures.to_png(figures.trilineage_bars(result.trilineage)),
        "western": figures.to_png(figures.western_bars(result.western)),
    }


def _template() -> jinja2.Template:
    text = resources.files("oasim.qc").joinpath("templates/release_report.html.j2").read_text(
        encoding="utf-8"
    )
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(text)


def render_report(result, out_dir: str | Path) -> Path:
    """Write ``report.html`` and ``figures/*.png`` for ``result`` into ``out_dir``.

    Parameters
    ----------
    result : oasim.qc.release.ReleaseResult
    out_dir : str or pathlib.Path
        An existing folder.

    Returns
    -------
    pathlib.Path
        The report file.
    """
    out_dir = Path(out_dir)
    (out_dir / "figures").mkdir(exist_ok=True)
    pngs = _figures(result)
    for name, data in pngs.items():
        (out_dir / "figures" / f"{name}.png").write_bytes(data)
    html = _template().render(
        r=result,
        checks=result.checks().to_dict("records"),
        attrs=result.attributes,
        images={k: base64.b64encode(v).decode("ascii") for k, v in pngs.items()},
        identity=result.identity.to_frame().to_dict("records"),
        trilineage=result.trilineage.to_frame().to_dict("records"),
        western=result.western.to_frame().to_dict("records"),
        misev=result.misev.to_frame().to_dict("records"),
        purity_band=criteria.purity_band(result.particles_per_ug),
        references=criteria.__doc__.split("References\n----------\n", 1)[1].strip(),
        version=getattr(oasim, "__version__", "unknown"),
    )
    path = out_dir / "report.html"
    path.write_text(html, encoding="utf-8")
    return path
