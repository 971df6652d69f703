"""OAuth 2.0 Pushed Authorization Requests (RFC 9126) for django-oauth-toolkit."""

__version__ = "0.1.0"
