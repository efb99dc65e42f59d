"""Randomisation: permuted blocks within each cohort, with an optional sentinel pair.

Within a cohort of ``n_active`` + ``n_placebo`` subjects, blocks of ``block_size`` keep the
cohort's active:placebo ratio; the order inside each block is a seeded permutation. With
sentinel dosing, the first two subjects of a cohort are one active and one placebo (in random
order) and are dosed ``sentinel_days`` before the rest.
"""

from __future__ import annotations

import numpy as np

from ..errors import FieldError


def permuted_blocks(n_active: int, n_placebo: int, block_size: int | None, rng: np.random.Generator,
                    sentinel: bool = False) -> np.ndarray:
    """Randomised sequence of 1 (active) / 0 (placebo) for one cohort."""
    n = n_active + n_placebo
    size = block_size or n
    if n % size:
        raise FieldError("design.block_size", size, f"a divisor of the cohort size {n}")
    blocks = n // size
    if n_active % blocks or n_placebo % blocks:
        raise FieldError("design.block_size", size,
                         f"a size that keeps the {n_active}:{n_placebo} ratio in every block")
    block = np.array([1] * (n_active // blocks) + [0] * (n_placebo // blocks))
    sequence = np.concatenate([rng.permutation(block) for _ in range(blocks)])
    if sentinel and n_active >= 1 and n_placebo >= 1:
        first_active = int(np.flatnonzero(sequence == 1)[0])
        first_placebo = int(np.flatnonzero(sequence == 0)[0])
        pair = [first_active, first_placebo]
        rest = [i for i in range(n) if i not in pair]
        order = list(rng.permutation(pair)) + rest
        sequence = sequence[order]
    return sequence


def permuted_blocks_arms(sizes: list[int], block_size: int | None, rng: np.random.Generator) -> np.ndarray:
    """Randomised sequence of arm indices (0..len(sizes)-1) for a parallel-group trial.

    Every block of ``block_size`` holds the arms in the ratio of ``sizes`` (fixed n per arm,
    any allocation ratio); without a block size the whole trial is one permuted block.
    """
    total = sum(sizes)
    size = block_size or total
    blocks = total // size if total % size == 0 else 0
    if not blocks or any(n % blocks for n in sizes):
        raise FieldError("design.block_size", size, f"a divisor of the trial size {total} that keeps the ratio {sizes}")
    block = np.repeat(np.arange(len(sizes)), [n // blocks for n in sizes])
    return np.concatenate([rng.permutation(block) for _ in range(blocks)])
