"""Run Alembic programmatically (the `migrate` command, `dev`, tests)."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parents[3]


def alembic_config(database_url: str) -> Config:
    candidates = [Path(os.environ["ALEMBIC_INI"])] if os.environ.get("ALEMBIC_INI") else []
    candidates += [ROOT / "alembic.ini", Path.cwd() / "alembic.ini"]
    ini = next((c for c in candidates if c.exists()), None)
    if ini is None:
        raise FileNotFoundError("alembic.ini not found: run from the project directory or set ALEMBIC_INI")
    cfg = Config(str(ini))
    cfg.attributes["configure_logger"] = False
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)
