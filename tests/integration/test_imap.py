"""The IMAP adapter against a real Dovecot, and against a scripted server that behaves like 126 about ID."""

from __future__ import annotations

import dataclasses
import re
import socket
import socketserver
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from imapclient import IMAPClient
from sqlalchemy import select

from helpers.dovecot_server import CAPABILITY_126, JUNK, PASSWORD, USER, DovecotServer, dovecot  # noqa: F401 - fixture
from pipeline.bootstrap import build_app
from pipeline.config import MailboxConfig, load_config
from pipeline.transport.imap import (
    ConnectionLost,
    LoginFailed,
    ServerFolder,
    client_id,
    connect,
    match_folder,
    resolve_folders,
)
from pipeline.transport.poller import poll_once
from storage import repo
from storage.models import Message

CST = timezone(timedelta(hours=8))
REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_mail" / "01-accepted-zip-gbk.eml"


def _folders(*entries: tuple[str, tuple[str, ...]]) -> list[ServerFolder]:
    return [ServerFolder(name, frozenset(f.lower() for f in flags)) for name, flags in entries]


# --- resolving folder specs (pure) ----------------------------------------------------------------

def test_specs_resolve_by_name_and_by_special_use_flag_each_folder_once() -> None:
    listing = _folders(("INBOX", ()), ("垃圾邮件", ("\\HasNoChildren", "\\Junk")), ("已发送", ("\\Sent",)))
    found, missing = resolve_folders(["inbox", "\\Junk", "垃圾邮件", "广告邮件", "订阅邮件"], listing)
    assert found == ("INBOX", "垃圾邮件")
    assert missing == ("广告邮件", "订阅邮件")


def test_xlist_spam_answers_a_junk_spec_and_noselect_folders_are_never_polled() -> None:
    listing = _folders(("[Gmail]", ("\\Noselect",)), ("[Gmail]/Spam", ("\\Spam",)), ("INBOX", ("\\Inbox",)))
    assert match_folder("\\Junk", listing) == "[Gmail]/Spam"
    assert match_folder("[Gmail]", listing) is None
    assert match_folder("\\Trash", listing) is None


def test_names_compare_after_unicode_normalisation() -> None:
    decomposed = "Cafe\u0301"
    assert match_folder("Café", _folders((decomposed, ()))) == decomposed


def test_the_id_we_send_is_ascii() -> None:
    values = client_id()
    assert values["name"] == "studio-intake"
    assert all(v.isascii() for v in (*values, *values.values()))


# --- the adapter against Dovecot --------------------------------------------------------------------

def test_junk_folder_is_found_by_its_chinese_name_and_its_flag(dovecot: DovecotServer) -> None:
    with connect(dovecot.mailbox_config(), PASSWORD) as box:
        listing = box.folders()
    assert match_folder(JUNK, listing) == match_folder("\\Junk", listing) == JUNK


def test_internaldate_stays_aware_and_search_ignores_the_highest_known_uid(dovecot: DovecotServer) -> None:
    moment = datetime(2025, 5, 31, 0, 0, 5, tzinfo=CST)
    uid = dovecot.append("INBOX", SAMPLE.read_bytes(), moment)
    with connect(dovecot.mailbox_config(), PASSWORD) as box:
        status = box.examine("INBOX")
        assert (status.exists, status.uidnext) == (1, uid + 1)
        assert box.uids_after(0) == [uid]
        assert box.uids_after(uid) == []  # the server answers `UID n:*` with the highest UID anyway
        envelope = box.envelopes([uid], message_ids=True)[uid]
        assert envelope.internaldate == moment and envelope.internaldate.utcoffset() is not None
        assert envelope.size == len(SAMPLE.read_bytes())
        assert envelope.message_id and envelope.message_id.startswith("<")
        assert box.bodies([uid]) == {uid: SAMPLE.read_bytes()}



def test_message_id_search_is_ascii_only(dovecot: DovecotServer) -> None:
    """PITFALLS: a non-ASCII SEARCH is unreliable on Chinese servers; the one SEARCH by header we send (for
    the sent-folder check) refuses one before it reaches the server, and finds an ASCII Message-ID."""
    uid = dovecot.append("INBOX", SAMPLE.read_bytes(), datetime(2025, 5, 26, 10, 2, tzinfo=CST))
    with connect(dovecot.mailbox_config(), PASSWORD) as box:
        box.examine("INBOX")
        message_id = box.envelopes([uid], message_ids=True)[uid].message_id
        assert message_id and box.uids_with_message_id(message_id) == [uid]
        with pytest.raises(ValueError, match="non-ASCII"):
            box.uids_with_message_id("<回执@126.com>")
        assert box.uids_after(0) == [uid]  # the connection is still usable: nothing was sent

def test_reading_changes_no_flag(dovecot: DovecotServer) -> None:
    dovecot.append("INBOX", SAMPLE.read_bytes(), datetime(2025, 5, 26, 10, 2, tzinfo=CST))
    dovecot.append("INBOX", SAMPLE.read_bytes(), datetime(2025, 5, 26, 11, 2, tzinfo=CST), flags=("\\Flagged",))
    before = dovecot.flags("INBOX")
    with connect(dovecot.mailbox_config(), PASSWORD) as box:
        box.examine("INBOX")
        box.envelopes([1, 2])
        box.bodies([1, 2])
    assert dovecot.flags("INBOX") == before
    assert all(b"\\Seen" not in flags for flags in before.values())


def test_move_without_move_capability_expunges_only_what_it_moved() -> None:
    server = DovecotServer.start(imap_capability=CAPABILITY_126)
    try:
        server.create_folder("已处理")
        ours = server.append("INBOX", SAMPLE.read_bytes(), datetime(2025, 5, 26, 10, 2, tzinfo=CST))
        staffs = server.append("INBOX", b"Subject: x\r\n\r\nstaff's\r\n", datetime(2025, 5, 26, 11, tzinfo=CST),
                               flags=("\\Deleted",))
        with connect(server.mailbox_config(), PASSWORD) as box:
            assert not box.has("MOVE") and box.has("UIDPLUS")
            box.examine("INBOX", readonly=False)
            assert box.move([ours], "已处理")
        assert list(server.flags("INBOX")) == [staffs]  # a plain EXPUNGE would have removed it too
        assert list(server.messages("已处理").values()) == [SAMPLE.read_bytes()]
    finally:
        server.stop()


def test_wrong_password_is_a_login_failure(dovecot: DovecotServer) -> None:
    with pytest.raises(LoginFailed) as info:
        connect(dovecot.mailbox_config(), "not-the-code")
    assert "not-the-code" not in str(info.value)


def test_every_call_times_out() -> None:
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never says a word
    try:
        cfg = MailboxConfig(host="127.0.0.1", port=silent.getsockname()[1], ssl=False, username=USER,
                            timeout_seconds=0.3)
        with pytest.raises(ConnectionLost, match="timed out"):
            connect(cfg, PASSWORD)
    finally:
        silent.close()


@pytest.mark.parametrize("mode", ["ssl", "starttls"])
def test_ssl_and_starttls_verify_the_certificate(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    server = DovecotServer.start(tls=True)
    try:
        port = server.tls_port if mode == "ssl" else server.port
        cfg = server.mailbox_config(port=port, ssl=mode == "ssl", starttls=mode == "starttls")
        with pytest.raises(ConnectionLost, match="CERTIFICATE_VERIFY_FAILED"):
            connect(cfg, PASSWORD)  # not yet trusted: the default context verifies
        monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))
        with connect(cfg, PASSWORD) as box:
            assert box.examine("INBOX").exists == 0
    finally:
        server.stop()


@pytest.mark.parametrize("mode", ["plain", "ssl"])
def test_commands_go_out_without_waiting_for_an_ack(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """TCP_NODELAY: with Nagle a command written in two pieces waited for the server's delayed ACK, 40 ms a
    command on a kept connection (benchmarks/run.py poll: 52 ms an idle poll before, 6 ms after)."""
    server = DovecotServer.start(tls=True)
    try:
        cfg = server.mailbox_config(port=server.tls_port, ssl=True) if mode == "ssl" else server.mailbox_config()
        monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))
        with connect(cfg, PASSWORD) as box:
            assert box.client.socket().getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            assert box.examine("INBOX").exists == 0
    finally:
        server.stop()


# --- a server that demands ID before SELECT, like 126 ----------------------------------------------

class Imap126(socketserver.ThreadingTCPServer):
    """Just enough IMAP4rev1 to imitate 126: SELECT/EXAMINE without a prior ID gets `NO ... Unsafe Login`.

    One message (UID 7) in INBOX; the junk folder is `&V4NXPpCuTvY-` and only
    XLIST says it is \\Spam. `drop_fetches` connections are cut in the middle
    of the body. Every command of every connection is kept in `transcripts`.
    """

    daemon_threads = True
    allow_reuse_address = True
    capabilities = "IMAP4rev1 XLIST SPECIAL-USE ID LITERAL+ UIDPLUS"

    def __init__(self, message: bytes, internaldate: str, drop_fetches: int = 0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler126)
        self.message, self.internaldate, self.drop_fetches = message, internaldate, drop_fetches
        self.transcripts: list[list[str]] = []
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def commands(self, connection: int) -> list[str]:
        return [line.split(" ", 2)[1].upper() for line in self.transcripts[connection]]


class _Handler126(socketserver.StreamRequestHandler):
    server: Imap126

    def handle(self) -> None:
        self.said_id, self.folder = False, ""
        self.transcript: list[str] = []
        self.server.transcripts.append(self.transcript)
        self.send(f"* OK [CAPABILITY {self.server.capabilities}] Coremail System IMap Server Ready(126)")
        while line := self.rfile.readline():
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            self.transcript.append(text)
            tag, _, rest = text.partition(" ")
            command, _, args = rest.partition(" ")
            if command.upper() == "UID":
                command, _, args = args.partition(" ")
                command = "UID " + command
            if self.answer(tag, command.upper(), args) is False:
                return

    def send(self, text: str | bytes) -> None:
        self.wfile.write((text.encode() if isinstance(text, str) else text) + b"\r\n")

    def answer(self, tag: str, command: str, args: str) -> bool | None:
        simple = {"CAPABILITY": f"* CAPABILITY {self.server.capabilities}", "NOOP": None}
        if command in simple:
            if simple[command]:
                self.send(simple[command])
            self.send(f"{tag} OK {command} completed")
        elif command == "LOGIN":
            ok = args.split(" ", 1)[1].strip('"') == PASSWORD
            self.send(f"{tag} OK LOGIN completed" if ok else f"{tag} NO LOGIN Login error password error")
        elif command == "ID":
            self.said_id = True
            self.send('* ID ("name" "Coremail Imap" "vendor" "Mailtech" "TransID" "mock")')
            self.send(f"{tag} OK ID completed")
        elif command in ("LIST", "XLIST"):
            junk = "\\Spam" if command == "XLIST" else ""  # 126's plain LIST carries no special-use flag here
            self.send(f'* {command} () "/" "INBOX"')
            self.send(f'* {command} ({junk}) "/" "&V4NXPpCuTvY-"')
            self.send(f"{tag} OK {command} completed")
        elif command in ("SELECT", "EXAMINE"):
            self.select(tag, command, args.strip('"'))
        elif command == "UID SEARCH":
            self.send("* SEARCH 7" if self.folder == "INBOX" else "* SEARCH")
            self.send(f"{tag} OK SEARCH completed")
        elif command == "UID FETCH":
            return self.fetch(tag, args)
        elif command == "LOGOUT":
            self.send("* BYE LOGOUT received")
            self.send(f"{tag} OK LOGOUT Completed")
            return False
        else:
            self.send(f"{tag} BAD command not supported")
        return None

    def select(self, tag: str, command: str, folder: str) -> None:
        if not self.said_id:
            self.send(f"{tag} NO SELECT Unsafe Login. Please contact kefu@188.com for help")
            return
        self.folder = folder
        count = 1 if folder == "INBOX" else 0
        for line in (f"* {count} EXISTS", "* 0 RECENT", "* OK [UIDVALIDITY 1700000001] UIDs valid",
                     f"* OK [UIDNEXT {8 if count else 1}] Predicted next UID",
                     "* FLAGS (\\Answered \\Seen \\Deleted \\Draft \\Flagged)"):
            self.send(line)
        self.send(f"{tag} OK [READ-ONLY] {command} completed")

    def fetch(self, tag: str, args: str) -> bool | None:
        raw = self.server.message
        if "BODY.PEEK[]" not in args.upper():
            self.send(f'* 1 FETCH (UID 7 INTERNALDATE "{self.server.internaldate}" RFC822.SIZE {len(raw)})')
        elif self.server.drop_fetches > 0:
            self.server.drop_fetches -= 1
            self.wfile.write(b"* 1 FETCH (UID 7 BODY[] {%d}\r\n" % len(raw) + raw[: len(raw) // 2])
            return False  # the connection drops in the middle of the literal
        else:
            self.wfile.write(b"* 1 FETCH (UID 7 BODY[] {%d}\r\n" % len(raw) + raw + b")\r\n")
        self.send(f"{tag} OK FETCH completed")
        return None


@pytest.fixture
def imap126():
    server = Imap126(SAMPLE.read_bytes(), "26-May-2025 10:02:11 +0800", drop_fetches=1)
    yield server
    server.shutdown()
    server.server_close()


def test_the_scripted_server_really_refuses_select_without_id(imap126: Imap126) -> None:
    client = IMAPClient("127.0.0.1", imap126.port, ssl=False, timeout=5)
    client.login(USER, PASSWORD)
    with pytest.raises(IMAPClient.Error, match="Unsafe Login"):
        client.select_folder("INBOX", readonly=True)
    client.logout()


def test_id_goes_after_login_and_before_select_on_every_connection(imap126: Imap126, config, clock,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_IMAP_PASSWORD", PASSWORD)
    mailbox = dataclasses.replace(config.mailbox, host="127.0.0.1", port=imap126.port, ssl=False, timeout_seconds=5)
    app = build_app(dataclasses.replace(config, mailbox=mailbox), clock=clock)
    result = poll_once(app)  # the first connection drops in the middle of the body: one reconnect
    assert len(imap126.transcripts) == 2 and len(result.errors) == 1
    for n in range(2):
        commands = imap126.commands(n)
        assert commands.index("LOGIN") < commands.index("ID") < commands.index("EXAMINE")
        assert "SELECT" not in commands and "STORE" not in commands and "UID STORE" not in commands
    assert (result.fetched, result.processed, result.folders) == (1, 1, ("INBOX", "垃圾邮件"))  # \Junk = XLIST \Spam
    with app.sessions() as session:
        (sub,) = repo.submissions(session)
        message = session.scalars(select(Message)).one()
    assert (sub.verdict, message.source_key) == ("accepted", "imap:INBOX:1700000001:7")
    assert message.received_at == datetime(2025, 5, 26, 2, 2, 11, tzinfo=timezone.utc)


def test_the_fixture_mailbox_table_is_a_valid_config(dovecot: DovecotServer, tmp_path: Path) -> None:
    text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^\[mailbox\].*?(?=^\[)", lambda _: dovecot.mailbox_toml(folders=("INBOX", "\\Junk")) + "\n",
                  text, count=1)
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    assert load_config(tmp_path / "config.toml").mailbox == dovecot.mailbox_config(folders=("INBOX", "\\Junk"))
