"""A real Dovecot 2.3 on loopback for the mailbox tests, and a TCP proxy that can cut a connection.

    from helpers.dovecot_server import dovecot, DovecotServer   # the fixture and the class

Dovecot (Debian `dovecot-imapd`) starts in a few hundredths of a second with
its own config under a fresh /tmp folder (docs/PITFALLS.md, "Dovecot 2.3 as a test
server"): plain IMAP on 127.0.0.1 and a free port, one passwd-file user, mail in
Maildir, the junk folder 垃圾邮件 marked SPECIAL-USE \\Junk as on 126.
`imap_capability` lets a test hide MOVE the way 126 does; `tls=True` adds a
self-signed certificate (trusted through SSL_CERT_FILE) for SSL and STARTTLS.
"""

from __future__ import annotations

import dataclasses
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from imapclient import IMAPClient

DOVECOT = Path("/usr/sbin/dovecot")
USER = "sjzjjb@126.com"
PASSWORD = "Auth-code-7QpX2vLr"   # the 126 "authorization code" of the test account
JUNK = "垃圾邮件"                  # modified UTF-7 on the wire: &V4NXPpCuTvY-
# 126's capabilities after LOGIN, less what Dovecot cannot do (XLIST) and STARTTLS (not on a plain port here).
CAPABILITY_126 = "IMAP4rev1 SPECIAL-USE ID LITERAL+ UIDPLUS"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tests fail logins on purpose: answer them at once.
auth_failure_delay = 0
default_internal_user = {user}
default_login_user = {user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={root}/home/%u
}}
mail_location = maildir:{root}/mail/%u
namespace inbox {{
  inbox = yes
  separator = /
  mailbox {junk} {{
    special_use = \\Junk
    auto = create
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
# The auth process adds 2-15 s to every login after a failure (the anvil "auth penalty", counted per IP).
# When it cannot reach anvil's penalty socket it turns the penalty off: make that socket unreachable.
service auth {{
  user = {user}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
{capability}
"""


def free_port() -> int:
    """A port nobody listens on right now (bound and released; the race is harmless on loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dovecot exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"dovecot did not open port {port} within {seconds} s")


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _accounts() -> tuple[str, str]:
    """uid 0 is refused for mail: root runs mail as nobody/nogroup, anyone else as themselves."""
    if os.geteuid() == 0:
        return "nobody", "nogroup"
    return pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name


class DovecotServer:
    """A running Dovecot with one user; helpers talk to it over IMAP like any other client."""

    host = "127.0.0.1"
    user = USER
    password = PASSWORD

    def __init__(self, root: Path, port: int, tls_port: int, proc: subprocess.Popen[bytes],
                 ca_file: Path | None) -> None:
        self.root, self.port, self.tls_port, self.proc, self.ca_file = root, port, tls_port, proc, ca_file

    @classmethod
    def start(cls, *, imap_capability: str | None = None, tls: bool = False) -> DovecotServer:
        """Render a config into a fresh /tmp folder and start `dovecot -F` on free ports."""
        if not DOVECOT.exists():
            pytest.skip("dovecot not installed (Debian dovecot-imapd); CI installs it")
        # Not pytest's tmp_path: it is 0700 and Dovecot's unprivileged workers could not enter it.
        root = Path(tempfile.mkdtemp(prefix="dovecot-", dir="/tmp"))
        root.chmod(0o755)
        user, group = _accounts()
        for sub in ("mail", "home"):
            (root / sub).mkdir()
            shutil.chown(root / sub, user, group)
        (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        ca_file = make_certificate(root) if tls else None
        ssl = f"ssl = yes\nssl_cert = <{root}/cert.pem\nssl_key = <{root}/key.pem" if tls else "ssl = no"
        port, tls_port = free_port(), free_port() if tls else 0
        capability = f"protocol imap {{\n  imap_capability = {imap_capability}\n}}" if imap_capability else ""
        (root / "dovecot.conf").write_text(CONFIG.format(root=root, port=port, tls_port=tls_port, junk=JUNK, ssl=ssl,
                                                         user=user, group=group, capability=capability))
        # Output to DEVNULL: a pipe nobody reads fills up and hangs Dovecot.
        # Its own process group: stopping signals master and workers at once (the master alone takes ~1 s).
        proc = subprocess.Popen([str(DOVECOT), "-F", "-c", str(root / "dovecot.conf")], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        server = cls(root, port, tls_port, proc, ca_file)
        try:
            _wait_for_port(port, proc)
        except BaseException:
            server.stop()
            raise
        return server

    def stop(self) -> None:
        """Stop Dovecot (its master takes its workers along) and remove every file."""
        _signal_group(self.proc.pid, signal.SIGTERM)  # workers too, even if the master is gone already
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _signal_group(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- what the code under test is configured with -------------------------------------------

    def mailbox_config(self, **overrides: object):  # -> pipeline.config.MailboxConfig
        """A MailboxConfig for this server (plain IMAP), the example's folders unless overridden."""
        from pipeline.config import MailboxConfig

        values: dict[str, object] = {"host": self.host, "port": self.port, "ssl": False, "starttls": False,
                                     "username": USER, "timeout_seconds": 10.0}
        values.update(overrides)
        return MailboxConfig(**values)  # type: ignore[arg-type]

    def mailbox_toml(self, **overrides: object) -> str:
        """The same as a `[mailbox]` table for a config file (`password_env` names the variable to set)."""
        cfg = self.mailbox_config(**overrides)
        lines = ["[mailbox]"]
        for f in dataclasses.fields(cfg):
            value = getattr(cfg, f.name)
            lines.append(f"{f.name} = {_toml(value)}")
        return "\n".join(lines) + "\n"

    # --- helpers for the tests themselves --------------------------------------------------------

    @contextmanager
    def client(self) -> Iterator[IMAPClient]:
        """A logged-in imapclient connection (aware INTERNALDATEs)."""
        client = IMAPClient(self.host, self.port, ssl=False, timeout=10)
        client.normalise_times = False
        try:
            client.login(USER, PASSWORD)
            yield client
        finally:
            client.logout()

    def create_folder(self, name: str) -> None:
        with self.client() as c:
            c.create_folder(name)

    def folders(self) -> list[str]:
        with self.client() as c:
            return [name for _flags, _sep, name in c.list_folders()]

    def append(self, folder: str, raw: bytes, internaldate: datetime, flags: tuple[str, ...] = ()) -> int:
        """APPEND with a chosen INTERNALDATE (aware); returns the new UID."""
        with self.client() as c:
            answer = c.append(folder, raw, flags=flags, msg_time=internaldate)
        return int(answer.split(b"APPENDUID ")[1].split()[1].rstrip(b"]"))

    def flags(self, folder: str) -> dict[int, tuple[bytes, ...]]:
        """{uid: flags} read through EXAMINE, which changes nothing (\\Recent included)."""
        with self.client() as c:
            c.select_folder(folder, readonly=True)
            return {uid: tuple(sorted(flags)) for uid, flags in c.get_flags(c.search()).items()}

    def messages(self, folder: str) -> dict[int, bytes]:
        """{uid: raw bytes} of a folder, read with BODY.PEEK[]."""
        with self.client() as c:
            c.select_folder(folder, readonly=True)
            uids = c.search()
            return {uid: d[b"BODY[]"] for uid, d in c.fetch(uids, ["BODY.PEEK[]"]).items()} if uids else {}

    def uidvalidity(self, folder: str) -> int:
        with self.client() as c:
            return int(c.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])

    def recreate(self, folder: str, *, reverse: bool = False) -> int:
        """Give `folder` a new UIDVALIDITY with its messages renumbered from UID 1 (optionally in reverse order).

        Other folders are deleted and created again over IMAP. INBOX cannot be
        deleted, so it is emptied and its Maildir index and uidlist removed,
        which makes Dovecot start a new UIDVALIDITY, as a server migration does.
        """
        saved = self._saved(folder)
        with self.client() as c:
            if folder.upper() == "INBOX":
                c.select_folder(folder)
                if saved:
                    c.delete_messages([uid for uid, _ in saved])
                    c.expunge()
                c.close_folder()
                maildir = self.root / "mail" / USER
                for path in maildir.iterdir():
                    if path.is_file() and (path.name == "dovecot-uidlist" or path.name.startswith("dovecot.index")):
                        path.unlink()
            else:
                c.delete_folder(folder)
                c.create_folder(folder)
        for _uid, (raw, when, flags) in reversed(saved) if reverse else saved:
            self.append(folder, raw, when, flags)
        return self.uidvalidity(folder)

    def _saved(self, folder: str) -> list[tuple[int, tuple[bytes, datetime, tuple[str, ...]]]]:
        with self.client() as c:
            c.select_folder(folder, readonly=True)
            uids = c.search()
            data = c.fetch(uids, ["BODY.PEEK[]", "INTERNALDATE", "FLAGS"]) if uids else {}
        return [(uid, (d[b"BODY[]"], d[b"INTERNALDATE"], _settable(d[b"FLAGS"]))) for uid, d in sorted(data.items())]


def _settable(flags: tuple[bytes, ...]) -> tuple[str, ...]:
    """Flags an APPEND can set again (\\Recent belongs to the server)."""
    return tuple(f.decode() for f in flags if f != b"\\Recent")


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def make_certificate(root: Path) -> Path:
    """A self-signed certificate for 127.0.0.1; returns it as the CA file a client trusts."""
    from datetime import timedelta, timezone
    from ipaddress import IPv4Address

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (root / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
    (root / "key.pem").chmod(0o600)
    (root / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return root / "cert.pem"


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    """A fresh Dovecot per test (~30 ms to start), stopped and removed afterwards."""
    server = DovecotServer.start()
    try:
        yield server
    finally:
        server.stop()


class CuttingProxy:
    """A TCP relay on loopback that can drop a connection in the middle of a body fetch.

    After the client has sent `after_fetches` + 1 commands containing BODY.PEEK[],
    the relay lets `cut_after` more bytes of the server's answer through and then
    closes both sides; it does that to the first `cuts` connections and relays
    the rest untouched. `connections` counts what came in (a connection counter
    with cut_after=None). With `stall`, the connection is not closed but goes silent
    instead, both sides left open (a server or a NAT that stops answering), until
    the proxy closes.
    """

    def __init__(self, target_port: int, *, cut_after: int | None = None, cuts: int = 1, after_fetches: int = 0,
                 target_host: str = "127.0.0.1", stall: bool = False) -> None:
        self.target = (target_host, target_port)
        self.cut_after, self.cuts, self.after_fetches, self.stall = cut_after, cuts, after_fetches, stall
        self.connections = 0
        self.cut_done = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self) -> CuttingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            cut = self.cut_after is not None and self.connections <= self.cuts
            server = socket.create_connection(self.target)
            _Relay(client, server, self.cut_after if cut else None, self.after_fetches, self).start()


class _Relay:
    """Both directions of one proxied connection."""

    def __init__(self, client: socket.socket, server: socket.socket, cut_after: int | None, after_fetches: int,
                 proxy: CuttingProxy) -> None:
        self.client, self.server, self.cut_after, self.proxy = client, server, cut_after, proxy
        self.fetches_left = after_fetches + 1
        self.armed = threading.Event()
        self.silent = threading.Event()  # stalled (`stall`): nothing relayed either way

    def start(self) -> None:
        threading.Thread(target=self._upstream, daemon=True).start()
        threading.Thread(target=self._downstream, daemon=True).start()

    def _upstream(self) -> None:
        """Client → server; arms the cut at the chosen BODY.PEEK[] command."""
        while data := _recv(self.client):
            if b"BODY.PEEK[]" in data.upper():
                self.fetches_left -= 1
                if self.fetches_left == 0:
                    self.armed.set()
            if self.silent.is_set():
                continue  # stalled: what the client sends now goes nowhere
            if not _send(self.server, data):
                break
        self._close()

    def _downstream(self) -> None:
        """Server → client; after arming, `cut_after` bytes more, then both sides are closed."""
        passed = 0
        while data := _recv(self.server):
            if self.cut_after is not None and self.armed.is_set():
                room = self.cut_after - passed
                if room <= len(data):
                    _send(self.client, data[:room])
                    self.proxy.cut_done += 1
                    if self.proxy.stall:
                        self.silent.set()
                        self.proxy._closed.wait()
                    break
                passed += len(data)
            if not _send(self.client, data):
                break
        self._close()

    def _close(self) -> None:
        for sock in (self.client, self.server):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _send(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.sendall(data)
        return True
    except OSError:
        return False
