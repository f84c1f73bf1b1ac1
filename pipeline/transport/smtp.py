"""The one module that speaks SMTP (smtplib): connect, log in, hand over one message, classify the answer.

Every outcome other than "accepted" is an exception under `DeliveryError`:

    DeliveryError
    └── SmtpError                  .code (None when the server gave no answer), .text
        ├── ServerUnavailable      connect, TLS or login failed: nothing was handed over
        ├── TemporaryFailure       a 4xx, or the connection lost before the message went out
        │   └── SenderThrottled    126's `451 MI:SFQ` (account quota): every other reply would get it too
        ├── PermanentFailure       a 5xx: this message will not be accepted as it is
        │   └── JudgedSpam         126's `554 DT:SPM`: stop sending and alert
        └── UnknownOutcome         the connection died after the message went out: it may have arrived
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import ssl
from collections.abc import Sequence
from types import TracebackType
from typing import Self

from pipeline.config import SmtpConfig
from pipeline.errors import DeliveryError

log = logging.getLogger(__name__)


class SmtpError(DeliveryError):
    """The server did not accept a message; `code` is its reply code, if it answered."""

    def __init__(self, code: int | None, text: str) -> None:
        self.code, self.text = code, text
        super().__init__(f"{code} {text}" if code else text)


class ServerUnavailable(SmtpError):
    """The server could not be used at all (connect, TLS, login, or no password)."""


class TemporaryFailure(SmtpError):
    """Try this message again later."""


class SenderThrottled(TemporaryFailure):
    """The account is over its sending quota: later, and no more this run."""


class PermanentFailure(SmtpError):
    """The server refused this message for good."""


class JudgedSpam(PermanentFailure):
    """126 judged our mail as spam: stop sending and tell staff."""


class UnknownOutcome(SmtpError):
    """The message went out but no answer came back: it may or may not have been delivered."""


def classify(code: int, reply: bytes | str) -> SmtpError:
    """The exception for a non-2xx reply to MAIL, RCPT or DATA."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    if code == 554 and "DT:SPM" in text:
        return JudgedSpam(code, text)
    if 400 <= code < 500:
        # 126: MI:SFQ is the 15-minute quota of the whole account; 451 DT:SPM is per message.
        return SenderThrottled(code, text) if "MI:SFQ" in text else TemporaryFailure(code, text)
    if code >= 500:
        return PermanentFailure(code, text)
    return TemporaryFailure(code, f"unexpected reply: {text}")


def smtp_password(config: SmtpConfig) -> str | None:
    """The login secret from the environment (None when no login is configured)."""
    if not config.username:
        return None
    password = os.environ.get(config.password_env)
    if not password:
        raise ServerUnavailable(None, f"environment variable {config.password_env} is not set (the SMTP 授权码)")
    return password


class SmtpClient:
    """One SMTP connection, opened on first use and reopened after the server drops it."""

    def __init__(self, config: SmtpConfig, password: str | None = None) -> None:
        self.config, self.password = config, password
        self._conn: smtplib.SMTP | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def open(self) -> None:
        """Connect (SSL, STARTTLS or plain) and log in if a username is set; ServerUnavailable otherwise."""
        if self._conn is not None:
            return
        cfg = self.config
        # gethostname, not smtplib's default getfqdn: a reverse DNS lookup can hang for seconds.
        where = {"host": cfg.host, "port": cfg.port, "local_hostname": socket.gethostname(),
                 "timeout": cfg.timeout_seconds}
        conn: smtplib.SMTP | None = None
        try:
            if cfg.ssl:
                conn = smtplib.SMTP_SSL(**where, context=ssl.create_default_context())
            else:
                conn = smtplib.SMTP(**where)
                if cfg.starttls:
                    conn.starttls(context=ssl.create_default_context())
            if cfg.username:
                self._login(conn)
        except (OSError, smtplib.SMTPException) as exc:
            _quietly_close(conn)
            code = getattr(exc, "smtp_code", None)
            raise ServerUnavailable(code, f"{cfg.host}:{cfg.port}: {_describe(exc)}") from None
        except ServerUnavailable:
            _quietly_close(conn)
            raise
        self._conn = conn

    def _login(self, conn: smtplib.SMTP) -> None:
        """Log in when the server offers AUTH; a relay that offers none gets the mail without a login."""
        conn.ehlo_or_helo_if_needed()
        if not conn.has_extn("auth"):
            # A local relay (or a test server) configured with the mailbox's username: logging in would
            # fail with "AUTH not supported"; the server decides whether it relays for us.
            log.warning("%s:%s offers no AUTH: sending without login", self.config.host, self.config.port)
            return
        password = self.password if self.password is not None else smtp_password(self.config)
        conn.login(self.config.username, password or "")

    def send(self, mail_from: str, rcpt_tos: Sequence[str], raw: bytes) -> str:
        """Hand one message to the server (after `open()`); returns its final reply, raises an SmtpError otherwise."""
        conn = self._conn
        assert conn is not None, "open() first: connecting is not part of a message's attempt"
        try:
            self._envelope(conn, mail_from, rcpt_tos)
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self._drop()
            raise TemporaryFailure(None, f"connection lost before the message was sent: {_describe(exc)}") from None
        try:
            code, reply = conn.data(raw)
        except smtplib.SMTPDataError as exc:
            self._reset()
            raise classify(exc.smtp_code, exc.smtp_error) from None
        except (OSError, smtplib.SMTPException) as exc:
            # The body may have reached the server: resending could deliver it twice.
            self._drop()
            raise UnknownOutcome(None, f"connection lost while sending the message: {_describe(exc)}") from None
        if code != 250:  # smtplib.data() raises only for the DATA command, not for the answer to the message
            self._reset()
            raise classify(code, reply)
        return f"{code} {reply.decode('utf-8', 'replace')}"

    def _envelope(self, conn: smtplib.SMTP, mail_from: str, rcpt_tos: Sequence[str]) -> None:
        conn.ehlo_or_helo_if_needed()
        code, reply = conn.mail(mail_from)
        if code != 250:
            self._reset()
            raise classify(code, reply)
        for rcpt in rcpt_tos:
            code, reply = conn.rcpt(rcpt)
            if code not in (250, 251):
                self._reset()
                raise classify(code, reply)

    def _reset(self) -> None:
        """RSET after a refusal so the next message starts a clean transaction (421: the server hung up)."""
        try:
            assert self._conn is not None
            self._conn.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _drop(self) -> None:
        _quietly_close(self._conn)
        self._conn = None

    def close(self) -> None:
        """QUIT politely; a dead connection is just forgotten."""
        if self._conn is not None:
            try:
                self._conn.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._drop()


def _quietly_close(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        try:
            conn.close()
        except OSError:
            pass


def _describe(exc: BaseException) -> str:
    """An error as one line, without the password (smtplib never puts it in messages, but be explicit)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}".replace("\n", " ")
    return (f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__).replace("\n", " ")
