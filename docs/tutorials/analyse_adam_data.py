"""# Analyse your own ADaM data

`oasim analyse` runs the standard analyses of a randomised trial on real data in ADaM form
(ADSL plus one BDS dataset such as ADQS or ADADAS, and ADAE), read from XPT, Parquet, CSV or
Dataset-JSON. Here the data are the public CDISC pilot study (CDISCPILOT01: xanomeline vs
placebo in Alzheimer's disease), shipped as compressed Dataset-JSON in
`docs/tutorials/data/cdiscpilot/` (copied from the CDISC Dataset-JSON repository's examples;
provenance in `tests/adam/data/README.md`). The primary analysis reproduces the pilot's
clinical study report, Table 14-3.01: the ADAS-Cog (11) change from baseline to week 24
(LOCF), ANCOVA with site group and baseline, and the dose-response test on the planned dose.

The same analysis from the command line:

```bash
oasim analyse docs/tutorials/data/cdiscpilot --paramcd ACTOT --visit "Week 24" \\
    --population EFFFL --where ANL01FL=Y --covariates SITEGR1 --trend TRTPN
```
"""

import sys
from pathlib import Path

from oasim.adam import AnalysisSpec, analyse_adam, read_adam_dir

out = Path(sys.argv[1] if len(sys.argv) > 1 else "tutorial-output/analyse_adam_data")
out.mkdir(parents=True, exist_ok=True)

tables = read_adam_dir("docs/tutorials/data/cdiscpilot")
print("datasets:", {name: df.shape for name, df in sorted(tables.items())})

spec = AnalysisSpec(paramcd="ACTOT", visits=("Week 24",), population="EFFFL", where=(("ANL01FL", "Y"),),
                    covariates=("SITEGR1",), trend="TRTPN")
result = analyse_adam(tables, spec)
print(f"response {result.response}, baseline {result.baseline}, control arm {result.control!r}")

change = result.descriptive[result.descriptive["variable"] == "CHG"]
print("\nChange from baseline at week 24 (CSR 14-3.01: n 79 / 81 / 74, mean 2.5 / 2.0 / 1.5)")
print(change[["arm", "n", "mean", "sd"]].round(2).to_string(index=False))

print("\nANCOVA vs placebo (CSR 14-3.01: -0.5 (0.82) p=0.569; -1.0 (0.84) p=0.233)")
pairwise = result.pairwise[["arm", "estimate", "se", "ci_low", "ci_high", "p_value"]]
print(pairwise.round(3).to_string(index=False))
print(f"dose-response test p = {result.dose_response['p_value'].iloc[0]:.3f} (CSR: 0.245)")

print("\nTreatment-emergent adverse events (CSR 14-5.01: any TEAE 75.6 / 91.7 / 90.5 %)")
overview = result.ae_overview.assign(pct_any=lambda d: (100 * d["any_teae"] / d["n"]).round(1))
print(overview[["arm", "n", "any_teae", "pct_any"]].to_string(index=False))

pairwise.to_csv(out / "ancova_week24.csv", index=False)
print("\nwritten:", sorted(p.name for p in out.iterdir()))
