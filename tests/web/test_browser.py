"""The manage page in a real headless browser (Debian's chromium and chromedriver): open the
sign-in link, change a target price, and see it saved on the page and in PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.localhttp import uvicorn_server
from tests.web.conftest import add_priced_watch, make_user

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="session")
def browser_binaries() -> tuple[str, str]:
    """Chromium and its driver, installed with apt when missing and we may (root, apt present)."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            pytest.skip("no chromium/chromedriver, and apt-get cannot install them here (needs root and apt)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300"]
        result = subprocess.run([*apt, "install", "-y", "--no-install-recommends", "chromium", "chromium-driver"],
                                env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:  # the package lists may be missing or stale
            subprocess.run([*apt, "update"], env=env, capture_output=True, timeout=600)
            result = subprocess.run([*apt, "install", "-y", "--no-install-recommends", "chromium", "chromium-driver"],
                                    env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0 or not os.path.exists(CHROMEDRIVER):
            pytest.skip(f"installing chromium failed: {result.stderr.strip().splitlines()[-1:]}")
    return CHROMIUM, CHROMEDRIVER


@pytest.fixture()
def live_server(app) -> Iterator[str]:
    """The app under a real uvicorn on 127.0.0.1, port chosen by the OS, in a thread."""
    with uvicorn_server(app) as base:
        yield base


@pytest.fixture()
def browser(browser_binaries, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = browser_binaries
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def test_sign_in_link_then_change_a_target_price_in_the_browser(browser, live_server, db, settings, store):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from alerts import links

    user_id = make_user(db, "ann@example.com")
    watch = add_priced_watch(db, "ann@example.com", 1, prices=[(40, "60.00"), (2, "55.00")], title="Blue Kettle")
    token = links.login_url(user_id, settings).split("token=", 1)[1]
    wait = WebDriverWait(browser, 20)

    browser.get(f"{live_server}/login?token={token}")
    browser.find_element(By.ID, "sign-in").click()
    wait.until(ec.presence_of_element_located((By.ID, f"watch-{watch.watch_id}")))
    assert "Blue Kettle" in browser.page_source and "55.00 EUR" in browser.page_source

    field = browser.find_element(By.ID, f"target-{watch.watch_id}")
    field.clear()
    field.send_keys("42.50")
    field.find_element(By.XPATH, "./ancestor::form").find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    wait.until(ec.presence_of_element_located((By.ID, "message")))
    assert browser.find_element(By.ID, "message").text == "Target price saved."
    card = browser.find_element(By.ID, f"watch-{watch.watch_id}")
    assert card.find_element(By.CSS_SELECTOR, ".target").text == "42.50 EUR"
    assert browser.find_element(By.ID, f"target-{watch.watch_id}").get_attribute("value") == "42.50"
    with db.connect() as conn:
        saved = conn.execute(sa.text("SELECT target_price FROM shopping_list_items WHERE id = :id"),
                             {"id": watch.watch_id}).scalar_one()
    assert str(saved) == "42.50"
    assert not [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
