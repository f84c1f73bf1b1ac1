"""No program started on attacker data holds our secrets (issue 14, item 14): the extractors (7zz, unar, bsdtar)
get an allow-listed environment, and so does the sandbox child that judges each message, which gets the
database password only when its database needs one. Each tool runs for real, behind a wrapper early in PATH
that writes down its environment (and that of the process that started it) before it runs the real binary."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import samplegen as g
from hostile.make_corpus import LONG_NAMES

from helpers import REPO
from helpers.archives import RAR_MTIME, write_7z, write_rar
from pipeline.documents.archives import unpack
from pipeline.intake.sandbox import storage_secret

SECRETS = {"INTAKE_IMAP_PASSWORD": "imap-Secret-7a", "INTAKE_SMTP_PASSWORD": "smtp-Secret-7b",
           "INTAKE_DB_PASSWORD": "db-Secret-7c"}
# What a tool may see: the allow-list (parsers/toolenv.py) and what sh itself sets.
TOOL_NAMES = {"PATH", "TMPDIR", "TZ", "LANG", "LC_ALL", "PWD", "SHLVL", "_", "OLDPWD"}

# Writes the tool's environment, its parent's (the process that started it) and its grandparent's, then runs
# the real tool. /proc/<pid>/environ is what the process was started with, whatever it did to os.environ since.
_WRAPPER = """#!/bin/sh
{{ env; echo "--- parent"; tr '\\0' '\\n' < /proc/$PPID/environ; echo; echo "--- grandparent";
  tr '\\0' '\\n' < /proc/$(sed 's/.*) //' /proc/$PPID/stat | cut -d' ' -f2)/environ; echo; }} >> {dump}
exec {real} "$@"
"""


def wrap(tools: list[str], folder: Path) -> Path:
    """A folder of wrappers for `tools`, to put first in PATH; their reports go to folder/<tool>.env."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    folder.mkdir(parents=True, exist_ok=True)
    for tool in tools:
        script = folder / tool
        script.write_text(_WRAPPER.format(dump=folder / f"{tool}.env", real=shutil.which(tool)), encoding="utf-8")
        script.chmod(0o755)
    return folder


def report(folder: Path, tool: str) -> tuple[set[str], str]:
    """(names of the tool's own variables, the whole report)."""
    text = (folder / f"{tool}.env").read_text(encoding="utf-8", errors="replace")
    own = text.split("--- parent", 1)[0]
    return {line.split("=", 1)[0] for line in own.splitlines() if "=" in line}, text


def assert_no_secret(text: str) -> None:
    for name, value in SECRETS.items():
        assert value not in text and f"{name}=" not in text


@pytest.mark.parametrize(("kind", "tool"), [("7z", "7zz"), ("7z-long-names", "7zz"), ("rar29", "unar"),
                                            ("rar50", "bsdtar"), ("rar50-long-names", "bsdtar"),
                                            ("zip-deflate64", "7zz")])
def test_extractors_see_only_the_allow_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str,
                                            tool: str) -> None:
    members = LONG_NAMES if kind.endswith("long-names") else {"申报表.txt": b"form " * 500, "ok.txt": b"ok"}
    if kind.startswith("7z"):
        archive = write_7z(tmp_path / "a.7z", members)
    elif kind.startswith("rar"):
        archive = write_rar(tmp_path / "a.rar", members, kind[:5], mtime=RAR_MTIME)
    else:
        if shutil.which("7zz") is None:
            pytest.skip("needs 7zz")
        (tmp_path / "src").mkdir()
        (tmp_path / "src" / "a.txt").write_bytes(b"form " * 5000)
        archive = tmp_path / "d.zip"
        subprocess.run(["7zz", "a", "-tzip", "-mm=Deflate64", str(archive), "a.txt"], cwd=tmp_path / "src",
                       check=True, capture_output=True)
        members = {"a.txt": b"form " * 5000}
    fake = wrap([tool], tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SOME_OTHER_SETTING", "x")
    result = unpack(archive, tmp_path / "out")
    assert result.problem is None, result.detail
    assert {f.name: f.path.read_bytes() for f in result.files} == members
    names, text = report(fake, tool)
    assert names <= TOOL_NAMES, names - TOOL_NAMES
    assert "LC_ALL=C.UTF-8" in text and "SOME_OTHER_SETTING" not in text.split("--- parent")[0]
    assert_no_secret(text.split("--- parent")[0])


def test_the_sandbox_child_and_its_forkserver_hold_no_mail_password(tmp_path: Path, config) -> None:
    """`intake ingest` with the service's secrets in its environment: a real sandbox child judges a message
    whose 7z is unpacked by 7zz; the wrapper reports 7zz's, the child's and the forkserver's environment."""
    fake = wrap(["7zz"], tmp_path / "bin")
    studio = g.Studio(unit="正定县总工会", leader="张三", gender="男", applicant="正定县某某机械厂", seed=7)
    archive = write_7z(tmp_path / "a.7z", dict(g.materials(studio))).read_bytes()
    received = datetime(2025, 5, 26, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    eml = tmp_path / "m.eml"
    eml.write_bytes(g.eml(subject=studio.subject, from_name="正定县总工会", from_addr="zdxzgh@126.com", date=received,
                          received=received, message_id="<env@zdxzgh.126.com>", body_text="附件为入库材料。",
                          attachments=[g.Attachment(studio.subject + ".7z", archive)]))
    assert config.sandbox.isolate
    env = {**os.environ, **SECRETS, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([sys.executable, "-m", "pipeline", "ingest", "--config", str(config.path), str(eml)],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "处理 1 封新邮件" in proc.stdout and "0 封出错" in proc.stdout  # judged in the child, not failed
    names, text = report(fake, "7zz")
    assert names <= TOOL_NAMES
    tool, child, forkserver = text.split("--- parent")[0], *text.split("--- parent", 1)[1].split("--- grandparent")
    assert "INTAKE_FORKSERVER_MAIN" not in tool and "PYTHON" not in tool
    assert "PATH=" in child and "PATH=" in forkserver  # the reports are real: the child has its allow-list
    assert_no_secret(text)  # the DB password too: this database is a SQLite file, which has none


def test_the_child_gets_the_database_password_only_when_its_database_has_one(
        config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_DB_PASSWORD", SECRETS["INTAKE_DB_PASSWORD"])
    sqlite = dataclasses.replace(config.storage, password_env="INTAKE_DB_PASSWORD")
    postgres = dataclasses.replace(sqlite, url="postgresql+psycopg://intake@db.example.cn/intake")
    assert storage_secret(dataclasses.replace(config, storage=sqlite)) == {}
    assert storage_secret(dataclasses.replace(config, storage=postgres)) == {
        "INTAKE_DB_PASSWORD": SECRETS["INTAKE_DB_PASSWORD"]}
