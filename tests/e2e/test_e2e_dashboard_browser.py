"""The dashboard in a real browser (headless Chromium from Debian, driven by Selenium) against the
real `watemplates serve` process: sign in, see a template a webhook just paused appear in the
critical widget without a reload, acknowledge its alert, and see that a viewer cannot. Screenshots
go to test-artifacts/dashboard/ (kept by CI as artefacts)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from support.serving import WATEMPLATES, cli, process_env, wait_serving
from watemplates.v1 import resources_pb2 as pb
from watemplates.v1 import templates_pb2 as api
from watemplates.v1 import templates_pb2_grpc

SECRET = "browser-app-secret"
WABA = "301122334455667"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _browser_missing() -> str:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).exists()]
    return f"{', '.join(missing)} not found (apt-get install chromium chromium-driver)" if missing else ""


@pytest.fixture
def browser() -> Iterator[Any]:
    reason = _browser_missing()
    if reason:
        # CI installs them and sets this, so a broken install fails instead of skipping.
        if os.environ.get("WATEMPLATES_REQUIRE_BROWSER") == "1":
            pytest.fail(f"the browser tests need Chromium: {reason}")
        pytest.skip(f"browser tests skipped: {reason}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = process_env(f"sqlite+aiosqlite:///{tmp_path / 'dashboard.db'}", WATEMPLATES_META_APP_SECRET=SECRET)
    cli(env, "migrate")
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [WATEMPLATES, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=log, text=True
    )
    try:
        asyncio.run(wait_serving(env["WATEMPLATES_GRPC_ADDR"], process))
        cli(env, "org", "create", "acme")
        cli(env, "waba", "add", "--org", "acme", "--waba-id", WABA)
        env["OPERATOR_KEY"] = cli(env, "apikey", "create", "--org", "acme", "--role", "operator").strip()
        env["VIEWER_KEY"] = cli(env, "apikey", "create", "--org", "acme", "--role", "viewer").strip()
        yield env
    finally:
        process.kill()
        process.wait(10)


def status_webhook(event: str, at: int) -> bytes:
    value = {
        "event": event,
        "message_template_id": 918273645500114,
        "message_template_name": "order_ready",
        "message_template_language": "en_US",
        "reason": "NONE" if event == "APPROVED" else "LOW_QUALITY",
    }
    change = {"field": "message_template_status_update", "value": value}
    return json.dumps(
        {"object": "whatsapp_business_account", "entry": [{"id": WABA, "time": at, "changes": [change]}]}
    ).encode()


def post_webhook(env: dict[str, str], body: bytes) -> None:
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"http://{env['WATEMPLATES_HTTP_ADDR']}/webhooks/meta",
        data=body,
        headers={"X-Hub-Signature-256": f"sha256={signature}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        assert answer.status == 200


async def create_template(env: dict[str, str]) -> None:
    auth = (("authorization", f"Bearer {env['OPERATOR_KEY']}"),)
    async with grpc.aio.insecure_channel(env["WATEMPLATES_GRPC_ADDR"]) as channel:
        await templates_pb2_grpc.TemplateServiceStub(channel).CreateTemplate(
            api.CreateTemplateRequest(
                parent=f"wabas/{WABA}",
                template=pb.Template(
                    display_name="order_ready",
                    language_code="en_US",
                    category=pb.TEMPLATE_CATEGORY_UTILITY,
                    components=pb.TemplateComponents(
                        body="Your order is ready for pickup at the front desk."
                    ),
                ),
            ),
            metadata=auth,
        )


def until(check: Callable[[], bool], what: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def text(driver: Any, by: str, value: str) -> str:
    """An element's text; a live update may replace the element while it is read, so read again."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    for _ in range(50):
        try:
            return str(driver.find_element(by, value).text)
        except (StaleElementReferenceException, NoSuchElementException):
            time.sleep(0.1)
    raise AssertionError(f"no stable element {value!r}")


def shot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def sign_in(driver: Any, env: dict[str, str], key: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"http://{env['WATEMPLATES_HTTP_ADDR']}/")
    assert "/sign-in" in driver.current_url
    driver.find_element(By.ID, "api_key").send_keys(key)
    driver.find_element(By.ID, "sign-in").click()
    until(lambda: "/sign-in" not in driver.current_url, "the sign-in to finish")


def test_a_paused_template_appears_live_its_alert_is_acknowledged_and_a_viewer_cannot(
    browser: Any, server: dict[str, str]
) -> None:
    from selenium.webdriver.common.by import By

    env = server
    asyncio.run(create_template(env))
    post_webhook(env, status_webhook("APPROVED", 1_764_000_000))

    sign_in(browser, env, env["OPERATOR_KEY"])
    until(lambda: browser.find_elements(By.ID, "critical-empty"), "the empty critical widget")
    until(lambda: text(browser, By.ID, "live-status").startswith("live"), "the live stream")
    # A mark only this page load has: it survives a live update, not a reload.
    browser.execute_script("window.loadedOnce = 'yes';")
    shot(browser, "01-critical-empty")

    post_webhook(env, status_webhook("PAUSED", 1_764_000_600))

    until(
        lambda: browser.find_elements(By.CSS_SELECTOR, '[data-template="order_ready.en_US"]'),
        "the paused row",
    )
    assert browser.execute_script("return window.loadedOnce;") == "yes"
    row = text(browser, By.CSS_SELECTOR, '[data-template="order_ready.en_US"]')
    assert "PAUSED" in row
    assert "LOW_QUALITY" in row
    shot(browser, "02-critical-paused-live")

    browser.find_element(By.LINK_TEXT, "Alerts").click()
    browser.find_element(By.CSS_SELECTOR, "button.acknowledge").click()
    until(lambda: "ACKNOWLEDGED" in text(browser, By.ID, "alerts"), "the acknowledgement")
    shot(browser, "03-alert-acknowledged")

    post_webhook(env, status_webhook("DISABLED", 1_764_001_200))
    sign_in(browser, env, env["VIEWER_KEY"])
    browser.get(f"http://{env['WATEMPLATES_HTTP_ADDR']}/alerts")
    until(lambda: browser.find_elements(By.ID, "alerts"), "the alerts page")
    assert "DISABLED" in text(browser, By.ID, "alerts")
    assert not browser.find_elements(By.CSS_SELECTOR, "button.acknowledge")
    assert "operators acknowledge" in text(browser, By.ID, "alerts")
    shot(browser, "04-viewer-cannot-acknowledge")
