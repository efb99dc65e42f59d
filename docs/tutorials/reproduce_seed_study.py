"""# Reproduce the seed study

The seed study tells one story: IL-1β-stimulated mouse chondrocytes are rescued by hUC-MSC
exosomes, weekly intra-articular exosomes slow cartilage loss in DMM mice, human chondrocytes
tolerate the exosomes up to a concentration, and a randomised, double-blind, ascending-dose
trial tests them in knee OA. This tutorial runs the four stages with the shipped scenarios and
carries the numbers from one stage to the next by hand; the program scenario
(`examples/program.toml`, [Bench to bedside in one run](../guides/program.md)) chains them
automatically and records where each number came from.

Every stage is seeded: the numbers below are the same on every run.
"""

import sys
from pathlib import Path

import oasim
from oasim.experiments.translation import translate

out = Path(sys.argv[1] if len(sys.argv) > 1 else "tutorial-output/reproduce_seed_study")

# 1. In vitro: IL-1β-stimulated mouse chondrocytes ± exosomes (qPCR 2^-ΔΔCt, n = 3 wells per group)
#    and the toxicity assay on human chondrocytes (CCK-8 viability, cytotoxic below 70 % of vehicle).
invitro = oasim.run("examples/invitro_il1b_exosome.toml", out=out / "invitro")
wells = invitro.tables["assay_data"]
mmp13 = wells[(wells.readout == "MMP13") & (wells.hour == 48)].groupby("group", sort=False)["value"].mean()
print("In vitro: MMP13 fold change at 48 h (mean of 3 wells)")
print(mmp13.round(2).to_string())
tox = invitro.tables["toxicity_data"].groupby("concentration_per_ml")["viability_pct"].mean()
highest_safe_per_ml = tox[tox >= 70.0].index.max()
print(f"highest non-toxic concentration: {highest_safe_per_ml:.0e} particles/mL")

# 2. Mouse DMM model: weekly IA exosomes; OARSI score (0-6) at week 12.
mouse = oasim.run("examples/mouse_dmm_exosome.toml", out=out / "mouse")
scores = mouse.tables["mouse_data"]
oarsi12 = scores[(scores.readout == "oarsi") & (scores.week == 12)].groupby("group", sort=False)["value"].mean()
print("\nMouse: OARSI score at week 12 (mean of 8 mice)")
print(oarsi12.round(2).to_string())
# the lowest weekly dose whose week-12 OARSI is at most half the vehicle's
effective = [g for g in oarsi12.index if g.startswith("Exo") and oarsi12[g] <= 0.5 * oarsi12["vehicle"]]
mouse_dose_particles = float(effective[0].split()[1])
print(f"lowest dose halving OARSI: {effective[0]} ({mouse_dose_particles:.0e} particles per knee)")

# 3. Dose translation: the mouse schedule (weekly, days 7-49) to one human knee.
human = translate(mouse_dose_particles, dose_days=tuple(7.0 * k for k in range(1, 8)))
print("\nHuman-equivalent dose per injection:")
for method, dose in human.doses.items():
    print(f"  by {method:<15} {dose:.2e} particles")

# 4. The trial: 3 cohorts of 8 (6 exosome : 2 saline) at the scenario's dose levels, sentinel
#    dosing and a safety review per cohort. Where do the translated doses fall among its levels?
scenario = oasim.load_scenario("examples/hucmsc_exosome_trial.toml")
levels = [cohort.dose for cohort in scenario.design.cohorts]
print("trial dose levels:", ", ".join(f"{d:.0e}" for d in levels), "particles")
for method, dose in human.doses.items():
    print(f"  {method:<15} {dose / levels[0]:6.2f} x the lowest level, {dose / levels[-1]:6.2f} x the highest")
trial = oasim.run(scenario, out=out / "trial")
print()
print(trial.summary())
print("\nfiles:", sorted(p.name for p in (out / "trial").iterdir() if not p.name.startswith(".")))
