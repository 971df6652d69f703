"""par_settings: the documented defaults, and DJANGO_PAR changes seen at once although it is looked up once."""

from __future__ import annotations

from django.test import override_settings

from django_par import fapi2
from django_par.conf import DEFAULTS, SETTINGS, par_settings


def test_defaults_without_a_django_par_setting() -> None:
    assert par_settings.REQUEST_URI_LIFETIME == DEFAULTS["REQUEST_URI_LIFETIME"] == 90
    assert par_settings.STORE == "django_par.flow.stores.DatabaseStore"


def test_a_changed_setting_is_seen_at_once_and_reverted_after() -> None:
    assert par_settings.REQUEST_URI_LIFETIME == 90  # looked up, and kept
    with override_settings(DJANGO_PAR={"REQUEST_URI_LIFETIME": 30, "FAPI2_SECURITY_PROFILE": True}):
        assert par_settings.REQUEST_URI_LIFETIME == 30
        assert par_settings.FAPI2_SECURITY_PROFILE is True
        assert fapi2.assertion_audience_issuer_only() is True
        assert par_settings.FLOW_LIFETIME == 1800  # keys left out keep their defaults
    assert par_settings.REQUEST_URI_LIFETIME == 90
    assert fapi2.assertion_audience_issuer_only() is False


def test_settings_hold_no_policy() -> None:
    # FAPI 2.0 folds into no other setting: its rules live in django_par.fapi2.
    with override_settings(DJANGO_PAR={"FAPI2_SECURITY_PROFILE": True}):
        assert par_settings.REQUIRE_PUSHED_AUTHORIZATION_REQUESTS is False
        assert par_settings.ASSERTION_AUDIENCE_ISSUER_ONLY is False
        assert fapi2.par_required() is True


def test_values_are_converted_to_the_type_of_their_table_entry() -> None:
    with override_settings(
        DJANGO_PAR={"JWKS_URI_TIMEOUT": 2, "CLIENT_CACHE_ALIAS": "default", "JWKS_URI_CA_BUNDLE": ""}
    ):
        assert par_settings.JWKS_URI_TIMEOUT == 2.0 and isinstance(par_settings.JWKS_URI_TIMEOUT, float)
        assert par_settings.CLIENT_CACHE_ALIAS == "default"
        assert par_settings.JWKS_URI_CA_BUNDLE is None  # an empty optional value means unset
    assert par_settings.CLIENT_CACHE_ALIAS is None


def test_every_table_entry_is_a_typed_attribute() -> None:
    for name, setting in SETTINGS.items():
        assert name in type(par_settings).__annotations__, name
        value = getattr(par_settings, name)
        assert value is None or isinstance(value, setting.kind), name


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        par_settings.NO_SUCH_SETTING  # noqa: B018
    except AttributeError:
        return
    raise AssertionError("an unknown setting name must raise AttributeError")


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
