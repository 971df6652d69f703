"""What a failed client authentication tells the client (one description) and the server (the reason).

Every failure answers ``401 invalid_client`` with the same ``error_description``;
the reason is in the ``request_rejected`` signal's ``error.reason`` (and the log).
The receiver below notes the reason of each failed request, so a test can check both.
"""

from __future__ import annotations

import weakref
from typing import Any

from django_par.clients.pipeline import FAILED
from django_par.signals import request_rejected
from tests.conftest import assert_oauth_error

_reasons: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def _note_reason(sender: Any, request: Any, error: Any, **kwargs: Any) -> None:
    if getattr(error, "error", None) == "invalid_client":
        _reasons[request] = error.reason


request_rejected.connect(_note_reason, weak=False, dispatch_uid="tests.client_failures")


def reason_of(response: Any) -> str:
    """The reason the server recorded for the failed request behind ``response``."""
    return _reasons[response.wsgi_request]


def assert_authentication_failed(response: Any, reason_part: str | None = None) -> dict[str, Any]:
    """The one 401 answer, whatever failed; ``reason_part`` in the signalled reason."""
    body = assert_oauth_error(response, 401, "invalid_client")
    assert body["error_description"] == FAILED, body
    reason = reason_of(response)
    assert reason, "a failure without a reason"
    if reason_part is not None:
        assert reason_part in reason, reason
    return body
