"""Legacy Word (.doc / .wps) through headless LibreOffice: real files made by LibreOffice itself."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import samplegen as g
from click.testing import CliRunner

from parsers import convert
from parsers.convert import convert_to_docx, soffice_path
from parsers.docx_text import read_docx_tables, read_docx_text
from parsers.errors import DocumentUnreadable
from parsers.sniff import sniff_file
from parsers.wordcount import count_words
from pipeline.cli.main import main
from pipeline.documents.identify import inspect_file
from storage import repo

SOFFICE = soffice_path()
needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) not installed")
CST = timezone(timedelta(hours=8))
STUDIO = g.Studio(unit="正定县总工会", leader="张三", gender="男", applicant="正定县某某机械厂", seed=7)
NARRATIVE_CHARS = 1500


def _narrative_docx() -> bytes:
    return g.narrative_docx(STUDIO.name, NARRATIVE_CHARS, STUDIO.seed, table_chars=200)


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """narrative.doc and form.doc, written by LibreOffice from samplegen's DOCX (and the DOCX beside them)."""
    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) not installed")
    folder = tmp_path_factory.mktemp("legacy")
    (folder / "narrative.docx").write_bytes(_narrative_docx())
    (folder / "form.docx").write_bytes(STUDIO.form())
    # Through ODT: LibreOffice 7.4 writes a DOCX's tables to .doc so that it cannot read them back as tables
    # (cell marks without table properties); from ODT its .doc keeps them, as Word's own .doc files do.
    for target, sources in (("odt", ("narrative.docx", "form.docx")), ("doc", ("narrative.odt", "form.odt"))):
        subprocess.run([SOFFICE, "--headless", "--norestore", "--nologo", "--nolockcheck",
                        f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--convert-to", target,
                        "--outdir", str(folder), *(str(folder / name) for name in sources)],
                       check=True, capture_output=True, timeout=180, env={**os.environ, "HOME": str(folder)})
    for name in ("narrative.doc", "form.doc"):
        assert sniff_file(folder / name) == "doc"
    return {"narrative.doc": folder / "narrative.doc", "form.doc": folder / "form.doc",
            "narrative.docx": folder / "narrative.docx", "form.docx": folder / "form.docx"}


@pytest.fixture
def base(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A lock, profile and work folder of this test run's own, not the machine's shared one."""
    folder = tmp_path_factory.getbasetemp() / "soffice-base"
    folder.mkdir(mode=0o700, exist_ok=True)
    monkeypatch.setattr(convert, "_base_dir", lambda: folder)
    return folder


def _soffice_processes(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if marker in cmdline and state != "Z":
                found.append(int(entry.name))
    return found


@needs_soffice
def test_doc_round_trips_text_and_tables(legacy: dict[str, Path], base: Path, tmp_path: Path) -> None:
    out = convert_to_docx(legacy["narrative.doc"], tmp_path)
    assert out == tmp_path / "narrative.doc.converted.docx" and sniff_file(out) == "docx"
    original = count_words(read_docx_text(legacy["narrative.docx"]).text)
    converted = count_words(read_docx_text(out).text)
    assert original.low >= NARRATIVE_CHARS * 0.95
    assert abs(converted.low - original.low) <= original.low * 0.02
    assert read_docx_tables(out) == read_docx_tables(legacy["narrative.docx"])


@needs_soffice
def test_form_doc_keeps_its_table_cells(legacy: dict[str, Path], base: Path, tmp_path: Path) -> None:
    out = convert_to_docx(legacy["form.doc"], tmp_path)
    cells = {cell for table in read_docx_tables(out) for row in table for cell in row}
    for wanted in ("工作室名称", STUDIO.name, "成立时间", g.FOUNDED, STUDIO.profile.name, "市总工会意见"):
        assert wanted in cells


@needs_soffice
def test_wps_with_a_chinese_name_and_spaces(legacy: dict[str, Path], base: Path, tmp_path: Path) -> None:
    wps = tmp_path / "in" / "（2）张三 创新工作室 事迹材料 -- 终稿 $(x).wps"
    wps.parent.mkdir()
    wps.write_bytes(legacy["narrative.doc"].read_bytes())
    out = convert_to_docx(wps, tmp_path / "out")
    assert out.name == wps.name + ".converted.docx"
    assert count_words(read_docx_text(out).text).low >= NARRATIVE_CHARS * 0.95


@needs_soffice
def test_inspect_file_reads_a_doc_and_keeps_its_format(legacy: dict[str, Path], base: Path, tmp_path: Path) -> None:
    path = tmp_path / "事迹材料.doc"
    path.write_bytes(legacy["narrative.doc"].read_bytes())
    facts = inspect_file("（2）张三创新工作室事迹材料.doc", path, path.stat().st_size)
    assert facts.format == "doc" and facts.problem == ""
    assert facts.words is not None and facts.words.low >= NARRATIVE_CHARS * 0.95
    assert facts.converted == tmp_path / "事迹材料.doc.converted.docx" and facts.converted.is_file()


@needs_soffice
def test_corrupt_doc_is_unreadable_quickly(base: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.doc"
    bad.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(30000))
    started = time.monotonic()
    with pytest.raises(DocumentUnreadable, match="legacy word: conversion failed"):
        convert_to_docx(bad, tmp_path)
    assert time.monotonic() - started < 30
    facts = inspect_file("事迹材料.doc", bad, bad.stat().st_size)  # sniffed "ole": damaged, never converted
    assert facts.problem and facts.converted is None and facts.words is None


@needs_soffice
def test_damaged_word_stream_fails_or_converts_but_never_hangs(legacy: dict[str, Path], base: Path,
                                                                tmp_path: Path) -> None:
    data = bytearray(legacy["narrative.doc"].read_bytes())
    data[2048:6144] = os.urandom(4096)  # inside the WordDocument stream: the directory stays intact
    bad = tmp_path / "damaged.doc"
    bad.write_bytes(bytes(data))
    started = time.monotonic()
    try:
        out = convert_to_docx(bad, tmp_path, timeout=60)
    except DocumentUnreadable as exc:
        assert "legacy word" in str(exc)
    else:
        assert sniff_file(out) == "docx"
    assert time.monotonic() - started < 70


@needs_soffice
def test_timeout_kills_every_soffice_process(legacy: dict[str, Path], base: Path, tmp_path: Path) -> None:
    with pytest.raises(DocumentUnreadable, match="legacy word: conversion timed out"):
        convert_to_docx(legacy["narrative.doc"], tmp_path, timeout=0.001)
    deadline = time.monotonic() + 5
    while _soffice_processes(str(base)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _soffice_processes(str(base)) == []
    assert not list(tmp_path.iterdir()) and [p.name for p in base.iterdir() if p.name.startswith("work-")] == []
    # The next conversion still works (the killed instance's profile was thrown away).
    assert sniff_file(convert_to_docx(legacy["narrative.doc"], tmp_path)) == "docx"


@needs_soffice
def test_conversions_wait_for_the_machine_lock(legacy: dict[str, Path], base: Path, tmp_path: Path) -> None:
    results: dict[str, Path | BaseException] = {}

    def run(name: str) -> None:
        try:
            results[name] = convert_to_docx(legacy[name], tmp_path / name)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            results[name] = exc

    fd = os.open(base / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process converting
    threads = [threading.Thread(target=run, args=(n,)) for n in ("narrative.doc", "form.doc")]
    for t in threads:
        t.start()
    time.sleep(1.5)
    assert results == {} and _soffice_processes(str(base)) == []  # both wait; none started LibreOffice
    os.close(fd)
    for t in threads:
        t.join(180)
    assert all(isinstance(r, Path) and sniff_file(r) == "docx" for r in results.values()), results
    assert len(results) == 2


def test_without_libreoffice_legacy_word_stays_unreadable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(convert.shutil, "which", lambda name: None)
    doc = tmp_path / "a.doc"
    doc.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600) + "WordDocument\x00".encode("utf-16-le"))
    assert soffice_path() is None and sniff_file(doc) == "doc"
    with pytest.raises(DocumentUnreadable, match="legacy word: LibreOffice not installed"):
        convert_to_docx(doc, tmp_path)
    facts = inspect_file("事迹材料.doc", doc, doc.stat().st_size)
    assert facts.problem == "旧版Word（.doc/.wps）格式" and facts.converted is None and facts.words is None


@needs_soffice
def test_a_zip_with_the_narrative_as_doc_is_counted(legacy: dict[str, Path], config, app, tmp_path: Path) -> None:
    files = [(name.replace("事迹材料.docx", "事迹材料.doc"), legacy["narrative.doc"].read_bytes())
             if name.endswith("事迹材料.docx") else (name, data) for name, data in g.materials(STUDIO)]
    assert any(name.endswith("事迹材料.doc") for name, _ in files)
    received = datetime(2025, 5, 26, 10, 0, tzinfo=CST)
    raw = g.eml(subject=STUDIO.subject, from_name="正定县总工会", from_addr="zdxzgh@126.com", date=received,
                received=received, message_id="<doc1@zdxzgh.126.com>", body_text="您好，附件为入库材料，请查收。",
                attachments=[g.Attachment(STUDIO.subject + ".zip", g.zip_bytes(g.with_dirs(files)))])
    mail = tmp_path / "mail"
    mail.mkdir()
    (mail / "doc.eml").write_bytes(raw)
    result = CliRunner().invoke(main, ["ingest", "--config", str(config.path), str(mail)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with app.sessions() as session:  # the judging ran in the sandbox's child, LibreOffice under its rlimits
        (sub,) = repo.submissions(session)
        codes = {f.code for f in sub.findings}
        assert "UNREADABLE_DOCUMENT" not in codes and "NARRATIVE_TOO_SHORT" not in codes, codes
        expected = count_words(read_docx_text(legacy["narrative.docx"]).text).low  # body 1500 + table 200
        assert abs(sub.fields["narrative_char_count"] - expected) <= expected * 0.02
        assert sub.fields["narrative_file"].endswith("事迹材料.doc")


@needs_soffice
def test_a_stray_instance_on_the_profile_is_killed_first(legacy: dict[str, Path], base: Path, tmp_path: Path) -> None:
    # What a converter killed from outside leaves behind: a process still holding the shared profile.
    stray = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)",
                              f"-env:UserInstallation={(base / 'profile').as_uri()}"])
    # Popen returns once exec has begun; /proc/PID/cmdline stays empty until the kernel has set up the new
    # image's arguments. A real stray has run for a while; wait until this one shows its command line.
    deadline = time.monotonic() + 10
    while b"UserInstallation" not in Path(f"/proc/{stray.pid}/cmdline").read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        assert sniff_file(convert_to_docx(legacy["narrative.doc"], tmp_path)) == "docx"
        assert stray.wait(5) == -9
    finally:
        stray.kill()
        stray.wait()


# soffice's own environment, then its parent's, as the conversion started it (issue 14, item 14).
_ENV_WRAPPER = """#!/bin/sh
{{ env; echo "--- parent"; tr '\\0' '\\n' < /proc/$PPID/environ; }} >> {dump}
exec {real} "$@"
"""


@needs_soffice
def test_soffice_sees_only_the_allow_list_not_our_secrets(legacy: dict[str, Path], base: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrapper first in PATH reports soffice's environment, then runs the real one: the conversion works, and
    none of the service's passwords nor any other variable of ours reaches the program parsing the .doc."""
    secrets = {"INTAKE_IMAP_PASSWORD": "imap-Secret-9a", "INTAKE_SMTP_PASSWORD": "smtp-Secret-9b",
               "INTAKE_DB_PASSWORD": "db-Secret-9c", "SOME_OTHER_SETTING": "other-9d"}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    fake, dump = tmp_path / "bin", tmp_path / "soffice.env"
    fake.mkdir()
    (fake / "soffice").write_text(_ENV_WRAPPER.format(dump=dump, real=SOFFICE), encoding="utf-8")
    (fake / "soffice").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    out = convert_to_docx(legacy["narrative.doc"], tmp_path / "out")
    assert sniff_file(out) == "docx"
    own = dump.read_text(encoding="utf-8").split("--- parent")[0]
    names = {line.split("=", 1)[0] for line in own.splitlines() if "=" in line}
    assert names <= {"PATH", "TMPDIR", "TZ", "LANG", "LC_ALL", "HOME", "SAL_USE_VCLPLUGIN", "PWD", "SHLVL", "_",
                     "OLDPWD"}, names
    assert f"HOME={base}" in own and "SAL_USE_VCLPLUGIN=svp" in own
    assert not any(value in own for value in secrets.values())
