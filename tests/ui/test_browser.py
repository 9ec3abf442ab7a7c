"""End to end: the dashboard started headless, driven in Debian's Chromium with Selenium.

A Synthea FHIR bundle is uploaded as a clinician would; the test waits for the cited
recommendations and saves screenshots under ``test-output/``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "ui" / "app.py"
OUTPUT = ROOT / "test-output"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HYPERTENSION_SNOMED = "38341003"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the dashboard exited early with status {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"the dashboard did not answer at {url} within {timeout:.0f} s")


@pytest.fixture()
def dashboard(small_index: Path, tmp_path: Path) -> Iterator[str]:
    """The app on a free loopback port against ``small_index``; stopped afterwards, also on failure."""
    port = _free_port()
    env = {**os.environ, "GARMLE_INDEX": str(small_index), "HF_HUB_OFFLINE": "1"}
    env.pop("GARMLE_MODEL", None)
    env.pop("GARMLE_CHROMA_URL", None)
    log = (tmp_path / "streamlit.log").open("wb")
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        log.close()


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[object]:
    """Headless Chromium with a fresh profile, closed afterwards."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("Debian chromium and chromium-driver are not installed (`make test` installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1440,1800",
    ):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _hypertensive_synthea_patient(synthea_dir: Path) -> Path:
    for path in sorted(synthea_dir.glob("*.json")):
        if HYPERTENSION_SNOMED in path.read_text("utf-8"):
            return path
    pytest.fail(f"no Synthea patient with hypertension in {synthea_dir}")


def test_synthea_patient_gets_cited_recommendations_in_chromium(
    dashboard: str, browser: object, synthea_dir: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver: WebDriver = browser  # type: ignore[assignment]
    patient = _hypertensive_synthea_patient(synthea_dir)
    OUTPUT.mkdir(exist_ok=True)
    driver.get(dashboard)
    try:
        wait = WebDriverWait(driver, 60)
        tab = wait.until(
            ec.element_to_be_clickable((By.XPATH, "//*[@role='tab'][.//p[text()='Upload a record']]"))
        )
        tab.click()
        upload = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[type='file']")))
        upload.send_keys(str(patient))

        # Reading the bundle, predicting codes and retrieving with the real model.
        WebDriverWait(driver, 240).until(
            ec.presence_of_element_located((By.CSS_SELECTOR, "blockquote.garmle-verbatim"))
        )
        # Streamlit fills the page in as the run goes on: wait for the summary too, not only the passages.
        WebDriverWait(driver, 120).until(
            lambda d: "Latest blood pressure" in d.find_element(By.TAG_NAME, "body").text
        )
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "Verbatim check passed" in body
        assert "I10" in body, "a hypertensive patient should get the hypertension code"

        snippets = driver.find_elements(By.CSS_SELECTOR, "div.garmle-snippet")
        assert snippets, "no guideline passages shown"
        for snippet in snippets:
            quote = snippet.find_element(By.CSS_SELECTOR, "blockquote.garmle-verbatim").text.strip()
            cite = snippet.find_element(By.CSS_SELECTOR, "div.garmle-cite").text
            assert len(quote) > 40
            assert "characters" in cite and "document" in cite, cite
            assert cite.split("\n", 1)[0].strip(), "citation without a title"
        driver.save_screenshot(str(OUTPUT / "dashboard-patient.png"))

        driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", snippets[0])
        time.sleep(0.5)
        driver.save_screenshot(str(OUTPUT / "dashboard-recommendations.png"))

        # Open the first passage in its source document.
        first_quote = snippets[0].find_element(By.CSS_SELECTOR, "blockquote.garmle-verbatim").text
        toggle = driver.find_elements(By.XPATH, "//label[.//p[text()='Show in source document']]")[0]
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", toggle)
        toggle.click()
        source = WebDriverWait(driver, 60).until(
            ec.presence_of_element_located((By.CSS_SELECTOR, "div.garmle-source mark"))
        )
        assert source.text.strip()
        assert " ".join(source.text.split())[:60] == " ".join(first_quote.split())[:60]
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", source)
        time.sleep(0.5)
        driver.save_screenshot(str(OUTPUT / "dashboard-source.png"))
    except Exception:
        driver.save_screenshot(str(OUTPUT / "dashboard-failure.png"))
        raise
