"""Tests for scripts/samplegen.py: determinism, coverage, and that every fixture really is what it claims."""

from __future__ import annotations

import email
import io
import json
import shutil
import subprocess
import sys
import zipfile
from email import policy
from email.message import Message
from pathlib import Path

import docx
import openpyxl
import pdfplumber
import py7zr
import pytest
from docx.oxml.ns import qn

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import samplegen  # noqa: E402

ALL_CODES = {
    "NARRATIVE_TOO_SHORT", "EVIDENCE_NOT_JPEG", "EVIDENCE_NAMING", "MISSING_FORM_SCAN", "MISSING_FORM_WORD",
    "MISSING_NARRATIVE", "MISSING_SUMMARY", "SUBJECT_FORMAT", "NOT_RECOMMENDING_UNIT", "NO_ATTACHMENT",
    "NOT_ARCHIVE", "ARCHIVE_NAME_MISMATCH", "ARCHIVE_CORRUPT", "ARCHIVE_ENCRYPTED", "UNSAFE_ARCHIVE", "LATE",
    "LARGE_ATTACHMENT_LINK", "AUTO_REPLY", "BOUNCE", "DUPLICATE", "UNRELATED",
    "TEAM_TOO_SMALL", "TOO_RECENT", "TOO_FEW_RESULTS", "FORM_FIELDS_MISSING", "SUMMARY_MISMATCH", "LEADER_CONDITION",
    "SEAL_NOT_VISIBLE", "UNIT_NOT_ON_ROSTER", "CATEGORY_CHANNEL", "DELAYED_DELIVERY",
}
WARNINGS: set[str] = set()   # an accepted submission may carry these (SEAL_NOT_VISIBLE is review since issue 15)
FORM = "（1）石家庄市劳模和工匠人才创新工作室入A级库申报表.docx"
SCAN = "（1）石家庄市劳模和工匠人才创新工作室入A级库申报表（盖章扫描件）.pdf"
MC_CHOICE = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Choice"


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample set, generated once through the command line."""
    folder = tmp_path_factory.mktemp("sample_mail")
    subprocess.run([sys.executable, str(REPO / "scripts" / "samplegen.py"), "--out", str(folder)], check=True)
    return folder


def message(out: Path, prefix: str) -> Message:
    """The sample whose file name starts with ``prefix``, parsed with compat32."""
    (path,) = out.glob(f"{prefix}-*.eml")
    return email.message_from_bytes(path.read_bytes(), policy=policy.compat32)


def raw(out: Path, prefix: str) -> bytes:
    """The raw bytes of a sample."""
    (path,) = out.glob(f"{prefix}-*.eml")
    return path.read_bytes()


def attachments(msg: Message) -> list[bytes]:
    """Decoded payloads of the non-text leaf parts."""
    return [part.get_payload(decode=True) for part in msg.walk()
            if not part.is_multipart() and part.get_content_maintype() != "text"]


def archive(out: Path, prefix: str) -> bytes:
    """The single attachment of a sample."""
    (data,) = attachments(message(out, prefix))
    return data


def zip_names(data: bytes, encoding: str) -> list[str]:
    """Member names decoded from their raw bytes with ``encoding`` (flag bit must be unset)."""
    infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    assert all(not info.flag_bits & 0x800 for info in infos)
    return [info.filename.encode("cp437").decode(encoding) for info in infos]


def docx_counts(data: bytes) -> tuple[int, int, int]:
    """Low Word counts of (body paragraphs, table cells, text boxes read once via mc:Choice)."""
    document = docx.Document(io.BytesIO(data))
    body = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(c.text for t in document.tables for row in t.rows for c in row.cells)
    boxes = "\n".join("".join(t.text or "" for t in p.iter(qn("w:t")))
                      for choice in document.element.body.iter(MC_CHOICE) for p in choice.iter(qn("w:p")))
    return tuple(samplegen.word_count(text)[0] for text in (body, cells, boxes))  # type: ignore[return-value]


def narrative_of(out: Path, prefix: str) -> bytes:
    """The （2）…事迹材料.docx inside a sample's GBK zip."""
    data = archive(out, prefix)
    zf = zipfile.ZipFile(io.BytesIO(data))
    for info in zf.infolist():
        if "事迹材料" in info.filename.encode("cp437").decode("gbk"):
            return zf.read(info)
    raise AssertionError("no narrative")


# --------------------------------------------------------------------------- the set as a whole


def test_two_runs_are_byte_identical(out: Path, tmp_path: Path) -> None:
    samplegen.generate(tmp_path)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in tmp_path.iterdir())
    for name in names:
        assert (out / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_expected_json_covers_every_code(out: Path) -> None:
    expected = json.loads((out / "expected.json").read_text(encoding="utf-8"))
    assert len(expected) >= 15
    assert {code for entry in expected.values() for code in entry["codes"]} == ALL_CODES
    for name, entry in expected.items():
        assert (out / name).is_file(), name
        assert entry["verdict"] in {"accepted", "rejected", "review", "ignored"}
        assert entry["codes"] == sorted(entry["codes"])
        assert (entry["verdict"] == "accepted") == (set(entry["codes"]) <= WARNINGS)
    assert sorted(p.name for p in out.glob("*.eml")) == sorted(expected)


def test_size_budget(out: Path) -> None:
    assert sum(p.stat().st_size for p in out.iterdir()) < 3 * 1024 * 1024


def test_message_ids_unique_except_duplicate(out: Path) -> None:
    ids = {p.name: email.message_from_bytes(p.read_bytes(), policy=policy.compat32)["Message-ID"]
           for p in out.glob("*.eml") if not p.name.startswith("24-")}
    dup = ids.pop("25-duplicate.eml")
    assert dup == ids["01-accepted-zip-gbk.eml"]
    assert len(set(ids.values())) == len(ids)


def test_duplicate_differs_only_in_topmost_received(out: Path) -> None:
    first, again = raw(out, "01"), raw(out, "25")
    head = first.index(b"\r\nReceived:", 1)
    assert first[:head] != again[:again.index(b"\r\nReceived:", 1)]
    assert first[head:] == again[again.index(b"\r\nReceived:", 1):]


def test_receipt_time_is_topmost_received(out: Path) -> None:
    late = raw(out, "21").decode("ascii", "replace")
    assert late.startswith("Received: from ")
    assert "by mx.126.com" in late.split("\r\n", 2)[1]
    assert "Sat, 31 May 2025 09:12:04 +0800 (CST)" in late.split("Received:")[1]
    assert "Date: Fri, 30 May 2025 18:00:00 +0800" in late
    assert "Fri, 30 May 2025 23:10:27 +0800" in raw(out, "04").decode("utf-8").split("Received:")[1]


# --------------------------------------------------------------------------- wire forms


@pytest.mark.parametrize(("prefix", "needle"), [
    ("01", b'filename="=?GB2312?B?'),
    ("02", b"filename*0*=utf-8''%E7"),   # 石家庄市教科文卫工会…: 石 is E7 9F B3
    ("03", b'filename="=?UTF-8?B?'),
    ("04", 'filename="辛集市总工会赵磊创新工作室入库材料.zip"'.encode()),
    ("05", b'filename="=?gb18030?B?'),
])
def test_attachment_name_wire_forms(out: Path, prefix: str, needle: bytes) -> None:
    assert needle in raw(out, prefix)


def test_foxmail_subject_is_gbk_under_gb2312_label(out: Path) -> None:
    subject = message(out, "01")["Subject"]
    assert subject.startswith("=?GB2312?B?")
    decoded = email.header.decode_header(subject)[0][0].decode("gb18030")
    assert decoded == "正定县总工会张三创新工作室入库材料"


def test_automatic_messages(out: Path) -> None:
    auto = message(out, "23")
    assert auto["Auto-Submitted"] == "auto-replied"
    bounce = message(out, "24")
    assert bounce.get_content_type() == "multipart/report"
    assert bounce.get_param("report-type") == "delivery-status"
    assert bounce["Return-Path"] == "<>"
    assert not attachments(message(out, "15")) and not attachments(message(out, "26"))


def test_large_attachment_link(out: Path) -> None:
    msg = message(out, "22")
    texts = [p.get_payload(decode=True).decode("utf-8") for p in msg.walk() if not p.is_multipart()]
    assert len(texts) == 2 and not attachments(msg)
    assert all("large-attachment-download" in t and "到期" in t for t in texts)


# --------------------------------------------------------------------------- archives


def test_zip_gbk_names_without_flag(out: Path) -> None:
    names = zip_names(archive(out, "01"), "gbk")
    assert FORM in names and SCAN in names
    assert "（3）佐证材料/3-3 职工技术创新成果奖证书.jpg" in names
    assert "（4）石家庄市劳模和工匠人才创新工作室入库汇总表.xlsx" in names


def test_mac_zip_utf8_names_without_flag(out: Path) -> None:
    names = zip_names(archive(out, "04"), "utf-8")
    assert f"辛集市总工会赵磊创新工作室入库材料/{FORM}" in names
    assert any(n.startswith("__MACOSX/") for n in names)


def test_7z_utf8(out: Path) -> None:
    with py7zr.SevenZipFile(io.BytesIO(archive(out, "02"))) as sz:
        names = sz.getnames()
    assert FORM in names and "（4）石家庄市劳模和工匠人才创新工作室入库汇总表.docx" in names


def test_7z_encrypted_headers(out: Path) -> None:
    data = archive(out, "19")
    with pytest.raises(py7zr.exceptions.PasswordRequired):
        py7zr.SevenZipFile(io.BytesIO(data)).close()
    with py7zr.SevenZipFile(io.BytesIO(data), password="lszgh2025") as sz:
        assert FORM in sz.getnames()


def test_broken_and_unsafe_zips(out: Path) -> None:
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(archive(out, "18")))
    assert "../../evil.txt" in zip_names(archive(out, "20"), "gbk")
    zf = zipfile.ZipFile(io.BytesIO(archive(out, "08")))
    png = [i for i in zf.infolist() if i.filename.encode("cp437").decode("gbk").endswith("3-2 实用新型专利证书.jpg")]
    assert zf.read(png[0]).startswith(b"\x89PNG")


def _extract(tool: str, data: bytes, tmp_path: Path) -> list[str]:
    """Extract a RAR with ``unar``/``bsdtar``; return the relative file paths."""
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not installed")
    src, dest = tmp_path / "a.rar", tmp_path / tool
    src.write_bytes(data)
    dest.mkdir()
    cmd = ["unar", "-q", "-f", "-D", "-o", str(dest), str(src)] if tool == "unar" else \
        ["bsdtar", "-xf", str(src), "-C", str(dest)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())


@pytest.mark.parametrize("tool", ["unar", "bsdtar"])
def test_rar5(out: Path, tmp_path: Path, tool: str) -> None:
    names = _extract(tool, archive(out, "03"), tmp_path)
    assert "（1）石家庄市劳模和工匠人才创新工作室入A级库申报表（盖章扫描件）.jpg" in names
    assert "（3）佐证材料/3-1 市级名医证书.jpg" in names


def test_rar4_solid_gbk(out: Path, tmp_path: Path) -> None:
    data = archive(out, "05")
    assert "（3）".encode("gbk") in data and "（3）".encode("utf-8") not in data
    names = _extract("unar", data, tmp_path)  # bsdtar cannot read RAR4 solid
    assert f"河北敬业集团有限公司工会刘洋创新工作室入库材料/{FORM}" in names


# --------------------------------------------------------------------------- documents and images


def test_form_docx() -> None:
    data = samplegen.form_docx("河北正恒精密机械有限公司", "张三创新工作室", "张三")
    document = docx.Document(io.BytesIO(data))
    text = "\n".join(c.text for row in document.tables[0].rows for c in row.cells)
    for label in ("工作室名称", "工作室带头人情况", "工作室建设情况", "工作室成员情况", "本单位工会意见"):
        assert label in text
    xml = document.element.xml
    assert "w:gridSpan" in xml and "w:vMerge" in xml
    assert document.core_properties.created == document.core_properties.modified


def test_narrative_text_length() -> None:
    text = samplegen.narrative_text(1500, 1)
    assert 1450 <= samplegen.han_punct_count(text) <= 1550
    assert text == samplegen.narrative_text(1500, 1)


def test_word_count_rules() -> None:
    assert samplegen.word_count("Hello、World。") == (4, 4)
    assert samplegen.word_count("“五小”活动2025年") == (6, 8)


def test_narrative_lengths_in_samples(out: Path) -> None:
    short_body, _, _ = docx_counts(narrative_of(out, "06"))
    assert 700 < short_body < 900
    fixed_body, _, _ = docx_counts(narrative_of(out, "07"))
    assert fixed_body >= 1000
    body, table, box = docx_counts(narrative_of(out, "27"))
    assert body + table < 1000 and body + box < 1000 <= body + table + box


def test_scan_pdf_and_jpeg() -> None:
    with pdfplumber.open(io.BytesIO(samplegen.stamped_scan_pdf("张三创新工作室", 1, pages=2))) as pdf:
        assert len(pdf.pages) == 2
    assert samplegen.stamped_scan_jpeg("张三创新工作室", 1).startswith(b"\xff\xd8")


def test_photos() -> None:
    jpeg = samplegen.photo_jpeg("3-1 市级劳动模范证书.jpg", 1)
    assert jpeg.startswith(b"\xff\xd8") and len(jpeg) <= 40 * 1024
    assert samplegen.photo_png("x", 1).startswith(b"\x89PNG")


def test_summary_tables() -> None:
    row = samplegen.ZHENGDING.summary_row()
    sheet = openpyxl.load_workbook(io.BytesIO(samplegen.summary_xlsx([row, row]))).active
    assert sheet["A1"].value == samplegen.SUMMARY_TITLE
    assert tuple(c.value for c in sheet[2]) == samplegen.SUMMARY_HEADERS
    assert [sheet.cell(r, 1).value for r in (3, 4)] == [1, 2]
    document = docx.Document(io.BytesIO(samplegen.summary_docx([row])))
    assert tuple(c.text for c in document.tables[0].rows[0].cells) == samplegen.SUMMARY_HEADERS
