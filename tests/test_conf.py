"""par_settings: the documented defaults, and DJANGO_PAR changes seen at once although it is looked up once."""

from __future__ import annotations

from django.test import override_settings

from django_par.conf import DEFAULTS, par_settings


def test_defaults_without_a_django_par_setting() -> None:
    assert par_settings.REQUEST_URI_LIFETIME == DEFAULTS["REQUEST_URI_LIFETIME"] == 90
    assert par_settings.STORE == "django_par.stores.DatabaseStore"


def test_a_changed_setting_is_seen_at_once_and_reverted_after() -> None:
    assert par_settings.REQUEST_URI_LIFETIME == 90  # looked up, and kept
    with override_settings(DJANGO_PAR={"REQUEST_URI_LIFETIME": 30, "FAPI2_SECURITY_PROFILE": True}):
        assert par_settings.REQUEST_URI_LIFETIME == 30
        assert par_settings.ASSERTION_AUDIENCE_ISSUER_ONLY is True
        assert par_settings.FLOW_LIFETIME == 1800  # keys left out keep their defaults
    assert par_settings.REQUEST_URI_LIFETIME == 90
    assert par_settings.ASSERTION_AUDIENCE_ISSUER_ONLY is False


def test_the_pytest_django_settings_fixture_reaches_it(settings) -> None:
    assert par_settings.MAX_BODY_SIZE == 64 * 1024
    settings.DJANGO_PAR = {"MAX_BODY_SIZE": 100}
    assert par_settings.MAX_BODY_SIZE == 100


def test_other_settings_changing_keep_it() -> None:
    with override_settings(DJANGO_PAR={"STATE_MIN_LENGTH": 12}):
        assert par_settings.STATE_MIN_LENGTH == 12
        with override_settings(USE_TZ=True):
            assert par_settings.STATE_MIN_LENGTH == 12


def test_a_django_par_setting_that_is_not_a_dict_counts_as_empty() -> None:
    # System check E002 reports it; until then the defaults apply.
    with override_settings(DJANGO_PAR=["REQUEST_URI_LIFETIME", 5]):
        assert par_settings.REQUEST_URI_LIFETIME == 90
