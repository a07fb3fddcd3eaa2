"""A local QuickBooks Online look-alike (OAuth server + v3 API). Imports nothing of the service."""

from __future__ import annotations

import argparse

from .config import SandboxConfig

__all__ = ["SandboxConfig", "cli_main", "run"]


def run(host: str = "127.0.0.1", port: int = 8765, config: SandboxConfig | None = None) -> None:
    from .runner import run as _run

    _run(host, port, config)


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = parser or argparse.ArgumentParser(prog="qbo-integration sandbox",
                                          description="Run the local QBO sandbox.")
    defaults = SandboxConfig()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--realms", type=int, default=1, help="number of sample companies")
    p.add_argument("--auto-approve", action="store_true", help="skip the consent page")
    p.add_argument("--client-id", default=defaults.client_id)
    p.add_argument("--client-secret", default=defaults.client_secret)
    p.add_argument("--redirect-uri", action="append", default=[], help="allowed redirect URI (repeatable)")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--no-limits", action="store_true", help="start realms with limits off")
    p.add_argument("--request-id-memory", type=_seconds, default=None, metavar="SECONDS",
                   help="forget a requestid SECONDS after its first answer (default: never); "
                        "per realm: PUT /_sandbox/realms/{realm}/request-ids")
    p.add_argument("--webhook-url", default=None, help="subscribe every realm's webhooks to this URL")
    p.add_argument("--webhook-verifier", default=defaults.webhook_verifier, help="verifier token that signs them")
    p.add_argument("--webhook-retry-scale", type=float, default=defaults.webhook_retry_scale,
                   help="factor on Intuit's retry schedule (10 s, 20 s, 30 s, 5 min, 6 h)")
    p.add_argument("--refresh-grace-minutes", type=float, default=0.0,
                   help="minutes a refresh token stays usable after it was used (default 0: superseded at once)")
    return p


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    return SandboxConfig(client_id=args.client_id, client_secret=args.client_secret,
                         redirect_uris=list(args.redirect_uri), auto_approve=args.auto_approve,
                         sample_realms=args.realms, seed=args.seed, limits_enabled=not args.no_limits,
                         request_id_memory_seconds=args.request_id_memory,
                         webhook_url=args.webhook_url, webhook_verifier=args.webhook_verifier,
                         webhook_retry_scale=args.webhook_retry_scale,
                         refresh_grace_seconds=int(args.refresh_grace_minutes * 60))


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def cli_main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run(args.host, args.port, config_from_args(args))
    return 0
