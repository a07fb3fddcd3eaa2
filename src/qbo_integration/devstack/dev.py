"""`qbo-integration dev`: API + worker(s) + sandbox with sample data, on local or embedded services.

Starts only what is missing, prints where to look, and on Ctrl-C (or SIGTERM)
stops everything it started: child processes, the sandbox, embedded servers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from qbo_integration.devstack.embedded import EmbeddedServices, resolve_postgres, resolve_redis

API_PREFIX = "/api/v1/integrations/quickbooks"


def _sandbox_directory(base_url: str) -> tuple[str | None, dict[str, Any]]:
    """The sample realm and a few of its records, so the demo's Core data resembles the QBO side."""
    try:
        with httpx.Client(base_url=base_url, timeout=10) as c:
            realms = c.get("/_sandbox/realms").json()
            realms = realms.get("realms", realms) if isinstance(realms, dict) else realms
            realm = realms[0]["realmId"] if isinstance(realms[0], dict) else str(realms[0])

            def items(entity: str) -> list[dict]:
                body = c.get(f"/_sandbox/realms/{realm}/entities/{entity}").json()
                return body.get("items", []) if isinstance(body, dict) else body

            return realm, demo_directory(items("Employee"), items("Customer"), items("Item"))
    except Exception:  # noqa: BLE001 - fall back to the built-in demo names
        return None, {}


def demo_directory(employees: list[dict], customers: list[dict], items: list[dict]) -> dict[str, Any]:
    """The demo company's Core workers, projects and cost codes, taken from a realm's QBO records."""
    employees = [e for e in employees if e.get("Active", True)]
    customers = [e for e in customers if e.get("Active", True) and not e.get("Job")]
    services = [e for e in items if e.get("Type") == "Service"]
    workers = [(e.get("DisplayName", "Worker"), (e.get("PrimaryEmailAddr") or {}).get("Address"))
               for e in employees[:6]]
    # One worker spelled differently from QBO and without an email, as field crews often are: the mapping
    # wizard has something to suggest, and the import must link him rather than make a second worker.
    if workers:
        name, email = workers[-1]
        workers[-1] = (name.upper(), None)
    return {
        "workers": workers or None,
        "projects": [c["DisplayName"] for c in customers[:4]] or None,
        "cost_codes": [(f"{i + 1:02d}-100", s["Name"]) for i, s in enumerate(services[:4])] or None,
    }


def _migrate_and_seed(database_url: str, seed_kwargs: dict[str, Any]) -> str:
    from qbo_integration.core_platform.demo_seed import DEMO_BILL_RATE, DEMO_PAY_RATE, seed_demo_company
    from qbo_integration.db.migrate import upgrade
    from qbo_integration.db.session import make_engine, make_sessionmaker
    from qbo_integration.mapping.profiles import seed_default_rates

    upgrade(database_url)

    async def seed() -> str:
        engine = make_engine(database_url, pool_size=1)
        try:
            async with make_sessionmaker(engine)() as session:
                company_id = await seed_demo_company(session, **seed_kwargs)
                await seed_default_rates(session, company_id, bill_rate=DEMO_BILL_RATE, pay_rate=DEMO_PAY_RATE)
                await session.commit()
                return str(company_id)
        finally:
            await engine.dispose()

    return asyncio.run(seed())


def sign_in_link(api_base: str, token: str) -> str:
    """The console signs in from the link's fragment (#token=...), which browsers never send to a server."""
    return f"{api_base}/console/#token={token}"


def banner(*, api_base: str, sandbox_base: str, realm: str | None, database_url: str, redis_url: str,
           notes: list[str], started: list[tuple[str, int]], company_id: str, token: str) -> str:
    """What `qbo-integration dev` prints once everything answers: where to look, first the one-click sign-in."""
    return "\n".join([
        "",
        "qbo-integration dev is up",
        f"  open         {sign_in_link(api_base, token)}",
        "               (the console, signed in as the demo company's admin: open it in your browser)",
        f"  console      {api_base}/console/",
        f"  API          {api_base}{API_PREFIX}/...   (OpenAPI docs: {api_base}/docs)",
        f"  ready        {api_base}/ready      metrics {api_base}/metrics",
        f"  QBO sandbox  {sandbox_base}   (sample realm {realm or '-'}, admin API {sandbox_base}/_sandbox/realms)",
        f"  database     {database_url}",
        f"  redis        {redis_url}",
        f"  services     {'; '.join(notes) or 'configured/local PostgreSQL and Redis'}",
        f"  pids         dev {os.getpid()}, children {' '.join(str(pid) for _, pid in started)}",
        f"  processes    {', '.join(f'{what} {pid}' for what, pid in started)}; the QBO sandbox runs in dev {os.getpid()}",
        f"  company      {company_id} (Summit Ridge Construction)",
        f"  admin token  {token}",
        "Ctrl-C stops everything.",
        "",
    ])


def _wait_ready(url: str, procs: list[subprocess.Popen], timeout: float = 300) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return False


def _stop_processes(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_dev(*, host: str, port: int, sandbox_port: int, workers: int, workdir: str, embedded_only: bool = False,
            redis_port: int | None = None) -> int:
    from qbo_integration.api.auth import mint_token
    from qbo_integration.config import Settings
    from qbo_integration.sandbox.config import SandboxConfig
    from qbo_integration.sandbox.runner import SandboxServer

    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    embedded = EmbeddedServices(work, redis_port=redis_port)
    procs: list[subprocess.Popen] = []
    sandbox = None
    stopping = False

    def _on_signal(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        if embedded_only:
            database_url, redis_url = embedded.start_postgres(), embedded.start_redis()
        else:
            database_url = resolve_postgres(os.environ.get("DATABASE_URL"), embedded, database="qbo_integration_dev")
            redis_url = resolve_redis(os.environ.get("REDIS_URL"), embedded)

        api_base = f"http://{host}:{port}"
        webhook_verifier = "dev-only-webhook-verifier"
        sandbox = SandboxServer(host=host, port=sandbox_port, config=SandboxConfig(
            webhook_url=f"{api_base}{API_PREFIX}/webhooks", webhook_verifier=webhook_verifier))
        sandbox.start()
        sb = sandbox.base_url
        realm, seed_kwargs = _sandbox_directory(sb)
        company_id = _migrate_and_seed(database_url, seed_kwargs)

        env = dict(os.environ)
        env.update({
            "QBOI_ENV": "dev", "DATABASE_URL": database_url, "REDIS_URL": redis_url,
            "QBO_API_BASE_URL": sb, "QBO_AUTHORIZE_URL": f"{sb}/connect/oauth2",
            "QBO_TOKEN_URL": f"{sb}/oauth2/v1/tokens/bearer", "QBO_REVOKE_URL": f"{sb}/v2/oauth2/tokens/revoke",
            "QBO_DISCOVERY_URL": f"{sb}/.well-known/openid_configuration",
            "QBO_REDIRECT_URI": f"{api_base}{API_PREFIX}/callback", "PUBLIC_BASE_URL": api_base,
            "EXPORT_DIR": str(work / "exports"), "QBO_WEBHOOK_VERIFIER_TOKEN": webhook_verifier,
        })
        cli = [sys.executable, "-m", "qbo_integration.cli"]
        procs.append(subprocess.Popen([*cli, "serve", "--host", host, "--port", str(port)], env=env))
        started = [("API", procs[-1].pid)]
        for _ in range(max(1, workers)):
            procs.append(subprocess.Popen([*cli, "worker"], env=env))
            started.append(("worker", procs[-1].pid))
        started += embedded.processes()

        if not _wait_ready(f"{api_base}/ready", procs):
            print("error: the API did not become ready; see the logs above", file=sys.stderr)
            return 1
        settings = Settings(QBOI_ENV="dev")  # type: ignore[call-arg]
        token = mint_token(settings, company_id=uuid.UUID(company_id), role="admin")
        print(banner(api_base=api_base, sandbox_base=sb, realm=realm, database_url=database_url, redis_url=redis_url,
                     notes=embedded.notes, started=started, company_id=company_id, token=token), flush=True)
        while not stopping:
            if any(p.poll() is not None for p in procs):
                print("error: a child process exited; stopping", file=sys.stderr)
                return 1
            time.sleep(0.3)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _stop_processes(procs)
        if sandbox is not None:
            sandbox.stop()
        embedded.stop()
        print("qbo-integration dev stopped", flush=True)
