"""The example's consent page template (example_project/demo/templates/oauth2_provider/authorize.html),
rendered in-process: the form's errors appear once when there are some, and nothing of them otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.template import Context, Engine
from django.test import RequestFactory
from oauth2_provider.forms import AllowForm

TEMPLATES = Path(__file__).resolve().parents[2] / "example_project" / "demo" / "templates"


def render(form: Any) -> str:
    engine = Engine(
        dirs=[str(TEMPLATES)],
        libraries={"i18n": "django.templatetags.i18n", "django_par": "django_par.templatetags.django_par"},
    )
    request = RequestFactory().get("/o/authorize/")
    request.user = type("User", (), {"get_username": lambda self: "demo"})()
    context = {"form": form, "application": {"name": "Demo"}, "scopes_descriptions": ["Read"], "request": request}
    return engine.get_template("oauth2_provider/authorize.html").render(Context(context))


@pytest.mark.django_db
def test_an_unbound_form_renders_no_error_list() -> None:
    page = render(AllowForm(initial={"client_id": "demo"}))

    assert "Allow Demo?" in page
    assert 'class="errorlist' not in page


@pytest.mark.django_db
def test_a_form_with_errors_shows_each_once() -> None:
    form = AllowForm(data={"client_id": "demo"})
    assert not form.is_valid()
    form.add_error(None, "The request expired.")

    page = render(form)

    assert 'class="errorlist' in page
    assert page.count("The request expired.") == 1
    assert "redirect_uri" in page  # a field's error, named by its field
