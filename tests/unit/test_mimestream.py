"""Splitting a message (pipeline/mail/base64runs.py), a stored one on disk (mimestream.split_file) or one in memory
(decode_message), gives what parsing the whole message gives (decode_unsplit)."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import samplegen as g
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import REPO
from helpers.hostile import MANIFEST, delivery
from pipeline.mail import decode
from pipeline.mail.decode import DecodedMail, decode_message, decode_unsplit
from pipeline.mail.mimestream import split_file

CST = timezone(timedelta(hours=8))
CORPUS = sorted(REPO.glob("sample_mail*/*.eml"))


def _materialised(mail: DecodedMail) -> DecodedMail:
    """The same mail with every file-backed attachment read back into `data`."""
    return replace(mail, attachments=tuple(replace(a, data=a.path.read_bytes() if a.path else a.data, path=None)
                                           for a in mail.attachments))


def _check(raw: bytes, tmp_path: Path, min_spill: int) -> DecodedMail:
    source = tmp_path / "message.eml"
    source.write_bytes(raw)
    split = split_file(source, tmp_path / "spill", min_spill=min_spill)
    whole = decode_unsplit(raw)
    assert [(a.filename, a.content_type, a.disposition, a.size) for a in split.attachments] == \
        [(a.filename, a.content_type, a.disposition, len(a.data)) for a in whole.attachments]
    assert _materialised(split) == whole
    with pytest.MonkeyPatch.context() as patch:  # split in memory, whatever the message's size
        patch.setattr(decode, "_SPLIT_ABOVE", 0)
        patch.setattr(decode, "_SPLIT_RUNS", min_spill)
        assert decode_message(raw) == whole
    return split


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sample_mail_splits_as_it_decodes(path: Path, tmp_path: Path) -> None:
    split = _check(path.read_bytes(), tmp_path, min_spill=64)
    # Every big attachment is on disk (the corpus sends them base64; its bodies are small and stay text).
    assert all(a.path is not None for a in split.attachments if a.size > 4096)


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_hostile_corpus_splits_as_it_decodes(name: str, tmp_path: Path) -> None:
    _check(delivery(name), tmp_path, min_spill=64)


def test_large_attachment_is_spilled_not_held(tmp_path: Path) -> None:
    data = bytes(range(256)) * 8192 + b"tail"  # 2 MiB + 4, not a multiple of 3: padding on the last line
    when = datetime(2025, 5, 26, 10, 0, tzinfo=CST)
    raw = g.eml(subject="正定县总工会张三创新工作室入库材料", from_name="正定县总工会", from_addr="zdxzgh@126.com",
                date=when, received=when, message_id="<big@x>", body_text="附件为入库材料，请查收。",
                attachments=[g.Attachment("正定县总工会张三创新工作室入库材料.zip", data),
                             g.Attachment("说明.txt", "小附件".encode())])
    split = _check(raw, tmp_path, min_spill=64 * 1024)
    big, small = split.attachments
    assert big.path is not None and big.data == b"" and big.path.read_bytes() == data and big.head(4) == data[:4]
    assert small.path is None and small.data == "小附件".encode()


def test_base64_text_that_is_not_an_attachment_falls_back_to_memory(tmp_path: Path) -> None:
    body = base64.encodebytes(b"x" * 300_000).replace(b"\n", b"\r\n")
    raw = (b"From: a@b.cn\r\nSubject: t\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n" + body)
    split = _check(raw, tmp_path, min_spill=1024)
    assert split.text_body.startswith("eHh4")  # the 7bit body stays text: the run was put back
    assert not (tmp_path / "spill").exists()


def test_golden_corpus_streamed_end_to_end_gets_its_expected_verdicts(app, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every sample as a "large" message: raw store written from the file, attachments decoded to disk."""
    import shutil as _shutil

    from pipeline.intake import batch
    from pipeline.intake import judge as intake
    from pipeline.mail.sources import in_receipt_order
    from storage import repo

    if not (_shutil.which("unar") or _shutil.which("bsdtar")):
        pytest.skip("unar/bsdtar not installed: the RAR samples cannot be read (CI installs them)")
    monkeypatch.setattr(batch, "STREAM_THRESHOLD", 0)
    monkeypatch.setattr(intake, "STREAM_THRESHOLD", 0)
    samples = REPO / "sample_mail"
    expected = json.loads((samples / "expected.json").read_text(encoding="utf-8"))
    got = {}
    for path in in_receipt_order(sorted(samples.glob("*.eml"))):
        message, is_new = batch.record_file(app, path)
        assert is_new
        result = intake.process_in_process(app, message.id, notify=True)
        with app.sessions() as session:
            (sub,) = [s for s in repo.submissions(session) if s.id == result.submission_id]
            got[path.name] = {"verdict": sub.verdict, "codes": sorted({f.code for f in sub.findings})}
    assert got == expected
    assert not list(app.files_root.glob("*/*.spill"))  # every spilled file was moved or removed


def _attachment_mail(body: bytes) -> bytes:
    """A message whose one attachment has `body` as its base64 transfer-encoded lines, exactly as given."""
    return (b"From: a@b.cn\r\nSubject: t\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
            b"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n"
            b"--B\r\nContent-Type: application/zip; name=\"a.zip\"\r\nContent-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=\"a.zip\"\r\n\r\n" + body + b"\r\n--B--\r\n")


def _lines(data: bytes, width: int, ending: bytes) -> list[bytes]:
    text = base64.b64encode(data)
    return [text[i:i + width] + ending for i in range(0, len(text), width)]


_DATA = bytes(range(256)) * 2000 + b"xy"  # 512 002 bytes: padding on the last line


def _body(kind: str) -> bytes:
    """Base64 bodies that real or broken senders write, each around 700 KB (several uniform blocks)."""
    if kind == "crlf-76":
        return b"".join(_lines(_DATA, 76, b"\r\n"))
    if kind == "lf-76":
        return b"".join(_lines(_DATA, 76, b"\n"))
    if kind == "crlf-74":  # lines that are not whole quads: quads run across lines
        return b"".join(_lines(_DATA, 74, b"\r\n"))
    lines = _lines(_DATA, 76, b"\r\n")
    middle = len(lines) // 2
    if kind == "stray-dash":  # one character outside the alphabet in a line of the right length
        lines[middle] = lines[middle][:30] + b"-" + lines[middle][31:]
    elif kind == "equals-inside":  # padding in the middle (two bodies glued together)
        lines[middle] = lines[middle][:74] + b"==\r\n"
    elif kind == "mixed-endings":  # a stretch of bare LF lines inside CRLF ones
        lines[middle:middle + 50] = [line[:-2] + b"\n" for line in lines[middle:middle + 50]]
    elif kind == "cr-inside":  # a CR inside a line of the right length
        lines[middle] = lines[middle][:40] + b"\r" + lines[middle][41:]
    elif kind == "short-line":  # one line shorter than the rest
        lines[middle] = lines[middle][:40] + b"\r\n"
    elif kind == "blank-line":
        lines.insert(middle, b"\r\n")
    return b"".join(lines)


@pytest.mark.parametrize("kind", ["crlf-76", "lf-76", "crlf-74", "stray-dash", "equals-inside", "mixed-endings",
                                  "cr-inside", "short-line", "blank-line"])
def test_irregular_base64_bodies_split_as_they_decode(kind: str, tmp_path: Path) -> None:
    split = _check(_attachment_mail(_body(kind)), tmp_path, min_spill=64 * 1024)
    if kind in ("crlf-76", "lf-76", "crlf-74", "mixed-endings"):  # clean base64: decoded on disk, exactly
        (attachment,) = split.attachments
        assert attachment.path is not None and attachment.path.read_bytes() == _DATA


def _two_part_mail() -> list[bytes]:
    """A submission's lines: a text body, a base64 zip of ~24 KB and a base64 text part of ~6 KB."""
    zipped = bytes(range(256)) * 96 + b"end"
    body = (b"From: a@b.cn\r\nSubject: t\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
            b"--B\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + b"".join(_lines("正文".encode() * 1000, 76, b"\r\n"))
            + b"--B\r\nContent-Type: application/zip; name=\"a.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + b"".join(_lines(zipped, 76, b"\r\n")) + b"--B--\r\n")
    return body.splitlines(keepends=True)


def _edit_lines(lines: list[bytes], edits: list[tuple[str, int, int]]) -> bytes:
    """Line-level damage as senders and gateways do it: lines dropped, doubled, cut, joined, re-ended, dirtied."""
    lines = list(lines)
    for op, position, value in edits:
        i = position % len(lines)
        if op == "drop":
            del lines[i]
        elif op == "double":
            lines.insert(i, lines[i])
        elif op == "cut":
            lines[i] = lines[i][:value % 80] + b"\r\n"
        elif op == "join" and i + 1 < len(lines):
            lines[i:i + 2] = [lines[i].rstrip(b"\r\n") + lines[i + 1]]
        elif op == "lf":
            lines[i] = lines[i].rstrip(b"\r\n") + b"\n"
        elif op == "dirt":
            lines[i] = lines[i][:value % 60] + bytes([value]) + lines[i][value % 60:]
        elif op == "swap":  # one byte for another: the line keeps its length
            lines[i] = lines[i][:value % 60] + bytes([value]) + lines[i][value % 60 + 1:]
        if not lines:
            break
    return b"".join(lines)


_EDITS = st.lists(st.tuples(st.sampled_from(["drop", "double", "cut", "join", "lf", "dirt", "swap"]),
                            st.integers(0, 10_000), st.integers(0, 255)), max_size=8)


@settings(derandomize=True, deadline=None, database=None, max_examples=300)
@given(edits=_EDITS, runs=st.sampled_from([64, 1024, 8 * 1024]))
def test_damaged_base64_splits_in_memory_as_it_decodes(edits: list[tuple[str, int, int]], runs: int) -> None:
    raw = _edit_lines(_two_part_mail(), edits)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(decode, "_SPLIT_ABOVE", 0)
        patch.setattr(decode, "_SPLIT_RUNS", runs)
        assert decode_message(raw) == decode_unsplit(raw)
