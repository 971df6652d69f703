"""Signals sent over the life of a pushed request, for auditing.

Every signal is sent with ``sender=PushedRequest`` (except ``request_rejected``,
whose ``pushed_request`` may be None) and the Django ``request``:

* ``request_pushed(pushed_request, request)``: stored by the PAR endpoint;
* ``request_first_used(pushed_request, request)``: its request_uri opened a flow;
* ``request_consumed(pushed_request, request)``: it produced its one authorization response;
* ``request_rejected(pushed_request, request, error)``: a request_uri was refused at
  the authorization endpoint (unknown, expired, spent, other client, PAR required), or a
  client failed to authenticate (``pushed_request`` None; ``error.reason`` says what failed,
  while ``error.description`` is the one answer every client reads), or an authenticated
  client's push was refused (``pushed_request`` None, and ``application``: the client);
* ``requests_expired_unused(counts)``: the purge deleted pushed requests whose request_uri was
  never used; ``counts`` maps each client_id to how many (sent only when someone listens,
  with ``sender=PushedRequest`` and no request).
"""

from __future__ import annotations

from django.dispatch import Signal

request_pushed = Signal()
request_first_used = Signal()
request_consumed = Signal()
request_rejected = Signal()
requests_expired_unused = Signal()
