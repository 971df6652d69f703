"""DPoP (RFC 9449), the authorization-server side: every DPoP rule of django_par lives in this package.

- :mod:`.proofs`: verifying a ``DPoP`` proof header (§4.3);
- :mod:`.nonces`: the server's stateless, time-rotating nonces (§8);
- :mod:`.binding`: which key thumbprint (RFC 7638) a code, access token or refresh token is bound to.
"""
