"""DOT's authorization endpoint, resolving pushed requests (RFC 9126 §4).

:class:`PushedAuthorizationMixin` goes in front of DOT's ``AuthorizationView``
(or a site's subclass of it). For a request carrying ``request_uri`` it swaps
the browser's query for the stored parameters inside the server only, so DOT
and oauthlib process the pushed request as if it had been sent in full, while
every URL the browser sees (login ``next``, the consent form's action) keeps
only ``client_id`` and ``request_uri``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import resolve_url
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.views import AuthorizationView as DotAuthorizationView

from .. import dot
from ..clients.registry import load_application
from ..errors import InvalidRequest, OAuthError, TemporarilyUnavailable
from ..flow.delivery import deliver, error_response_url, with_issuer
from ..flow.granted_details import approving
from ..flow.lifecycle import consume, require_pushed_request, resolve_request_uri
from ..flow.session import login_is_stale, remember_login_hint
from ..models import PushedRequest
from ..push import authorization_details, resources
from ..push.parameters import application_for_dot, check_with_dot
from .responses import backend_failures, html_error_response, no_store


class PushedAuthorizationMixin:
    """Resolve ``request_uri`` for DOT's ``AuthorizationView``; enforce required PAR."""

    pushed_request: PushedRequest | None = None
    request: HttpRequest

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Every answer (consent page, login redirect, code, error) is for this user and this
        # moment only: no browser or shared cache may keep it (RFC 9111 §5.2.2.5).
        try:
            with backend_failures():  # docs/failures.md
                response = self.answer(request, *args, **kwargs)
        except TemporarilyUnavailable as error:
            response = self.unavailable(request, error)
        return no_store(response)

    def unavailable(self, request: HttpRequest, error: TemporarilyUnavailable) -> HttpResponse:
        """The database or a cache failed: tell the client, or else the user, to retry.

        RFC 6749 §4.1.2.1: ``temporarily_unavailable`` goes to the client's redirect URI only
        when that URI is known valid, that is for a pushed request found in the store (its
        redirect_uri was checked when it was pushed). The request_uri is not spent: no code
        was issued, so a reload of the page may still finish the flow once the fault is over.
        """
        if self.pushed_request is None:
            return html_error_response(request, error)
        try:
            with backend_failures():
                location = error_response_url(self.pushed_parameters, error.error, error.description)
                delivered = deliver(request, self.pushed_request.application, self.pushed_parameters, location)
                if isinstance(delivered, HttpResponse):
                    return delivered
                return super().redirect(delivered, self.pushed_request.application)  # type: ignore[misc,no-any-return]
        except TemporarilyUnavailable:
            return html_error_response(request, error)

    def answer(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.pushed_request = None
        if request.encoding not in (None, "utf-8"):
            # Django decodes the query with the codec a Content-Type charset names, even on a GET:
            # never with one the client picks (unicode_escape smuggles lone surrogates in).
            request.encoding = "utf-8"
        try:
            if "request_uri" in request.GET:
                self.pushed_request = resolve_request_uri(request, request.GET)
                # Spending the request_uri can fail later too: a racing browser won.
                return self.dispatch_pushed(request, *args, **kwargs)
            if not dot.oauthlib_can_parse(request.META.get("QUERY_STRING", "")):
                # oauthlib refuses it by raising ValueError inside DOT's view: a 500 otherwise.
                raise InvalidRequest("The query string is not valid URL encoding.")
            authorization_details.refuse_in_plain_request(request.GET)
            # A plain request names its client in the query; its consent POST may
            # name it only in DOT's form fields, which DOT then acts on.
            for client_id in {request.GET.get("client_id", ""), request.POST.get("client_id", "")} - {""}:
                application = load_application(client_id)
                if application is not None:
                    require_pushed_request(request, application)
        except OAuthError as error:
            return html_error_response(request, error)
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc,no-any-return]

    # -- pushed requests ---------------------------------------------------

    @property
    def pushed_parameters(self) -> dict[str, str]:
        assert self.pushed_request is not None
        return dict(self.pushed_request.parameters)

    def dispatch_pushed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        params = self.pushed_parameters
        prompts = set(params.get("prompt", "").split())
        assert self.pushed_request is not None and self.pushed_request.used_at is not None
        needs_login = not request.user.is_authenticated or login_is_stale(request, self.pushed_request.used_at, params)
        if "none" in prompts:
            # OIDC Core §3.1.2.1: no UI; answer with an error instead.
            if needs_login:
                return self.prompt_none_error("login_required", "The user is not logged in.")
            application = self.pushed_request.application
            fresh_consent = authorization_details.needs_fresh_consent(params) and not application.skip_authorization
            if fresh_consent or not dot.has_prior_consent(request, application, params):
                return self.prompt_none_error("consent_required", "The user has not yet approved this client.")
        elif needs_login:
            remember_login_hint(request, params)
            # The way back names the pushed request only: nothing pushed leaks into the URL.
            short_url = (
                request.path
                + "?"
                + urlencode({"client_id": request.GET["client_id"], "request_uri": request.GET["request_uri"]})
            )
            return redirect_to_login(short_url, resolve_url(self.get_login_url()), self.get_redirect_field_name())  # type: ignore[attr-defined]
        self.expand_request(request, params, prompts)
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc,no-any-return]

    def prompt_none_error(self, error: str, description: str) -> HttpResponse:
        assert self.pushed_request is not None
        url = error_response_url(self.pushed_parameters, error, description)
        return self.redirect(url, self.pushed_request.application)

    def expand_request(self, request: HttpRequest, params: dict[str, str], prompts: set[str]) -> None:
        """Give DOT the pushed parameters, server-side only.

        Prompts were handled above; what remains for DOT is whether to show the
        consent page: always with prompt=consent or authorization details, never
        when prompt=none passed.
        """
        # authorization_details stay with the pushed request (they reach DOT's validator through
        # approving()); resources go to DOT as a plain request sends them: repeated (RFC 8707 §2).
        omitted = {"prompt", authorization_details.NAME, resources.NAME}
        expanded: dict[str, Any] = {name: value for name, value in params.items() if name not in omitted}
        if "consent" in prompts or ("none" not in prompts and authorization_details.needs_fresh_consent(params)):
            expanded["approval_prompt"] = "force"
        elif "none" in prompts:
            expanded["approval_prompt"] = "auto"
        if resources.NAME in params:
            expanded[resources.NAME] = resources.stored_resources(params)
        query_string = urlencode(expanded, doseq=True)
        request.GET = QueryDict(query_string)
        # A copy: the WSGI environ (and so server access logs) keeps the short query.
        request.META = {**request.META, "QUERY_STRING": query_string}

    # -- DOT hooks -----------------------------------------------------------

    def handle_no_permission(self) -> HttpResponse:
        """An anonymous user: DOT's login redirect, or its prompt=none error.

        DOT before 3.4 sends the prompt=none error of a plain request to its redirect_uri
        unvalidated, an open redirect (RFC 9700 §4.11); validate first, as DOT 3.4 does.
        """
        if self.pushed_request is None and "none" in self.request.GET.get("prompt", "").split():
            try:
                self.validate_authorization_request(self.request)
            except OAuthToolkitError as error:  # FatalClientError: an error page, never a redirect
                return self.error_response(error, application=None)  # type: ignore[attr-defined,no-any-return]
        return super().handle_no_permission()  # type: ignore[misc,no-any-return]

    def validate_authorization_request(self, request: HttpRequest) -> tuple[Any, dict[str, Any]]:
        """DOT's validation; for a pushed request, of the expanded parameters with the
        client already loaded, so DOT's validator does not query it again."""
        if self.pushed_request is None:
            return super().validate_authorization_request(request)  # type: ignore[misc,no-any-return]
        application = application_for_dot(self.pushed_request.application, self.pushed_parameters)
        return dot.validate_for_dot_view(request, request.GET.dict(), application)

    def get_initial(self) -> dict[str, Any]:
        if self.pushed_request is None:
            return super().get_initial()  # type: ignore[misc,no-any-return]
        # The consent form carries no pushed parameter: the POST reads them from the store.
        return {"client_id": self.pushed_request.application.client_id}

    def get_form(self, form_class: Any = None) -> Any:
        form = super().get_form(form_class)  # type: ignore[misc]
        if self.pushed_request is not None and not form.is_bound:
            # The consent page of a pushed request carries client_id only (get_initial): its other
            # hidden fields would render empty, at about 60 µs of template work each (about 0.5 ms
            # per page, benchmarks/README.md), and the POST reads the pushed parameters from the store.
            form.fields = {
                name: field for name, field in form.fields.items() if name == "client_id" or not field.widget.is_hidden
            }
        return form

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = super().get_form_kwargs()  # type: ignore[misc]
        if self.pushed_request is not None and "data" in kwargs:
            kwargs["data"] = self.consent_form_data()
        return kwargs

    def consent_form_data(self) -> dict[str, Any]:
        """The consent POST as DOT expects it, from the pushed request, not the browser."""
        assert self.pushed_request is not None
        try:
            scopes, credentials = check_with_dot(self.request, self.pushed_parameters, self.pushed_request.application)
        except OAuthError:
            return {}  # validated when pushed; DOT's form then reports the invalid POST
        return dot.consent_form_data(
            scopes,
            credentials,
            allow=self.request.POST.get("allow", ""),
            resources=resources.stored_resources(self.pushed_parameters),
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """The consent page's context; for a pushed request, its authorization details (RFC 9396 §3),
        which the ``{% authorization_details %}`` tag of ``django_par`` shows."""
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        if self.pushed_request is not None:
            context["authorization_details"] = authorization_details.stored_details(self.pushed_parameters)
        return context

    def spend_request_uri(self) -> None:
        """Consume the pushed request once, for this request's authorization response."""
        assert self.pushed_request is not None
        if self.pushed_request.state != PushedRequest.State.CONSUMED:
            consume(self.request, self.pushed_request)

    def create_authorization_response(self, request: HttpRequest, scopes: Any, credentials: Any, allow: Any) -> Any:
        """Spend the request_uri *before* DOT creates a grant, so a losing racer creates none."""
        if self.pushed_request is None:
            return super().create_authorization_response(request, scopes, credentials, allow)  # type: ignore[misc]
        self.spend_request_uri()  # an OAuthError here ends in dispatch_pushed's error page
        params = self.pushed_parameters
        # The client bound to the request_uri, loaded on resolution, so oauthlib does not query it
        # again; for an unregistered pushed redirect URI, a copy that accepts it (RFC 9126 §2.4).
        application = application_for_dot(self.pushed_request.application, params)
        credentials = dot.credentials_for_client(credentials, application)
        # RFC 9396: the code carries the details the user was shown, read from the store, never the browser.
        with approving(authorization_details.stored_details(params)):
            return super().create_authorization_response(request, scopes, credentials, allow)  # type: ignore[misc]

    def redirect(self, redirect_to: str, application: Any) -> HttpResponse:
        """Every authorization response passes here (codes, error redirects): the
        request_uri is spent, then the response is delivered in the pushed response_mode."""
        if self.pushed_request is None:
            # RFC 9207 §2: iss in every authorization response, to requests that were not pushed too.
            location = with_issuer(redirect_to, dot.issuer(self.request))
            return super().redirect(location, application)  # type: ignore[misc,no-any-return]
        self.spend_request_uri()
        delivered = deliver(self.request, application, self.pushed_parameters, redirect_to)
        if isinstance(delivered, HttpResponse):
            return delivered
        return super().redirect(delivered, application)  # type: ignore[misc,no-any-return]


class AuthorizationView(PushedAuthorizationMixin, DotAuthorizationView):
    """DOT's authorization endpoint with pushed authorization requests."""
