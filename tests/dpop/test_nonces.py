"""Stateless server nonces (RFC 9449 §8): django_par.dpop.nonces."""

from __future__ import annotations

from django.test import override_settings

from django_par.dpop import nonces

NOW = 1_800_000_000.0


@override_settings(DJANGO_PAR={"DPOP_NONCE_LIFETIME": 300})
def test_current_and_previous_step_accepted() -> None:
    nonce = nonces.current_nonce(NOW)
    assert nonces.is_valid(nonce, NOW)
    assert nonces.is_valid(nonce, NOW + 300)  # the next step still takes it
    assert not nonces.is_valid(nonce, NOW + 600)
    assert not nonces.is_valid(nonce, NOW - 300)  # never a nonce of the future


def test_rotates() -> None:
    assert nonces.current_nonce(NOW) != nonces.current_nonce(NOW + 10_000)


def test_derived_from_the_secret_key() -> None:
    nonce = nonces.current_nonce(NOW)
    with override_settings(SECRET_KEY="another-secret-key"):
        assert nonces.current_nonce(NOW) != nonce
        assert not nonces.is_valid(nonce, NOW)


def test_not_a_string() -> None:
    assert not nonces.is_valid(None, NOW)
    assert not nonces.is_valid(5, NOW)


def test_headers_only_when_on() -> None:
    assert nonces.nonce_headers() == {}
    with override_settings(DJANGO_PAR={"DPOP_NONCES": True}):
        assert nonces.nonce_headers() == {"DPoP-Nonce": nonces.current_nonce()}
