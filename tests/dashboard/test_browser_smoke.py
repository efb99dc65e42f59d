"""Browser smoke test (default run): the explorer runs, its figure and table follow the dose,
and an invalid value is reported next to its field."""

from __future__ import annotations

RUN_TIMEOUT_MS = 180_000


def _figure_text(page) -> str:
    return page.locator("#result figure").first.inner_text()


def test_explorer_dose_change_updates_figure_and_invalid_dose_is_flagged(server, page, artifacts):
    page.goto(f"{server}/explorer")
    page.fill('[name="n_subjects"]', "12")
    page.fill('[name="years"]', "1")
    page.click("#run")
    page.wait_for_selector("#result figure svg", timeout=RUN_TIMEOUT_MS)
    first_job = page.get_attribute("#result article", "data-job")
    assert "3e+11 particles" in _figure_text(page)
    page.screenshot(path=artifacts / "explorer-3e11.png", full_page=True)

    page.fill('[name="dose"]', "1e12")
    page.click("#run")
    page.wait_for_selector(f'#result article:not([data-job="{first_job}"])', timeout=RUN_TIMEOUT_MS)
    assert "1e+12 particles" in _figure_text(page)
    assert "3e+11" not in _figure_text(page)
    rows = page.locator("#result table.result-table tbody tr")
    assert [rows.nth(k).locator("td").first.inner_text() for k in range(rows.count())] == ["0", "1", "3", "6", "12"]
    page.screenshot(path=artifacts / "explorer-1e12.png", full_page=True)

    page.fill('[name="dose"]', "-5")
    message = page.locator('.field[data-path="dose"] .msg')
    message.wait_for(state="visible", timeout=10_000)
    assert "greater than 0" in message.inner_text()
    assert page.locator("#run").is_disabled()
    page.screenshot(path=artifacts / "explorer-invalid-dose.png")
