"""Tokens at rest: AES-256-GCM, 12-byte random nonce, key id stored with the ciphertext.

Blob format: `v1.<kid>.<b64url nonce>.<b64url ciphertext+tag>`. The associated data binds a blob to
its integration row (`aad_for(integration_id)` = `b"integration:" + id`), so a ciphertext copied
to another row does not decrypt. Setting format: `kid:base64url(32 bytes),kid2:...` — the FIRST key
encrypts, every listed key decrypts (rotate by putting a new key first, re-encrypt, then drop the
old one).
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
_KID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class TokenCipherError(Exception):
    """Bad key setting or a blob that cannot be decrypted. Never includes key or plaintext."""


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def aad_for(integration_id: Any) -> bytes:
    return b"integration:" + str(integration_id).encode()


def generate_key(kid: str | None = None) -> str:
    """A new `kid:base64url32bytes` entry for the key setting."""
    kid = kid or "k" + secrets.token_hex(4)
    if not _KID_RE.match(kid):
        raise TokenCipherError("key id must be 1-32 chars of [A-Za-z0-9_-]")
    return f"{kid}:{_b64e(os.urandom(32))}"


def parse_keys(setting: str) -> list[tuple[str, bytes]]:
    keys: list[tuple[str, bytes]] = []
    for part in (setting or "").split(","):
        part = part.strip()
        if not part:
            continue
        kid, sep, material = part.partition(":")
        kid = kid.strip()
        if not sep or not _KID_RE.match(kid):
            raise TokenCipherError("token key setting must look like 'kid:base64url32bytes,kid2:...'")
        try:
            raw = _b64d(material.strip())
        except (ValueError, TypeError):
            raise TokenCipherError(f"token key {kid!r} is not base64url") from None
        if len(raw) != 32:
            raise TokenCipherError(f"token key {kid!r} must be 32 bytes (AES-256), got {len(raw)}")
        if any(k == kid for k, _ in keys):
            raise TokenCipherError(f"token key id {kid!r} appears twice")
        keys.append((kid, raw))
    if not keys:
        raise TokenCipherError("no token encryption key configured")
    return keys


class TokenCipher:
    def __init__(self, keys_setting: str) -> None:
        parsed = parse_keys(keys_setting)
        self._keys = {kid: AESGCM(raw) for kid, raw in parsed}
        self.current_kid = parsed[0][0]
        self.key_ids = [kid for kid, _ in parsed]

    def __repr__(self) -> str:
        return f"TokenCipher(current_kid={self.current_kid!r}, key_ids={self.key_ids!r})"

    def encrypt(self, plaintext: str, aad: bytes) -> str:
        nonce = os.urandom(12)
        ct = self._keys[self.current_kid].encrypt(nonce, plaintext.encode("utf-8"), aad)
        return f"{VERSION}.{self.current_kid}.{_b64e(nonce)}.{_b64e(ct)}"

    @staticmethod
    def key_id_of(blob: str) -> str:
        parts = blob.split(".")
        if len(parts) != 4 or parts[0] != VERSION:
            raise TokenCipherError("not a v1 token ciphertext")
        return parts[1]

    def decrypt(self, blob: str, aad: bytes) -> str:
        kid = self.key_id_of(blob)
        key = self._keys.get(kid)
        if key is None:
            raise TokenCipherError(f"token was encrypted with unknown key id {kid!r}")
        _, _, nonce_b64, ct_b64 = blob.split(".")
        try:
            nonce, ct = _b64d(nonce_b64), _b64d(ct_b64)
        except (ValueError, TypeError):
            raise TokenCipherError("token ciphertext is malformed") from None
        if len(nonce) != 12:
            raise TokenCipherError("token ciphertext has a bad nonce")
        try:
            return key.decrypt(nonce, ct, aad).decode("utf-8")
        except InvalidTag:
            raise TokenCipherError("token ciphertext failed authentication (wrong key or row)") from None

    def needs_rotation(self, blob: str) -> bool:
        return self.key_id_of(blob) != self.current_kid

    def reencrypt(self, blob: str, aad: bytes) -> str:
        return self.encrypt(self.decrypt(blob, aad), aad)
