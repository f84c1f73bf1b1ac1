"""The `intake` command line: each command is a thin wrapper over one library call."""

from __future__ import annotations

import copy
import json
import logging
import sys
from datetime import datetime, timedelta
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from pipeline.cli.common import config_option, config_path, load, make_app
from pipeline.cli.db import db_group
from pipeline.cli.staff import STAFF_COMMANDS
from pipeline.cli.web import WEB_COMMANDS
from pipeline.config import demo_config, load_config
from pipeline.errors import ConfigError, StorageError
from pipeline.intake import progress
from pipeline.intake.app import App, IngestResult, IngestStatus
from pipeline.intake.batch import JudgedAt, ingest_file, ingest_parallel, worker_count
from pipeline.intake.ledger import reprocess_all
from pipeline.intake.sandbox import can_isolate
from pipeline.mail.sources import in_receipt_order, message_paths
from pipeline.replies.outbox import drain_to_folder
from pipeline.rules.findings import Verdict
from pipeline.staff.views import submission_json, submissions_table
from pipeline.textsafe import json_text, terminal_text
from storage import repo
from storage import staff as staff_repo
from storage.models import Message, ReplyState


class TerminalSafeFormatter(logging.Formatter):
    """Wraps a log handler's formatter: log lines quote subjects, file names and servers' replies, so the
    message is printed with every control character as an escape (a newline too: one event, one line),
    and a traceback keeps its line breaks but nothing else. The record itself is left as it was."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        safe = copy.copy(record)
        try:
            safe.msg, safe.args = terminal_text(record.getMessage()), None
        except Exception:  # a bad format string: the inner formatter reports it the way logging does
            pass
        if record.exc_info or record.exc_text:
            trace = record.exc_text or self.inner.formatException(record.exc_info)  # type: ignore[arg-type]
            safe.exc_info, safe.exc_text = None, terminal_text(trace, keep="\n")
        if record.stack_info:
            safe.stack_info = terminal_text(record.stack_info, keep="\n")
        return self.inner.format(safe)


def guard_log_handlers() -> None:
    """Give the root logger's stream handlers (stderr: a terminal, or journald) a TerminalSafeFormatter."""
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler and not isinstance(handler.formatter, TerminalSafeFormatter):
            handler.setFormatter(TerminalSafeFormatter(handler.formatter))


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log each step to stderr.")
def main(verbose: bool) -> None:
    """studio-intake: e-mailed applications in, verdicts, records and replies out."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    guard_log_handlers()


def _ingest_paths(app: App, paths: list[Path], workers: int = 1,
                  judged_at: JudgedAt | None = None) -> list[IngestResult]:
    """Record and judge every message file in receipt order, see `ingest_parallel`; one at a time only when
    judging runs in this process (then recording the next file could not overlap it). `judged_at`: the demo's
    clock per message (never given by `ingest`)."""
    ordered = in_receipt_order(list(message_paths(paths)))
    with progress.tracking("处理邮件", len(ordered)) as bar:  # on stderr: stdout is the summary line
        if can_isolate(app.config):  # worker_count gives more than one worker only then
            return ingest_parallel(app, ordered, workers, bar.step, judged_at)
        results = []
        for path in ordered:
            results.append(ingest_file(app, path, judged_at))
            bar.step()
        return results


def _drain(app: App) -> list[Path]:
    folder = app.config.smtp.outbox_dir
    return drain_to_folder(app, folder) if folder else []


def _summary_line(results: list[IngestResult], written: list[Path], app: App) -> str:
    new = sum(r.status == IngestStatus.NEW for r in results)
    known = sum(r.status == IngestStatus.KNOWN for r in results)
    failed = sum(r.status == IngestStatus.FAILED for r in results)
    head = f"处理 {new} 封新邮件，{known} 封此前已处理，{failed} 封出错；"
    if app.config.smtp.outbox_dir:
        where = f"，回复已写入 {app.config.smtp.outbox_dir}" if written else ""
        return f"{head}生成回复 {len(written)} 封{where}。"
    # By SMTP, replies wait in the outbox for `intake run` (or `outbox --retry`): "0 replies" would mislead.
    with app.sessions() as session:
        waiting = len(repo.pending_replies(session))
    return f"{head}待发送回复 {waiting} 封（由 intake run 或 intake outbox --retry 发出）。"


@main.command()
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path("intake-demo"),
              show_default=True, help="Where the demo keeps its database, raw mail and outbox.")
@click.option("--mail", "mail_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of .eml files (default: the bundled sample_mail/).")
def demo(workdir: Path, mail_dir: Path | None) -> None:
    """Process the bundled sample mail with the embedded Shijiazhuang 2025 defaults."""
    mail_dir = mail_dir or _bundled_samples()
    app = make_app(demo_config(workdir), judging=True)
    results = _ingest_paths(app, [mail_dir], worker_count(app.config), judged_at=demo_judged_at)
    written = _drain(app)
    with app.sessions() as session:
        click.echo(submissions_table(list(repo.submissions(session))))
    click.echo("")
    click.echo(_summary_line(results, written, app))
    click.echo(f"数据库与原始邮件：{workdir.resolve()}")


DEMO_REPLY_DELAY = timedelta(minutes=3)


def demo_judged_at(message: Message) -> datetime:
    """The demo replays May 2025's sample mail: each message is judged, and its reply dated, a few minutes
    after it came, as on that day; judged today, every rejection would say the call had closed."""
    return message.received_at + DEMO_REPLY_DELAY


def _bundled_samples() -> Path:
    for candidate in (Path.cwd() / "sample_mail", Path(__file__).resolve().parent.parent / "sample_mail"):
        if candidate.is_dir():
            return candidate
    raise click.ClickException("sample_mail/ not found: run from the repository or pass --mail DIR")


@main.command()
@config_option
@click.option("--workers", type=click.IntRange(min=0), default=None, metavar="N",
              help="Messages judged at once, each in its own child (default: [run] workers; 0 = one per CPU).")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def ingest(config_file: str | None, workers: int | None, paths: tuple[Path, ...]) -> None:
    """Process .eml files, folders of them, or Maildirs (a backfill); known files are skipped.

    Files are recorded in the ledger one by one in receipt order, each judged once recorded, N at a time; a
    later receipt supersedes an earlier one whatever order they finish in.
    Exit status 0, 1 when a message failed, 2 when the database or the raw store could not be written
    (locked, disk full): the batch stops there, and running the same command again finishes it.
    """
    app = make_app(load(config_file), judging=True)
    try:
        results = _ingest_paths(app, list(paths), worker_count(app.config, workers))
        written = _drain(app)
    except (StorageError, SQLAlchemyError, OSError) as exc:
        # Everything recorded so far is complete (ledger rows are committed only with their raw file); what
        # was not is recorded by the next run. Going on would fail the same way for every later message.
        click.echo(f"intake ingest: storage unavailable, stopped; run again to finish: {terminal_text(str(exc))}",
                   err=True)
        sys.exit(2)
    click.echo(_summary_line(results, written, app))
    if any(r.status == IngestStatus.FAILED for r in results):
        sys.exit(1)


@main.command()
@config_option
@click.option("--failed", "only_failed", is_flag=True, help="Only messages whose processing failed.")
def reprocess(config_file: str | None, only_failed: bool) -> None:
    """Re-run every check from the stored raw messages (after a rule change); no replies are re-sent."""
    app = make_app(load(config_file), judging=True)
    with progress.tracking("重新核对"):
        results = reprocess_all(app, only_failed=only_failed)
    failed = sum(r.status == IngestStatus.FAILED for r in results)
    click.echo(f"重新核对 {len(results)} 封邮件，{failed} 封出错。")
    if failed:
        sys.exit(1)


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="One JSON array (the contract in docs/DESIGN.md).")
@click.option("--verdict", type=click.Choice([v.value for v in Verdict]), help="Only this verdict.")
@click.option("--unit", help="Only recommending units containing this text.")
def submissions(config_file: str | None, as_json: bool, verdict: str | None, unit: str | None) -> None:
    """List submissions with their verdicts and finding codes."""
    app = make_app(load(config_file))
    with app.sessions() as session:
        subs = list(repo.submissions(session, unit=unit))
        decided = staff_repo.latest_decisions(session, [s.id for s in subs])
        if verdict:  # the effective verdict: a staff decision overrides the rules' verdict
            subs = [s for s in subs if (decided[s.id].decision if s.id in decided else s.verdict) == verdict]
        if as_json:
            # json.dumps escapes C0 controls but leaves C1 and bidi controls raw: json_text escapes those too.
            click.echo(json_text(json.dumps([submission_json(s, decided.get(s.id)) for s in subs],
                                            ensure_ascii=False, indent=2)))
        else:
            click.echo(submissions_table(subs, decided))


@main.command()
@config_option
@click.option("--once", is_flag=True,
              help="One pass (poll, process, send), then exit: 0 all well, 1 a message or a reply failed, "
                   "2 the mailbox or the SMTP server could not be used, 3 another intake run holds the lock.")
def run(config_file: str | None, once: bool) -> None:
    """Poll the mailbox, process what is new, send the replies; without --once, unattended on a schedule."""
    # The runner, the scheduler and the mail transports are imported by the commands that use them: every
    # `intake ingest` paid for them at its start (0.1 s).
    from pipeline.service.runner import run_once, summary_line
    from pipeline.service.scheduler import LockHeld, configure_logging, run_lock, serve

    config = load(config_file)
    configure_logging(None if once else logging.INFO)
    guard_log_handlers()
    try:
        with run_lock(config.run.lock_file):
            app = make_app(config)
            if not once:
                serve(app)
                return
            with progress.tracking("处理邮件"):
                result = run_once(app)
    except LockHeld as exc:
        click.echo(f"intake run: {exc}", err=True)
        sys.exit(3)
    click.echo(terminal_text(summary_line(result)))  # it quotes the servers' error replies
    sys.exit(result.exit_status)


def _retry(app: App, ids: tuple[int, ...]) -> int:
    """Failed rows back to pending (staff checked the sent mail), then deliver everything due now."""
    from pipeline.service.scheduler import LockHeld, run_lock
    from pipeline.transport.delivery import deliver, retry_failed

    try:
        with run_lock(app.config.run.lock_file):
            again = retry_failed(app, ids or None)
            if app.config.smtp.outbox_dir or not app.config.smtp.host:
                click.echo(f"重新排队 {again} 封；已投递 {len(_drain(app))} 封回复。")
                return 0
            done = deliver(app, ignore_backoff=True)
    except LockHeld as exc:
        click.echo(f"intake outbox: {exc}", err=True)
        return 3
    click.echo(f"重新排队 {again} 封；已发出 {done.sent} 封回复，失败 {done.failed} 封，稍后重试 {done.deferred} 封。")
    if done.unreachable:
        click.echo(f"发信服务器无法使用：{terminal_text(str(done.unreachable))}", err=True)
    return 2 if done.unreachable else 1 if done.failed or done.stopped else 0


@main.command()
@config_option
@click.option("--retry", is_flag=True,
              help="Resend failed replies (check the sent mail first) and deliver what is pending now, "
                   "by SMTP when smtp.host is set and smtp.outbox_dir is not.")
@click.option("--id", "ids", type=int, multiple=True, help="With --retry: resend only these failed rows.")
def outbox(config_file: str | None, retry: bool, ids: tuple[int, ...]) -> None:
    """Show the outbox; with --retry, resend what failed and deliver what is pending."""
    app = make_app(load(config_file))
    status = _retry(app, ids) if retry else 0
    with app.sessions() as session:
        for sub in repo.submissions(session):
            for item in sub.replies:  # addresses and subjects come from senders, errors from servers
                click.echo(f"{item.id:5d}  {item.status:8s}  {terminal_text(item.to_addr)}  "
                           f"{terminal_text(item.subject)}")
                if item.status in (ReplyState.FAILED, ReplyState.PENDING) and item.last_error:
                    click.echo(f"       {terminal_text(item.last_error)}")
    sys.exit(status)


@main.group("config")
def config_group() -> None:
    """Configuration commands."""


@config_group.command("check")
@config_option
def config_check(config_file: str | None) -> None:
    """Check the configuration and list every problem at once."""
    path = config_path(config_file)
    try:
        config = load_config(path)
    except ConfigError as exc:
        click.echo(f"{path}: {len(exc.problems)} problem(s)", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    names = ", ".join(c.id for c in config.campaigns)
    click.echo(f"{path}: OK ({len(config.campaigns)} campaign(s): {names})")


main.add_command(db_group)  # `intake db upgrade|current` (pipeline/cli/db.py)
for _command in STAFF_COMMANDS:  # report, export, show, review, open (pipeline/cli/staff.py)
    main.add_command(_command)
for _command in WEB_COMMANDS:  # serve, staff add|list|disable|enable (pipeline/cli/web.py)
    main.add_command(_command)
