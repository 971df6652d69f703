"""System checks of django_par's configuration (django_par/checks.py)."""

from __future__ import annotations

import pytest
from django.core import checks as django_checks
from django.test import modify_settings, override_settings
from django.urls import include, path

from django_par import checks
from django_par.views.par import PushedAuthorizationRequestView
from tests.helpers.jwt_helpers import assertion_validator  # noqa: F401  (fixture)

E001, E002, E003, E004, E005 = (f"django_par.E00{n}" for n in range(1, 6))


def error_ids(messages: list) -> list[str]:
    return [message.id for message in messages]


# A URLconf in which DOT routes its own PAR endpoint (used by the E005 test).
dot_par_patterns = (
    [path("par/", PushedAuthorizationRequestView.as_view(), name="pushed-authorization-request")],
    "oauth2_provider",
)
urlpatterns = [path("o/", include(dot_par_patterns))]


class TestCleanConfiguration:
    def test_each_check_passes_with_the_test_settings(self):
        assert checks.check_dot_installed() == []
        assert checks.check_settings() == []
        assert checks.check_dot_builtin_par() == []

    @override_settings(
        DJANGO_PAR={
            "REQUEST_URI_LIFETIME": 60,
            "CLIENT_AUTH_BACKENDS": ["django_par.clients.secrets.ClientSecretBasic"],
            "STATE_MIN_LENGTH": 16,
        }
    )
    def test_a_full_valid_configuration_passes(self):
        assert checks.check_settings() == []

    def test_registered_checks_report_no_django_par_error(self):
        errors = [
            message
            for message in django_checks.run_checks()
            if message.id.startswith("django_par.") and message.level >= django_checks.ERROR
        ]
        assert errors == []


class TestDotInstalled:
    @modify_settings(INSTALLED_APPS={"remove": ["oauth2_provider"]})
    def test_missing_dot_is_e001(self):
        (error,) = checks.check_dot_installed()
        assert error.id == E001
        assert "oauth2_provider" in error.hint


class TestUnknownSetting:
    @override_settings(DJANGO_PAR={"REQUEST_URI_LIFETIMES": 60})
    def test_misspelt_key_is_e002(self):
        (error,) = checks.check_settings()
        assert error.id == E002
        assert "REQUEST_URI_LIFETIMES" in error.msg
        assert "REQUEST_URI_LIFETIME" in error.hint

    @override_settings(DJANGO_PAR={"ONE": 1, "TWO": 2})
    def test_each_unknown_key_is_reported(self):
        assert error_ids(checks.check_settings()) == [E002, E002]

    @override_settings(DJANGO_PAR=["REQUEST_URI_LIFETIME", 60])
    def test_settings_that_are_not_a_dict_is_e002(self):
        assert error_ids(checks.check_settings()) == [E002]


class TestImportPaths:
    @override_settings(DJANGO_PAR={"CLIENT_AUTH_BACKENDS": ["django_par.clients.secrets.NoSuchBackend"]})
    def test_missing_attribute_is_e003(self):
        (error,) = checks.check_settings()
        assert error.id == E003
        assert "django_par.clients.secrets.NoSuchBackend" in error.msg

    @override_settings(
        DJANGO_PAR={"CLIENT_AUTH_BACKENDS": ["django_par.clients.secrets.ClientSecretBasic", "no_such_module.Backend"]}
    )
    def test_missing_module_is_e003_and_good_paths_pass(self):
        (error,) = checks.check_settings()
        assert error.id == E003
        assert "no_such_module.Backend" in error.msg

    @override_settings(DJANGO_PAR={"CLIENT_AUTH_BACKENDS": "django_par.clients.secrets.ClientSecretBasic"})
    def test_a_single_string_instead_of_a_list_is_e003(self):
        (error,) = checks.check_settings()
        assert error.id == E003
        assert "list of dotted paths" in error.msg

    @override_settings(DJANGO_PAR={"CLIENT_AUTH_BACKENDS": ["nodots"]})
    def test_a_path_without_dots_is_e003(self):
        assert error_ids(checks.check_settings()) == [E003]

    @override_settings(DJANGO_PAR={"CLIENT_AUTH_BACKENDS": [42]})
    def test_a_path_that_is_not_a_string_is_e003_not_a_crash(self):
        assert error_ids(checks.check_settings()) == [E003]


class TestLifetimeRange:
    @override_settings(DJANGO_PAR={"REQUEST_URI_LIFETIME": 5})
    def test_lowest_lifetime_passes(self):
        assert checks.check_settings() == []

    @override_settings(DJANGO_PAR={"REQUEST_URI_LIFETIME": 3600})
    def test_highest_lifetime_passes(self):
        assert checks.check_settings() == []

    def test_out_of_range_or_not_a_whole_number_is_e004(self):
        for value in (4, 3601, 0, -90, "90", 90.0, True, None):
            with override_settings(DJANGO_PAR={"REQUEST_URI_LIFETIME": value}):
                errors = checks.check_settings()
            assert error_ids(errors) == [E004], value
            assert "REQUEST_URI_LIFETIME" in errors[0].msg


class TestDotBuiltinPar:
    def test_dot_par_setting_enabled_is_e005(self, settings):
        settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "PAR_ENABLED": True}
        (error,) = checks.check_dot_builtin_par()
        assert error.id == E005
        assert "PAR_ENABLED" in error.msg

    def test_dot_par_setting_disabled_passes(self, settings):
        settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "PAR_ENABLED": False}
        assert checks.check_dot_builtin_par() == []

    @override_settings(ROOT_URLCONF="tests.test_checks")
    def test_dot_par_url_routed_is_e005(self):
        (error,) = checks.check_dot_builtin_par()
        assert error.id == E005
        assert "pushed-authorization-request" in error.msg


@pytest.mark.usefixtures("assertion_validator")
class TestFapi2Lifetime:
    @override_settings(DJANGO_PAR={"REQUEST_URI_LIFETIME": "soon", "FAPI2_SECURITY_PROFILE": True})
    def test_lifetime_that_is_not_a_number_is_e004_not_a_crash_with_fapi2_on(self):
        assert E004 in error_ids(checks.check_settings())

    @override_settings(DJANGO_PAR={"REQUEST_URI_LIFETIME": 600, "FAPI2_SECURITY_PROFILE": True})
    def test_fapi2_with_a_lifetime_of_600_seconds_is_e006(self):
        assert error_ids(checks.check_settings()) == ["django_par.E006"]

    @override_settings(DJANGO_PAR={"REQUEST_URI_LIFETIME": 599, "FAPI2_SECURITY_PROFILE": True})
    def test_fapi2_with_a_lifetime_under_600_seconds_passes(self):
        assert checks.check_settings() == []


class TestSettingTypes:
    @pytest.mark.parametrize(
        "key, value",
        [
            ("STATE_MIN_LENGTH", "8"),
            ("MAX_BODY_SIZE", True),
            ("REQUIRE_PUSHED_AUTHORIZATION_REQUESTS", "yes"),
            ("ASYMMETRIC_SIGNING_ALGS", "RS256"),
            ("ASYMMETRIC_SIGNING_ALGS", ["RS256", 1]),
            ("CLIENT_CACHE_ALIAS", 3),
            ("AUTHENTICATION_REALM", None),
        ],
    )
    def test_a_value_of_the_wrong_type_is_e008(self, key: str, value: object) -> None:
        with override_settings(DJANGO_PAR={key: value}):
            assert error_ids(checks.check_settings()) == ["django_par.E008"]

    @pytest.mark.parametrize(
        "key, value",
        [
            ("STATE_MIN_LENGTH", 12),
            ("ASYMMETRIC_SIGNING_ALGS", ("ES256",)),
            ("CLIENT_CACHE_ALIAS", None),
            ("FAPI2_SECURITY_PROFILE", False),
        ],
    )
    def test_a_value_of_the_right_type_passes(self, key: str, value: object) -> None:
        with override_settings(DJANGO_PAR={key: value}):
            assert error_ids(checks.check_settings()) == []
