"""Dashboard start-up: time from launching ``oasim dashboard`` to the browser's first paint,
and to the first explorer result.

Run: ``python -m benchmarks.dashboard [--repeats 3]`` (needs /usr/bin/chromium and the
``dashboard`` + ``test`` extras). Chromium is started before the clock starts, so the times are
what a user with an open browser waits: server start (CLI import, uvicorn) + page load to the
first contentful paint (``performance`` paint timing); then the default explorer run (worker
start, solver load, 100 subjects x 2 years, twice) until its figure is in the page.
Prints each repeat and the median; absolute times depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import statistics
import time

from tests.dashboard.conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_server, stop_server, wait_for


def one_start(browser) -> tuple[float, float]:
    port = free_port()
    started_epoch_ms = time.time() * 1000.0
    process = start_server(port)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/static/style.css", process, timeout_s=300)
        page = browser.new_page()
        page.goto(f"{url}/explorer")
        page.wait_for_function("performance.getEntriesByName('first-contentful-paint').length > 0")
        fcp_epoch_ms = page.evaluate(
            "performance.timeOrigin + performance.getEntriesByName('first-contentful-paint')[0].startTime")
        page.click("#run")
        page.wait_for_selector("#result figure svg", timeout=600_000)
        result_s = time.time() - started_epoch_ms / 1000.0
        page.close()
    finally:
        stop_server(process)
    return (fcp_epoch_ms - started_epoch_ms) / 1000.0, result_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    paints, results = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for k in range(args.repeats):
            paint_s, result_s = one_start(browser)
            paints.append(paint_s)
            results.append(result_s)
            print(f"start {k + 1}: first paint {paint_s:.2f} s, first explorer result {result_s:.2f} s after launch")
        browser.close()
    print(f"median of {args.repeats}: first paint {statistics.median(paints):.2f} s, "
          f"first explorer result {statistics.median(results):.2f} s")


if __name__ == "__main__":
    main()
