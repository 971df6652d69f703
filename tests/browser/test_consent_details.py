"""The consent page shows a pushed request's authorization details (RFC 9396) in headless Chromium.

pytest-django's live server runs the test settings, with a consent template that
does what a site's does: DOT's form, plus the one line ``{% authorization_details %}``
of ``django_par``'s tags. Chromium signs in and reaches the consent page; its visible
text must show each detail readably (labels and values, the per-type template for
``payment_initiation``, the default definition list for the other type) and no raw
JSON. A screenshot of the page is saved in the test's temporary directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import requests
from django.contrib.auth.hashers import make_password

from django_par.models import ClientMetadata
from tests.helpers.browser_helpers import BROWSER_MARKS, HTTP_TIMEOUT, start_chromium
from tests.helpers.factories import CLIENT_SECRET, REDIRECT_URI, ConfidentialApplicationFactory, UserFactory
from tests.helpers.jwt_helpers import DJANGO_PAR_VALIDATOR, dot_validator
from tests.helpers.rich_requests import ACCOUNTS, PAYMENT, TYPES

pytestmark = [*BROWSER_MARKS, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-staple"
CONSENT_TEMPLATE = """{% load django_par %}<!doctype html>
<html><head><title>Consent</title></head><body>
<h1>Authorize {{ application.name }}?</h1>
<form id="authorizationForm" method="post">{% csrf_token %}
{% for field in form %}{% if field.is_hidden %}{{ field }}{% endif %}{% endfor %}
<ul>{% for scope in scopes_descriptions %}<li>{{ scope }}</li>{% endfor %}</ul>
{% authorization_details %}
<input type="submit" value="Cancel"><input type="submit" name="allow" value="Authorize">
</form></body></html>
"""
PAYMENT_TEMPLATE = (
    '<p class="payment">Pay {{ detail.instructedAmount.amount }} {{ detail.instructedAmount.currency }} '
    "to {{ detail.creditorName }}</p>"
)


@pytest.fixture
def site(settings: Any, tmp_path: Path) -> Any:
    templates = tmp_path / "templates"
    (templates / "oauth2_provider").mkdir(parents=True)
    (templates / "oauth2_provider" / "authorize.html").write_text(CONSENT_TEMPLATE)
    (templates / "django_par" / "authorization_details").mkdir(parents=True)
    (templates / "django_par" / "authorization_details" / "payment_initiation.html").write_text(PAYMENT_TEMPLATE)
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(templates)]}]
    settings.DJANGO_PAR = {"AUTHORIZATION_DETAILS_TYPES": TYPES}
    with dot_validator(settings, DJANGO_PAR_VALIDATOR):
        yield


def test_consent_page_shows_the_authorization_details(site: Any, live_server: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    user = UserFactory(password=make_password(PASSWORD))
    application = ConfidentialApplicationFactory(name="Rich client")
    ClientMetadata.objects.create(
        application=application, authorization_details_types=["payment_initiation", "account_information"]
    )
    pushed = requests.post(
        f"{live_server.url}/o/par/",
        auth=(application.client_id, CLIENT_SECRET),
        data={
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "scope": "read",
            "state": "state-consent-details",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            "authorization_details": json.dumps([PAYMENT, ACCOUNTS]),
        },
        timeout=HTTP_TIMEOUT,
    )
    assert pushed.status_code == 201, pushed.text
    url = f"{live_server.url}/o/authorize/?" + urlencode(
        {"client_id": application.client_id, "request_uri": pushed.json()["request_uri"]}
    )

    driver = start_chromium(tmp_path)
    try:
        wait = WebDriverWait(driver, 90)
        driver.get(url)
        wait.until(EC.visibility_of_element_located((By.NAME, "username"))).send_keys(user.username)
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
        section = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "section.authorization-details")))
        assert urlsplit(driver.current_url).path == "/o/authorize/"
        screenshot = tmp_path / "consent-details.png"
        driver.save_screenshot(str(screenshot))
        print(f"screenshot: {screenshot}")
        assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 5000

        shown = section.text
        # payment_initiation through its own template, account_information through the default one.
        assert driver.find_element(By.CSS_SELECTOR, "p.payment").text == "Pay 123.50 EUR to Merchant A"
        assert "Account information" in shown
        assert "Actions" in shown and "list_accounts" in shown and "read_balances" in shown
        assert "{" not in shown and "[" not in shown and '"' not in shown  # never raw JSON
        # The details are on the page, not in any URL the browser saw.
        assert "Merchant" not in driver.current_url

        driver.find_element(By.NAME, "allow").click()
        wait.until(lambda d: d.current_url.startswith(REDIRECT_URI))
    finally:
        driver.quit()
