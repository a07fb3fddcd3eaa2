from __future__ import annotations

import pytest

from qbo_integration.config import ConfigError, Settings


def test_production_refuses_placeholder_secrets_and_names_the_setting():
    s = Settings(QBOI_ENV="production")
    with pytest.raises(ConfigError) as exc:
        s.check_secrets()
    assert "TOKEN_ENCRYPTION_KEYS" in str(exc.value) or "QBO_CLIENT_SECRET" in str(exc.value)


def test_production_accepts_real_secrets():
    s = Settings(QBOI_ENV="production", TOKEN_ENCRYPTION_KEYS="k2:" + "A" * 43 + "=", JWT_SECRET="s3cr3t-value-from-vault-1234567890",
                 QBO_CLIENT_ID="ABcd1234", QBO_CLIENT_SECRET="real-secret-value")
    s.check_secrets()


def test_dev_mode_allows_placeholders():
    Settings(QBOI_ENV="dev").check_secrets()


def test_postgres_url_gets_the_async_driver():
    assert Settings(DATABASE_URL="postgresql://u@h/db").database_url == "postgresql+asyncpg://u@h/db"
