"""Tests for scripts/formgen.py: the messy 申报表 generator itself (not the parser it measures)."""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import docx
import pytest
from lxml import etree

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import formgen  # noqa: E402 - after the scripts folder is on sys.path

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
VERBATIM = ("applicant_unit", "studio_name", "industry", "leader_name", "leader_education", "leader_title",
            "leader_post", "leader_specialty", "leader_honour", "area", "location", "innovation_field",
            "benefits", "talent_training")
DIGEST = ("import hashlib, formgen; print(hashlib.sha256(b''.join(c.docx for c in formgen.messy_forms())).hexdigest())")


@pytest.fixture(scope="module")
def cases() -> list[formgen.FormCase]:
    return formgen.messy_forms()


def _digest(cases: list[formgen.FormCase]) -> str:
    return hashlib.sha256(b"".join(c.docx for c in cases)).hexdigest()


def _root(case: formgen.FormCase) -> etree._Element:
    with zipfile.ZipFile(io.BytesIO(case.docx)) as zf:
        return etree.fromstring(zf.read("word/document.xml"))


def _paragraph_texts(root: etree._Element) -> list[str]:
    """Visible text of every paragraph (text boxes included, deleted text and the VML fallback excluded)."""
    out = []
    for p in root.iter(f"{W}p"):
        if any(a.tag.endswith("Fallback") for a in p.iterancestors()):
            continue
        out.append("".join(t.text or "" for t in p.iter(f"{W}t")
                           if not any(a.tag == f"{W}del" for a in t.iterancestors())
                           and next(t.iterancestors(f"{W}p")) is p))
    return out


def test_deterministic(cases: list[formgen.FormCase]) -> None:
    again = formgen.messy_forms()
    assert [c.docx for c in again] == [c.docx for c in cases]
    assert [c.truth for c in again] == [c.truth for c in cases]
    assert _digest(formgen.messy_forms(seed=1, count=5)) != _digest(cases[:5])


def test_deterministic_across_hash_seeds(cases: list[formgen.FormCase]) -> None:
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO / "scripts")}
    out = subprocess.run([sys.executable, "-c", DIGEST], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == _digest(cases)


def test_every_variation_used_often(cases: list[formgen.FormCase]) -> None:
    counts = Counter(v for c in cases for v in c.truth["_variations"])  # type: ignore[union-attr]
    assert set(counts) == set(formgen.variation_names())
    assert min(counts.values()) >= 8, counts
    assert len({c.name for c in cases}) == len(cases)


def test_every_docx_opens(cases: list[formgen.FormCase]) -> None:
    for case in cases:
        document = docx.Document(io.BytesIO(case.docx))
        assert len(document.tables) == 1, case.name
        for row in document.tables[0].rows:
            assert row.cells  # grid spans and vertical merges resolve


def test_truth_shape(cases: list[formgen.FormCase]) -> None:
    keys = list(formgen.TRUTH_KEYS) + ["_blank", "_variations"]
    for case in cases:
        t = case.truth
        assert list(t) == keys, case.name
        for key in t["_blank"]:  # type: ignore[union-attr]
            assert t[key] in (None, []), (case.name, key)
        for key in ("established", "leader_birth"):
            assert t[key] is None or re.fullmatch(r"(19|20)\d\d-(0[1-9]|1[0-2])", t[key]), (case.name, t[key])
        assert t["leader_gender"] in (None, "男", "女")
        assert t["leader_phone"] is None or re.fullmatch(r"1\d{10}|0311-\d{8}", t["leader_phone"])
        assert t["member_count"] is None or type(t["member_count"]) is int
        assert t["funding_wan"] is None or type(t["funding_wan"]) in (int, float)
        assert not isinstance(t["funding_wan"], float) or not t["funding_wan"].is_integer()
        for member in t["members"]:  # type: ignore[union-attr]
            assert set(member) == {"name", "age", "education", "title", "post"}
            assert type(member["age"]) is int
        for result in t["innovation_results"]:  # type: ignore[union-attr]
            assert not re.match(r"^\s*(\d+[.、]|（\d+）)", result) and "可附页" not in result


def test_truth_is_in_the_document(cases: list[formgen.FormCase]) -> None:
    for case in cases:
        t = case.truth
        texts = _paragraph_texts(_root(case))
        blob = "\n".join(texts)
        for key in VERBATIM:
            if t[key] is not None:
                assert t[key] in blob, (case.name, key, t[key])
        for result in t["innovation_results"]:  # type: ignore[union-attr]
            assert result in blob, (case.name, result)
        for member in t["members"]:  # type: ignore[union-attr]
            assert member["name"] in texts, (case.name, member)
            assert str(member["age"]) in texts, (case.name, member)
        if t["member_count"] is not None:
            assert any(str(t["member_count"]) in x or formgen.CN_COUNTS[t["member_count"]] in x for x in texts)


def test_deleted_member_rows_are_not_truth(cases: list[formgen.FormCase]) -> None:
    seen = 0
    for case in cases:
        names = {m["name"] for m in case.truth["members"]}  # type: ignore[union-attr]
        for tr in _root(case).iter(f"{W}tr"):
            if tr.find(f"{W}trPr/{W}del") is not None:
                seen += 1
                cells = ["".join(x.text or "" for x in tc.iter(f"{W}t", f"{W}delText")) for tc in tr.iter(f"{W}tc")]
                assert cells[0] not in names, case.name
    assert seen >= 8


def test_variations_leave_their_marks(cases: list[formgen.FormCase]) -> None:
    marks = {
        "content_controls": f"{W}sdt", "tracked_changes": f"{W}ins", "textbox_unit": f"{W}txbxContent",
        "wide_merges": f"{W}vMerge",
    }
    for case in cases:
        root = _root(case)
        for variation, tag in marks.items():
            if variation in case.truth["_variations"]:  # type: ignore[operator]
                assert next(root.iter(tag), None) is not None, (case.name, variation)
        if "nested_member_table" in case.truth["_variations"]:  # type: ignore[operator]
            assert root.find(f".//{W}tc/{W}tbl") is not None, case.name
        if "deleted_rows" in case.truth["_variations"]:  # type: ignore[operator]
            assert case.truth["_blank"], case.name


def test_formatters() -> None:
    written = {formgen.format_date(2019, 3, s) for s in formgen.DATE_STYLES}
    assert written == {"2019年3月", "2019.3", "2019.03", "2019-03", "2019/3", "2019年03月", "二〇一九年三月",
                       "2019年3月15日"}
    assert formgen.format_count(formgen._rng(0), 7, False) == "7人"
    assert formgen.CN_MONEY[10] == "拾万元"
    rng = formgen._rng(1)
    phones = {formgen.format_phone(rng, "13812345678", "0311-85521691", True) for _ in range(200)}
    assert {truth for _, truth in phones} == {"13812345678", "0311-85521691"}
    assert {w for w, _ in phones} >= {"138 1234 5678", "138-1234-5678", "+86 13812345678", "13812345678（手机）",
                                      "0311-85521691", "(0311)85521691", "0311 85521691"}
