"""Run Alembic programmatically (the `migrate` command, `dev`, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parents[3]


def alembic_config(database_url: str) -> Config:
    ini = ROOT / "alembic.ini"
    if ini.exists():
        cfg = Config(str(ini))
    else:  # installed without the source tree: migrations ship next to the package
        cfg = Config()
        cfg.set_main_option("script_location", str(Path(__file__).resolve().parents[1] / "_migrations"))
    cfg.attributes["configure_logger"] = False
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)
