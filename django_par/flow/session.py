"""What a pushed flow keeps in the user's session: the login time and the login hint.

The login time (:func:`record_auth_time`, on ``user_logged_in``) serves
``prompt=login`` and ``max_age``.

The pushed ``login_hint`` is offered to the login page through the session.

The hint never goes into a URL the browser sees. When a pushed flow sends the
user to log in, the hint's username (and realm, for a JSON hint) is kept in
the session; the context processor :func:`login_hint` gives it to templates
as ``par_login_hint`` and ``par_login_hint_realm``, e.g. to prefill the
username field. A login clears it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.http import HttpRequest

LOGIN_HINT_SESSION_KEY = "django_par.login_hint"


def parse_login_hint(value: str) -> dict[str, str]:
    """``{"username": ..., "realm": ...}`` from a plain or a JSON login_hint (validated at push)."""
    if value.lstrip().startswith("{"):
        hint = json.loads(value)
        return {name: hint[name] for name in ("username", "realm") if isinstance(hint.get(name), str)}
    return {"username": value}


def remember_login_hint(request: HttpRequest, parameters: Mapping[str, str]) -> None:
    if "login_hint" in parameters:
        request.session[LOGIN_HINT_SESSION_KEY] = parse_login_hint(parameters["login_hint"])


def forget_login_hint(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    if session is not None:
        session.pop(LOGIN_HINT_SESSION_KEY, None)


def login_hint(request: HttpRequest) -> dict[str, str]:
    """Context processor: the pending pushed flow's login hint, if any."""
    session = getattr(request, "session", None)
    hint = session.get(LOGIN_HINT_SESSION_KEY) if session is not None else None
    if not hint:
        return {}
    return {"par_login_hint": hint.get("username", ""), "par_login_hint_realm": hint.get("realm", "")}


def login_is_stale(request: HttpRequest, flow_started_at: datetime, parameters: Mapping[str, str]) -> bool:
    """True when ``prompt=login`` or ``max_age`` asks for a login the user has not done.

    OIDC Core §3.1.2.1: a login since this flow started satisfies both.
    """
    auth_time = request.session.get(AUTH_TIME_SESSION_KEY)
    if auth_time is not None and auth_time >= flow_started_at.timestamp():
        return False
    if "login" in parameters.get("prompt", "").split():
        return True
    if "max_age" in parameters:
        return auth_time is None or time.time() - auth_time > int(parameters["max_age"])
    return False


# Session key holding the time (epoch seconds) the user last authenticated.
AUTH_TIME_SESSION_KEY = "django_par.auth_time"


def record_auth_time(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Remember when the user logged in, for prompt=login and max_age."""
    session = getattr(request, "session", None)
    if session is not None:
        # Not rounded: prompt=login compares it with the flow's start, often in the same second.
        session[AUTH_TIME_SESSION_KEY] = time.time()
