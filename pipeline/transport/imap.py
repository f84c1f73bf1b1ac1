"""The one module that speaks IMAP: a thin adapter over imapclient.IMAPClient.

What it does for the poller, and why (see docs/PITFALLS.md, "The mailbox"):
- a timeout on every call (the socket's), SSL, STARTTLS or plain;
- LOGIN, then ID with ASCII values before anything else: 126/163 refuse SELECT
  without it ("NO SELECT Unsafe Login");
- INTERNALDATE stays aware (`normalise_times = False`), the deadline is judged on it;
- folders only ever EXAMINEd (read-only) unless messages are to be moved, bodies
  fetched with BODY.PEEK[], so staff still see new mail as unread;
- failures become `MailboxError` subclasses: `ConnectionLost` (reconnect and go on),
  `LoginFailed` (wait before trying again), `FolderRefused` (skip that folder).
"""

from __future__ import annotations

import imaplib
import logging
import socket
import ssl
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from typing import Any, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from pipeline.config import MailboxConfig
from pipeline.errors import MailboxError
from pipeline.mail.decode import decode_headers

log = logging.getLogger(__name__)
T = TypeVar("T")

# XLIST (126, old Gmail) says \Spam where RFC 6154 SPECIAL-USE says \Junk: either answers either spec.
FLAG_ALIASES = {"\\junk": frozenset({"\\junk", "\\spam"}), "\\spam": frozenset({"\\junk", "\\spam"}),
                "\\inbox": frozenset({"\\inbox"})}
MESSAGE_ID_FIELD = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"


class ConnectionLost(MailboxError):
    """The connection failed or dropped (timeout, reset, EOF): reconnect and continue."""


class LoginFailed(MailboxError):
    """The server refused LOGIN (wrong authorization code, or a temporary ban)."""


class FolderRefused(MailboxError):
    """The server answered NO/BAD to a command on one folder: skip the folder, keep the connection."""


@dataclass(frozen=True)
class ServerFolder:
    """A folder as LIST/XLIST reports it: its decoded name and lower-cased flags."""

    name: str
    flags: frozenset[str]


@dataclass(frozen=True)
class FolderStatus:
    """What EXAMINE/SELECT tells about a folder."""

    uidvalidity: int
    uidnext: int | None
    exists: int


@dataclass(frozen=True)
class Envelope:
    """What is fetched before a body: receipt time, size and (on re-scans) the Message-ID."""

    internaldate: datetime | None
    size: int
    message_id: str | None = None


def client_id() -> dict[str, str]:
    """The ID (RFC 2971) we send: ASCII only, because imaplib refuses anything else."""
    try:
        version = metadata.version("sjz-studio-intake")
    except metadata.PackageNotFoundError:
        version = "0"
    values = {"name": "studio-intake", "version": version, "vendor": "sjz-studio-intake"}
    return {k: v.encode("ascii", "replace").decode("ascii") for k, v in values.items()}


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """Turn imaplib/socket failures into our exceptions; the message names the command, never a secret."""
    try:
        yield
    except LoginError as exc:
        raise LoginFailed(f"{what}: {_text(exc)}") from None
    except (imaplib.IMAP4.abort, OSError, EOFError) as exc:  # abort: EOF or a broken reply; OSError: timeout, reset
        raise ConnectionLost(f"{what}: {type(exc).__name__}: {_text(exc)}") from None
    except imaplib.IMAP4.error as exc:
        raise FolderRefused(f"{what}: {_text(exc)}") from None


def _text(exc: BaseException) -> str:
    """The server's words: imaplib errors carry bytes, imapclient's LoginError their repr (b'...')."""
    arg = exc.args[0] if len(exc.args) == 1 else None
    if isinstance(arg, bytes):
        return arg.decode("utf-8", "replace")
    text = str(exc)
    if len(text) > 2 and text[:2] in ("b'", 'b"') and text[-1] == text[1]:
        return text[2:-1]
    return text


def _call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with _translated(what):
        return fn(*args, **kwargs)


def connect(cfg: MailboxConfig, password: str) -> Mailbox:
    """Connect (SSL, STARTTLS or plain), LOGIN, then ID, all with the configured timeout."""
    where = f"IMAP {cfg.host}:{cfg.port}"
    use_ssl = cfg.ssl and not cfg.starttls  # starttls = true means: plain connect, then upgrade
    client = _call(f"{where} connect", IMAPClient, cfg.host, cfg.port, ssl=use_ssl, timeout=cfg.timeout_seconds)
    box = Mailbox(client, where)
    try:
        _no_delay(client)
        if cfg.starttls:
            _call(f"{where} STARTTLS", client.starttls, ssl.create_default_context())
        _call(f"{where} LOGIN as {cfg.username}", client.login, cfg.username, password)
        box.identify()
    except BaseException:
        box.close()
        raise
    return box


def _no_delay(client: IMAPClient) -> None:
    """Send each command at once (TCP_NODELAY). imaplib writes some commands in more than one piece, and with
    Nagle's algorithm the next piece waits for the server to acknowledge the first: up to 40 ms of the
    server's delayed ACK per command on a long-lived connection, which a kept connection is."""
    with suppress(OSError, AttributeError):
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Mailbox:
    """One logged-in connection; every method is one or two IMAP commands."""

    def __init__(self, client: IMAPClient, where: str) -> None:
        self.client = client
        self.where = where
        self._examined: tuple[str, FolderStatus] | None = None  # the folder the last EXAMINE/SELECT opened, as it said
        client.normalise_times = False  # keep INTERNALDATE aware; the default converts it to naive local time

    @property
    def selected(self) -> str | None:
        """The folder the last EXAMINE/SELECT opened (None: none)."""
        return self._examined[0] if self._examined else None

    def __enter__(self) -> Mailbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has(self, capability: str) -> bool:
        """Whether the server advertises `capability` (after LOGIN, when it may change)."""
        return _call(f"{self.where} CAPABILITY", self.client.has_capability, capability)

    def identify(self) -> None:
        """Send ID: 126/163 answer every SELECT with `NO ... Unsafe Login` until they have it."""
        if self.has("ID"):
            server = _call(f"{self.where} ID", self.client.id_, client_id())
            log.debug("IMAP server ID: %s", server)  # pairs, not a dict (imapclient returns what was sent)

    def folders(self) -> list[ServerFolder]:
        """Every folder from LIST, with XLIST's flags merged in where the server offers XLIST."""
        listing = _call(f"{self.where} LIST", self.client.list_folders)
        flags = {name: {_flag(f) for f in fl} for fl, _sep, name in listing}
        if self.has("XLIST"):
            for fl, _sep, name in _call(f"{self.where} XLIST", self.client.xlist_folders):
                flags.setdefault(name, set()).update(_flag(f) for f in fl)
        return [ServerFolder(name, frozenset(fl)) for name, fl in flags.items()]

    def examine(self, folder: str, *, readonly: bool = True) -> FolderStatus:
        """EXAMINE (or SELECT when we must move mail) and report UIDVALIDITY, UIDNEXT and EXISTS."""
        self._examined = None  # a refused SELECT leaves none selected (RFC 3501 6.3.1)
        info = _call(f"{self.where} {'EXAMINE' if readonly else 'SELECT'} {folder}",
                     self.client.select_folder, folder, readonly)
        if b"UIDVALIDITY" not in info:
            raise FolderRefused(f"{self.where} {folder}: the server gave no UIDVALIDITY")
        uidnext = info.get(b"UIDNEXT")
        found = FolderStatus(int(info[b"UIDVALIDITY"]), int(uidnext) if uidnext else None, int(info.get(b"EXISTS", 0)))
        self._examined = (folder, found)
        return found

    def status(self, folder: str) -> FolderStatus | None:
        """UIDVALIDITY, UIDNEXT and the message count without selecting; None when the server refuses.

        Dovecot answers STATUS from its index (0.5 ms at 10,000 messages) while EXAMINE re-scans the
        folder (120 ms): an idle poll that only needs to learn "nothing new" asks STATUS. On a folder
        that is not selected, Dovecot still opens it and reads its uidlist (40 ms at 10,000 messages);
        the selected one (a kept connection leaves the main folder EXAMINEd) is asked differently, see
        _selected_status."""
        if self._examined is not None and self._examined[0] == folder:
            return self._selected_status(self._examined[1])
        try:
            info = _call(f"{self.where} STATUS {folder}", self.client.folder_status, folder,
                         ["UIDVALIDITY", "UIDNEXT", "MESSAGES"])
        except FolderRefused:
            return None
        if b"UIDVALIDITY" not in info or b"UIDNEXT" not in info:
            return None
        return FolderStatus(int(info[b"UIDVALIDITY"]), int(info[b"UIDNEXT"]), int(info.get(b"MESSAGES", 0)))

    def _selected_status(self, examined: FolderStatus) -> FolderStatus | None:
        """The selected folder's state: NOOP, then the highest UID by UID SEARCH.

        RFC 3501 asks clients not to send STATUS for the selected folder (servers may answer from a stale
        view; Dovecot does until a command syncs the session). NOOP is the command meant for polling it:
        the session then sees mail other sessions delivered, and `UID SEARCH UID *` names the highest UID.
        UIDVALIDITY cannot change while a folder is selected (the server would end the session)."""
        try:
            _text, updates = _call(f"{self.where} NOOP", self.client.noop)
            highest = _call(f"{self.where} UID SEARCH", self.client.search, ["UID", "*"])
        except FolderRefused:
            return None
        counts = [n for n, what in updates if what == b"EXISTS" and isinstance(n, int)]
        uidnext = max(examined.uidnext or 0, max(highest, default=0) + 1)
        return FolderStatus(examined.uidvalidity, uidnext, counts[-1] if counts else examined.exists)

    def uids_after(self, last: int, below: int | None = None) -> list[int]:
        """UIDs greater than `last` (and below UIDNEXT as seen at EXAMINE), ascending."""
        found = _call(f"{self.where} UID SEARCH", self.client.search, ["UID", f"{last + 1}:*"])
        # `UID n:*` always matches the highest UID, even when it is below n (mjs/imapclient#473).
        return sorted(u for u in found if u > last and (below is None or u < below))

    def uids_with_message_id(self, message_id: str) -> list[int]:
        """UIDs in the EXAMINEd folder whose Message-ID header contains `message_id` (ASCII: see PITFALLS)."""
        if not message_id.isascii():
            raise ValueError(f"non-ASCII SEARCH is unreliable on Chinese servers: {message_id!r}")
        return sorted(_call(f"{self.where} UID SEARCH HEADER Message-ID", self.client.search,
                            ["HEADER", "Message-ID", message_id]))

    def envelopes(self, uids: Sequence[int], *, message_ids: bool = False) -> dict[int, Envelope]:
        """INTERNALDATE and RFC822.SIZE (and the Message-ID header when asked) of `uids`, one round trip."""
        if not uids:
            return {}
        items = ["INTERNALDATE", "RFC822.SIZE"] + ([MESSAGE_ID_FIELD] if message_ids else [])
        data = _call(f"{self.where} UID FETCH", self.client.fetch, list(uids), items)
        return {uid: _envelope(d) for uid, d in data.items()}  # an expunged UID is simply absent

    def bodies(self, uids: Sequence[int]) -> dict[int, bytes]:
        """The raw bytes of `uids` by BODY.PEEK[] (never sets \\Seen); expunged UIDs are simply absent."""
        data = _call(f"{self.where} UID FETCH BODY.PEEK[]", self.client.fetch, list(uids), ["BODY.PEEK[]"])
        return {uid: bytes(d[b"BODY[]"]) for uid, d in data.items() if d.get(b"BODY[]") is not None}

    def move(self, uids: Sequence[int], target: str) -> bool:
        """MOVE `uids` to `target`; without MOVE (126) COPY + \\Deleted + UID EXPUNGE of just those UIDs."""
        what = f"{self.where} move to {target}"
        if self.has("MOVE"):
            _call(what, self.client.move, list(uids), target)
            return True
        if not self.has("UIDPLUS"):
            # A plain EXPUNGE would also remove what staff marked \Deleted themselves.
            log.warning("%s: the server has neither MOVE nor UIDPLUS; leaving messages where they are", what)
            return False
        _call(what, self.client.copy, list(uids), target)
        _call(what, self.client.add_flags, list(uids), [b"\\Deleted"])
        _call(what, self.client.uid_expunge, list(uids))
        return True

    def wait_for_news(self, seconds: float, stop: Callable[[], bool] = lambda: False) -> bool:
        """IDLE (RFC 2177) on the selected folder until the server reports mail arriving (EXISTS) or `seconds`
        pass or `stop()` says so (asked every second); True when mail arrived. Only where the server
        advertises IDLE and a folder is selected (see `can_idle`); ConnectionLost if the connection drops."""
        arrived = False
        left = seconds
        _call(f"{self.where} IDLE", self.client.idle)
        try:
            while left > 0 and not arrived and not stop():
                step = min(1.0, left)
                for response in _call(f"{self.where} IDLE", self.client.idle_check, timeout=step):
                    if len(response) > 1 and response[1] in (b"EXISTS", b"RECENT"):
                        arrived = True
                left -= step
        finally:
            _call(f"{self.where} DONE", self.client.idle_done)
        return arrived

    def can_idle(self) -> bool:
        """Whether wait_for_news can be used: a folder is selected and the server offers IDLE (126 does not)."""
        return self._examined is not None and self.has("IDLE")

    def close(self, *, wait: float | None = None) -> None:
        """LOGOUT, or just drop the socket when the connection is already gone.

        `wait` shortens the timeout for the goodbye: a connection left idle may have been dropped
        silently by a NAT or firewall, and LOGOUT on it would otherwise hang for the full timeout."""
        if wait is not None:
            with suppress(Exception):
                self.client.socket().settimeout(wait)
        self._examined = None
        try:
            self.client.logout()
        except Exception:  # noqa: BLE001 - a dead connection cannot say goodbye
            with suppress(Exception):
                self.client.shutdown()


def _flag(flag: bytes | str) -> str:
    return (flag.decode("ascii", "replace") if isinstance(flag, bytes) else flag).lower()


def _envelope(data: dict[bytes, Any]) -> Envelope:
    header = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER")), None)
    message_id = decode_headers(bytes(header) + b"\r\n").message_id if header else None
    return Envelope(data.get(b"INTERNALDATE"), int(data.get(b"RFC822.SIZE") or 0), message_id)


def _folder_key(name: str) -> str:
    """Names compare NFC-normalised; INBOX is case-insensitive (RFC 3501 5.1)."""
    name = unicodedata.normalize("NFC", name)
    return "INBOX" if name.upper() == "INBOX" else name


def match_folder(spec: str, folders: Iterable[ServerFolder]) -> str | None:
    """The server name a folder spec means: a `\\Flag` by SPECIAL-USE/XLIST, else the decoded name."""
    usable = [f for f in folders if "\\noselect" not in f.flags and "\\nonexistent" not in f.flags]
    if spec.startswith("\\"):
        wanted = FLAG_ALIASES.get(spec.lower(), frozenset({spec.lower()}))
        return next((f.name for f in usable if f.flags & wanted), None)
    key = _folder_key(spec)
    return next((f.name for f in usable if _folder_key(f.name) == key), None)


def resolve_folders(specs: Iterable[str], folders: Iterable[ServerFolder]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(server names to poll, each once, in config order; specs the server doesn't have)."""
    listing = list(folders)
    found: dict[str, None] = {}
    missing: list[str] = []
    for spec in specs:
        name = match_folder(spec, listing)
        if name is None:
            missing.append(spec)
        else:
            found.setdefault(name)
    return tuple(found), tuple(missing)
