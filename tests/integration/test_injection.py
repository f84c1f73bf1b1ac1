"""Hostile text at every output (issue 14, items 11–13): subjects, sender names, form fields, archive file
names, finding messages and server replies that hold formulas, control characters, ESC sequences and bidi
overrides are written into the report workbook (every sheet), the HTML and text report mail, the 汇总表 as
XLSX and DOCX, and printed by the staff commands, without a formula, a crash or a raw control character.

The values are put straight into the database of a real ingest, so each output is tested on its own:
the mail decoder's cleaning (pipeline/mail/decode.py) is not what makes these pass, and form fields and archive
names never pass through it anyway.
"""

from __future__ import annotations

import email
import io
import json
import logging
from collections.abc import Iterator
from email.policy import default
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document as WordDocument
from openpyxl import load_workbook
from sqlalchemy import select

from helpers import REPO
from pipeline.bootstrap import build_app
from pipeline.cli.main import TerminalSafeFormatter, guard_log_handlers, main
from pipeline.config import load_config
from storage.models import Document, FindingRow, Submission

SAMPLES = REPO / "sample_mail"
FORMULA_SUBJECT = '=HYPERLINK("http://evil","x")'
FORMULA_FIELD = "=cmd|' /C calc'!A0"
# Colours, an OSC 52 clipboard write, an OSC 8 link, a C1 CSI clearing the screen, a bidi override, BEL.
CONTROL_SUBJECT = ("申报\x01\x1b[31m红\x1b[0m\x1b]52;c;ZXZpbA==\x07\x1b]8;;http://evil\x1b\\链接\x1b]8;;\x1b\\"
                   "\x9b2J\u202eexe.pdf")
RAW_CONTROLS = ("\x00", "\x01", "\x07", "\x1b", "\x7f", "\x9b", "\u202e")
# What every sender-side field of the accepted studio holds (form values, as read from a hostile DOCX).
HOSTILE_FIELDS = {
    "leader_name": FORMULA_FIELD, "leader_post": "@SUM(1+1)*cmd|' /C calc'!A0", "industry": "+1+1",
    "leader_specialty": "-2+3", "innovation_field": "\t=1+1", "leader_honour": "\r=2+2",
    "applicant_unit": "单位\x1b[31m\x01\u202e", "leader_title": "＝1+1",
}


def _run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result.stdout


@pytest.fixture
def hostile(config) -> Iterator[dict[str, int]]:
    """An accepted studio and an ignored message, ingested for real, then given hostile text everywhere."""
    cfg = str(config.path)
    _run("ingest", "--config", cfg, str(SAMPLES / "01-accepted-zip-gbk.eml"), str(SAMPLES / "26-unrelated.eml"))
    app = build_app(load_config(config.path))
    with app.sessions() as session:
        subs = list(session.scalars(select(Submission).order_by(Submission.id)))
        ids = {s.verdict: s.id for s in subs}
        assert set(ids) == {"accepted", "ignored"}
        accepted, ignored = (next(s for s in subs if s.verdict == v) for v in ("accepted", "ignored"))
        accepted.message.subject = FORMULA_SUBJECT
        accepted.message.from_addr = f"{FORMULA_FIELD} <a@example.cn>"
        accepted.fields = {**(accepted.fields or {}), **HOSTILE_FIELDS}
        accepted.findings.append(FindingRow(code="SUMMARY_MISMATCH", severity="review",
                                            message=f"汇总表写的是“{FORMULA_FIELD}”，申报表写的是“{CONTROL_SUBJECT}”",
                                            file="汇总表\x1b[8m.xlsx"))
        accepted.documents.append(Document(role="other", name="证书\x1b]8;;http://evil\x07\u202egpj.exe", format="jpg",
                                           size=1))
        for reply in accepted.replies:
            reply.subject, reply.status, reply.last_error = f"Re: {CONTROL_SUBJECT}", "failed", "554 \x1b[2J\x9b2J"
        ignored.message.subject = CONTROL_SUBJECT
        ignored.message.from_addr = "=1+1\x1b[31m <b@example.cn>"
        session.commit()
    yield ids


def _no_raw_controls(text: str) -> None:
    found = [repr(c) for c in RAW_CONTROLS if c in text]
    assert not found, f"raw control characters {found} in the output"


# --- workbooks and documents ---------------------------------------------------------------------------


def _text_cells(path: Path) -> list:
    """Every cell of every sheet, each checked: no formula, every str a string cell."""
    book = load_workbook(path)
    cells = [cell for ws in book.worksheets for row in ws.iter_rows() for cell in row if cell.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "a formula from outside data"
    assert all(c.data_type == "s" for c in cells if isinstance(c.value, str))
    for cell in cells:
        if isinstance(cell.value, str):
            _no_raw_controls(cell.value)
    return cells


def test_the_report_workbook_holds_outside_text_as_strings_on_every_sheet(config, hostile, tmp_path: Path) -> None:
    lines = _run("report", "--config", str(config.path), "--out", str(tmp_path)).splitlines()
    xlsx = Path(lines[1].split("：", 1)[1])
    _text_cells(xlsx)  # before: IllegalCharacterError for the control subject, every run
    book = load_workbook(xlsx)
    for sheet, sub_id, subject in (("已受理", hostile["accepted"], FORMULA_SUBJECT), ("已忽略", hostile["ignored"], None)):
        ws = book[sheet]
        header = [c.value for c in ws[1]]
        [row] = [r for r in ws.iter_rows(min_row=2) if r[0].value == sub_id]
        assert row[0].data_type == "n"  # the project's own numbers stay numbers
        cell = row[header.index("主题")]
        if subject is not None:
            assert cell.value == subject and cell.data_type == "s" and cell.quotePrefix  # shown as written
        else:
            assert cell.value.startswith("申报") and "红" in cell.value and "\\u202e" in cell.value
        assert row[header.index("发件人")].data_type == "s" and row[header.index("发件人")].quotePrefix
    accepted = next(r for r in book["已受理"].iter_rows(min_row=2) if r[0].value == hostile["accepted"])
    header = [c.value for c in book["已受理"][1]]
    assert accepted[header.index("带头人")].value == FORMULA_FIELD
    assert isinstance(accepted[header.index("成员数")].value, int)


def test_the_report_page_and_mail_carry_no_control_characters(config, hostile, tmp_path: Path) -> None:
    _run("report", "--config", str(config.path), "--out", str(tmp_path), "--send")
    html = next(tmp_path.glob("report-*.html")).read_text(encoding="utf-8")
    _no_raw_controls(html)
    assert "=HYPERLINK(&#34;http://evil&#34;,&#34;x&#34;)" in html and "\\u202eexe.pdf" in html
    [eml] = list(config.smtp.outbox_dir.glob("report-*.eml"))
    msg = email.message_from_bytes(eml.read_bytes(), policy=default)
    for part in ("plain", "html"):
        _no_raw_controls(msg.get_body((part,)).get_content())
    assert "申报" in msg.get_body(("plain",)).get_content()


def test_the_summary_table_xlsx_keeps_form_values_as_text_and_numbers_as_numbers(config, hostile,
                                                                                  tmp_path: Path) -> None:
    out = tmp_path / "汇总表.xlsx"
    _run("export", "summary", "--config", str(config.path), "--out", str(out))
    _text_cells(out)
    ws = load_workbook(out).active
    header = [c.value for c in ws[2]]
    [row] = list(ws.iter_rows(min_row=3))
    by = dict(zip(header, row))
    for column, value in (("带头人姓名", FORMULA_FIELD), ("职务", HOSTILE_FIELDS["leader_post"]),
                          ("所属行业", "+1+1"), ("主要技术特长", "-2+3"), ("技术等级/职称", "＝1+1")):
        assert by[column].value == value and by[column].data_type == "s" and by[column].quotePrefix, column
    assert by["专业领域"].value == "\t=1+1" and by["曾获最高荣誉"].value == "\r=2+2"
    assert by["申报单位"].value == "单位[31m\\u202e"
    assert by["序号"].value == 1 and by["序号"].data_type == "n"
    assert by["成员人数"].data_type == "n" and by["年龄"].data_type in ("n", None)


def test_the_summary_table_docx_is_written_despite_control_characters(config, hostile, tmp_path: Path) -> None:
    out = tmp_path / "汇总表.docx"
    _run("export", "summary", "--config", str(config.path), "--out", str(out), "--format", "docx")
    [table] = WordDocument(str(out)).tables
    cells = [cell.text for row in table.rows for cell in row.cells]
    for text in cells:
        _no_raw_controls(text)
    assert FORMULA_FIELD in cells and "单位[31m\\u202e" in cells


# --- the terminal --------------------------------------------------------------------------------------


def test_the_listing_shows_control_characters_and_never_prints_them(config, hostile) -> None:
    out = _run("submissions", "--config", str(config.path))
    _no_raw_controls(out)
    assert "申报\\x01\\x1b[31m红" in out
    assert len(out.splitlines()) == 3  # header and two rows: nothing in a subject breaks a row


def test_show_prints_every_outside_value_with_visible_controls(config, hostile) -> None:
    for sub_id in hostile.values():
        out = _run("show", str(sub_id), "--config", str(config.path))
        _no_raw_controls(out)
    out = _run("show", str(hostile["accepted"]), "--config", str(config.path))
    assert "\\x1b]8;;http://evil\\x07\\u202egpj.exe" in out  # the archive's file name
    assert "汇总表\\x1b[8m.xlsx" in out and "554 \\x1b[2J\\x9b2J" in out
    assert "\\r=2+2" in out and "\\t=1+1" in out


def test_outbox_shows_subjects_and_server_errors_with_visible_controls(config, hostile) -> None:
    out = _run("outbox", "--config", str(config.path))
    _no_raw_controls(out)
    assert "Re: 申报\\x01\\x1b[31m红" in out and "554 \\x1b[2J\\x9b2J" in out


def test_json_escapes_c1_and_bidi_controls_too_and_keeps_the_values(config, hostile) -> None:
    out = _run("submissions", "--config", str(config.path), "--json")
    _no_raw_controls(out)  # json.dumps(ensure_ascii=False) alone leaves \x9b and U+202E raw
    rows = {r["id"]: r for r in json.loads(out)}
    assert rows[hostile["ignored"]]["subject"] == CONTROL_SUBJECT
    assert rows[hostile["accepted"]]["fields"]["applicant_unit"] == HOSTILE_FIELDS["applicant_unit"]


def test_open_lists_archive_file_names_with_visible_controls(config, hostile) -> None:
    sub_id = str(hostile["accepted"])
    folder = Path(json.loads(_run("open", sub_id, "--config", str(config.path), "--json"))["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    name = "证书\x1b]52;c;ZXZpbA==\x07\u202egpj.exe"
    (folder / name).write_bytes(b"x")
    (folder / b"\xff\x9b2J.jpg".decode("utf-8", "surrogateescape")).write_bytes(b"y")  # not UTF-8 at all
    out = _run("open", sub_id, "--config", str(config.path))
    _no_raw_controls(out)
    assert "证书\\x1b]52;c;ZXZpbA==\\x07\\u202egpj.exe" in out and "\\udcff\\udc9b2J.jpg" in out
    listing = _run("open", sub_id, "--config", str(config.path), "--json")
    _no_raw_controls(listing)
    assert name in [f["path"] for f in json.loads(listing)["files"]]


def test_log_lines_on_stderr_show_control_characters() -> None:
    """What `intake` does to the root logger's stream handler (basicConfig, or the service's JournalFormatter)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    log = logging.getLogger("test_injection.terminal")
    try:
        guard_log_handlers()
        assert isinstance(handler.formatter, TerminalSafeFormatter)
        log.warning("subject %s", CONTROL_SUBJECT)
        try:
            raise ValueError(f"bad name {CONTROL_SUBJECT}\nsecond line")
        except ValueError:
            log.exception("failed on %r", "x\x1b[2J")
    finally:
        root.removeHandler(handler)
    text = stream.getvalue()
    _no_raw_controls(text)
    assert "WARNING test_injection.terminal: subject 申报\\x01\\x1b[31m红" in text
    assert "Traceback (most recent call last):\n" in text  # a traceback keeps its lines
