"""Fetching a client's ``jwks_uri`` without opening the server to SSRF.

HTTPS only, with a timeout on the whole fetch and a size cap, never from
loopback or private addresses unless ``JWKS_URI_ALLOW_PRIVATE_ADDRESSES`` is set;
the checked address is the one connected to, so DNS rebinding cannot slip past.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import threading
from typing import Any
from urllib.parse import urlsplit

from ..conf import par_settings


class KeyLookupError(Exception):
    """The client's keys could not be obtained; the message says why."""


def _checked_address(host: str, port: int) -> str:
    """The host's address, refusing loopback and private ones (SSRF)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise KeyLookupError(f"jwks_uri host {host!r} does not resolve.") from None
    addresses = [str(info[4][0]) for info in infos]
    if not par_settings.JWKS_URI_ALLOW_PRIVATE_ADDRESSES:
        for address in addresses:
            if not _is_public(ipaddress.ip_address(address.split("%")[0])):
                raise KeyLookupError("jwks_uri points to a private or loopback address.")
    return addresses[0]


# IPv6 ranges that carry an IPv4 address in their last 32 bits: IPv4-compatible
# (deprecated) and NAT64 (RFC 6052).
_EMBEDDING_IPV4 = (ipaddress.ip_network("::/96"), ipaddress.ip_network("64:ff9b::/96"))


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable, including any IPv4 address an IPv6 one carries."""
    if not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return True
    embedded = [address.ipv4_mapped, address.sixtofour, address.teredo[1] if address.teredo else None]
    if any(address in network for network in _EMBEDDING_IPV4):
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return all(ipv4.is_global for ipv4 in embedded if ipv4 is not None)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to the address that was checked, not to a fresh DNS answer.

    ``abort()``, called from another thread, ends a blocked handshake or read
    at once: the socket timeout bounds each read, not the whole fetch.
    """

    def __init__(self, host: str, address: str, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._address = address
        self._lock = threading.Lock()
        # A duplicate of the TCP socket: shutting it down ends reads on the
        # connection, whoever holds it (http.client hands it to the response).
        self._handle: socket.socket | None = None
        self.aborted = False

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        with self._lock:
            if self.aborted:
                sock.close()
                raise TimeoutError("aborted")
            self._handle = sock.dup()
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]

    def abort(self) -> None:
        with self._lock:
            self.aborted = True
            if self._handle is not None:
                try:
                    self._handle.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def finish(self) -> None:
        """Close the connection for good; ``abort()`` does nothing after it."""
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None
        self.close()


def fetch_jwks(uri: str, timeout: float | None = None) -> dict[str, Any]:
    """The JWK Set at ``uri``; ``timeout`` (default ``JWKS_URI_TIMEOUT``) bounds the whole fetch."""
    if timeout is None:
        timeout = par_settings.JWKS_URI_TIMEOUT
    parts = urlsplit(uri)
    if parts.scheme != "https" or not parts.hostname:
        raise KeyLookupError("jwks_uri must be an https URL.")
    port = parts.port or 443
    address = _checked_address(parts.hostname, port)
    context = ssl.create_default_context(cafile=par_settings.JWKS_URI_CA_BUNDLE)
    connection = _PinnedHTTPSConnection(parts.hostname, address, port=port, timeout=timeout, context=context)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    limit = par_settings.JWKS_URI_MAX_BYTES
    # The timeout bounds the whole fetch: a server sending a byte at a time gets no longer.
    deadline = threading.Timer(timeout, connection.abort)
    deadline.daemon = True
    deadline.start()
    try:
        connection.request("GET", path, headers={"Accept": "application/json"})
        response = connection.getresponse()
        if response.status != 200:
            raise KeyLookupError(f"jwks_uri answered HTTP {response.status}.")
        body = response.read(limit + 1)
        if connection.aborted:  # a read cut short returns what had arrived
            raise TimeoutError
    except (OSError, http.client.HTTPException) as exc:
        if connection.aborted or isinstance(exc, TimeoutError):
            raise KeyLookupError(f"jwks_uri did not answer in time ({timeout:.2g} s).") from None
        raise KeyLookupError(f"jwks_uri could not be fetched: {exc.__class__.__name__}.") from None
    finally:
        deadline.cancel()
        connection.finish()
    if len(body) > limit:
        raise KeyLookupError(f"jwks_uri document is larger than {limit} bytes.")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
        raise KeyLookupError("jwks_uri did not return JSON.") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeyLookupError("jwks_uri did not return a JWK Set.")
    return document
