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
import tomllib
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import samplegen as g

from helpers.configfile import write_example_config
from helpers.submissions import STUDIO, submission
from pipeline.bootstrap import build_app
from pipeline.config import Config, load_config, parse_config
from pipeline.errors import ConfigError
from pipeline.intake import sandbox
from pipeline.intake.app import App
from pipeline.intake.folders import UNPACKING_MARKER, message_workdir
from pipeline.intake.forkstart import child_context
from pipeline.intake.judge import process_in_process
from pipeline.intake.ledger import ingest_bytes, record_delivery
from pipeline.intake.sandbox import (
    apply_limits,
    process_isolated,
    record_child_failure,
    start_child,
    wait_child,
)
from storage.models import Message

# A paragraph of Chinese text; a document of many is slow to read and count, but legitimate. One document can
# be only so slow: past parsers.docx_text.MAX_DOCUMENT_XML (50 MB, ~90,000 of these) it is refused at once.
# A slow message carries as many documents of at most _PER_DOCUMENT paragraphs as its length needs.
_PER_DOCUMENT = 80_000
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
    """Several seconds of CPU on any machine (10 s here in 2026-12: 320,000 paragraphs in four documents),
    for limits of a second or two."""
    return _slow_message_of(4 * _PER_DOCUMENT, 0)


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
    from pipeline.intake import forkstart, sandbox
    ctx = forkstart.child_context()
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


# One child judges several messages in turn (issue 18: ~45 ms of the child's start saved on each message).


def _judge(app: App, raw: bytes, key: str) -> tuple[int, str, int]:
    """(ledger id, status of the result, pid of the child that judged it)."""
    pk, pids = _record(app, raw, key), []
    result = process_isolated(app, pk, notify=True, started=pids.append)
    assert len(pids) == 1
    return pk, result.status, pids[0]


def _slow_message_of(paragraphs: int, n: int) -> bytes:
    """A slow message of `paragraphs` in all (in documents of at most _PER_DOCUMENT) and message-id number `n`."""
    count = -(-paragraphs // _PER_DOCUMENT)
    documents = [g.Attachment(f"张三创新工作室事迹材料（{k + 1}）.docx", _slow_docx(paragraphs // count))
                 for k in range(count)]
    return g.eml(subject=STUDIO.subject, from_name="正定县总工会", from_addr="slow@126.com",
                 message_id=f"<slow{n}@zdxzgh.126.com>", body_text="附件为事迹材料。", date=_SENT, received=_SENT,
                 attachments=documents)


def _paragraphs_for(folder: Path, seconds: float) -> int:
    """Paragraphs that make a slow message take about `seconds` of CPU to judge, measured on 10,000 in a
    database of its own in `folder` (the Word reader's speed changes; a fixed size would drift off the window
    a CPU-limit test needs)."""
    app = build_app(load_config(write_example_config(folder)))
    pk = _record(app, _slow_message_of(10_000, 0), "file:/measure.eml")
    start = time.thread_time()
    process_in_process(app, pk, notify=False)
    return int(10_000 * seconds / (time.thread_time() - start))


def _ordinary(n: int) -> bytes:
    return submission(message_id=f"<m{n}@zdxzgh.126.com>")


def _wait_gone(pid: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while not _gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_one_child_judges_messages_in_turn_each_at_its_own_clock_reading(app: App, clock) -> None:
    readings = [clock.now + timedelta(hours=h) for h in range(3)]
    judged = []
    for n, reading in enumerate(readings):
        clock.now = reading  # intake demo freezes another time for each message
        judged.append(_judge(app, _ordinary(n), f"file:/{n}.eml"))
    assert len({pid for _, _, pid in judged}) == 1
    assert [status for _, status, _ in judged] == ["new"] * 3
    with app.sessions() as s:
        assert [s.get(Message, pk).submission.evaluated_at for pk, _, _ in judged] == readings


@pytest.mark.parametrize(("limits", "kill", "error"), [
    ({"wall_seconds": 1.5}, False, "timed out after 1.5 s"),
    ({"cpu_seconds": 1}, False, "SIGXCPU"),
    ({}, True, "SIGKILL"),
], ids=["wall", "cpu", "killed-from-outside"])
def test_a_message_that_ends_its_child_fails_alone_in_a_sequence(app: App, tmp_path: Path, limits: dict[str, float],
                                                                 kill: bool, error: str) -> None:
    limited = _limited(app, **limits)
    slow_message = _slow_message_of(_paragraphs_for(tmp_path / "measure", 4.0), 1)
    before = _judge(limited, _ordinary(1), "file:/before.eml")
    slow_pk, pids = _record(limited, slow_message, "file:/slow.eml"), []

    def started(pid: int) -> None:
        pids.append(pid)
        if kill:
            threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()

    slow = process_isolated(limited, slow_pk, notify=True, started=started)
    after = _judge(limited, _ordinary(2), "file:/after.eml")
    assert (before[1], slow.status, after[1]) == ("new", "failed", "new")
    assert pids == [before[2]] and after[2] != before[2] and _wait_gone(before[2])
    status, verdict, codes, replies, reason = _outcome(app, slow_pk)
    assert (status, verdict, codes, replies) == ("failed", "review", [("INTERNAL_ERROR", "review")], 0)
    assert error in reason
    assert [_outcome(app, pk)[:2] for pk in (before[0], after[0])] == [("processed", "accepted")] * 2


def test_each_message_in_a_child_gets_cpu_seconds_of_its_own(app: App, tmp_path: Path) -> None:
    """Two messages of ~1.3 s CPU each in one child limited to 2 s: both judged. The child then makes way (it
    used more than cpu_seconds in all), so the next message has a new one."""
    limited, paragraphs = _limited(app, cpu_seconds=2), _paragraphs_for(tmp_path / "measure", 1.3)
    slow = [_judge(limited, _slow_message_of(paragraphs, n), f"file:/slow{n}.eml") for n in range(2)]
    after = _judge(limited, _ordinary(1), "file:/after.eml")
    assert [status for _, status, _ in slow] == ["new", "new"] and after[1] == "new"
    assert slow[0][2] == slow[1][2] != after[2]


def test_an_idle_child_exits_by_itself_and_the_next_message_gets_a_new_one(app: App,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "CHILD_IDLE_SECONDS", 0.5)
    first = _judge(app, _ordinary(1), "file:/1.eml")
    assert _wait_gone(first[2])  # exited, and reaped by the forkserver: no zombie
    second = _judge(app, _ordinary(2), "file:/2.eml")
    assert (first[1], second[1]) == ("new", "new") and second[2] != first[2]
    assert _outcome(app, second[0])[:2] == ("processed", "accepted")


def test_a_kept_child_gone_before_it_took_the_message_costs_nothing(app: App) -> None:
    """Killed between two messages, or stopped (it never says "started"): the message goes to a new child."""
    quick = _limited(app, wall_seconds=3)
    first = _judge(quick, _ordinary(1), "file:/1.eml")
    os.kill(first[2], signal.SIGKILL)
    assert _wait_gone(first[2])
    second = _judge(quick, _ordinary(2), "file:/2.eml")
    os.kill(second[2], signal.SIGSTOP)
    third = _judge(quick, _ordinary(3), "file:/3.eml")
    assert len({first[2], second[2], third[2]}) == 3 and _wait_gone(second[2])
    assert [_outcome(app, pk)[:2] for pk, _, _ in (first, second, third)] == [("processed", "accepted")] * 3


def test_messages_per_child_1_starts_a_child_for_each_message(app: App) -> None:
    single = _limited(app, messages_per_child=1)
    judged = [_judge(single, _ordinary(n), f"file:/{n}.eml") for n in range(3)]
    assert len({pid for _, _, pid in judged}) == 3 and all(_wait_gone(pid) for _, _, pid in judged)
    assert [status for _, status, _ in judged] == ["new"] * 3


def test_a_child_ends_after_messages_per_child(app: App) -> None:
    pair = _limited(app, messages_per_child=2)
    pids = [_judge(pair, _ordinary(n), f"file:/{n}.eml")[2] for n in range(3)]
    assert pids[0] == pids[1] != pids[2] and _wait_gone(pids[0])


def test_another_config_gets_a_child_with_its_own_limits(app: App) -> None:
    first = _judge(app, _ordinary(1), "file:/1.eml")
    small = _judge(_limited(app, memory_mb=64), _ordinary(2), "file:/2.eml")  # less than the interpreter itself
    again = _judge(app, _ordinary(3), "file:/3.eml")
    assert (first[1], small[1], again[1]) == ("new", "failed", "new")
    assert len({first[2], small[2], again[2]}) == 3 and _wait_gone(first[2])


def test_each_thread_keeps_a_child_of_its_own(app: App) -> None:
    """`intake ingest --workers 2`: two threads judging at once, each through its own child."""
    pks = [_record(app, _ordinary(n), f"file:/{n}.eml") for n in range(6)]
    pids: dict[str, list[int]] = {}
    statuses: list[str] = []

    def judge(name: str, mine: list[int]) -> None:
        for pk in mine:
            statuses.append(process_isolated(app, pk, notify=True, started=pids.setdefault(name, []).append).status)

    threads = [threading.Thread(target=judge, args=(name, pks[i::2])) for i, name in enumerate("ab")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == ["new"] * 6
    assert len(set(pids["a"])) == len(set(pids["b"])) == 1 and pids["a"][0] != pids["b"][0]
    assert _wait_gone(pids["a"][0]) and _wait_gone(pids["b"][0])  # the threads ended: the pipes closed


@pytest.mark.parametrize("value", [0, -1])
def test_messages_per_child_must_be_positive(example_config_path: Path, value: int) -> None:
    data = tomllib.loads(example_config_path.read_text(encoding="utf-8"))
    data["limits"]["messages_per_child"] = value
    with pytest.raises(ConfigError) as err:
        parse_config(data, example_config_path.parent)
    assert f"limits.messages_per_child: must be positive, got {value}" in err.value.problems
