"""django_par's HTML error page: plain words per error, a safe way back, its own CSP."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from django_par.errors import InvalidRequest, InvalidRequestUri, TemporarilyUnavailable, TooManyRequests
from django_par.flow.delivery import form_post_response
from django_par.models import ClientMetadata, PushedRequest
from django_par.views import error_pages
from tests.conftest import code_request, push
from tests.helpers.factories import ConfidentialApplicationFactory

pytestmark = pytest.mark.django_db

AUTHORIZE = "/o/authorize/"


def pushed_uri(client: Any, application: Any, basic: str) -> str:
    response = push(client, code_request(application), authorization=basic)
    assert response.status_code == 201, response.content
    return str(response.json()["request_uri"])


def page_text(response: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def csp(response: Any) -> dict[str, list[str]]:
    directives = [part.split() for part in response["Content-Security-Policy"].split(";") if part.strip()]
    return {parts[0]: parts[1:] for parts in directives}


def assert_page(response: Any, title: str, *sentences: str) -> str:
    assert response.status_code in (400, 429), response.status_code
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert f"<title>{title}</title>" in html
    text = page_text(response)
    for sentence in sentences:
        assert sentence in text, text
    policy = csp(response)
    assert policy["default-src"] == ["'none'"]
    (nonce,) = policy["style-src"]
    assert re.search(rf'<style nonce="{re.escape(nonce[7:-1])}">', html), (nonce, html[:400])
    return text


class TestEachError:
    def test_expired(self, client, confidential_app, basic):
        request_uri = pushed_uri(client, confidential_app, basic)
        PushedRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        response = client.get(AUTHORIZE, {"client_id": confidential_app.client_id, "request_uri": request_uri})
        assert_page(
            response,
            "Sign-in link expired",
            "This sign-in link has expired.",
            "Return to the application and start again.",
            "Error: invalid_request_uri",
        )

    def test_spent(self, client, confidential_app, basic):
        request_uri = pushed_uri(client, confidential_app, basic)
        PushedRequest.objects.update(state=PushedRequest.State.CONSUMED)
        response = client.get(AUTHORIZE, {"client_id": confidential_app.client_id, "request_uri": request_uri})
        assert_page(response, "Sign-in link already used", "This sign-in link has already been used")

    def test_unknown(self, client, confidential_app):
        response = client.get(
            AUTHORIZE, {"client_id": confidential_app.client_id, "request_uri": "urn:ietf:params:oauth:request_uri:x"}
        )
        assert_page(response, "Sign-in link not recognised", "This sign-in link is not one this server knows")

    def test_of_another_client(self, client, confidential_app, basic):
        request_uri = pushed_uri(client, confidential_app, basic)
        other = ConfidentialApplicationFactory()
        response = client.get(AUTHORIZE, {"client_id": other.client_id, "request_uri": request_uri})
        assert_page(response, "Sign-in link not recognised", "made for another application")

    def test_par_required(self, client, confidential_app):
        ClientMetadata.objects.create(application=confidential_app, require_pushed_authorization_requests=True)
        response = client.get(AUTHORIZE, code_request(confidential_app))
        assert_page(response, "Sign-in not started correctly", "in a way this server does not accept")

    def test_other_errors_get_the_generic_page(self, client, confidential_app):
        response = client.get(AUTHORIZE, {"request_uri": "urn:ietf:params:oauth:request_uri:x"})
        assert_page(response, "Sign-in request not valid", "Error: invalid_request", "client_id is required")


class TestTheTable:
    def test_every_lifecycle_description_has_its_page(self):
        """The descriptions the table is keyed by are the ones django_par raises."""
        import inspect

        from django_par.flow import lifecycle

        source = inspect.getsource(lifecycle)
        for description in error_pages.BY_DESCRIPTION:
            assert f'"{description}"' in source, description

    def test_lookup_order(self):
        assert error_pages.error_page(InvalidRequestUri("The request_uri has expired.")) is error_pages.EXPIRED
        assert error_pages.error_page(InvalidRequestUri("anything else")) is error_pages.UNKNOWN
        assert error_pages.error_page(TooManyRequests("slow down", retry_after=5)) is error_pages.TOO_MANY
        assert error_pages.error_page(TemporarilyUnavailable("retry")) is error_pages.UNAVAILABLE
        assert error_pages.error_page(InvalidRequest("x")) is error_pages.GENERIC


class TestWayBack:
    def test_links_to_the_origin_of_a_registered_redirect_uri(self, client, confidential_app):
        confidential_app.redirect_uris = "https://rp.example:8443/cb?x=1 https://other.example/cb"
        confidential_app.save()
        response = client.get(AUTHORIZE, {"client_id": confidential_app.client_id, "request_uri": "urn:x"})
        html = response.content.decode()
        assert 'href="https://rp.example:8443/"' in html
        assert f"Back to {confidential_app.name}" in page_text(response)

    @pytest.mark.parametrize(
        "redirect_uris",
        ["com.example.app:/cb", "https://user:pw@rp.example/cb", ""],
        ids=["custom", "userinfo", "none"],
    )
    def test_no_link_without_a_plain_web_origin(self, client, confidential_app, redirect_uris):
        type(confidential_app).objects.filter(pk=confidential_app.pk).update(redirect_uris=redirect_uris)
        response = client.get(AUTHORIZE, {"client_id": confidential_app.client_id, "request_uri": "urn:x"})
        assert "Back to" not in page_text(response)

    def test_no_link_for_an_unknown_or_repeated_client(self, client, confidential_app):
        for query in ("client_id=nobody", f"client_id={confidential_app.client_id}&client_id=nobody"):
            response = client.get(f"{AUTHORIZE}?{query}&request_uri=urn:x")
            assert response.status_code == 400
            assert "Back to" not in page_text(response)
            assert "href=" not in response.content.decode()


def test_the_form_post_page_styles_its_button_by_nonce():
    response = form_post_response("https://rp.example/cb", {"code": "c", "state": "s"})
    policy = csp(response)
    (nonce,) = policy["style-src"]
    html = response.content.decode()
    assert f'<style nonce="{nonce[7:-1]}">' in html
    assert '<noscript><div class="card">' in html
    assert "<title>Continue</title>" in html
