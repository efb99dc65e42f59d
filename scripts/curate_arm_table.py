"""Curate the shared published-trial tables into the arm-table form (src/oasim/data/calibration/).

    python scripts/curate_arm_table.py SHARED_DATA_DIR

reads SHARED_DATA_DIR/published-trials.csv and SHARED_DATA_DIR/curated/arms.csv, appends the rows
read by hand from primary sources in ``scripts/data/arms_round3.csv`` (each with its page, how it
was read or derived and a verbatim quote; arms the vocabulary cannot hold are listed in
``scripts/data/arms_round3_excluded.csv``), and writes
``arms.csv`` (exactly the arm-table columns) and ``sources.csv`` (study, arm -> source and how
each value was obtained, plus the decisions taken here) next to this package's calibration
data. Rows that the arm-table vocabulary cannot hold are listed in ``excluded.csv`` with the
reason. Every decision below is written into the ``curation`` column of ``sources.csv``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "src" / "oasim" / "data" / "calibration"
ROUND3 = Path(__file__).resolve().parent / "data" / "arms_round3.csv"
ROUND3_EXCLUDED = Path(__file__).resolve().parent / "data" / "arms_round3_excluded.csv"
COLUMNS = ("study", "arm", "product", "cell_source", "dose", "dose_unit", "injection_days", "co_injection", "n",
           "kl_grades", "endpoint", "scale_max", "statistic", "month", "value", "spread_type", "spread_low",
           "spread_high")
STUDY_KEYS = {
    "Gupta 2016 Stempeucel phase II (Arthritis Res Ther 18:301)": "Gupta2016",
    "Gel-200 vs PBS integrated analysis of 2 RCTs (single IA injection)": "Gel200_2018",
    "East & Dordevic 2020/2021 ExoFlo (XoFlo) BM-MSC EV pilot, Navy SEAL veterans": "ExoFlo_pilot",
    "Ultrasound-guided IA expanded umbilical cord (Wharton jelly) MSC, knee OA safety/efficacy study with MRI "
    "(authors/year not visible)": "WJ_MSC_two_doses",
}
KL_ASSUMED = "kl_grades not read in the source: population default 2-4 used (assumed)"


def from_curated(path: Path):
    """Rows of curated/arms.csv that fit the arm-table vocabulary (others returned as excluded)."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    keep, excluded = [], []
    vocab = {"womac_pain", "womac_stiffness", "womac_function", "womac_total", "vas_pain", "koos_pain",
             "cartilage_thickness_change_mm", "ae_any", "ae_injection_site", "ae_treatment_related"}
    for r in df.to_dict("records"):
        study = STUDY_KEYS.get(r["study"], r["study"])
        arm = r["arm"].split(" (")[0]
        if r["endpoint"] not in vocab or r["month"] == "":
            excluded.append({"study": study, "arm": arm, "endpoint": r["endpoint"],
                             "reason": f"endpoint '{r['endpoint']}'/statistic '{r['statistic']}' outside the arm-table "
                                       "vocabulary or no month"})
            continue
        notes = []
        kl = r["kl_grades"]
        if kl == "not read":
            kl, _ = "2-4", notes.append(KL_ASSUMED)
        elif kl.startswith("advanced"):
            kl, _ = "3-4", notes.append("kl_grades 'advanced (exact grades not read)' taken as 3-4 (assumed)")
        row = {c: r[c] for c in COLUMNS}
        row.update(study=study, arm=arm, kl_grades=kl)
        keep.append((row, {"study": study, "arm": arm, "original_study": r["study"], "original_arm": r["arm"],
                           "source": r["source"], "how": r["how"], "curation": "; ".join(notes)}))
    return keep, excluded


def _row(study, arm, product, cell_source, dose, dose_unit, days, co, n, kl, endpoint, scale, stat, month, value,
         spread="none", lo="", hi=""):
    return dict(zip(COLUMNS, (study, arm, product, cell_source, dose, dose_unit, days, co, n, kl, endpoint, scale,
                              stat, month, value, spread, lo, hi)))


def from_published(path: Path):
    """The rows of published-trials.csv that fit, mapped by hand study by study."""
    p = pd.read_csv(path)
    rows, sources, excluded = [], [], []

    def src(study, arm, r, curation):
        sources.append({"study": study, "arm": arm, "original_study": r["study"], "original_arm": r["product"],
                        "source": r["source_note"], "how": f"read (published-trials.csv, verified={r['verified']})",
                        "curation": curation})

    # Kuah 2018: baseline mean +/- SD per arm (conditioning rows); KL 3 in 75% of each arm
    kuah_arms = {"placebo": ("Placebo", "saline", "none", "", "none"),
                 "3.9e6": ("Progenza 3.9M", "msc", "adipose", "3900000", "cells"),
                 "6.7e6": ("Progenza 6.7M", "msc", "adipose", "6700000", "cells")}
    scales = {"VAS_pain": ("vas_pain", 100), "WOMAC_pain": ("womac_pain", 20), "WOMAC_stiffness": ("womac_stiffness", 8),
              "WOMAC_function": ("womac_function", 68)}
    for r in p[p["study"] == "Kuah"].to_dict("records"):
        if r["endpoint"] not in scales:
            excluded.append({"study": "Kuah2018", "arm": r["product"], "endpoint": r["endpoint"],
                             "reason": "cartilage volume (mm3) / pooled TEAE over all arms: not an arm-table endpoint"})
            continue
        key = "placebo" if r["product"] == "placebo" else r["dose"]
        arm, product, source, dose, unit = kuah_arms[key]
        endpoint, scale = scales[r["endpoint"]]
        rows.append(_row("Kuah2018", arm, product, source, dose, unit, "0", "none", int(r["n"]), "2-3", endpoint, scale,
                         "mean", 0, r["mean"], "sd", r["sd"]))
        src("Kuah2018", arm, r, "kl_grades 2-3: Table 2 gives 75% KL 3 per arm, the rest taken as KL 2 (assumed)")
    # Chen 2021 (ELIXCYTE): AE proportions weeks 0-24 (month 5.5); HA control
    chen_arms = {0: ("HA control", "hyaluronic_acid", "none", "", "none"), 1.6e7: ("ADSC 16M", "msc", "adipose", "16000000", "cells"),
                 3.2e7: ("ADSC 32M", "msc", "adipose", "32000000", "cells"), 6.4e7: ("ADSC 64M", "msc", "adipose", "64000000", "cells")}
    chen_end = {"AE_any_wk0-24_proportion": "ae_any", "AE_treatment_related_wk0-24_proportion": "ae_treatment_related"}
    for r in p[p["study"] == "Chen (ELIXCYTE)"].to_dict("records"):
        if r["endpoint"] not in chen_end:
            excluded.append({"study": "Chen2021", "arm": r["product"], "endpoint": r["endpoint"],
                             "reason": "grade >= 3 / SAE proportions are not arm-table endpoints; the week 24-96 "
                                       "window does not start at injection (not cumulative)"})
            continue
        arm, product, source, dose, unit = chen_arms[float(r["dose"])]
        rows.append(_row("Chen2021", arm, product, source, dose, unit, "0", "none", int(r["n"]), "2-4", chen_end[r["endpoint"]],
                         1, "proportion", r["timepoint_months"], r["mean"]))
        src("Chen2021", arm, r, KL_ASSUMED)
    # Jakarta UC-MSC + secretome + HA, single arm split by KL severity (n = knees)
    jak = {"hUC-MSC in secretome + HA (KL I-II (mild) knees)": ("KL 1-2 knees", "1-2"),
           "hUC-MSC in secretome + HA (severe (KL III-IV) knees)": ("KL 3-4 knees", "3-4")}
    for r in p[p["study"] == "Jakarta UC-MSC open-label"].to_dict("records"):
        arm, kl = jak[r["product"]]
        if r["endpoint"] == "IKDC":
            excluded.append({"study": "Jakarta2020", "arm": arm, "endpoint": "IKDC", "reason": "IKDC is not an arm-table endpoint"})
            continue
        endpoint, scale = {"WOMAC_total": ("womac_total", 96), "VAS_pain": ("vas_pain", 10)}[r["endpoint"]]
        rows.append(_row("Jakarta2020", arm, "msc", "umbilical_cord", "10000000", "cells", "0", "hyaluronic_acid",
                         int(r["n"]), kl, endpoint, scale, "mean", r["timepoint_months"], r["mean"], "sd", r["sd"]))
        src("Jakarta2020", arm, r, "WOMAC scale not stated: 0-96 (Likert) assumed, the values 13-28 fit it; VAS 0-10 "
                                   "presumed by the source; n counts knees; the extra HA-only injections at weeks 2 and 3 "
                                   "are not represented (HA co-injected on day 0 only)")
    # DF-HA phase 3 saline arm: 12-week LSM change (0-100 mm WOMAC subscales), SD derived from the CI x sqrt(n)
    dfha = {"WOMAC_pain_change": "womac_pain", "WOMAC_stiffness_change": "womac_stiffness",
            "WOMAC_function_change": "womac_function", "WOMAC_total_change": "womac_total",
            "AE_any_proportion": "ae_any", "AE_injection_site_proportion": "ae_injection_site"}
    for r in p[p["study"] == "DF-HA phase 3 (placebo-arm anchor)"].to_dict("records"):
        if "placebo" not in r["product"] or r["endpoint"] not in dfha:
            excluded.append({"study": "DFHA2021", "arm": r["product"], "endpoint": r["endpoint"],
                             "reason": "the active arm is diclofenac-conjugated HA (not a pure HA product); SAE is not an arm-table endpoint"})
            continue
        endpoint = dfha[r["endpoint"]]
        if endpoint.startswith("ae_"):
            rows.append(_row("DFHA2021", "Saline", "saline", "none", "", "none", "0", "none", 220, "2-4", endpoint, 1,
                             "proportion", r["timepoint_months"], r["mean"]))
        else:
            rows.append(_row("DFHA2021", "Saline", "saline", "none", "", "none", "0", "none", 220, "2-4", endpoint, 100,
                             "mean_change", r["timepoint_months"], r["mean"], "sd", r["sd"]))
        src("DFHA2021", "Saline", r, KL_ASSUMED + "; WOMAC subscales reported on 0-100 mm: scale_max 100; SD derived "
                                                  "from the reported 95% CI x sqrt(n) (source note)")
    # FORWARD placebo: 2-year change of total femorotibial cartilage thickness; IA saline q6mo, 3 weekly injections
    for r in p[p["study"] == "FORWARD (placebo-arm anchor)"].to_dict("records"):
        if r["endpoint"] != "cartilage_thickness_change_TFTJ" or pd.isna(r["n"]):
            excluded.append({"study": "Hochberg2019", "arm": r["product"], "endpoint": r["endpoint"],
                             "reason": "annualised rate or subgroup without n: only the mITT 2-year change is an arm-table row"})
            continue
        days = ";".join(str(c * 182 + w * 7) for c in range(4) for w in range(3))
        rows.append(_row("Hochberg2019", "Placebo", "saline", "none", "", "none", days, "none", int(r["n"]), "2-3",
                         "cartilage_thickness_change_mm", "", "mean", r["timepoint_months"], r["mean"], "sd", r["sd"]))
        src("Hochberg2019", "Placebo", r, "schedule: cycles every 182 days of 3 weekly injections (source: 'q6mo, 3 weekly "
                                          "injections per cycle'); kl_grades 2-3 assumed (FORWARD enrolled KL 2-3: recalled, "
                                          "not verified); n = randomised placebo (analysed n lower)")
    for study in ("UC-MSC repeated injection phase I", "Previtali (meta-analysis, saline arms)"):
        excluded.append({"study": study, "arm": "", "endpoint": "all",
                         "reason": "dose, schedule and statistic not stated (UC-MSC repeated)" if "UC" in study
                         else "pooled over 50 trials' saline arms: not one arm of one trial"})
    return rows, sources, excluded


def _join_unique(values) -> str:
    return " | ".join(dict.fromkeys(v for v in values if v))


def from_round3(path: Path = ROUND3, excluded_path: Path = ROUND3_EXCLUDED):
    """Rows read by hand from primary sources (arm-table columns + source_kind, source, how, quote).

    sources.csv gets one row per arm: its pages, and its rows' ``how`` with the design note
    (the text after ``design:``, the same on every row of an arm) written once.
    """
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = df[list(COLUMNS) + ["source_kind"]].to_dict("records")
    sources = []
    for (study, arm), g in df.groupby(["study", "arm"], sort=False):
        reads = [h.split("; design: ")[0] for h in g["how"]]
        designs = [h.split("; design: ")[1] for h in g["how"] if "; design: " in h]
        sources.append({"study": study, "arm": arm, "original_study": study, "original_arm": arm,
                        "source": _join_unique(g["source"]), "how": _join_unique(reads),
                        "curation": "round 3, read by hand from the source (scripts/data/arms_round3.csv: one verbatim "
                                    "quote per row); design: " + _join_unique(designs)})
    excluded = pd.read_csv(excluded_path, dtype=str, keep_default_na=False).to_dict("records")
    return rows, sources, excluded


def main(shared: Path) -> None:
    kept, excluded = from_curated(shared / "curated" / "arms.csv")
    rows, sources, excl2 = from_published(shared / "published-trials.csv")
    table = pd.DataFrame([r for r, _ in kept] + rows, columns=list(COLUMNS))
    src = pd.DataFrame([s for _, s in kept] + sources).drop_duplicates(["study", "arm"])
    # rows whose source says they were read from a secondary source (Gupta 2016: chart data of a
    # web application, not the paper) get the calibration's extra secondary-source SDs
    secondary = {(s["study"], s["arm"]) for _, s in kept if "SECONDARY" in s["how"]}
    table["source_kind"] = ["secondary" if k in secondary else "primary" for k in zip(table.study, table.arm)]
    # round 3: appended after the rows above, which stay byte-for-byte as they were
    rows3, sources3, excl3 = from_round3()
    table = pd.concat([table, pd.DataFrame(rows3, columns=list(COLUMNS) + ["source_kind"])], ignore_index=True)
    src = pd.concat([src, pd.DataFrame(sources3)], ignore_index=True)
    excl2 = excl2 + excl3
    # Gupta 2016 ran two cohorts, each with its own placebo arm: name each cell arm's control
    # (the calibration's treatment-effect random effect compares an arm with its control's rows);
    # a study with a single saline or HA arm needs none
    gupta = (table.study == "Gupta2016") & (table["product"] == "msc")
    table["control_arm"] = ""
    table.loc[gupta, "control_arm"] = [f"{a.split('_')[0]}_placebo_P{a[6]}" for a in table.loc[gupta, "arm"]]
    OUT.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT / "arms.csv", index=False)
    src.to_csv(OUT / "sources.csv", index=False)
    pd.DataFrame(excluded + excl2).drop_duplicates().to_csv(OUT / "excluded.csv", index=False)
    print(f"{len(table)} rows, {len(src)} arms, {len(excluded) + len(excl2)} excluded rows -> {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
