"""Settings for the test suite. DJANGO_PAR_TEST_DB picks the database:
sqlite (default), postgresql or mariadb (the servers on 127.0.0.1)."""

import os

from jwcrypto import jwk

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
ROOT_URLCONF = "tests.urls"
# pytest-django's live_server serves static files under STATIC_URL; it fails without one.
STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["tests.helpers.hashers.FastPBKDF2PasswordHasher"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "oauth2_provider",
    "django_par",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django_par.flow.session.login_hint",
            ]
        },
    }
]

_DB = os.environ.get("DJANGO_PAR_TEST_DB", "sqlite")
# One test database per run, so that runs side by side never drop each other's.
_TEST_NAME = f"test_django_par_{os.getpid()}"
if _DB == "postgresql":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "django_par",
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": "5432",
            "TEST": {"NAME": _TEST_NAME},
        }
    }
elif _DB == "mariadb":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "NAME": "django_par",
            "USER": "root",
            "PASSWORD": "",
            "HOST": "127.0.0.1",
            "PORT": "3306",
            "OPTIONS": {"charset": "utf8mb4"},
            "TEST": {"NAME": _TEST_NAME, "CHARSET": "utf8mb4", "COLLATION": "utf8mb4_bin"},
        }
    }
elif _DB == "sqlite":
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
else:
    raise RuntimeError(f"Unknown DJANGO_PAR_TEST_DB {_DB!r}")

OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
# "default" is per process; "redis" is the real server, shared like in production
# (django_par.flow.stores.CacheStore tests).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "redis": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("DJANGO_PAR_TEST_REDIS", "redis://127.0.0.1:6379/15"),
        # Per process: concurrent test runs never see each other's entries.
        "KEY_PREFIX": f"django_par_tests_{os.getpid()}",
    },
}

LOGIN_URL = "/accounts/login/"

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": jwk.JWK.generate(kty="RSA", size=2048)
    .export_to_pem(private_key=True, password=None)
    .decode(),
    "SCOPES": {"openid": "OpenID Connect", "read": "Read", "write": "Write", "profile": "Profile"},
    "PKCE_REQUIRED": False,
}
