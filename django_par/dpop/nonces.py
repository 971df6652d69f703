"""Server-provided DPoP nonces (RFC 9449 §8), without storage.

A nonce is a keyed MAC (Django's ``salted_hmac``, so derived from ``SECRET_KEY``) of
the current time step of ``DPOP_NONCE_LIFETIME`` seconds: every process computes
the same value, and a nonce is accepted during its step and the next one, so a
client holding the latest nonce is never refused at a step change.
"""

from __future__ import annotations

import time

from django.utils.crypto import constant_time_compare, salted_hmac
from jwcrypto.common import base64url_encode

from ..conf import par_settings

_SALT = "django_par.dpop.nonce"


def enabled() -> bool:
    """Whether the PAR and token endpoints require a server nonce in proofs (``DPOP_NONCES``)."""
    return bool(par_settings.DPOP_NONCES)


def _step(now: float | None) -> int:
    return int((time.time() if now is None else now) // par_settings.DPOP_NONCE_LIFETIME)


def _nonce(step: int) -> str:
    return str(base64url_encode(salted_hmac(_SALT, str(step), algorithm="sha256").digest()))


def current_nonce(now: float | None = None) -> str:
    """The nonce to hand out now (the ``DPoP-Nonce`` header, §8.1)."""
    return _nonce(_step(now))


def is_valid(nonce: object, now: float | None = None) -> bool:
    """Whether ``nonce`` is the current or the previous step's nonce."""
    if not isinstance(nonce, str):
        return False
    step = _step(now)
    return any(constant_time_compare(nonce, _nonce(candidate)) for candidate in (step, step - 1))


def nonce_headers() -> dict[str, str]:
    """The ``DPoP-Nonce`` header a successful answer carries while nonces are on (§8.2), else none."""
    return {"DPoP-Nonce": current_nonce()} if enabled() else {}
