"""`intake serve` (the staff console) and `intake staff add|password|list|disable|enable` (its accounts).

Thin wrappers: the console is pipeline/web/, accounts are pipeline/web/accounts.py (the console's account
page uses the same functions). There is no default account: `intake serve` on a database without one says
how to make the first.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from pipeline.cli.common import config_option, load, make_app
from pipeline.config import demo_config
from pipeline.intake.app import App
from pipeline.textsafe import terminal_text
from pipeline.web.accounts import (
    Account,
    AccountError,
    active_accounts,
    add_account,
    list_accounts,
    set_disabled,
    set_password,
)
from storage.accounts import ROLES

demo_option = click.option("--demo", "demo_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                           metavar="DIR", help="Instead of --config: the data `intake demo --workdir DIR` made.")


def _console_app(config_file: str | None, demo_dir: Path | None) -> App:
    """The App of a configuration file, or of the demo's embedded configuration on its work folder."""
    if demo_dir is None:
        return make_app(load(config_file))
    if not (demo_dir / "intake.db").is_file():
        raise click.ClickException(f"{demo_dir}: no demo database here; run `intake demo --workdir {demo_dir}` first")
    return make_app(demo_config(demo_dir))


@click.command("serve")
@config_option
@demo_option
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Port (default: [web] port, 8080).")
@click.option("--bind", default=None, metavar="ADDRESS", help="Address to listen on (default: [web] bind, 127.0.0.1).")
def serve_command(config_file: str | None, demo_dir: Path | None, port: int | None, bind: str | None) -> None:
    """Run the staff console (a web server for the office) until stopped."""
    from pipeline.web.app import create_app
    from pipeline.web.server import make_server

    app = _console_app(config_file, demo_dir)
    web = app.config.web
    host, port = bind or web.bind, web.port if port is None else port
    server = make_server(create_app(app), host, port)
    if active_accounts(app) == 0:
        where = f"--demo {demo_dir}" if demo_dir else f"--config {app.config.path or 'FILE'}"
        click.echo("尚无可登录的账户。先创建一个管理员账户，例如：\n"
                   f"  intake staff add admin --role admin {where}", err=True)
    shown = web.base_url or f"http://{host if ':' not in host else f'[{host}]'}:{server.effective_port}/"
    click.echo(f"审核控制台：{shown}（Ctrl+C 停止）", err=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


@click.group("staff")
def staff_group() -> None:
    """Accounts of the staff console (viewer, reviewer, admin)."""


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("密码", hide_input=True, confirmation_prompt="再输入一次"))


def _changed(change: Callable[[], Account]) -> Account:
    """Run one account change; its refusal (a bad name, a weak password …) as the command's error."""
    try:
        return change()
    except AccountError as exc:
        raise click.ClickException(terminal_text(str(exc))) from None


@staff_group.command("add")
@config_option
@demo_option
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="viewer reads; reviewer also decides and retries replies; admin also manages accounts.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin (scripts).")
def staff_add(config_file: str | None, demo_dir: Path | None, name: str, role: str, password_stdin: bool) -> None:
    """Create a console account (the password is asked for, or read from stdin)."""
    app = _console_app(config_file, demo_dir)
    made = _changed(lambda: add_account(app, name, role, _password(password_stdin)))
    click.echo(f"已创建账户 {terminal_text(made.name)}（{made.role}）。")


@staff_group.command("password")
@config_option
@demo_option
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin (scripts).")
def staff_password(config_file: str | None, demo_dir: Path | None, name: str, password_stdin: bool) -> None:
    """Set a new password for an account; its sessions made with the old one end."""
    app = _console_app(config_file, demo_dir)
    done = _changed(lambda: set_password(app, name, _password(password_stdin)))
    click.echo(f"账户 {terminal_text(done.name)} 的密码已更换，旧密码的登录已失效。")


@staff_group.command("list")
@config_option
@demo_option
def staff_list(config_file: str | None, demo_dir: Path | None) -> None:
    """List the console's accounts."""
    for account in list_accounts(_console_app(config_file, demo_dir)):
        state = "disabled" if account.disabled else "active"
        click.echo(f"{terminal_text(account.name):20s}  {account.role:8s}  {state:8s}  {account.created_at}")


def _switch_command(name: str, disabled: bool, summary: str) -> click.Command:
    """`intake staff disable NAME` and `intake staff enable NAME`: one switch, two words."""

    def switch(config_file: str | None, demo_dir: Path | None, account: str) -> None:
        done = _changed(lambda: set_disabled(_console_app(config_file, demo_dir), account, disabled))
        click.echo(f"账户 {terminal_text(done.name)} 已{'停用' if disabled else '启用'}。")

    switch.__doc__ = summary
    return staff_group.command(name)(config_option(demo_option(click.argument("account", metavar="NAME")(switch))))


_switch_command("disable", True, "Disable an account: it can no longer log in, and its sessions end (accounts are "
                "never deleted: decisions name them).")
_switch_command("enable", False, "Enable a disabled account again.")

WEB_COMMANDS = (serve_command, staff_group)
