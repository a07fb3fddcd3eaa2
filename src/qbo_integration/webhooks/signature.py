"""The `intuit-signature` header: base64 HMAC-SHA256 of the raw body, keyed by the app's verifier token."""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(body: bytes, verifier_token: str) -> str:
    return base64.b64encode(hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()).decode()


def verify(body: bytes, header: str | None, verifier_token: str) -> bool:
    """Constant-time comparison; a missing header, an empty token or a non-ASCII header never verifies."""
    if not header or not verifier_token:
        return False
    try:
        given = header.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(given, sign(body, verifier_token).encode())
