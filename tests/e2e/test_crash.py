"""SIGKILL at seeded random moments, then let it finish: nothing lost, nothing done twice.

`intake ingest` over 100 messages and `intake run --once` against Dovecot and
aiosmtpd over 100 are killed at least 20 times each, at delays drawn from a
seeded `random.Random` (re-run with the same seed to land on the same points,
give or take scheduling). Afterwards every message has exactly one ledger row,
one submission and, if it is answered, one reply; the database passes SQLite's
checks; every ledger row's raw file is complete. With `smtp.sent_folder` the
SMTP server (which, like 126, saves what it accepts in 已发送) receives every
reply exactly once.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from helpers.crash_checks import (  # noqa: F401  (fixtures)
    SENT,
    assert_consistent,
    imap,
    query,
    run_config,
    run_env,
    saving_smtp,
    write_config,
)
from helpers.dovecot_server import DovecotServer, dovecot  # noqa: F401  (a fixture)
from helpers.mailcorpus import Mail, corpus
from helpers.smtp_server import SmtpServer
from storage.rawstore import RawStore

SEED = 20250530
MIN_KILLS = 20
MAX_RUNS = 80          # a guard: the loop ends long before this


def kill_repeatedly(command: list[str], env: dict[str, str], rng: random.Random, low: float, high: float,
                    log: Path, arm: Callable[[int, int | None], None] | None = None) -> tuple[int, list[int]]:
    """Start `command` again and again, SIGKILLing it after rng.uniform(low, high) s, until it has been killed
    MIN_KILLS times; returns (kills, exit codes of the runs that ended before their kill). stderr goes to `log`.

    `arm(run, pid)` may set up a kill of its own (the SMTP server's kill-on-DATA) and is called with None to
    disarm it after the run; a run that died by SIGKILL counts as a kill either way.
    """
    kills, ended = 0, []
    for run in range(MAX_RUNS):
        # Once the work is done a run ends quickly on its own: draw the next delay below the shortest
        # such run, so every run can still be killed somewhere (at start-up, in the poll, in the sending).
        delay = rng.uniform(min(low, high / 2), high)
        started = time.monotonic()
        with log.open("ab") as err:
            proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
        if arm:
            arm(run, proc.pid)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        if arm:
            arm(run, None)
        if proc.returncode != -signal.SIGKILL:
            ended.append(proc.returncode)
            high = min(high, 0.9 * (time.monotonic() - started))
            continue
        kills += 1
        if kills == MIN_KILLS:
            return kills, ended
    raise AssertionError(f"only {kills} kills in {MAX_RUNS} runs")


def python(*args: str, config: Path) -> list[str]:
    return [sys.executable, "-m", "pipeline", *args, "--config", str(config)]


def assert_outbox_folder(folder: Path, replies: dict[str, int]) -> None:
    """Exactly one .eml per reply row (named by its id); a .part left by a kill is not a reply."""
    files = sorted(p.name for p in folder.glob("*.eml"))
    assert len(files) == len(replies) == len(set(files))
    assert {int(name.split("-")[0]) for name in files} == set(replies.values())


def test_ingest_killed_20_times_processes_each_message_once(tmp_path: Path) -> None:
    mails = corpus(100)
    inbox = tmp_path / "mail"
    inbox.mkdir()
    for mail in mails:
        (inbox / mail.name).write_bytes(mail.raw)
    config = write_config(tmp_path, smtp={"outbox_dir": str(tmp_path / "outbox")})
    command = python("ingest", str(inbox), config=config)
    db = tmp_path / "intake.db"

    # Python, the pipeline and its forkserver need ~1.5 s to start, a message ~0.25 s: kills from 1 s on
    # hit the start, the ledger, the sandboxed children and the commits; the 20th leaves ~40 % to finish.
    kills, ended = kill_repeatedly(command, dict(os.environ), random.Random(SEED), 1.0, 3.5,
                                   tmp_path / "stderr.log")
    done = subprocess.run(command, env=dict(os.environ), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    again = subprocess.run(command, env=dict(os.environ), capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0 and "处理 0 封新邮件，100 封此前已处理" in again.stdout, again.stdout + again.stderr

    raw_root = tmp_path / "data" / "raw"
    replies = assert_consistent(db, raw_root, mails)
    assert_outbox_folder(tmp_path / "outbox", replies)
    # Temp files a kill left are never referenced (checked above) and are swept once they are old.
    partials = list(raw_root.glob("*/*.part"))
    assert RawStore(raw_root).sweep_partials(older_than_seconds=0) == len(partials)
    assert not list(raw_root.glob("*/*.part"))
    print(f"ingest: {kills} kills, {len(ended)} runs ended on their own, {len(partials)} .part files swept")


# --- intake run --once against Dovecot and aiosmtpd ------------------------------------------------


def assert_delivered_once(smtp: SmtpServer, mails: list[Mail]) -> None:
    """Counted at the server: one reply per answered message, none for ignored mail."""
    answered_to = Counter(r.message["In-Reply-To"] for r in smtp.received)
    assert answered_to == Counter(m.message_id for m in mails if m.answered)


def test_run_once_killed_20_times_delivers_each_reply_once(tmp_path: Path, imap: DovecotServer,  # noqa: F811
                                                            saving_smtp: SmtpServer) -> None:  # noqa: F811
    mails = corpus(100, accepted_every=6)
    for mail in mails:
        imap.append("INBOX", mail.raw, mail.received)
    config = run_config(tmp_path, imap, saving_smtp, SENT)
    # A run needs ~2 s to start and ~0.25 s per message: the first few kills land in the poll and the
    # judging, the later ones (once everything is judged) in the sending, where replies go out one per
    # 0.25 s. Every third run the server itself kills the sender between storing a reply and answering
    # 250 (the window the sent folder exists for), if that run gets as far as sending.
    def arm(run: int, pid: int | None) -> None:
        saving_smtp.kill_pid = pid if pid is not None and run % 3 == 2 else None

    kills, ended = kill_repeatedly(python("run", "--once", config=config), run_env(imap), random.Random(SEED + 1),
                                   1.2, 5.0, tmp_path / "stderr.log", arm)
    done = subprocess.run(python("run", "--once", config=config), env=run_env(imap), capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    final = subprocess.run(python("run", "--once", config=config), env=run_env(imap), capture_output=True,
                           text=True, timeout=120, check=False)
    assert final.returncode == 0, final.stdout + final.stderr
    assert "收取新邮件 0 封，处理 0 封，处理出错 0 封；发出回复 0 封，回复失败 0 封。" in final.stdout

    replies = assert_consistent(tmp_path / "intake.db", tmp_path / "data" / "raw", mails)
    assert_delivered_once(saving_smtp, mails)
    assert len(imap.messages(SENT)) == len(saving_smtp.received) == len(replies)
    assert query(tmp_path / "intake.db", "SELECT DISTINCT status FROM outbox") == [("sent",)]
    log = (tmp_path / "stderr.log").read_text(encoding="utf-8", errors="replace")
    settled = {what: log.count(what) for what in ("found in the sent folder", "not in the sent folder")}
    print(f"run --once: {kills} kills, {len(ended)} runs ended on their own; interrupted replies {settled}")
