"""normalize_name, split_ext, strip_copy_suffix and evidence_number on the names clerks send."""

from __future__ import annotations

import pytest

from parsers.names import evidence_number, normalize_name, split_ext, strip_copy_suffix


@pytest.mark.parametrize("raw", [
    "（1）申报书", "(1)申报书", "[1]申报书", "【1】申报书", "1.申报书", "1．申报书", "1、申报书",
    "1）申报书", "①申报书", "⑴申报书", "⒈申报书", "一、申报书", "（一）申报书", "  2 、 申报书",
    "《申报书》", "“申报书”", "「申报书」", "申 报\u3000书", "\u200b申报\ufeff书",
])
def test_prefixes_quotes_and_spaces_go(raw: str) -> None:
    assert normalize_name(raw) == "申报书"


@pytest.mark.parametrize("raw, expected", [
    ("ＡＢＣ工作室：２０２４", "abc工作室:2024"),          # full-width letters, digits, colon
    ("（张三）劳模创新工作室", "(张三)劳模创新工作室"),    # brackets kept, just half-width
    ("3-1佐证材料", "3-1佐证材料"),                      # evidence numbers survive
    ("（3-1）佐证材料", "(3-1)佐证材料"),
    ("2024.5总结", "2024.5总结"),                        # a decimal is not "1." list prefix
    ("1. 2023年度总结", "2023年度总结"),                  # but "1. " before a number is
    ("十佳工作室", "十佳工作室"),                         # Chinese numerals only with 、 or brackets
    ("一线创新工作室", "一线创新工作室"),
    ("1.", "1."),                                       # nothing left: keep the number
    ("Hello World", "helloworld"),
])
def test_normalize_name(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


def test_normalize_is_idempotent() -> None:
    once = normalize_name("（一）《ＸＸ市 “工匠” 创新工作室》申报书")
    assert once == "xx市工匠创新工作室申报书"
    assert normalize_name(once) == once


@pytest.mark.parametrize("name, expected", [
    ("申报书.DOCX", ("申报书", ".docx")),
    ("a.b.c.pdf", ("a.b.c", ".pdf")),
    ("材料.tar.gz", ("材料.tar", ".gz")),
    ("照片.7z", ("照片", ".7z")),
    ("README", ("README", "")),
    (".hidden", (".hidden", "")),
    ("佐证3.1", ("佐证3.1", "")),            # digits only: not an extension
    ("报告 v1.2 最终", ("报告 v1.2 最终", "")),
    ("name.", ("name.", "")),
])
def test_split_ext(name: str, expected: tuple[str, str]) -> None:
    assert split_ext(name) == expected


@pytest.mark.parametrize("stem, expected", [
    ("申报书(1)", "申报书"), ("申报书 (2)", "申报书"), ("申报书（3）", "申报书"),
    ("申报书 - 副本", "申报书"), ("申报书 - Copy", "申报书"), ("申报书 - copy (2)", "申报书"),
    ("申报书 - 副本(1)", "申报书"),
    ("佐证材料3-1", "佐证材料3-1"), ("（3-1）", "（3-1）"), ("(1)", "(1)"), ("申报书_1", "申报书_1"),
])
def test_strip_copy_suffix(stem: str, expected: str) -> None:
    assert strip_copy_suffix(stem) == expected


@pytest.mark.parametrize("name, expected", [
    ("3-1.jpg", (3, 1)), ("3－2.jpg", (3, 2)), ("3_1.jpg", (3, 1)), ("3.1.jpg", (3, 1)),
    ("佐证材料3-12.jpg", (3, 12)), ("（3-1）照片.jpg", (3, 1)), ("3—5现场.png", (3, 5)),
    ("３－４.jpeg", (3, 4)), ("3 - 6 获奖证书.jpg", (3, 6)), ("材料-3-2.jpg", (3, 2)),
    ("3.jpg", None), ("2023-1.jpg", None), ("2023-3-1会议.jpg", None), ("13-1.jpg", None),
    ("V3.1.jpg", None), ("3-1234.jpg", None), ("照片.jpg", None), ("4-1.jpg", None),
])
def test_evidence_number(name: str, expected: tuple[int, int] | None) -> None:
    assert evidence_number(name) == expected


def test_evidence_number_other_major() -> None:
    assert evidence_number("附件4-2.jpg", major=4) == (4, 2)
    assert evidence_number("附件3-2.jpg", major=4) is None
