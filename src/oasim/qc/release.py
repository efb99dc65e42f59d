"""Run the whole QC of a lot folder and judge it for release.

:func:`run_qc` reads every file of a lot folder (layout in :mod:`oasim.qc.lot`) and returns a
:class:`ReleaseResult`; :func:`write_release` saves its tables (Parquet), figures (PNG) and the
HTML release report into an output folder, atomically.

Release requires every check in :meth:`ReleaseResult.checks` to pass: ISCT identity,
trilineage differentiation, exosome size (mode and share in 30-150 nm), purity
(particles/µg) and Western blot markers. The MISEV checklist is reported, not gated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from oasim.qc import criteria as c
from oasim.io import atomic_output_dir
from oasim.qc.flow import measure_markers
from oasim.qc.isct import IdentityResult, evaluate_identity
from oasim.qc.lot import LotAttributes, LotSpec, read_lot
from oasim.qc.misev import MisevChecklist, build_checklist
from oasim.qc.nta import NtaResult, read_nta
from oasim.qc.protein import BcaResult, WesternResult, read_bca, read_western
from oasim.qc.trilineage import TrilineageResult, read_trilineage


@dataclass(frozen=True)
class ReleaseResult:
    """Everything measured about one lot, and the release verdict.

    Attributes
    ----------
    lot : LotSpec
    identity : IdentityResult
    trilineage : TrilineageResult
    nta : NtaResult
    bca : BcaResult
    western : WesternResult
    misev : MisevChecklist
    """

    lot: LotSpec
    identity: IdentityResult
    trilineage: TrilineageResult
    nta: NtaResult
    bca: BcaResult
    western: WesternResult
    misev: MisevChecklist

    @property
    def particles_per_ug(self) -> float:
        """NTA particles per µg BCA protein [particles/µg]."""
        return self.nta.particles_per_ml / self.bca.protein_ug_per_ml

    @property
    def attributes(self) -> LotAttributes:
        """The lot's attributes for the simulation."""
        return LotAttributes(
            lot_id=self.lot.lot_id,
            particles_per_ug=self.particles_per_ug,
            mode_size_nm=self.nta.mode_size_nm,
            potency_relative=self.lot.potency_relative,
        )

    def checks(self) -> pd.DataFrame:
        """One row per release check: value, limit, source, passed."""
        failing_markers = [m.marker for m in self.identity.calls if not m.passed]
        lin = self.trilineage.lineages_passed
        wb = self.western.table
        rows = [
            ("ISCT identity (flow cytometry)",
             "all markers within limits" if not failing_markers
             else "out of limit: " + ", ".join(failing_markers),
             ">=95% CD73/CD90/CD105; <=2% negative panel",
             c.ISCT_POSITIVE_MIN_PERCENT.source, self.identity.passed),
            ("Trilineage differentiation",
             ", ".join(f"{k} {'ok' if v else 'FAIL'}" for k, v in lin.items()),
             f">= {c.TRILINEAGE_MIN_FOLD.value:g}x control, one-sided p <= "
             f"{c.TRILINEAGE_MAX_P_VALUE.value:g}",
             c.TRILINEAGE_MIN_FOLD.source, self.trilineage.passed),
            ("Exosome mode size", f"{self.nta.mode_size_nm:.1f} nm",
             f"{c.EXOSOME_SIZE_MIN_NM:g}-{c.EXOSOME_SIZE_MAX_NM:g} nm",
             c.EXOSOME_MODE_IN_RANGE.source,
             c.EXOSOME_SIZE_MIN_NM <= self.nta.mode_size_nm <= c.EXOSOME_SIZE_MAX_NM),
            ("Particles in 30-150 nm", f"{self.nta.percent_in_30_150_nm:.1f}%",
             f">= {c.EXOSOME_MIN_PERCENT_IN_RANGE.value:g}%",
             c.EXOSOME_MIN_PERCENT_IN_RANGE.source,
             self.nta.percent_in_30_150_nm >= c.EXOSOME_MIN_PERCENT_IN_RANGE.value),
            ("Purity (particles per ug protein)",
             f"{self.particles_per_ug:.3g} ({c.purity_band(self.particles_per_ug)})",
             f">= {c.PURITY_MIN_PARTICLES_PER_UG.value:.2g}",
             c.PURITY_MIN_PARTICLES_PER_UG.source,
             self.particles_per_ug >= c.PURITY_MIN_PARTICLES_PER_UG.value),
            ("EV markers (Western blot)",
             ", ".join(f"{r.protein} {'+' if r.detected else '-'}" for r in wb.itertuples()),
             "CD9+, CD63+, TSG101+, calnexin-",
             c.WESTERN_MIN_SIGNAL_TO_BACKGROUND.source, self.western.passed),
        ]
        cols = ["check", "value", "limit", "source", "passed"]
        frame = pd.DataFrame(rows, columns=cols)
        frame["passed"] = frame["passed"].astype(bool)
        return frame

    @property
    def passed(self) -> bool:
        """True when every release check passes."""
        return bool(self.checks()["passed"].all())

    def to_frame(self) -> pd.DataFrame:
        """The release checks with the lot id."""
        return self.checks().assign(lot_id=self.lot.lot_id)

    def summary(self) -> str:
        """Plain-text release summary."""
        lines = [f"Lot {self.lot.lot_id} ({self.lot.product}): "
                 f"{'PASS' if self.passed else 'FAIL'}"]
        for r in self.checks().itertuples():
            lines.append(f"  [{'PASS' if r.passed else 'FAIL'}] {r.check}: {r.value} "
                         f"(limit {r.limit})")
        a = self.attributes
        lines.append(f"  particles/ug {a.particles_per_ug:.3g}; 10 ug = "
                     f"{10 * a.particles_per_ug:.3g} particles; mode {a.mode_size_nm:.1f} nm; "
                     f"potency x{a.potency_relative:g}")
        lines.append("  " + self.misev.summary())
        return "\n".join(lines)


def run_qc(lot_folder: str | Path) -> ReleaseResult:
    """Characterise a lot from its folder.

    Parameters
    ----------
    lot_folder : str or pathlib.Path
        Folder laid out as described in :mod:`oasim.qc.lot`.

    Returns
    -------
    ReleaseResult

    Raises
    ------
    oasim.errors.DataError
        Naming the file and the problem when any input is missing or malformed.
    """
    lot = read_lot(lot_folder)
    measurements = measure_markers(lot.path("flow"), lot.markers, lot.gating,
                                   lot.control_percentile)
    nta = read_nta(lot.path("nta"), lot.nta_dilution_factor)
    bca = read_bca(lot.path("bca"))
    western = read_western(lot.path("western"))
    return ReleaseResult(
        lot=lot,
        identity=evaluate_identity(measurements),
        trilineage=read_trilineage(lot.path("trilineage")),
        nta=nta,
        bca=bca,
        western=western,
        misev=build_checklist(lot.misev, nta, bca, western, lot.potency_assay),
    )


def tables(result: ReleaseResult) -> dict[str, pd.DataFrame]:
    """The result's tables by file stem."""
    lot_id = result.lot.lot_id
    attrs = pd.DataFrame([result.attributes.__dict__])
    named = {
        "release_checks": result.checks(),
        "flow_markers": result.identity.to_frame(),
        "trilineage": result.trilineage.to_frame(),
        "nta_summary": result.nta.to_frame(),
        "nta_distribution": result.nta.distribution,
        "bca": result.bca.to_frame(),
        "western": result.western.to_frame(),
        "misev_checklist": result.misev.to_frame(),
        "lot_attributes": attrs,
    }
    return {k: v.assign(lot_id=lot_id) for k, v in named.items()}


def write_release(result: ReleaseResult, out_dir: str | Path, force: bool = False) -> Path:
    """Write tables, figures and ``report.html`` for a lot into ``out_dir``, atomically.

    Everything is written into a temporary folder beside ``out_dir`` that is renamed into
    place at the end; a failure leaves any earlier ``out_dir`` as it was. A non-empty
    ``out_dir`` is replaced only with ``force`` and only if oasim wrote it (:mod:`oasim.io`).

    Returns
    -------
    pathlib.Path
        The HTML report.
    """
    from oasim.qc.report import render_report

    out_dir = Path(out_dir)
    with atomic_output_dir(out_dir, force) as tmp:
        (tmp / "tables").mkdir()
        for name, frame in tables(result).items():
            frame.to_parquet(tmp / "tables" / f"{name}.parquet", index=False)
        render_report(result, tmp)
        verdict = {"lot_id": result.lot.lot_id, "passed": result.passed,
                   "attributes": result.attributes.__dict__}
        (tmp / "release.json").write_text(json.dumps(verdict, indent=2), encoding="utf-8")
    return out_dir / "report.html"
