"""Template tags of django_par: ``{% load django_par %}``.

``{% authorization_details %}`` shows the authorization details (RFC 9396) of the
pushed request on a consent page, readably: each element through the template
``django_par/authorization_details/<type>.html`` when the site has one, else
``django_par/authorization_details/default.html``, which lists its fields as a
definition list. Never as raw JSON: nested values are shown as nested lists.
"""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# What a type may be to name a template file; other types get the default template.
_TEMPLATE_SAFE_TYPE = re.compile(r"[A-Za-z0-9_.-]{1,100}")
# A capital after a lower-case letter: where camelCase words meet.
_CAMEL_HUMP = re.compile(r"(?<=[a-z])[A-Z]")
DEFAULT_TEMPLATE = "django_par/authorization_details/default.html"
LIST_TEMPLATE = "django_par/authorization_details/list.html"


def label(name: str) -> str:
    """A field name as a label: ``instructed_amount`` and ``instructedAmount`` read "Instructed amount"."""
    text = _CAMEL_HUMP.sub(lambda match: " " + match.group().lower(), name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def readable(value: Any) -> SafeString:
    """A JSON value as escaped HTML: objects as definition lists, arrays as lists."""
    if isinstance(value, dict):
        rows = format_html_join("", "<dt>{}</dt><dd>{}</dd>", ((label(str(k)), readable(v)) for k, v in value.items()))
        return format_html("<dl>{}</dl>", rows)
    if isinstance(value, list):
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((readable(item),) for item in value)))
    if value is None:
        return mark_safe("&mdash;")
    if isinstance(value, bool):
        return format_html("{}", "yes" if value else "no")
    return format_html("{}", value)


def fields(element: dict[str, Any]) -> list[tuple[str, SafeString]]:
    """The element's fields but its type, as (label, HTML) pairs."""
    return [(label(str(name)), readable(value)) for name, value in element.items() if name != "type"]


def template_names(kind: Any) -> list[str]:
    """The type's own template first, when its name can name a file."""
    names = [DEFAULT_TEMPLATE]
    if isinstance(kind, str) and _TEMPLATE_SAFE_TYPE.fullmatch(kind) and ".." not in kind:
        names.insert(0, f"django_par/authorization_details/{kind}.html")
    return names


def render_element(element: dict[str, Any], request: Any = None) -> SafeString:
    kind = element.get("type")
    title = label(kind) if isinstance(kind, str) else ""
    context = {"detail": element, "type": kind, "title": title, "fields": fields(element)}
    return mark_safe(render_to_string(template_names(element.get("type")), context, request))


@register.simple_tag(takes_context=True)
def authorization_details(context: template.Context, details: Any = None) -> SafeString:
    """The authorization details (``details``, else the context's ``authorization_details``), rendered."""
    if details is None:
        details = context.get("authorization_details")
    if not details:
        return mark_safe("")
    request = context.get("request")
    elements = [render_element(element, request) for element in details if isinstance(element, dict)]
    return mark_safe(render_to_string(LIST_TEMPLATE, {"elements": elements}, request))
