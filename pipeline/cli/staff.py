"""Staff commands of `intake`: report, export summary, show, review, open (thin wrappers, registered in cli.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipeline.cli.common import app_for, config_option
from pipeline.errors import DeliveryError, IntakeError
from pipeline.textsafe import json_text, terminal_text


@click.command("report")
@config_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the HTML and XLSX files (default: data_dir/reports).")
@click.option("--send", is_flag=True, help="Mail the report to report.recipients (smtp.outbox_dir: as an .eml file).")
def report_command(config_file: str | None, out_dir: Path | None, send: bool) -> None:
    """Write the staff report (HTML + XLSX); with --send, mail it."""
    from pipeline.staff.report import make_report

    try:
        files = make_report(app_for(config_file), out_dir, send=send)
    except DeliveryError as exc:
        raise click.ClickException(f"报告已生成，但未能发出：{terminal_text(str(exc))}") from None
    click.echo(f"报告：{files.html}")
    click.echo(f"明细表：{files.xlsx}")
    if files.sent:
        click.echo("已发送给 report.recipients。")


@click.group("export")
def export_group() -> None:
    """Exports for staff."""


@export_group.command("summary")
@config_option
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The file to write (FILE.xlsx or FILE.docx).")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "docx"]), default="xlsx", show_default=True)
@click.option("--campaign", "campaign_id", default=None, help="The campaign's id (default: the first in the config).")
def export_summary_command(config_file: str | None, out_file: Path, fmt: str, campaign_id: str | None) -> None:
    """The 汇总表 (附件2) of the accepted studios, grouped by recommending unit, ready to print."""
    from pipeline.staff.export import export_summary

    try:
        path, count = export_summary(app_for(config_file), out_file, fmt, campaign_id)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"汇总表已写入 {path}（{count} 个工作室）。")


@click.command("show")
@config_option
@click.argument("submission_id", type=int)
def show_command(config_file: str | None, submission_id: int) -> None:
    """Everything about one submission: findings, files, fields, replies, decisions, resubmissions."""
    from pipeline.staff.review import show_text

    try:
        # Subjects, file names, form fields and findings quoting them: controls shown, never executed.
        click.echo(terminal_text(show_text(app_for(config_file), submission_id), keep="\n"), nl=False)
    except IntakeError as exc:
        raise click.ClickException(terminal_text(str(exc))) from None


@click.command("review")
@config_option
@click.argument("submission_id", type=int)
@click.option("--decision", required=True, type=click.Choice(["accepted", "rejected"]))
@click.option("--note", required=True, help="Why (sent to the applicant with --notify).")
@click.option("--by", "by", help="Who decides (default: the operating-system user).")
@click.option("--notify", is_flag=True, help="Queue a reply telling the sender the decision and the note.")
def review_command(config_file: str | None, submission_id: int, decision: str, note: str, by: str | None,
                   notify: bool) -> None:
    """Record a staff decision; it becomes the submission's verdict in listings, the report and the 汇总表."""
    from pipeline.staff.review import VERDICT_NAMES, default_staff_name, review

    app = app_for(config_file)
    try:
        done = review(app, submission_id, decision=decision, note=note, by=by or default_staff_name(), notify=notify)
    except IntakeError as exc:
        raise click.ClickException(terminal_text(str(exc))) from None
    click.echo(f"#{done.submission_id}：{VERDICT_NAMES[done.decision]}（系统结论 "
               f"{VERDICT_NAMES.get(done.machine_verdict, done.machine_verdict)}），已记录。")
    if done.reply_id is not None:
        click.echo(f"通知已放入发件箱（回复 #{done.reply_id}），下次发送时发出。")
    elif notify:
        click.echo(f"未通知申报单位：{terminal_text(str(done.reply_withheld))}", err=True)


@click.command("open")
@config_option
@click.argument("submission_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="{\"folder\": …, \"files\": [{\"path\", \"size\"}]}")
def open_command(config_file: str | None, submission_id: int, as_json: bool) -> None:
    """Print the folder holding the unpacked files of a submission, and list them."""
    from pipeline.staff.review import submission_folder

    try:
        folder, files = submission_folder(app_for(config_file), submission_id)
    except IntakeError as exc:
        raise click.ClickException(terminal_text(str(exc))) from None
    # The paths are the names the sender's archive gave its files (any byte but "/" and NUL).
    if as_json:
        click.echo(json_text(json.dumps({"folder": str(folder), "files": [{"path": p, "size": s} for p, s in files]},
                                        ensure_ascii=False, indent=2)))
        return
    click.echo(terminal_text(str(folder)))
    for path, size in files:
        click.echo(f"  {size:>10d}  {terminal_text(path)}")
    if not files:
        click.echo("  （没有文件：邮件没有附件，或尚未处理）")


STAFF_COMMANDS = (report_command, export_group, show_command, review_command, open_command)
