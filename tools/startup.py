"""Start-up time of ``oasim --help`` (issue 17): wall and CPU time over repeated runs.

    python tools/startup.py SRC_DIR [SRC_DIR ...]

Each SRC_DIR is put on PYTHONPATH in turn; ``python -c pass`` is timed as the floor.
CPU time (user + sys of the child) is less disturbed by other load on the machine than wall time.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time


def bench(cmd: list[str], env: dict, n: int = 9) -> tuple[float, float]:
    wall, cpu = [], []
    for _ in range(n):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        wall.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(wall), statistics.median(cpu)


if __name__ == "__main__":
    base = dict(os.environ)
    print("python -c pass: wall %.3f s, cpu %.3f s (medians)" % bench([sys.executable, "-c", "pass"], base))
    for src in sys.argv[1:]:
        env = {**base, "PYTHONPATH": src}
        print(f"{src}: oasim --help: wall %.3f s, cpu %.3f s (medians)"
              % bench([sys.executable, "-m", "oasim.cli", "--help"], env))
