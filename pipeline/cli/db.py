"""`intake db …`: the database schema (Alembic revisions shipped in storage/migrations)."""

from __future__ import annotations

import click
from sqlalchemy.exc import SQLAlchemyError

from pipeline.cli.common import CONFIG_HELP, load
from pipeline.errors import IntakeError
from pipeline.intake.app import storage_engine
from pipeline.textsafe import terminal_text
from storage.schema import current_revision, head_revision, upgrade_schema


@click.group("db")
def db_group() -> None:
    """Database schema: show the revision, upgrade to the newest."""


@db_group.command("upgrade")
@click.option("--config", "config_file", metavar="FILE", help=CONFIG_HELP)
def db_upgrade(config_file: str | None) -> None:
    """Bring the database to the newest schema (every intake command also does this on start)."""
    config = load(config_file)
    try:
        done = upgrade_schema(storage_engine(config), busy_timeout_seconds=config.storage.busy_timeout_seconds)
    except (IntakeError, SQLAlchemyError) as exc:
        raise click.ClickException(f"database upgrade failed: {terminal_text(str(exc))}") from None
    if done.before == done.after:
        click.echo(f"数据库结构已是最新：{done.after}")
        return
    start = "首版数据库（先标记为 0001_initial）" if done.stamped else (done.before or "空数据库")
    click.echo(f"数据库结构已升级：{start} → {done.after}")


@db_group.command("current")
@click.option("--config", "config_file", metavar="FILE", help=CONFIG_HELP)
def db_current(config_file: str | None) -> None:
    """Print the database's schema revision, and whether it is the newest this version knows."""
    config = load(config_file)
    try:
        revision = current_revision(storage_engine(config))
    except (IntakeError, SQLAlchemyError) as exc:
        raise click.ClickException(f"cannot read the database: {terminal_text(str(exc))}") from None
    head = head_revision()
    state = "(head)" if revision == head else f"(newest is {head}: run `intake db upgrade`)"
    click.echo(f"{revision or 'none'} {state}")
