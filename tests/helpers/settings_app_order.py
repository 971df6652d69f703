"""tests.settings with INSTALLED_APPS in the order named by DJANGO_PAR_TEST_APP_ORDER (comma-separated)."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

_order = os.environ["DJANGO_PAR_TEST_APP_ORDER"].split(",")
INSTALLED_APPS = [*_order, *(app for app in INSTALLED_APPS if app not in _order)]
