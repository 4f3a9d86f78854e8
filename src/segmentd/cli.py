"""The ``segmentd`` command."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, TypedDict

import typer
from rich.console import Console

from . import log_setup
from .services.tenant_service import create_tenant, ensure_credential
from .settings import Settings
from .storage.db import Database

if TYPE_CHECKING:
    from .jobs.analytics_source import AnalyticsSource

app = typer.Typer(help="segmentd: self-hosted audience segmentation.", no_args_is_help=True)
credentials_app = typer.Typer(help="API credentials (api_user / api_key).", no_args_is_help=True)
app.add_typer(credentials_app, name="credentials")
console = Console()

DatabaseOption = typer.Option(
    None,
    "--database",
    help="Database URL (default: $SEGMENTD_DATABASE_URL or sqlite:///./segmentd.db)",
)


def load_settings(database: str | None) -> Settings:
    settings = Settings()
    if database:
        settings = settings.model_copy(update={"database_url": database})
    return settings


def open_database(settings: Settings) -> Database:
    db = Database(settings.database_url, analytics_outbox=settings.analytics is not None)
    db.migrate()
    return db


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for ``serve``: uvloop and httptools when installed (they are
    dependencies), faster than asyncio's loop and h11 on the same core; httptools with the
    request head bound (``api.header_limit``), whose limit uvicorn's h11 option carries for
    both protocols."""
    from importlib.util import find_spec

    http: Any = "h11"
    if find_spec("httptools"):
        from .api.bounded_httptools import BoundedHttpToolsProtocol

        http = BoundedHttpToolsProtocol
    return {
        "loop": "uvloop" if find_spec("uvloop") else "asyncio",
        "http": http,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "log_level": settings.log_level,
        # segmentd's own handler (``log_setup``) writes uvicorn's records too; its request
        # log (``api.request_log``) replaces uvicorn's access log.
        "log_config": None,
        "access_log": False,
    }


class ProxyOptions(TypedDict):
    proxy_headers: bool
    forwarded_allow_ips: list[str] | None


def proxy_options(settings: Settings) -> ProxyOptions:
    """uvicorn's handling of X-Forwarded-For and X-Forwarded-Proto: only from the proxies in
    ``SEGMENTD_TRUSTED_PROXIES``. uvicorn's own default would believe any process on the
    machine (127.0.0.1), and a client could then name itself anything it likes."""
    proxies = settings.trusted_proxy_list
    return ProxyOptions(proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(8000, help="Port to listen on"),
    database: str | None = DatabaseOption,
    worker: bool | None = typer.Option(
        None,
        "--worker/--no-worker",
        help="Run the build worker inside the server (default: $SEGMENTD_WORKER, else yes)",
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        help="Server processes sharing the port (production: one per core, see README)",
    ),
    demo: bool = typer.Option(False, help="Load the demo data set and print its credentials"),
) -> None:
    """Serve both APIs (and, by default, run the build worker)."""
    import uvicorn

    from .api.app import create_app

    settings = load_settings(database)
    if worker is not None:
        settings = settings.model_copy(update={"worker": worker})
    log_setup.configure(settings)
    # Migrate and ensure the configured credential once, before any server process starts:
    # each process does it again at start, which then finds nothing to do.
    db = open_database(settings)
    try:
        _verify_secret(db, settings)
        if settings.api_user and settings.api_key:
            ensure_credential(db, settings.api_user, settings.api_key)
        if demo:
            from .demo import load_demo

            user, key = load_demo(db, settings)
            console.print("[bold]Demo credentials[/bold]")
            console.print(f"api_user=[green]{user}[/green] api_key=[green]{key}[/green]")
    finally:
        db.dispose()
    options = {**server_options(settings), **proxy_options(settings)}
    if workers == 1:
        uvicorn.run(create_app(settings, freeze_gc=True), host=host, port=port, **options)
        return
    # Each process builds its app from the environment (uvicorn spawns them): hand it the
    # settings given on the command line. Builds and imports are leased jobs, so every
    # process may run their workers.
    os.environ["SEGMENTD_DATABASE_URL"] = settings.database_url
    os.environ["SEGMENTD_WORKER"] = "true" if settings.worker else "false"
    _share_metrics()
    uvicorn.run(
        "segmentd.api.app:create_served_app",
        host=host,
        port=port,
        factory=True,
        workers=workers,
        **options,
    )


def _share_metrics() -> None:
    """Server processes record metrics in one directory, so that ``GET /metrics``, whichever
    process answers it, sums them all (prometheus-client's multiprocess mode). An operator's
    ``PROMETHEUS_MULTIPROC_DIR`` is kept (a separate ``segmentd worker`` shares it then);
    otherwise a fresh directory lives as long as this command."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    import atexit
    import shutil
    import tempfile

    directory = tempfile.mkdtemp(prefix="segmentd-metrics-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory


def _verify_secret(db: Database, settings: Settings) -> None:
    """Exit with the reason when the secret cannot open the database's site tokens."""
    from .secrets import SecretMismatch
    from .storage.secret_check import verify_secret

    try:
        verify_secret(db, settings)
    except SecretMismatch as exc:
        console.print(f"[red]segmentd cannot start: {exc}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None


@app.command("worker")
def worker_command(database: str | None = DatabaseOption) -> None:
    """Run the segment build worker (and webhook deliveries) as its own process."""
    from .jobs.build_worker import run_forever
    from .secrets import SecretMismatch

    try:
        run_forever(load_settings(database))
    except SecretMismatch as exc:
        console.print(f"[red]segmentd cannot start: {exc}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None


@credentials_app.command("create")
def credentials_create(
    database: str | None = DatabaseOption,
    name: str = typer.Option("default", help="Name of the new tenant"),
) -> None:
    """Create a tenant with a fresh api_user / api_key (the key is stored only hashed)."""
    db = open_database(load_settings(database))
    user, key = create_tenant(db, name)
    db.dispose()
    console.print(f"api_user={user}")
    console.print(f"api_key={key}")
    console.print("[dim]Keep the key now: only its hash is stored.[/dim]")


# --- Commanders Act sites ---
site_app = typer.Typer(help="Commanders Act sites (lists) and their tokens.", no_args_is_help=True)
app.add_typer(site_app, name="site")


@site_app.command("token")
def site_token(
    site: int = typer.Option(..., "--site", help="Site id (a list id)"),
    rotate: bool = typer.Option(False, "--rotate", help="Replace the token with a new one"),
    database: str | None = DatabaseOption,
) -> None:
    """Print a site's token (created on first use), or rotate it."""
    from .domain.errors import NotFound
    from .secrets import SealError, token_keys
    from .services.site_service import site_token as token_of

    settings = load_settings(database)
    keys = token_keys(settings)
    db = open_database(settings)
    try:
        _found, token = token_of(db, None, site, keys, rotate=rotate)
    except NotFound:
        console.print(f"[red]No site {site}.[/red]")
        raise typer.Exit(1) from None
    except SealError as exc:
        console.print(f"[red]{exc}.[/red] Run again with --rotate to issue a new token.")
        raise typer.Exit(1) from exc
    finally:
        db.dispose()
    print(token)


# --- end Commanders Act sites ---

# --- The analytics back-end (docs/analytics.md) ---
analytics_app = typer.Typer(
    help="The analytics back-end (ClickHouse, SEGMENTD_ANALYTICS_URL).", no_args_is_help=True
)
app.add_typer(analytics_app, name="analytics")


def _analytics_source(settings: Settings) -> AnalyticsSource:
    """The back-end ``SEGMENTD_ANALYTICS_URL`` names, opened; exits 1 saying why it cannot."""
    from .jobs.analytics_source import analytics_source

    if settings.analytics is None:
        console.print(
            "[red]SEGMENTD_ANALYTICS_URL is not set: there is no analytics back-end.[/red]"
        )
        raise typer.Exit(1)
    try:
        source = analytics_source(settings.analytics)
        assert source is not None  # the setting is set
        _ = source.target  # opened here, to say why it cannot be
    except Exception as exc:  # chdb missing, a server unreachable or without the cluster
        console.print(f"[red]cannot open the analytics back-end: {exc}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None
    return source


@analytics_app.command("load")
def analytics_load(
    tenant: int | None = typer.Option(None, "--tenant", help="Tenant id (default: every one)"),
    batch: int = typer.Option(
        50_000, "--batch", min=100, max=1_000_000, help="Rows per insert (full_load.DEFAULT_BATCH)"
    ),
    database: str | None = DatabaseOption,
) -> None:
    """Copy tenants from the database into the analytics back-end, replacing their copy
    (queries switch to it when it is complete); prints progress."""
    import time

    from .analytics.full_load import LoadProgress, NoSuchTenant, load_all, load_tenant
    from .membership import store

    settings = load_settings(database)
    target = _analytics_source(settings).target

    def shown(step: LoadProgress) -> None:
        console.print(f"tenant {step.tenant_id} {step.table}: {step.rows} rows")

    db = open_database(settings)
    started = time.monotonic()
    try:
        if tenant is None:
            written = load_all(db, target, store().member_ids, batch=batch, progress=shown)
        else:
            written = {
                tenant: load_tenant(
                    db, target, store().member_ids, tenant, batch=batch, progress=shown
                )
            }
    except NoSuchTenant as exc:
        console.print(f"[red]{exc}.[/red]")
        raise typer.Exit(1) from None
    finally:
        db.dispose()
        target.engine.close()
    rows = sum(sum(tables.values()) for tables in written.values())
    elapsed = max(time.monotonic() - started, 1e-9)
    console.print(
        f"loaded {len(written)} tenant(s), {rows} rows in {elapsed:.1f} s "
        f"({rows / elapsed:.0f} rows/s)"
    )


@analytics_app.command("drain")
def analytics_drain(database: str | None = DatabaseOption) -> None:
    """Bring the analytics copy up to date with the changes waiting in the outbox (builds
    and previews also do it before they read the copy); prints each tenant brought up."""
    settings = load_settings(database)
    source = _analytics_source(settings)
    db = open_database(settings)
    try:
        drained = source.drain(db)
    finally:
        db.dispose()
        source.target.engine.close()
    for tenant_id, fresh in drained.items():
        console.print(f"tenant {tenant_id}: up to date as of {fresh}")
    console.print(f"drained {len(drained)} tenant(s)")


# --- end the analytics back-end ---

# --- CSV imports: owned by segmentd.imports.import_cli ---
from .imports.import_cli import import_app  # noqa: E402

app.add_typer(import_app, name="import")
# --- end CSV imports ---


def main() -> None:
    app()
