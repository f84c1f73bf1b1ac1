"""Each message judged in a limited child process: real processes, real SQLite; a dying child costs one message."""

from __future__ import annotations

import dataclasses
import io
import os
import resource
import signal
import subprocess
import sys
import threading
import time
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import samplegen as g

from helpers.submissions import STUDIO, submission
from pipeline.config import Config
from pipeline.intake.app import App
from pipeline.intake.judge import UNPACKING_MARKER, message_workdir, process_in_process
from pipeline.intake.ledger import ingest_bytes, record_delivery
from pipeline.intake.sandbox import (
    apply_limits,
    child_context,
    process_isolated,
    record_child_failure,
    start_child,
    wait_child,
)
from storage.models import Message

# 20 000 paragraphs of Chinese text: 49 KB mailed, ~10 s of CPU to count (a slow but legitimate document).
_PARAGRAPH = "<w:p><w:r><w:t>" + "创新工作室事迹材料" * 20 + "</w:t></w:r></w:p>"
_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
          'content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/'
          'document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main'
          '+xml"/></Types>')


_SENT = datetime(2025, 5, 26, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def _slow_docx(paragraphs: int = 20_000) -> bytes:
    body = _PARAGRAPH * paragraphs
    doc = ('<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
           f'wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _TYPES)
        z.writestr("word/document.xml", doc)
    return buf.getvalue()


def _slow_message() -> bytes:
    return g.eml(subject=STUDIO.subject, from_name="正定县总工会", from_addr="slow@126.com",
                 message_id="<slow@zdxzgh.126.com>", body_text="附件为事迹材料。", date=_SENT, received=_SENT,
                 attachments=[g.Attachment("张三创新工作室事迹材料.docx", _slow_docx())])


def _limited(app: App, **limits: object) -> App:
    """The same database and store, with other sandbox limits."""
    config: Config = dataclasses.replace(app.config, sandbox=dataclasses.replace(app.config.sandbox, **limits))
    return dataclasses.replace(app, config=config)


def _outcome(app: App, message_pk: int) -> tuple[str, str, list[tuple[str, str]], int, str]:
    with app.sessions() as s:
        m = s.get(Message, message_pk)
        assert m is not None and m.submission is not None
        codes = [(f.code, f.severity) for f in m.submission.findings]
        return m.status, m.submission.verdict, codes, len(m.submission.replies), m.error or ""


def _record(app: App, raw: bytes, key: str) -> int:
    message, _ = record_delivery(app, raw, key)
    return message.id


def _next_is_accepted(app: App) -> None:
    """The parent goes on: the next ordinary message is judged normally."""
    result = ingest_bytes(app, submission(message_id="<next@zdxzgh.126.com>"), "file:/next.eml")
    assert (result.status, result.verdict) == ("new", "accepted")


def _gone(pid: int) -> bool:
    """Neither running nor a zombie (the forkserver reaps its children), within a moment."""
    for _ in range(100):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            time.sleep(0.02)
            continue
        return False
    return False


def test_isolated_and_in_process_judge_alike_and_answer_once(app: App) -> None:
    assert app.config.sandbox.isolate  # the shipped default
    pk = _record(app, submission(), "file:/a.eml")
    result = process_isolated(app, pk, notify=True)
    isolated = _outcome(app, pk)
    process_in_process(app, pk, notify=True)
    assert (result.status, result.verdict) == ("new", "accepted")
    assert isolated == _outcome(app, pk) and isolated[:4] == ("processed", "accepted", [], 1)


def test_a_child_out_of_time_is_killed_and_the_message_goes_to_review(app: App) -> None:
    pk = _record(app, _slow_message(), "file:/slow.eml")
    started = time.monotonic()
    pids: list[int] = []
    result = process_isolated(_limited(app, wall_seconds=1.5), pk, notify=True, started=pids.append)
    assert time.monotonic() - started < 8
    status, verdict, codes, replies, error = _outcome(app, pk)
    assert (result.status, status, verdict, replies) == ("failed", "failed", "review", 0)
    assert codes == [("INTERNAL_ERROR", "review")] and "timed out after 1.5 s" in error
    assert _gone(pids[0])
    _next_is_accepted(app)


def test_a_child_over_its_cpu_limit_dies_and_the_message_goes_to_review(app: App) -> None:
    pk = _record(app, _slow_message(), "file:/slow.eml")
    process_isolated(_limited(app, cpu_seconds=1), pk, notify=True)
    status, verdict, codes, replies, error = _outcome(app, pk)
    assert (status, verdict, codes, replies) == ("failed", "review", [("INTERNAL_ERROR", "review")], 0)
    assert "SIGXCPU" in error and "CPU limit of 1 s" in error
    _next_is_accepted(app)


def test_a_child_killed_from_outside_costs_only_its_message(app: App) -> None:
    pk = _record(app, _slow_message(), "file:/slow.eml")

    pids: list[int] = []

    def kill_soon(pid: int) -> None:
        pids.append(pid)
        threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()

    process_isolated(app, pk, notify=True, started=kill_soon)
    status, verdict, codes, replies, error = _outcome(app, pk)
    assert (status, verdict, codes, replies) == ("failed", "review", [("INTERNAL_ERROR", "review")], 0)
    assert "SIGKILL" in error and _gone(pids[0])
    _next_is_accepted(app)


def test_a_child_out_of_memory_leaves_review_and_the_next_message_is_fine(app: App) -> None:
    pk = _record(app, submission(), "file:/m.eml")
    result = process_isolated(_limited(app, memory_mb=64), pk, notify=True)  # less than the interpreter itself
    status, verdict, codes, replies, _ = _outcome(app, pk)
    assert (result.status, status, verdict, codes, replies) == ("failed", "failed", "review",
                                                                [("INTERNAL_ERROR", "review")], 0)
    _next_is_accepted(app)


def test_a_child_that_died_unpacking_leaves_unsafe_archive_for_review(app: App) -> None:
    pk = _record(app, submission(), "file:/bomb.eml")
    with app.sessions() as s:
        workdir = message_workdir(app, s.get(Message, pk))
    (workdir / "unpacked" / "000").mkdir(parents=True)
    (workdir / "unpacked" / "000" / "big.bin").write_bytes(b"\0" * 1024)
    (workdir / UNPACKING_MARKER).write_text("正定县总工会张三创新工作室.zip", encoding="utf-8")
    record_child_failure(app, pk, "child killed by SIGKILL (memory limit of 1024 MB, or killed from outside)")
    status, verdict, codes, replies, error = _outcome(app, pk)
    assert (status, verdict, codes, replies) == ("failed", "review", [("UNSAFE_ARCHIVE", "review")], 0)
    assert "while unpacking 正定县总工会张三创新工作室.zip" in error
    assert not (workdir / "unpacked").exists() and not (workdir / UNPACKING_MARKER).exists()


def test_a_retried_message_is_judged_and_answered_once_it_gets_through(app: App) -> None:
    pk = _record(app, submission(), "file:/r.eml")
    process_isolated(_limited(app, memory_mb=64), pk, notify=True)
    again = process_isolated(app, pk, notify=True)
    status, verdict, codes, replies, _ = _outcome(app, pk)
    assert (again.status, status, verdict, codes, replies) == ("new", "processed", "accepted", [], 1)


def test_threads_starting_and_waiting_for_children_read_every_exit_status() -> None:
    """`--workers N`: each Process.start() polls the other threads' children too; a status is read only once.

    Unguarded, about one child in thirty came back as exit status 255 (an EOF on the forkserver's status
    pipe) and its message was recorded as failed although the child had judged it.
    """
    ctx, codes = child_context(), []

    def run_children() -> None:
        for _ in range(50):
            child = ctx.Process(target=time.sleep, args=(0.001,), daemon=True)
            start_child(child)
            codes.append(wait_child(child, 30))

    threads = [threading.Thread(target=run_children) for _ in range(6)]  # more threads: the race shows every run
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [0] * 300


# The script finds its log beside itself and the repository in its argv, not in the environment: the forkserver
# that imports it again keeps only an allow-list of variables (pipeline.intake.forkserver_main).
_MAIN_SCRIPT = """
import os, sys, time
with open(os.path.splitext(__file__)[0] + ".log", "a") as fh:
    fh.write(__name__ + "\\n")
if __name__ == "__main__":
    sys.path.insert(0, sys.argv[1])
    from pipeline.intake import sandbox
    ctx = sandbox.child_context()
    for _ in range(3):
        child = ctx.Process(target=time.sleep, args=(0,))
        sandbox.start_child(child)
        assert sandbox.wait_child(child, 60) == 0
"""


def test_the_main_script_runs_once_in_the_forkserver_not_in_every_child(tmp_path: Path) -> None:
    """A child that re-runs `intake` (and everything pipeline.cli.main imports) costs ~0.2 s per message."""
    script, runs = tmp_path / "main.py", tmp_path / "main.log"
    script.write_text(_MAIN_SCRIPT, encoding="utf-8")
    subprocess.run([sys.executable, str(script), str(Path(__file__).resolve().parents[2])], check=True, timeout=120)
    assert runs.read_text(encoding="utf-8").split() == ["__main__", "__mp_main__"]  # the parent, the forkserver


def test_limits_are_set_in_the_process_that_asks(tmp_path: Path) -> None:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        from pipeline.config import SandboxLimits

        apply_limits(SandboxLimits(cpu_seconds=7, memory_mb=900, max_open_files=64, max_file_mb=10))
        ok = (resource.getrlimit(resource.RLIMIT_CPU) == (7, 12) and resource.getrlimit(resource.RLIMIT_CORE)[0] == 0
              and resource.getrlimit(resource.RLIMIT_AS)[0] == 900 * 2**20
              and resource.getrlimit(resource.RLIMIT_NOFILE)[0] == 64
              and resource.getrlimit(resource.RLIMIT_FSIZE)[0] == 10 * 2**20)
        os._exit(0 if ok else 1)
    assert os.waitpid(pid, 0)[1] == 0


def test_an_in_memory_database_is_judged_in_process(config: Config) -> None:
    memory = dataclasses.replace(config, storage=dataclasses.replace(config.storage, url="sqlite:///:memory:"))
    from pipeline.intake.sandbox import can_isolate

    assert can_isolate(config) and not can_isolate(memory)

def _exit_with_mapper_state() -> None:
    """A child's target: exit 0 when SQLAlchemy's mappers were configured before it started."""
    from storage.models import Message

    os._exit(0 if Message.__mapper__.configured else 3)


def test_children_start_with_the_mappers_configured() -> None:
    """Configured once in the forkserver, not on every message's first query (30 ms a child)."""
    child = child_context().Process(target=_exit_with_mapper_state, daemon=True)
    start_child(child)
    assert wait_child(child, 60) == 0


def _exit_with_freeze_state() -> None:
    """A child's target: exit 0 when the preloaded modules' objects are frozen (outside every collection)."""
    import gc

    os._exit(0 if gc.get_freeze_count() > 50_000 else 3)


def test_children_start_with_the_preloaded_objects_frozen() -> None:
    """gc.freeze in the forkserver: a child's collections skip what it inherited (no walk, no copied pages)."""
    child = child_context().Process(target=_exit_with_freeze_state, daemon=True)
    start_child(child)
    assert wait_child(child, 60) == 0
