"""The example's relying party pages: the flows at ``/``, the callback, the token exchange.

The protocol work is in :mod:`example_project.demo.rp`; these views keep what a
flow needs between the push and the callback in the session, under its state.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import rp

PENDING = "demo_rp_pending"  # session key: {state: what the callback needs}
KEPT_FLOWS = 10


def _pairs(parameters: QueryDict) -> list[tuple[str, str]]:
    """Every (name, value), repeated names included, in the order received."""
    return [(name, value) for name, values in parameters.lists() for value in values]


def issuer(request: HttpRequest) -> str:
    # The server this page is served by, as the browser reaches it: the session cookie
    # then follows the browser from here to the authorization endpoint and back.
    return request.build_absolute_uri("/o").rstrip("/")


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/home.html", {"flows": rp.FLOWS, "issuer": issuer(request)})


@require_POST
def start(request: HttpRequest, slug: str) -> HttpResponse:
    flow = rp.FLOWS_BY_SLUG.get(slug)
    if flow is None:
        raise Http404("No such flow.")
    redirect_uri = request.build_absolute_uri(reverse("demo-callback"))
    try:
        started = rp.start(flow, issuer(request), redirect_uri, settings.DEMO_RP_PRIVATE_KEY)
    except rp.RPError as exc:
        return render(request, "demo/problem.html", {"problem": str(exc), "flow": flow}, status=502)
    pending = dict(request.session.get(PENDING, {}))
    pending[started.pending_state] = started.pending
    # The newest few flows only: an abandoned flow must not grow the session forever.
    request.session[PENDING] = dict(sorted(pending.items(), key=lambda item: item[1]["started"])[-KEPT_FLOWS:])
    return HttpResponseRedirect(started.authorize_url)


def _response_parameters(request: HttpRequest) -> tuple[str, dict[str, str], list[tuple[str, str]]]:
    """(how it arrived, the parameters, all pairs as received)."""
    if request.method == "POST":
        pairs = [(name, value) for name, value in _pairs(request.POST) if name != "_delivered_in"]
        delivered = "fragment" if request.POST.get("_delivered_in") == "fragment" else "form_post"
    else:
        pairs, delivered = _pairs(request.GET), "query"
    return delivered, dict(pairs), pairs


@csrf_exempt  # the server posts here with response_mode=form_post; the state is what binds the answer
@require_http_methods(["GET", "POST"])
def callback(request: HttpRequest) -> HttpResponse:
    """The demo clients' redirect URI: verifies and shows the authorization response."""
    delivered, parameters, received = _response_parameters(request)
    context: dict[str, Any] = {"delivered": delivered, "received": received, "checks": []}
    if not received:
        # Nothing in the query or a POST: the answer may be in the fragment, which the page's script posts back.
        return render(request, "demo/callback.html", {**context, "awaiting_fragment": True})
    pending_flows = request.session.get(PENDING, {})
    try:
        if "response" in parameters:  # JARM (JWT Secured Authorization Response Mode §2)
            state = rp.unverified_claims(parameters["response"]).get("state", "")
            pending = pending_flows.get(state)
            if pending is None:
                raise rp.RPError("This response answers no flow started in this browser (unknown state).")
            keys = rp.server_keys(rp.discovery(pending["issuer"]))
            verified = rp.verify_jwt(parameters["response"], keys, pending["issuer"], pending["client_id"])
            context["jarm"] = verified
            context["checks"] += verified.checks
            parameters = {name: str(value) for name, value in verified.claims.items()}
        else:
            pending = pending_flows.get(parameters.get("state", ""))
            if pending is None:
                raise rp.RPError("This response answers no flow started in this browser (unknown state).")
            # RFC 9207 §2.4: the iss parameter names the server the request went to.
            if parameters.get("iss") != pending["issuer"]:
                raise rp.RPError(f"The iss parameter {parameters.get('iss')!r} is not {pending['issuer']!r}.")
            context["checks"].append(f"iss is {pending['issuer']} (RFC 9207)")
        context["checks"].append("state matches a flow started here")
    except rp.RPError as exc:
        context["problem"] = str(exc)
        return render(request, "demo/callback.html", context)
    context.update(
        flow=rp.FLOWS_BY_SLUG.get(pending["flow"]),
        parameters=parameters,
        state=parameters.get("state", ""),
        code=parameters.get("code", ""),
        error=parameters.get("error", ""),
    )
    return render(request, "demo/callback.html", context)


@require_POST
def exchange(request: HttpRequest) -> HttpResponse:
    """The token request for a flow's code; the ID token verified and decoded."""
    pending_flows = dict(request.session.get(PENDING, {}))
    pending = pending_flows.pop(request.POST.get("state", ""), None)
    context: dict[str, Any] = {"flow": None}
    if pending is None:
        context["problem"] = "This flow is unknown or its code was already exchanged. Start again from the home page."
        return render(request, "demo/tokens.html", context, status=400)
    request.session[PENDING] = pending_flows  # a code is exchanged once
    context["flow"] = rp.FLOWS_BY_SLUG.get(pending["flow"])
    try:
        tokens = rp.exchange(pending, request.POST.get("code", ""), settings.DEMO_RP_PRIVATE_KEY)
        context["tokens"] = tokens
        if "id_token" in tokens:
            context["id_token"] = rp.verify_id_token(tokens["id_token"], pending)
        context["api"] = rp.call_api(request.build_absolute_uri(reverse("demo-api-me")), tokens, pending)
    except rp.RPError as exc:
        context["problem"] = str(exc)
    return render(request, "demo/tokens.html", context)
