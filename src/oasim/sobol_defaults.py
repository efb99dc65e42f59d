"""Defaults of :mod:`oasim.sobol` that the CLI shows in ``--help``, in a module that imports
nothing, so that ``oasim explain --help`` does not import numpy and pandas (as ``oasim.sobol`` does)."""

# Base sample size (power of 2) of msc_effect_sobol and of `oasim explain --method sobol --n-base`.
# Assumed: the CLI's default since commit 06808f2. With the twins kept on the instrument, the
# total-order index of flare_msc_clearance_gain was 0.17 / 0.05 / 0.02 at 256 / 1024 / 4096 base
# samples and the other top factors agreed within 0.03 between 1024 and 4096 (session 25's note).
MSC_EFFECT_N_BASE = 1024
