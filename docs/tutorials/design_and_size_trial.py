"""# Design an ascending-dose trial and size it

Two questions before a first-in-human ascending-dose trial: *is the escalation rule safe?*
and *how many patients do we need to see a benefit?* The first is answered by the operating
characteristics of the escalation design (BOIN, Liu & Yuan 2015) for an assumed true
dose-toxicity curve; the second by simulating the whole trial many times (`oasim power`,
`oasim design`) and counting how often the primary analysis (ANCOVA of the change in WOMAC
total vs pooled placebo at month 6) finds a benefit.

The trial counts are kept small so the tutorial runs in seconds: the power estimates carry
wide Clopper-Pearson intervals, printed beside them. Use `--trials 500` or more for a decision.
"""

import sys
from pathlib import Path

import oasim
from oasim.trial.design_sweep import apply_point
from oasim.trial.escalation import Boin, StopAtN, boin_boundaries, simulate_trials
from oasim.trial.power import simulate_power

out = Path(sys.argv[1] if len(sys.argv) > 1 else "tutorial-output/design_and_size_trial")
out.mkdir(parents=True, exist_ok=True)

# 1. The escalation rule. BOIN with a target DLT rate of 25 %: escalate while the observed rate
#    at the current dose is at most lambda_e, de-escalate at lambda_d or more.
bounds = boin_boundaries(target=0.25)
print(f"BOIN target 0.25: escalate if DLT rate <= {bounds.lambda_e:.3f}, de-escalate if >= {bounds.lambda_d:.3f}")
# Three dose levels, cohorts of 3, at most 18 patients. The true DLT probabilities are
# assumed for illustration (a safe product: the top dose sits at the target).
truth = [0.05, 0.10, 0.25]
oc = simulate_trials(StopAtN(Boin(num_doses=3, target=0.25, cohort_size=3), n=18), truth, n_trials=4000, rng=7)
print(oc.summary())

# 2. Power of the shipped design (3 cohorts of 6 active : 2 saline) and of larger cohorts.
scenario = oasim.load_scenario("examples/hucmsc_exosome_trial.toml")
for n_active in (6, 18):
    design = apply_point(scenario, {"n_active": n_active, "n_placebo": n_active // 3})
    power = simulate_power(design, n_trials=16, chunk_size=16, out_dir=out / f"power_n{n_active}")
    table = power.to_frame()[["arm", "power", "power_ci_low", "power_ci_high", "mean_difference"]]
    print(f"\n{n_active} active : {n_active // 3} saline per cohort, {power.n_trials} simulated trials")
    print(table.round(3).to_string(index=False))
