"""A real SMTP server for tests: aiosmtpd on a free loopback port, recording what it accepted.

Knobs: `refuse(reply, times)` answers the next DATA with e.g. "451 MI:SFQ …" or
"554 DT:SPM …"; `hang_up(times)` stores the next message and drops the
connection without answering; `kill_on_data(pid)` stores the next message and
SIGKILLs the sender before it hears 250; `on_data` is called as each message
is stored; `stop()` / `start()` take the server
down and up again on the same port; `SmtpServer(port, username=, password=)`
demands AUTH and, like 126, a MAIL FROM equal to the logged-in user (553);
`SmtpServer(tls="ssl" | "starttls", cert_dir=…)` speaks TLS with a self-signed
certificate that clients trust through SSL_CERT_FILE=`server.ca_file`.

Also `toml_set`, to point config.example.toml at test servers.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import ssl
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.policy import compat32
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from helpers.dovecot_server import make_certificate  # the same self-signed 127.0.0.1 certificate as the IMAP tests


def free_port() -> int:
    """A port nobody listens on now (aiosmtpd#388: Controller(port=0) can't be used)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Received:
    """One message the server accepted (or stored before a hang-up / kill)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes

    @property
    def message(self) -> Message:
        return message_from_bytes(self.content, policy=compat32)


class _Handler:
    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          mail_options: list[str]) -> str:
        user = self.owner.username
        if user and address.lower() != user.lower():
            return "553 Mail from must equal authorized user"  # 126's words
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        owner = self.owner
        if owner.refusals:
            return owner.refusals.popleft()
        received = Received(envelope.mail_from or "", tuple(envelope.rcpt_tos), bytes(envelope.original_content or b""))
        owner.received.append(received)
        if owner.on_data:
            owner.on_data(received)
        if owner.kill_pid:
            pid, owner.kill_pid = owner.kill_pid, None
            os.kill(pid, signal.SIGKILL)  # stored, but the sender dies before it hears 250
        if owner.hang_ups:
            owner.hang_ups -= 1
            assert server.transport is not None
            server.transport.close()  # stored, then silence: the sender can't know
        return "250 OK queued"


class _Controller(Controller):
    def factory(self) -> SMTP:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "AUTH without TLS": fine on loopback
            return super().factory()


class SmtpServer:
    """aiosmtpd in a thread on 127.0.0.1:`port`, collecting what it receives."""

    def __init__(self, port: int | None = None, *, username: str | None = None, password: str | None = None,
                 tls: Literal["ssl", "starttls"] | None = None, cert_dir: Path | None = None) -> None:
        self.port = port or free_port()
        self.username, self.password, self.tls = username, password, tls
        self.ca_file = make_certificate(cert_dir) if tls and cert_dir else None
        self.received: list[Received] = []
        self.refusals: deque[str] = deque()
        self.hang_ups = 0
        self.kill_pid: int | None = None
        self.logins: list[str] = []
        self.on_data: Callable[[Received], None] | None = None  # called as each message is stored
        self._controller: Controller | None = None

    def refuse(self, reply: str, times: int = 1) -> None:
        """Answer the next `times` messages with `reply` (e.g. "554 DT:SPM …") instead of 250."""
        self.refusals.extend([reply] * times)

    def hang_up(self, times: int = 1) -> None:
        """Store the next `times` messages, then close the connection without answering."""
        self.hang_ups += times

    def kill_on_data(self, pid: int) -> None:
        """Store the next message, then SIGKILL process `pid` before answering it."""
        self.kill_pid = pid

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == self.username
              and auth_data.password.decode() == self.password)
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    def start(self) -> None:
        """Listen (again) on the same port."""
        options: dict[str, Any] = {}
        if self.username:
            options = {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": False}
        if self.ca_file:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.ca_file, self.ca_file.with_name("key.pem"))
            tls = {"ssl_context": context} if self.tls == "ssl" else {"tls_context": context, "require_starttls": True}
            options.update(tls)
        self._controller = _Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                       server_hostname="localhost", **options)
        self._controller.start()

    def stop(self) -> None:
        """Go down: connections to the port are refused until `start()`."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages_to(self, address: str) -> list[Received]:
        """What was received for `address`."""
        return [r for r in self.received if address in r.rcpt_tos]


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A running SMTP server without AUTH (a local relay)."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def toml_set(text: str, section: str, **values: Any) -> str:
    """Set `key = value` lines inside `[section]` of a TOML text (replaced in place, else appended to it)."""
    head = re.search(rf"^\[{re.escape(section)}\][^\n]*\n", text, re.M)
    assert head, f"no [{section}] in the config"
    end = re.search(r"^\[", text[head.end():], re.M)
    stop = head.end() + (end.start() if end else len(text) - head.end())
    body = text[head.end():stop]
    for key, value in values.items():
        line = f"{key} = {_toml(value)}"
        body, n = re.subn(rf"^#?\s*{re.escape(key)}\s*=.*$", lambda _m, line=line: line, body, count=1, flags=re.M)
        if not n:
            body = body.rstrip("\n") + f"\n{line}\n\n"
    return text[:head.end()] + body + text[stop:]


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)  # strings, numbers and lists of them are the same in TOML
