"""TokenCipher (AES-256-GCM with key ids), DbTokenStore over `integrations`, and key rotation."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from qbo_integration.connections.crypto import TokenCipher, TokenCipherError, aad_for, generate_key
from qbo_integration.qbo import TokenSet


def test_roundtrip_format_and_random_nonce():
    key = generate_key("k1")
    c = TokenCipher(key)
    aad = aad_for(uuid.uuid4())
    a, b = c.encrypt("secret-token", aad), c.encrypt("secret-token", aad)
    assert a != b  # fresh 12-byte nonce each time
    version, kid, nonce, ct = a.split(".")
    assert (version, kid) == ("v1", "k1")
    assert len(base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))) == 12
    assert "secret-token" not in a
    assert c.decrypt(a, aad) == "secret-token"
    assert c.key_id_of(a) == "k1" and c.current_kid == "k1"


def test_aad_binds_ciphertext_to_its_row():
    c = TokenCipher(generate_key("k1"))
    blob = c.encrypt("tok", aad_for("row-1"))
    with pytest.raises(TokenCipherError):
        c.decrypt(blob, aad_for("row-2"))


def test_several_keys_first_encrypts_all_decrypt():
    old, new = generate_key("old"), generate_key("new")
    blob_old = TokenCipher(old).encrypt("tok", b"x")
    both = TokenCipher(f"{new},{old}")
    assert both.current_kid == "new"
    assert both.decrypt(blob_old, b"x") == "tok"
    assert both.needs_rotation(blob_old)
    rotated = both.reencrypt(blob_old, b"x")
    assert both.key_id_of(rotated) == "new" and not both.needs_rotation(rotated)
    with pytest.raises(TokenCipherError):
        TokenCipher(old).decrypt(rotated, b"x")  # unknown kid


@pytest.mark.parametrize(
    "setting",
    ["", "nokey", "k1:" + base64.urlsafe_b64encode(b"short").decode(), "bad kid!:AAAA", "k1:%%%"],
)
def test_bad_settings_are_refused(setting):
    with pytest.raises(TokenCipherError):
        TokenCipher(setting)


def test_duplicate_kid_and_tampering():
    k = generate_key("k1")
    with pytest.raises(TokenCipherError):
        TokenCipher(f"{k},{k}")
    c = TokenCipher(k)
    blob = c.encrypt("tok", b"a")
    v, kid, nonce, ct = blob.split(".")
    flipped = ct[:-2] + ("A" if ct[-2] != "A" else "B") + ct[-1]
    with pytest.raises(TokenCipherError):
        c.decrypt(".".join([v, kid, nonce, flipped]), b"a")
    with pytest.raises(TokenCipherError):
        c.decrypt("v2.k1.x.y", b"a")
    assert "k1" in repr(c) and k.split(":")[1] not in repr(c)


async def _integration(sessionmaker, company_id, status="connected"):
    from qbo_integration.connections.models import Integration

    async with sessionmaker() as s:
        row = Integration(company_id=company_id, realm_id="9130350000000001", connection_status=status)
        s.add(row)
        await s.commit()
        return row.id


async def test_db_token_store_save_load_mark_lost(sessionmaker, company):
    from qbo_integration.connections.models import Integration
    from qbo_integration.connections.token_store import DbTokenStore

    cipher = TokenCipher(generate_key("k1"))
    store = DbTokenStore(sessionmaker, cipher)
    integration_id = await _integration(sessionmaker, company.id)
    cid = str(company.id)
    assert await store.load(cid) is None  # connected but no tokens yet
    now = datetime.now(UTC).replace(microsecond=0)
    t = TokenSet(
        access_token="AT-plain",
        refresh_token="RT-plain",
        access_expires_at=now + timedelta(hours=1),
        refresh_expires_at=now + timedelta(days=100),
    )
    await store.save(cid, t)
    # committed and encrypted at rest, bound to the row
    async with sessionmaker() as s:
        row = await s.get(Integration, integration_id)
        assert row.access_token_enc.startswith("v1.k1.") and "AT-plain" not in row.access_token_enc
        assert cipher.decrypt(row.refresh_token_enc, aad_for(integration_id)) == "RT-plain"
    loaded = await store.load(cid)
    assert loaded == t
    await store.mark_lost(cid, "invalid_grant: reconnect")
    assert await store.load(cid) is None
    async with sessionmaker() as s:
        row = (await s.execute(select(Integration).where(Integration.id == integration_id))).scalar_one()
        assert row.connection_status == "lost" and row.connection_reason == "invalid_grant: reconnect"
        assert row.access_token_enc is None and row.refresh_token_enc is None
        assert row.connection_changed_at is not None


async def test_reencrypt_all_moves_every_token_to_the_newest_key(sessionmaker, company):
    from qbo_integration.connections.models import Integration
    from qbo_integration.connections.rotate_keys import reencrypt_all
    from qbo_integration.connections.token_store import DbTokenStore

    old, new = generate_key("old"), generate_key("new")
    integration_id = await _integration(sessionmaker, company.id)
    t = TokenSet(
        access_token="AT", refresh_token="RT", access_expires_at=datetime.now(UTC) + timedelta(hours=1)
    )
    await DbTokenStore(sessionmaker, TokenCipher(old)).save(str(company.id), t)
    rotated = TokenCipher(f"{new},{old}")
    assert await reencrypt_all(sessionmaker, rotated) == 1
    assert await reencrypt_all(sessionmaker, rotated) == 0  # idempotent
    async with sessionmaker() as s:
        row = await s.get(Integration, integration_id)
        assert rotated.key_id_of(row.access_token_enc) == "new" == rotated.key_id_of(row.refresh_token_enc)
    only_new = DbTokenStore(sessionmaker, TokenCipher(new))
    assert (await only_new.load(str(company.id))).refresh_token == "RT"
