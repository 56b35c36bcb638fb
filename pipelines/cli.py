"""The `loyalty` command. Every subcommand calls the stage functions of `pipelines.run`.

Errors are one line on stderr (the traceback goes to the log file) unless `--debug`.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from pipelines import checksums as warehouse_checksums
from pipelines import logs, pii, run, snapshots, summary
from pipelines.config import Settings
from pipelines.errors import LoyaltyError
from pipelines.periods import parse_date
from pipelines.publish import Release
from pipelines.synth import DEFAULT_START, SynthConfig, generate

log = logging.getLogger("pipelines.cli")

app = typer.Typer(
    help="Customer-loyalty warehouse from CRM exports and survey responses.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class _State:
    debug = False
    settings: Settings
    log_file: Path


STATE = _State()

DEFAULT_START_TEXT = DEFAULT_START.isoformat()
DateOption = Annotated[str, typer.Option(help="YYYY-MM-DD", show_default=False)]


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
) -> None:
    STATE.debug = debug
    STATE.settings = Settings()
    STATE.log_file = logs.configure(STATE.settings.paths.logs, verbose=debug)


@app.command("generate")
def generate_command(
    customers: Annotated[int, typer.Option(min=1)] = 50_000,
    months: Annotated[int, typer.Option(min=1)] = 24,
    seed: int = 42,
    start: DateOption = DEFAULT_START_TEXT,
    format: Annotated[str, typer.Option(help="csv or parquet")] = "csv",
) -> None:
    """Write deterministic sample exports, one folder per export date, under data/landing."""
    config = _synth_config(customers, months, seed, start, format)
    result = generate(STATE.settings.paths, config)
    rows = ", ".join(f"{count:,} {name}" for name, count in result.rows.items())
    typer.echo(
        f"generated {rows} rows for {result.start} to {result.end} "
        f"in {STATE.settings.paths.landing}"
    )


@app.command()
def keygen() -> None:
    """Create the PII key file (random, readable only by you) if it does not exist."""
    path = STATE.settings.paths.pii_key_file
    created = pii.create_key_file(path)
    typer.echo(f"{'created' if created else 'kept the existing'} PII key file {path}")


@app.command("run")
def run_command(
    date: DateOption,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh",
            help="Stage every delivery and recompute every month of the facts, not just the new.",
        ),
    ] = False,
) -> None:
    """Load the exports of one date, rebuild, and publish the warehouse as of the newest
    accepted delivery (that date, unless later ones are loaded already)."""
    release = run.run_all(STATE.settings, parse_date(date), full_refresh)
    _summarise(release)


@app.command("backfill")
def backfill_command(
    start: DateOption,
    end: DateOption,
    restart: Annotated[
        bool,
        typer.Option(
            "--restart",
            help="Load every date again, even those an interrupted "
            "run of the same backfill finished.",
        ),
    ] = False,
) -> None:
    """Load and gate every export date from START to END, then rebuild and publish.

    Run again after a failure, it resumes at the first date not yet done."""
    first, last = parse_date(start), parse_date(end)
    if last < first:
        raise LoyaltyError(f"--end {last} is before --start {first}")
    _summarise(_backfill(first, last, restart))


@app.command()
def checksums(
    database: Annotated[
        Path | None, typer.Argument(help="A warehouse file; default: the published one.")
    ] = None,
) -> None:
    """A checksum per published table, to compare two warehouses (run metadata left out)."""
    path = database or STATE.settings.paths.warehouse_db
    for table, checksum in warehouse_checksums.of_database(path).items():
        typer.echo(f"{checksum}  {table}")


@app.command()
def demo(
    customers: Annotated[int, typer.Option(min=1)] = 50_000,
    months: Annotated[int, typer.Option(min=1)] = 24,
    seed: int = 42,
) -> None:
    """Generate the sample exports, run the pipeline over the whole period, publish, summarise."""
    settings = STATE.settings
    config = _synth_config(
        customers, months, seed, DEFAULT_START.isoformat(), settings.landing_format
    )
    _clear_generated_layers(settings)
    if pii.create_key_file(settings.paths.pii_key_file):
        typer.echo(
            f"created a demo PII key in {settings.paths.pii_key_file} (readable only by you)"
        )
    result = generate(settings.paths, config)
    typer.echo(
        "generated "
        + ", ".join(f"{count:,} {name}" for name, count in result.rows.items())
        + f" rows, {result.start} to {result.end}"
    )
    _summarise(_backfill(result.start, result.end, restart=True))


def _summarise(release: Release) -> None:
    paths = STATE.settings.paths
    typer.echo(summary.render(summary.summarise(paths, release.as_of, STATE.log_file)))


def _backfill(start: dt.date, end: dt.date, restart: bool) -> Release:
    columns = (
        TextColumn("extract {task.fields[day]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True, disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task("extract", total=(end - start).days + 1, day=start)
        return run.backfill(
            STATE.settings,
            start,
            end,
            on_progress=lambda step: progress.update(
                task, completed=step.done, day=step.export_date
            ),
            restart=restart,
        )


def _synth_config(customers: int, months: int, seed: int, start: str, format: str) -> SynthConfig:
    if format not in ("csv", "parquet"):
        raise LoyaltyError(f"--format must be csv or parquet, not {format!r}")
    return SynthConfig(
        customers=customers,
        months=months,
        seed=seed,
        start=parse_date(start),
        format=format,  # type: ignore[arg-type]
    )


def _clear_generated_layers(settings: Settings) -> None:
    """The demo starts from nothing but keeps the key, the logs and the published warehouse
    (which the new release replaces atomically)."""
    paths = settings.paths
    for directory in (
        paths.landing,
        paths.root / "raw",
        paths.root / "quarantine",
        paths.root / "ops",
        paths.facts,
        paths.clv_customers.parent,
        paths.build_db.parent,
    ):
        shutil.rmtree(directory, ignore_errors=True)
    snapshots.clear(paths)


def main() -> None:
    try:
        app()
    except LoyaltyError as error:
        if STATE.debug:
            raise
        log.debug("failed", exc_info=True)
        typer.echo(f"error: {error}", err=True)
        sys.exit(1)
    except Exception as error:  # a bug: one line here, the traceback in the log
        if STATE.debug:
            raise
        log.error("unexpected failure", exc_info=True)
        log_hint = f"; traceback in {STATE.log_file}" if hasattr(STATE, "log_file") else ""
        typer.echo(
            f"error: unexpected {type(error).__name__}: {error} (rerun with --debug{log_hint})",
            err=True,
        )
        sys.exit(2)
