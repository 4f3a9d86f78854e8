"""``segmentd import members|events FILE.csv``: a CSV import with a progress bar, resumable.

Run the same command again after an interruption: it goes on from the last committed chunk.
Rejected rows are written beside the input as ``FILE.csv.rejected.csv``.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..jobs.queue import new_worker_id
from ..settings import Settings
from ..storage.db import Database
from .import_jobs import ImportJob, ImportOptions, ImportState, Kind
from .mapping import MappingError, parse_map_options
from .runner import DEFAULT_CHUNK_ROWS, run_import
from .service import ImportRefused, start_cli_import

import_app = typer.Typer(
    help="Import members or campaign events from CSV files.", no_args_is_help=True
)
console = Console(stderr=True)

FileArgument = typer.Argument(..., help="CSV file with a header row (UTF-8)")
DatabaseOption = typer.Option(
    None, "--database", help="Database URL (default: $SEGMENTD_DATABASE_URL)"
)
ChunkOption = typer.Option(DEFAULT_CHUNK_ROWS, "--chunk-rows", min=1, help="Rows per transaction")
IgnoreOption = typer.Option(False, "--ignore-unknown", help="Skip unknown columns")
StopOption = typer.Option(
    None, "--stop-after-chunks", hidden=True, help="Stop after N chunks (tests)"
)


def _settings(database: str | None) -> Settings:
    settings = Settings()
    return settings.model_copy(update={"database_url": database}) if database else settings


@import_app.command("members")
def import_members(
    file: Path = FileArgument,
    list_id: int = typer.Option(..., "--list", help="Id of the list to import into"),
    tag_flag: int = typer.Option(
        1, "--tag-flag", min=0, max=2, help="0 overwrite, 1 append, 2 keep existing tags"
    ),
    update_existing: bool = typer.Option(
        True, "--update-existing/--no-update-existing", help="Update members already on the list"
    ),
    mapping: list[str] = typer.Option([], "--map", help='"Column=Field", repeatable'),
    ignore_unknown: bool = IgnoreOption,
    chunk_rows: int = ChunkOption,
    database: str | None = DatabaseOption,
    stop_after: int | None = StopOption,
) -> None:
    """Import members into a list: email (required), name, phone, tcid, tags, custom fields."""
    try:
        renames = parse_map_options(mapping)
    except MappingError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    options = ImportOptions(tag_flag, update_existing, renames, ignore_unknown)
    _run(Kind.MEMBERS, list_id, file, options, chunk_rows, database, stop_after)


@import_app.command("events")
def import_events(
    file: Path = FileArgument,
    campaign_id: int = typer.Option(..., "--campaign", help="Id of the campaign"),
    ignore_unknown: bool = IgnoreOption,
    chunk_rows: int = ChunkOption,
    database: str | None = DatabaseOption,
    stop_after: int | None = StopOption,
) -> None:
    """Import campaign events: email or member_id, event (sent, open, click), time (optional)."""
    options = ImportOptions(ignore_unknown=ignore_unknown)
    _run(Kind.EVENTS, campaign_id, file, options, chunk_rows, database, stop_after)


def _run(
    kind: Kind,
    target_id: int,
    file: Path,
    options: ImportOptions,
    chunk_rows: int,
    database: str | None,
    stop_after: int | None,
) -> None:
    settings = _settings(database)
    db = Database(settings.database_url, analytics_outbox=settings.analytics is not None)
    try:
        db.migrate()
        job, resumed = start_cli_import(
            db, settings, target_id, kind, file, options, new_worker_id()
        )
        if resumed:
            console.print(f"Resuming import {job.id} after row {job.rows_done}.")
        started, first_row = time.monotonic(), job.rows_done
        with _progress() as progress:
            task = progress.add_task(
                file.name,
                total=job.file_size,
                completed=job.byte_offset,
                rows=job.rows_done,
                rate=0,
            )

            def show(current: ImportJob) -> None:
                elapsed = max(time.monotonic() - started, 1e-6)
                rate = int((current.rows_done - first_row) / elapsed)
                progress.update(
                    task, completed=current.byte_offset, rows=current.rows_done, rate=rate
                )

            state = run_import(
                db,
                settings,
                job,
                job.lease_owner or "",
                chunk_rows=chunk_rows,
                on_progress=show,
                max_chunks=stop_after,
            )
        _summary(job, state, time.monotonic() - started, job.rows_done - first_row)
    except ImportRefused as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    if state is not ImportState.DONE:
        raise typer.Exit(1)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TextColumn("{task.fields[rate]:,} rows/s"),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _summary(job: ImportJob, state: ImportState | None, seconds: float, rows: int) -> None:
    rate = rows / seconds if seconds > 0 else 0.0
    console.print(
        f"import {job.id}: {state or 'stopped'}; {job.rows_done:,} rows, {job.created:,} created, "
        f"{job.updated:,} updated, {job.skipped:,} skipped, {job.rejected:,} rejected "
        f"({rows:,} rows in {seconds:.1f}s, {rate:,.0f} rows/s)"
    )
    if job.error:
        console.print(f"[red]{job.error}[/red]")
    if job.rejected and job.rejects_path:
        console.print(f"Rejected rows: {job.rejects_path}")
