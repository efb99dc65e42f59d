"""Write the two synthetic demo lots used by `oasim qc` examples and tests.

    python examples/make_lot_demo.py            # rewrites examples/lot_demo{,_failing}/

lot_demo          passes every release check (CD105 98.5% positive, 1.2e10 particles/ug).
lot_demo_failing  fails ISCT identity: only 93% of cells CD105-positive; it is also a less
                  pure preparation (3.6e9 particles/ug), so 10 ug protein is fewer particles.
All data are synthetic (oasim.qc.synthetic), seeded, and reproducible byte for byte.
"""

from __future__ import annotations

from pathlib import Path

from oasim.qc.synthetic import write_demo_lot

HERE = Path(__file__).resolve().parent


def main() -> None:
    write_demo_lot(HERE / "lot_demo", "EXO-DEMO-001", seed=20240801)
    write_demo_lot(
        HERE / "lot_demo_failing", "EXO-DEMO-002", seed=20240802, cd105_fraction=0.93,
        particles_per_ml=1.8e12, protein_ug_per_ml=500.0, potency=0.8,
        misev={"source_and_culture": "hUC-MSC P4, 48 h serum-free conditioning",
               "separation_method": "polymer precipitation kit"},
    )


if __name__ == "__main__":
    main()
