"""The `qbo-integration` command."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from qbo_integration.config import get_settings

    get_settings().check_secrets()
    # loop="asyncio", not uvloop (uvicorn's "auto"): libuv accepts one connection per loop pass, so on a
    # busy API each of 100 connections opened at once waited one more pass (~20 ms) for its first
    # answer, up to 2 s; asyncio accepts the whole backlog at once (docs/benchmarks.md, company health).
    uvicorn.run("qbo_integration.app:create_served_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_config=None, access_log=False, proxy_headers=True, loop="asyncio")
    return 0


def _worker(args: argparse.Namespace) -> int:
    from qbo_integration.worker.settings import run

    run(burst=args.burst)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from qbo_integration.config import get_settings
    from qbo_integration.db.migrate import downgrade, upgrade

    url = args.database_url or get_settings().database_url
    if args.downgrade:
        downgrade(url, args.downgrade)
    else:
        upgrade(url, args.revision)
    return 0


def _dev(args: argparse.Namespace) -> int:
    from qbo_integration.devstack.dev import run_dev

    return run_dev(host=args.host, port=args.port, sandbox_port=args.sandbox_port, workers=args.workers,
                   workdir=args.workdir, embedded_only=args.embedded, redis_port=args.redis_port)


def _sandbox(args: argparse.Namespace, rest: list[str]) -> int:
    from qbo_integration.sandbox import cli_main

    return int(cli_main(rest) or 0)


def _token(args: argparse.Namespace) -> int:
    from qbo_integration.api.auth import mint_token
    from qbo_integration.config import get_settings

    settings = get_settings()
    if not settings.is_dev:
        print("error: tokens can only be minted in dev mode (set QBOI_ENV=dev)", file=sys.stderr)
        return 2
    print(mint_token(settings, company_id=uuid.UUID(args.company), role=args.role, sub=args.sub,
                     ttl_seconds=args.ttl))
    return 0


def _keygen(args: argparse.Namespace) -> int:
    import base64

    kid = args.kid or uuid.uuid4().hex[:8]
    print(f"{kid}:{base64.urlsafe_b64encode(os.urandom(32)).decode()}")
    return 0


def _rotate_keys(args: argparse.Namespace) -> int:
    from qbo_integration.config import get_settings
    from qbo_integration.connections.crypto import TokenCipher
    from qbo_integration.connections.rotate_keys import reencrypt_all
    from qbo_integration.db.session import make_engine, make_sessionmaker

    settings = get_settings()

    async def run() -> int:
        engine = make_engine(settings.database_url)
        try:
            cipher = TokenCipher(settings.token_encryption_keys.get_secret_value())
            return await reencrypt_all(make_sessionmaker(engine), cipher)
        finally:
            await engine.dispose()

    print(f"re-encrypted {asyncio.run(run())} integration(s) with the newest key")
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from qbo_integration.openapi_export import render_openapi

    text = render_openapi()
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qbo-integration", description="CrewFlow <-> QuickBooks Online integration")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the HTTP API under uvicorn")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(func=_serve)

    p = sub.add_parser("worker", help="run an arq worker: events, sync jobs, cron jobs")
    p.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    p.set_defaults(func=_worker)

    p = sub.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    p.add_argument("--revision", default="heads")
    p.add_argument("--downgrade", metavar="REV", help="downgrade to REV instead (e.g. base)")
    p.add_argument("--database-url", help="defaults to DATABASE_URL")
    p.set_defaults(func=_migrate)

    p = sub.add_parser("dev", help="everything at once: API + worker + sandbox with sample data")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--sandbox-port", type=int, default=8010)
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--workdir", default="./var/dev", help="embedded database files and exports")
    p.add_argument("--embedded", action="store_true",
                   help="always start embedded PostgreSQL and Redis, even if local servers answer")
    p.add_argument("--redis-port", type=int, default=None, metavar="PORT",
                   help="the port of the embedded Redis, when one is started (default: a free port)")
    p.set_defaults(func=_dev)

    p = sub.add_parser("sandbox", help="run the QBO sandbox alone (see `qbo-integration sandbox --help`)",
                       add_help=False)
    p.set_defaults(func=None, passthrough=_sandbox)

    p = sub.add_parser("token", help="mint a bearer token (dev mode only)")
    p.add_argument("--company", required=True, help="company id (uuid)")
    p.add_argument("--role", default="admin", choices=["admin", "supervisor", "field_worker"])
    p.add_argument("--sub", default="dev-admin")
    p.add_argument("--ttl", type=int, default=7 * 24 * 3600)
    p.set_defaults(func=_token)

    p = sub.add_parser("keygen", help="print a new token encryption key entry (kid:base64)")
    p.add_argument("--kid")
    p.set_defaults(func=_keygen)

    p = sub.add_parser("rotate-keys", help="re-encrypt every stored token with the newest key")
    p.set_defaults(func=_rotate_keys)

    p = sub.add_parser("openapi", help="write the OpenAPI document (YAML)")
    p.add_argument("--output", "-o", default="openapi.yaml")
    p.set_defaults(func=_openapi)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] == "sandbox":
        return _sandbox(argparse.Namespace(), argv[1:])
    args = parser.parse_args(argv)
    from qbo_integration.config import ConfigError

    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
