"""The fixtures of tests/flow_helpers.py as a pytest plugin.

A test module loads them with ``pytest_plugins = ["tests.helpers.flow_fixtures"]``
instead of importing each fixture by name.
"""

from tests.helpers.flow_helpers import browser, logged_in_browser, skip_consent_app, user

__all__ = ["browser", "logged_in_browser", "skip_consent_app", "user"]
