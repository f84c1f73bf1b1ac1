"""pipeline/textsafe.py: one function per medium, each tested on the characters that break that medium."""

from __future__ import annotations

import json

import pytest

from pipeline.textsafe import (
    EXCEL_CELL_LIMIT,
    cell_text,
    document_text,
    file_name_text,
    formula_like,
    json_text,
    terminal_text,
    xml_text,
)

# Every class of character that must not reach a terminal raw: C0 (NUL, BEL, ESC), DEL, C1 (CSI), bidi
# override and isolate, the line separator, and a lone surrogate (a byte of a non-UTF-8 file name).
TERMINAL_HOSTILE = "\x00\x07\x1b[2J\x7f\x9b31m\u202e\u2066\u2028\udcff"


def test_xml_text_keeps_only_what_xml_holds() -> None:
    assert xml_text("申报\x00\x01\x08\x0b\x0c\x1b\x1f\x7f\x85\x9b表\ufffe\uffff") == "申报表"
    assert xml_text("行一\n行二\t列\r") == "行一\n行二\t列\r"  # the three XML keeps
    assert xml_text("名\udcff字") == "名\ufffd字"  # something was there: shown as the replacement character


def test_document_text_shows_bidi_controls() -> None:
    assert document_text("申报表\u202excod.exe\x1b") == "申报表\\u202excod.exe"
    assert document_text("\u2066a\u2069\u200f") == "\\u2066a\\u2069\\u200f"


def test_cell_text_fits_excel_counting_utf16_units() -> None:
    short = "正常的主题"
    assert cell_text(short) == short
    cut = cell_text("字" * (EXCEL_CELL_LIMIT + 10))
    assert len(cut) <= EXCEL_CELL_LIMIT and cut.endswith("（已截断）")
    astral = cell_text("😀" * EXCEL_CELL_LIMIT)  # two UTF-16 units each
    assert sum(2 if ord(c) > 0xFFFF else 1 for c in astral) <= EXCEL_CELL_LIMIT and astral.endswith("（已截断）")
    exact = "a" * EXCEL_CELL_LIMIT
    assert cell_text(exact) == exact


@pytest.mark.parametrize("text", ['=HYPERLINK("http://evil","x")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)",
                                  "\t=1", "\r=1", "＝1+1"])
def test_formula_starts(text: str) -> None:
    assert formula_like(text)


@pytest.mark.parametrize("text", ["张三", "13812345678", " =1", "2019年3月", ""])
def test_plain_text_is_not_formula_like(text: str) -> None:
    assert not formula_like(text)


def test_terminal_text_shows_every_control_and_keeps_only_what_it_is_told() -> None:
    shown = terminal_text(TERMINAL_HOSTILE + "\t\n")
    assert shown == "\\x00\\x07\\x1b[2J\\x7f\\x9b31m\\u202e\\u2066\\u2028\\udcff\\t\\n"
    assert shown.isprintable() and shown.encode("utf-8")
    assert terminal_text("第一行\n第二行\x1b", keep="\n") == "第一行\n第二行\\x1b"
    assert terminal_text("正常文字 ok") == "正常文字 ok"


def test_json_text_escapes_what_json_leaves_raw_and_decodes_to_the_same_value() -> None:
    value = {"subject": TERMINAL_HOSTILE, "name": "张三"}
    raw = json.dumps(value, ensure_ascii=False)
    assert "\x9b" in raw and "\u202e" in raw  # json.dumps itself leaves C1 and bidi controls raw
    safe = json_text(raw)
    assert safe.isprintable() and "张三" in safe
    assert json.loads(safe) == value


@pytest.mark.parametrize(("name", "offered"), [
    ("（2）佐证材料/3-1 证书.jpg", "3-1 证书.jpg"),
    ("a\x01b\x7f\nc\r.txt", "a_b__c_.txt"),               # a newline in a header value splits or is refused
    ("evil\r\nSet-Cookie: x=1.pdf", "evil__Set-Cookie: x=1.pdf"),
    ("..\\..\\boot.ini", "boot.ini"),
    ("3-1 照片\u202egpj.exe", "3-1 照片_gpj.exe"),          # shown as it is stored, not reversed
    ("...", "file"),
])
def test_a_download_is_offered_under_a_plain_last_name(name: str, offered: str) -> None:
    assert file_name_text(name) == offered
