"""
The connection form in a real browser: headless Chromium (Debian's) driven by Playwright against
``airflow standalone``. Screenshots go to ``test-output/images/``, or to ``docs/images/`` (shown in the
README) under ``scripts/docs.sh``.
"""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import output_path

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.standalone.deployment import Standalone

pytestmark = pytest.mark.standalone

CONN_ID = "replication_from_the_form"
#: The flags a closed network needs (no background fetches to Google's hosts).
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Debian's chromium is missing: scripts/install.sh installs it (apt-get install chromium)")
    return found


@pytest.fixture
def page(standalone: Standalone, tmp_path: Path) -> Iterator[Any]:
    """A logged-in browser page on the deployment's UI."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 720})
            context.set_default_timeout(30_000)
            page = context.new_page()
            page.goto(standalone.base_url, wait_until="networkidle", timeout=90_000)
            page.locator("input[name=username]").fill(standalone.username)
            page.locator("input[name=password]").fill(standalone.password)
            page.locator("button[type=submit]").click()
            page.get_by_role("button", name="Admin").wait_for()
            yield page
        finally:
            browser.close()


def open_connections(page: Any, standalone: Standalone, *, height: int = 720) -> None:
    """Open the connection list in a window ``height`` pixels tall (the whole form fits in 2000)."""
    page.set_viewport_size({"width": 1280, "height": height})
    page.goto(f"{standalone.base_url}/connections", wait_until="networkidle")


def press_test(page: Any) -> dict[str, Any]:
    """Press the row's Test button; return the API's answer once its message shows."""
    row = page.get_by_role("row").filter(has_text=CONN_ID)
    with page.expect_response(lambda r: r.url.endswith("/api/v2/connections/test")) as answer:
        row.get_by_role("button", name="Test Connection").click()
    body: dict[str, Any] = answer.value.json()
    page.get_by_text(body.get("message") or body.get("detail", ""), exact=False).first.wait_for()
    return body


def test_the_connection_form_saves_and_tests_against_the_emulator(page: Any, standalone: Standalone) -> None:
    emulator = standalone.emulator
    wanted = emulator.connection(vault_name="vault1")
    extra = wanted["extra"]

    open_connections(page, standalone, height=2000)
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("input[name=connection_id]").fill(CONN_ID)
    kind = dialog.get_by_role("combobox").first
    kind.fill("Azure Data Replication")
    page.get_by_role("option", name="Azure Data Replication", exact=True).click()

    # The standard fields, relabelled: host, schema and port hidden; the secret a password field.
    client_id = dialog.get_by_label("Client ID", exact=True)
    secret = dialog.get_by_label("Client Secret", exact=True)
    assert secret.get_attribute("type") == "password"
    for hidden in ("Host", "Schema", "Port", "Login", "Password"):
        assert dialog.get_by_label(hidden, exact=True).count() == 0, hidden
    client_id.fill(wanted["login"])
    secret.fill(wanted["password"])
    dialog.screenshot(path=str(output_path("images", "connection-form.png")))

    # The extra fields, each under its own label.
    dialog.get_by_text("Extra Fields", exact=True).click()
    for label in (
        "Tenant ID",
        "Subscription ID",
        "Azure cloud",
        "Replication vault (default)",
        "Resource Manager URL (override)",
        "Authority host (override)",
        "CA bundle file (override)",
    ):
        assert dialog.get_by_text(label, exact=True).count() == 1, label
    fields = ("tenantId", "subscriptionId", "resource_group_name", "resource_manager_url", "authority_host")
    for key in fields:
        dialog.locator(f"input[name=element_{key}]").fill(str(extra[key]))
    dialog.locator("input[name=element_vault_name]").fill("vault1")
    dialog.locator("input[name=element_ca_bundle]").fill(extra["ca_bundle"])
    dialog.get_by_label("Azure cloud").click()
    clouds = [option.inner_text() for option in page.get_by_role("option").all()]
    assert {"AzurePublicCloud", "AzureChinaCloud", "AzureUSGovernment"} <= set(clouds)
    page.get_by_role("option", name="AzurePublicCloud", exact=True).click()
    # A switch: its input is hidden behind the drawn control, which is what a user clicks.
    discovery = dialog.locator("input[name=element_disable_instance_discovery]")
    discovery.locator("xpath=..").click()
    assert discovery.is_checked()
    dialog.screenshot(path=str(output_path("images", "connection-form-extras.png")))
    with page.expect_response(lambda r: r.url.endswith("/api/v2/connections") and r.request.method == "POST"):
        dialog.get_by_role("button", name="Save").click()

    stored = standalone.api("GET", f"/connections/{CONN_ID}")
    assert stored["conn_type"] == "azure_data_replication"
    assert stored["login"] == wanted["login"]
    assert stored["password"] == "***"  # stored, and never shown again
    saved = json.loads(stored["extra"])
    assert saved["tenantId"] == extra["tenantId"]
    assert saved["cloud"] == "AzurePublicCloud"
    assert saved["disable_instance_discovery"] is True

    # Airflow 3.3.2's UI tests a saved connection with port 0, and its API refuses to reuse the
    # stored secret when the stored port (NULL) differs (apache/airflow#73298, fixed after 3.3.2).
    # A stored port 0 is the documented workaround (docs/troubleshooting.md); the port is unused.
    standalone.api(
        "PATCH",
        f"/connections/{CONN_ID}?update_mask=port",
        json={"connection_id": CONN_ID, "conn_type": "azure_data_replication", "port": 0},
    )
    tokens_before = emulator.token_requests
    open_connections(page, standalone)
    answer = press_test(page)
    assert answer["status"] is True, answer
    assert "Connection works" in answer["message"]
    assert emulator.token_requests == tokens_before + 1  # it really signed in
    page.screenshot(path=str(output_path("images", "connection-test-success.png")))

    # A wrong secret, typed into the edit form: Azure's own error text comes back.
    page.get_by_role("row").filter(has_text=CONN_ID).get_by_role("button", name="Edit Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Client Secret", exact=True).fill("not-the-secret-value")
    edited = f"/api/v2/connections/{CONN_ID}"
    with page.expect_response(lambda r: edited in r.url and r.request.method == "PATCH"):
        dialog.get_by_role("button", name="Save").click()
    answer = press_test(page)
    assert answer["status"] is False, answer
    assert "AADSTS7000215" in answer["message"]
    assert "Invalid client secret" in page.locator("body").inner_text()
    assert "not-the-secret-value" not in answer["message"]
    page.screenshot(path=str(output_path("images", "connection-test-wrong-secret.png")))
