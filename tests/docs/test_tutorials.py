"""Each tutorial script runs (from the repository root, as the docs say) and prints and writes
what its page promises. The numbers checked come from outside oasim where there is such a
source: the CDISC pilot's clinical study report (Tables 14-3.01, 14-5.01) and the BOIN
boundaries tabulated by Liu & Yuan (2015, Table 1)."""

from __future__ import annotations

import re

import pandas as pd


def _lines(text: str, start: str, n: int) -> list[str]:
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith(start))
    return lines[i + 1:i + 1 + n]


def test_every_tutorial_has_an_intro_and_runs(pages, tutorial_runs):
    for name in pages.TUTORIALS:
        intro, code = pages.split_tutorial((pages.REPO / "docs/tutorials" / f"{name}.py").read_text("utf-8"))
        assert intro.startswith("# ") and "import" in code
        stdout, seconds, _ = tutorial_runs["runs"][name]
        assert stdout.strip(), name
        print(f"{name}: {seconds:.1f} s")


def test_analyse_adam_data_reproduces_the_cdisc_pilot_csr(tutorial_runs):
    stdout, _, out = tutorial_runs["runs"]["analyse_adam_data"]
    ancova = _lines(stdout, "ANCOVA vs placebo", 3)[1:]
    published = {"Low": ("-0.5", "0.82", "0.569"), "High": ("-1.0", "0.84", "0.233")}
    for row in ancova:
        dose = "Low" if "Low" in row else "High"
        fields = row.split()
        estimate, se, p = float(fields[-5]), float(fields[-4]), float(fields[-1])
        assert (f"{estimate:.1f}", f"{se:.2f}", f"{p:.3f}") == published[dose]
    assert "dose-response test p = 0.245" in stdout
    pct = [float(row.split()[-1]) for row in _lines(stdout, "Treatment-emergent adverse events", 4)[1:]]
    assert pct == [75.6, 91.7, 90.5]
    written = pd.read_csv(out / "ancova_week24.csv")
    assert list(written["arm"]) == ["Xanomeline Low Dose", "Xanomeline High Dose"]


def test_design_tutorial_boin_boundaries_and_power_tables(tutorial_runs):
    stdout, _, out = tutorial_runs["runs"]["design_and_size_trial"]
    # Liu & Yuan 2015 Table 1, target 0.25: lambda_e 0.197, lambda_d 0.298
    assert "escalate if DLT rate <= 0.197, de-escalate if >= 0.298" in stdout
    selected = [float(row.split()[2]) for row in _lines(stdout, " dose  true_prob_dlt", 3)]
    assert abs(sum(selected) - 100.0) < 0.01 and selected[2] == max(selected)
    for n_active in (6, 18):
        rows = _lines(stdout, f"{n_active} active", 4)[1:]
        assert len(rows) == 3
        for row in rows:
            power, low, high = map(float, row.split()[2:5])
            assert 0.0 <= low <= power <= high <= 1.0
        assert any((out / f"power_n{n_active}").iterdir())


def test_seed_study_tutorial_chains_the_stages(tutorial_runs):
    stdout, _, out = tutorial_runs["runs"]["reproduce_seed_study"]
    assert "highest non-toxic concentration: 1e+11 particles/mL" in stdout
    mmp13 = dict(re.findall(r"^(IL-1b|control)\s+([\d.]+)$", stdout, re.M))
    assert float(mmp13["IL-1b"]) > 5 * float(mmp13["control"])
    assert re.search(r"lowest dose halving OARSI: Exo 1e\+?0?8 weekly", stdout)
    assert "hucmsc_exosome_trial: change in WOMAC_TOTAL at month 6" in stdout
    for stage in ("invitro", "mouse", "trial"):
        assert (out / stage / "summary.json").is_file(), stage
    assert (out / "trial" / "report.html").is_file()


def test_why_efficacy_varies_writes_the_printed_ranking(tutorial_runs):
    stdout, _, out = tutorial_runs["runs"]["why_efficacy_varies"]
    drivers = pd.read_csv(out / "drivers.csv")
    assert drivers["prcc"].between(-1, 1).all()
    printed = [row.split()[0] for row in _lines(stdout, "strongest drivers", 9)[1:]]
    assert printed == list(drivers["driver"].head(8))
