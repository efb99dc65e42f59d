"""End-to-end browser tests of the trial designer, escalation and QC pages, cancel, one run per
session and the host guard (slow: each runs the model or a trial in the worker)."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from .test_uploads import zipped

pytestmark = pytest.mark.slow
RUN_TIMEOUT_MS = 300_000
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run_and_wait(page, previous: str | None = None):
    page.click("#run")
    selector = "#result article" + (f':not([data-job="{previous}"])' if previous else "")
    page.wait_for_selector(selector, timeout=RUN_TIMEOUT_MS)
    return page.get_attribute("#result article", "data-job")


def test_trial_designer_flags_fields_runs_and_downloads(server, page, artifacts, tmp_path):
    page.goto(f"{server}/trial")
    page.fill('[name="design.cohorts[1].dose"]', "-3")
    message = page.locator('.field[data-path="design.cohorts[1].dose"] .msg')
    message.wait_for(state="visible", timeout=10_000)
    assert "greater than 0" in message.inner_text()
    page.fill('[name="visits.months"]', "0, 1, 3, 6")
    general = page.locator("#form-errors li")
    general.first.wait_for(timeout=10_000)
    assert "mri_months" in general.first.inner_text()
    page.locator('[name="design.cohorts[1].dose"]').scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "trial-invalid.png")

    page.fill('[name="design.cohorts[1].dose"]', "3e11")
    page.fill('[name="visits.months"]', "0, 1, 3, 6, 12")
    page.fill('[name="name"]', "browser_trial")
    page.click(".remove-row >> nth=2")  # three cohorts -> two: faster
    page.wait_for_function("document.querySelectorAll('#form-errors li').length === 0")
    _run_and_wait(page)
    rows = page.locator("#result table.result-table").first.locator("tbody tr")
    arms = [rows.nth(k).locator("td").first.inner_text() for k in range(rows.count())]
    assert arms == ["Placebo", "1e+11 particles", "3e+11 particles"]
    assert "WOMAC_TOTAL" in page.locator("#result figure").first.inner_text()
    frame = page.frame_locator("iframe.report")
    assert frame.locator("h1").inner_text().startswith("browser_trial")
    page.screenshot(path=artifacts / "trial-result.png", full_page=True)
    with page.expect_download() as download:
        page.click("#download")
    path = tmp_path / "results.zip"
    download.value.save_as(path)
    names = zipfile.ZipFile(path).namelist()
    summary = json.loads(zipfile.ZipFile(path).read(next(n for n in names if n.endswith("summary.json"))))
    assert summary["scenario"] == "browser_trial" and len(summary["arms"]) == 3
    assert any(n.endswith("report.html") for n in names) and any("/datasets/" in n for n in names)


def test_escalation_page_shows_boin_table_and_operating_characteristics(server, page, artifacts):
    page.goto(f"{server}/escalation")
    page.fill('[name="truth"]', "0.05, 0.1, 1.5")
    page.locator('.field[data-path="truth"] .msg').wait_for(state="visible", timeout=10_000)
    page.fill('[name="truth"]', "0.05, 0.1, 0.2, 0.3, 0.5")
    page.fill('[name="table_max_n"]', "12")
    _run_and_wait(page)
    tables = page.locator("#result table.result-table")
    boundary = tables.nth(0).locator("tbody tr")
    # Liu & Yuan 2015, target 0.3: lambda_e 0.236, lambda_d 0.358; at n = 3 escalate if 0 DLT, de-escalate if >= 2
    assert "λe 0.2365" in page.locator("#result h3").first.inner_text()
    cells = [boundary.nth(0).locator("td").nth(k).inner_text() for k in (0, 3)]
    assert cells == ["escalate if # DLT ≤", "0"]
    assert boundary.nth(1).locator("td").nth(3).inner_text() == "2"
    oc = tables.nth(1).locator("tbody tr")
    assert oc.count() == 5
    assert abs(sum(float(oc.nth(k).locator("td").nth(2).inner_text()) for k in range(5)) - 100) < 0.5
    page.screenshot(path=artifacts / "escalation.png", full_page=True)


@pytest.mark.parametrize("lot, verdict", [("lot_demo", "PASS"), ("lot_demo_failing", "FAIL")])
def test_qc_upload_gives_the_release_verdict(server, page, artifacts, tmp_path, lot, verdict):
    archive = tmp_path / f"{lot}.zip"
    source = EXAMPLES / lot
    archive.write_bytes(zipped({f"{lot}/{p.relative_to(source)}": p.read_bytes()
                                for p in sorted(source.rglob("*")) if p.is_file()}))
    page.goto(f"{server}/qc")
    page.set_input_files("#upload-file", str(archive))
    _run_and_wait(page)
    assert verdict in page.locator("#result .verdict").inner_text()
    page.screenshot(path=artifacts / f"qc-{lot}.png", full_page=True)


def test_qc_refuses_a_zip_slip_archive_next_to_the_field(server, page, tmp_path):
    archive = tmp_path / "evil.zip"
    archive.write_bytes(zipped({"lot.toml": b"", "../../evil.csv": b"x"}))
    page.goto(f"{server}/qc")
    page.set_input_files("#upload-file", str(archive))
    page.click("#run")
    message = page.locator('.field[data-path="upload"] .msg')
    message.wait_for(state="visible", timeout=10_000)
    assert "relative name" in message.inner_text()


def test_cancel_stops_a_run_and_one_run_at_a_time(server, page, artifacts):
    page.goto(f"{server}/explorer")
    page.fill('[name="n_subjects"]', "500")
    page.fill('[name="years"]', "5")
    page.click("#run")
    page.wait_for_selector("#cancel:not([hidden])", timeout=10_000)
    second = page.evaluate("""async () => {
        const r = await fetch('/api/explorer/run', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                    body: JSON.stringify({})});
        return [r.status, (await r.json()).error];
    }""")
    assert second[0] == 409 and "still in progress" in second[1]
    page.screenshot(path=artifacts / "explorer-running.png")
    page.click("#cancel")
    page.wait_for_function("document.getElementById('status').textContent === 'cancelled'", timeout=30_000)
    page.fill('[name="n_subjects"]', "5")
    page.fill('[name="years"]', "0.5")
    _run_and_wait(page)
    assert "KL 3" in page.locator("#result h2").inner_text()


def test_requests_for_another_host_are_refused(server):
    request = urllib.request.Request(f"{server}/explorer", headers={"Host": "attacker.example"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code == 400


def test_big_uploads_are_refused_before_reading(server):
    with urllib.request.urlopen(f"{server}/explorer", timeout=10) as response:
        cookie = response.headers["set-cookie"].split(";")[0]
    host, port = server.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", "/api/qc/upload")
    for name, value in (("Cookie", cookie), ("Content-Type", "application/zip"),
                        ("Content-Length", str(21 * 1024 * 1024))):
        connection.putheader(name, value)
    connection.endheaders()  # the body is never sent: the server answers from the declared length
    response = connection.getresponse()
    assert response.status == 413 and "at most" in json.loads(response.read())["error"]
    connection.close()
