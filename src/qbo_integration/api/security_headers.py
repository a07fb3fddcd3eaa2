"""Security headers on every answer (RequestIdMiddleware adds them with the request id), by path.

The console (/console) gets a strict Content-Security-Policy: its own scripts, styles, images and
API calls only, no framing (clickjacking), no <base> or foreign form targets. Its one allowance is
inline style *attributes* (`style-src-attr`), which its pages set for bar widths; no inline script
or <style> element runs. JSON answers get `default-src 'none'` and no framing. Swagger's /docs and
/redoc load their assets from a CDN, so they get only nosniff (and are off in production).
"""

from __future__ import annotations

CONSOLE_PREFIX = "/console"
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
CONSOLE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
               "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
API_CSP = "default-src 'none'; frame-ancestors 'none'"
_ALWAYS = [(b"x-content-type-options", b"nosniff")]
_NO_FRAMING = [(b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer")]


def headers_for(path: str) -> list[tuple[bytes, bytes]]:
    """The security headers of an answer to `path`."""
    if path in DOCS_PATHS:
        return list(_ALWAYS)
    csp = CONSOLE_CSP if path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/") else API_CSP
    return [*_ALWAYS, *_NO_FRAMING, (b"content-security-policy", csp.encode())]
