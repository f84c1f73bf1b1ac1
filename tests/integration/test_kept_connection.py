"""`intake run` keeps its IMAP connection between polls: one LOGIN, fresh answers, dropped or stale links replaced.

Against the real Dovecot of tests/helpers/dovecot_server.py. The app's connections go
through a `CuttingProxy` that cuts nothing, only to count them; other clients
(the test's APPENDs) connect to Dovecot directly.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import tomllib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from helpers.dovecot_server import CuttingProxy, DovecotServer, dovecot  # noqa: F401 - fixture
from helpers.poller import at, counts, imap, submission, verdict_of  # noqa: F401 - imap is a fixture
from pipeline.config import ConfigError, parse_config
from pipeline.intake.app import App
from pipeline.service.scheduler import serve
from pipeline.transport.imap import Mailbox
from pipeline.transport.poller import MailboxLink, poll_once

REPO = Path(__file__).resolve().parents[2]


# --- what Dovecot says about its sessions ----------------------------------------------------------------

def session_pid(server: DovecotServer, box: Mailbox) -> int:
    """The Dovecot `imap` process serving `box` (imap-login hands it the TCP socket): found as `ss -p` would."""
    port = box.client.socket().getsockname()[1]
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == server.port and int(fields[2].split(":")[1], 16) == port:
            inodes.add(f"socket:[{fields[9]}]")
    for pid in _dovecot_processes(server, "imap"):
        try:
            if inodes & {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}:
                return pid
        except OSError:
            continue  # a process that exited meanwhile
    raise AssertionError(f"no Dovecot imap process holds the connection from port {port}")


def _dovecot_processes(server: DovecotServer, name: str) -> list[int]:
    """Pids in Dovecot's process group (the master's session) whose command is `name`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if comm == name and int(rest[2]) == server.proc.pid:
            found.append(int(entry))
    return found


def _log(server: DovecotServer) -> str:
    return (server.root / "dovecot.log").read_text(encoding="utf-8", errors="replace")


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Dovecot writes its log through a separate process: give it a moment."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def every_session_logged_out(server: DovecotServer) -> bool:
    """True once every LOGIN in Dovecot's log has its LOGOUT: no connection was left open or just dropped."""
    def settled() -> bool:
        text = _log(server)
        return text.count("Info: Login: ") == text.count("Info: Disconnected: Logged out")
    return wait_for(settled)


# --- tests -----------------------------------------------------------------------------------------------

def test_two_polls_through_one_link_share_one_login_and_see_mail_appended_between_them(
        imap, dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The main folder stays EXAMINEd between polls and Dovecot's STATUS of the selected folder is stale until
    a NOOP: without it the second poll would report nothing new."""
    dovecot.append("INBOX", submission(1, date=at(26, 10)), at(26, 10))
    with CuttingProxy(dovecot.port) as proxy:  # counts connections, cuts nothing
        app = imap(port=proxy.port)
        link = MailboxLink()
        first = poll_once(app, link=link)
        box = link.box
        assert (first.fetched, first.processed, first.errors) == (1, 1, ())
        assert box is not None and box.selected == "INBOX"  # left EXAMINEd for the next poll's STATUS

        uid = dovecot.append("INBOX", submission(2, date=at(27, 9)), at(27, 9))  # another session's APPEND
        second = poll_once(app, link=link)
        assert (second.fetched, second.processed, second.known, second.errors) == (1, 1, 1, ())
        assert verdict_of(app, "INBOX", uid) == ("accepted", [])

        examined: list[str] = []
        real = box.examine
        monkeypatch.setattr(box, "examine", lambda folder, **kw: examined.append(folder) or real(folder, **kw))
        idle = poll_once(app, link=link)
        assert (idle.fetched, idle.known, idle.errors) == (0, 2, ()) and examined == []  # STATUS only
        assert link.box is box and proxy.connections == 1  # three polls, one connection, one LOGIN
        link.close()
        assert link.box is None
    assert every_session_logged_out(dovecot)
    assert counts(app) == (2, 2, 2)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["BYE then close", "killed"])
def test_a_kept_connection_the_server_closed_is_replaced_at_once_without_an_error(
        imap, dovecot: DovecotServer, how: signal.Signals, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    dovecot.append("INBOX", submission(1, date=at(26, 10)), at(26, 10))
    app = imap()
    link = MailboxLink()
    poll_once(app, link=link)
    old = link.box
    assert old is not None
    pid = session_pid(dovecot, old)
    os.kill(pid, how)  # Dovecot's idle timeout, a restart, a load balancer: the server side is gone
    assert wait_for(lambda: not Path(f"/proc/{pid}").exists() or pid not in _dovecot_processes(dovecot, "imap"))

    uid = dovecot.append("INBOX", submission(2, date=at(27, 9)), at(27, 9))
    caplog.set_level(logging.INFO, logger="pipeline.transport.poller")
    caplog.clear()  # the first poll's warnings about the folders Dovecot lacks
    result = poll_once(app, link=link)
    # Reconnected at once: the back-off path would count an error and log "reconnecting in …" (a warning);
    # asserted on behaviour, not on a time a loaded machine may stretch.
    assert (result.fetched, result.processed, result.errors) == (1, 1, ())
    assert verdict_of(app, "INBOX", uid) == ("accepted", [])
    assert link.box is not None and link.box is not old
    assert "the kept IMAP connection is gone" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    link.close()


def test_a_link_idle_longer_than_keep_connection_minutes_is_logged_out_and_replaced(
        imap, dovecot: DovecotServer, clock) -> None:  # noqa: F811
    with CuttingProxy(dovecot.port) as proxy:
        app = imap(port=proxy.port, keep_connection_minutes=20)
        link = MailboxLink()
        poll_once(app, link=link)
        old = link.box
        assert old is not None
        clock.now += timedelta(minutes=19)
        poll_once(app, link=link)
        assert link.box is old and proxy.connections == 1  # idle 19 minutes: still used

        clock.now += timedelta(minutes=20, seconds=1)  # idle 20 minutes since the last poll (not the first)
        uid = dovecot.append("INBOX", submission(1, date=at(27, 9)), at(27, 9))
        result = poll_once(app, link=link)
        assert link.box is not None and link.box is not old and proxy.connections == 2
        assert (result.fetched, result.processed, result.errors) == (1, 1, ())
        assert verdict_of(app, "INBOX", uid) == ("accepted", [])
        link.close()
    assert every_session_logged_out(dovecot)  # the old connection too: LOGOUT, not left to time out


def test_keep_connection_minutes_0_logs_out_after_every_poll(imap, dovecot: DovecotServer) -> None:  # noqa: F811
    with CuttingProxy(dovecot.port) as proxy:
        app = imap(port=proxy.port, keep_connection_minutes=0)
        link = MailboxLink()
        for n in range(2):
            uid = dovecot.append("INBOX", submission(n, date=at(26, 10 + n)), at(26, 10 + n))
            result = poll_once(app, link=link)
            assert (result.fetched, result.processed, result.errors) == (1, 1, ())
            assert verdict_of(app, "INBOX", uid) == ("accepted", [])
            assert link.box is None
        assert proxy.connections == 2
    assert every_session_logged_out(dovecot)


def test_without_a_link_the_poll_logs_out_as_before(imap, dovecot: DovecotServer) -> None:  # noqa: F811
    """`intake run --once` and cron: connect, poll, LOGOUT."""
    app = imap()
    dovecot.append("INBOX", submission(1, date=at(26, 10)), at(26, 10))
    assert poll_once(app).processed == 1
    assert every_session_logged_out(dovecot)


def test_the_scheduler_keeps_one_connection_across_passes_and_logs_it_out_on_sigterm(
        imap, dovecot: DovecotServer, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    caplog.set_level(logging.INFO)
    dovecot.append("INBOX", submission(1, date=at(26, 10)), at(26, 10))
    with CuttingProxy(dovecot.port) as proxy:
        app: App = imap(port=proxy.port, poll_minutes=0.01)  # a pass every 0.6 s

        def polls() -> int:
            return sum(r.getMessage().startswith("IMAP poll:") for r in caplog.records)

        def stop_after_three_polls() -> None:
            wait_for(lambda: polls() >= 3, seconds=30)  # SIGTERM anyway, so that the test cannot hang
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=stop_after_three_polls, daemon=True).start()
        serve(app)  # returns after SIGTERM, once the running pass has finished
        assert polls() >= 3 and proxy.connections == 1
    assert counts(app) == (1, 1, 1)
    assert every_session_logged_out(dovecot)


def test_keep_connection_minutes_is_read_and_checked() -> None:
    data = tomllib.loads((REPO / "config.example.toml").read_text(encoding="utf-8"))
    assert parse_config(data, Path("/tmp")).mailbox.keep_connection_minutes == 20.0
    data["mailbox"]["keep_connection_minutes"] = 0
    assert parse_config(data, Path("/tmp")).mailbox.keep_connection_minutes == 0.0
    data["mailbox"]["keep_connection_minutes"] = -1
    with pytest.raises(ConfigError, match="mailbox.keep_connection_minutes"):
        parse_config(data, Path("/tmp"))
