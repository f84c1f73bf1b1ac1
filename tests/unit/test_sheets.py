"""read_xlsx_rows on workbooks written by openpyxl (and patched like other writers do)."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path
from typing import Callable

import openpyxl
import pytest

from parsers.errors import DocumentUnreadable
from parsers.sheets import read_xlsx_rows


def _summary_workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "汇总表"
    ws["A1"] = "2024年度劳模创新工作室汇总表"
    ws.merge_cells("A1:D1")
    ws.append(["序号", "工作室名称", "成立日期", "成员数"])
    ws.append([1, "张三劳模创新工作室", dt.date(2019, 5, 1), 12.0])
    ws.append([2, "李四工匠创新工作室", dt.datetime(2020, 3, 8, 0, 0), 8])
    ws.append([3, None, dt.datetime(2021, 1, 2, 9, 30), 0.1 + 0.2])
    ws["A7"] = True
    ws["B7"] = 13812345678.0
    second = wb.create_sheet("说明")
    second["B2"] = "第二页"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def test_rows_of_every_sheet(tmp_path: Path) -> None:
    assert read_xlsx_rows(_summary_workbook(tmp_path / "汇总表.xlsx")) == [
        ["2024年度劳模创新工作室汇总表"],
        ["序号", "工作室名称", "成立日期", "成员数"],
        ["1", "张三劳模创新工作室", "2019-05-01", "12"],
        ["2", "李四工匠创新工作室", "2020-03-08", "8"],
        ["3", "", "2021-01-02 09:30:00", "0.3"],
        ["TRUE", "13812345678"],
        ["", "第二页"],
    ]


def test_max_rows(tmp_path: Path) -> None:
    rows = read_xlsx_rows(_summary_workbook(tmp_path / "a.xlsx"), max_rows=2)
    assert rows == [["2024年度劳模创新工作室汇总表"], ["序号", "工作室名称", "成立日期", "成员数"]]


def test_wrong_extension_still_read(tmp_path: Path) -> None:
    path = _summary_workbook(tmp_path / "汇总表.xls")  # openpyxl itself refuses this name
    assert read_xlsx_rows(path)[0] == ["2024年度劳模创新工作室汇总表"]


def _patch_sheet(path: Path, patch: Callable[[str], str]) -> None:
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i.filename) for i in z.infolist()}
    members["xl/worksheets/sheet1.xml"] = patch(members["xl/worksheets/sheet1.xml"].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)


def test_merged_cells_only_top_left(tmp_path: Path) -> None:
    path = _summary_workbook(tmp_path / "a.xlsx")
    # Some writers repeat the merged value in every cell of the range.
    repeat = '<c r="B1" t="inlineStr"><is><t>重复</t></is></c><c r="C1" t="inlineStr"><is><t>重复</t></is></c>'
    _patch_sheet(path, lambda xml: xml.replace("</row>", repeat + "</row>", 1))
    assert "重复" in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert read_xlsx_rows(path)[0] == ["2024年度劳模创新工作室汇总表"]


def test_wrong_dimension_does_not_hide_data(tmp_path: Path) -> None:
    path = _summary_workbook(tmp_path / "a.xlsx")
    _patch_sheet(path, lambda xml: re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1"/>', xml))
    assert read_xlsx_rows(path)[2] == ["1", "张三劳模创新工作室", "2019-05-01", "12"]


def test_corrupt_xlsx(tmp_path: Path) -> None:
    path = _summary_workbook(tmp_path / "a.xlsx")
    _patch_sheet(path, lambda xml: xml[: len(xml) // 2])
    with pytest.raises(DocumentUnreadable, match="corrupt"):
        read_xlsx_rows(path)


def test_truncated_zip(tmp_path: Path) -> None:
    path = _summary_workbook(tmp_path / "a.xlsx")
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DocumentUnreadable):
        read_xlsx_rows(path)


def test_plain_text_named_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    path.write_text("序号,名称\n1,工作室\n", encoding="utf-8")
    with pytest.raises(DocumentUnreadable, match="text"):
        read_xlsx_rows(path)


def test_a_workbook_part_with_a_dtd_is_refused_before_openpyxl_expands_it(tmp_path: Path) -> None:
    import io

    wb = openpyxl.Workbook()
    wb.active["A1"] = "x"
    plain = io.BytesIO()
    wb.save(plain)
    hostile = io.BytesIO()
    entities = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(hostile, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, entities.encode("utf-16-le") + data if info.filename.endswith("sheet1.xml") else data)
    path = tmp_path / "summary.xlsx"
    path.write_bytes(hostile.getvalue())
    with pytest.raises(DocumentUnreadable, match="DTD"):
        read_xlsx_rows(path)



def _patched(tmp_path: Path, patch: Callable[[str, bytes], tuple[str, bytes]]) -> Path:
    """A one-cell workbook (A1 = "x") whose parts pass through `patch(name, data) -> (name, data)`."""
    import io

    wb = openpyxl.Workbook()
    wb.active["A1"] = "x"
    plain = io.BytesIO()
    wb.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            name, data = patch(info.filename, src.read(info))
            dst.writestr(name, data)
    path = tmp_path / "summary.xlsx"
    path.write_bytes(out.getvalue())
    return path


SHEET = "xl/worksheets/sheet1.xml"
_COMMENT_5KB = "<!--" + "x" * 5000 + "-->"


def _entity_sheet(data: bytes, prolog: str = "", encoding: str = "UTF-8") -> str:
    """The sheet with A1 = the entity &e; declared in a DTD that follows `prolog`."""
    return (f'<?xml version="1.0" encoding="{encoding}"?>{prolog}<!DOCTYPE worksheet [<!ENTITY e "注入的实体">]>'
            + data.decode().replace("<t>x</t>", "<t>&e;</t>"))


def _only(part: str, change: Callable[[bytes], bytes]) -> Callable[[str, bytes], tuple[str, bytes]]:
    return lambda name, data: (name, change(data) if name == part else data)


def test_a_dtd_after_a_5kb_comment_is_refused_not_expanded_into_a_cell(tmp_path: Path) -> None:
    path = _patched(tmp_path, _only(SHEET, lambda d: _entity_sheet(d, _COMMENT_5KB).encode()))
    with open(path, "rb") as f:  # what openpyxl alone makes of it: the entity expanded into the cell
        assert openpyxl.load_workbook(f, read_only=True).active["A1"].value == "注入的实体"
    with pytest.raises(DocumentUnreadable, match="sheet1.xml has a DTD"):
        read_xlsx_rows(path)


def test_a_dtd_in_a_utf16_part_after_padding_is_refused(tmp_path: Path) -> None:
    path = _patched(tmp_path, _only(SHEET, lambda d: _entity_sheet(d, _COMMENT_5KB, "UTF-16").encode("utf-16")))
    with pytest.raises(DocumentUnreadable, match="DTD"):
        read_xlsx_rows(path)


def test_a_dtd_in_a_sheet_part_not_named_xml_is_refused(tmp_path: Path) -> None:
    """The workbook's relationships may point a sheet at any file name: every part is checked."""
    def rename(name: str, data: bytes) -> tuple[str, bytes]:
        if name == SHEET:
            return "xl/worksheets/sheet1.bin", _entity_sheet(data, _COMMENT_5KB).encode()
        if name in ("xl/_rels/workbook.xml.rels", "[Content_Types].xml"):
            return name, data.replace(b"worksheets/sheet1.xml", b"worksheets/sheet1.bin")
        return name, data

    with pytest.raises(DocumentUnreadable, match="sheet1.bin has a DTD"):
        read_xlsx_rows(_patched(tmp_path, rename))


def test_a_part_in_an_encoding_expat_cannot_check_is_refused(tmp_path: Path) -> None:
    """openpyxl reads xl/workbook.xml with lxml, which knows GB18030; the DTD check could not look into it."""
    gb18030 = '<?xml version="1.0" encoding="GB18030"?>'.encode()
    path = _patched(tmp_path, _only("xl/workbook.xml", lambda d: gb18030 + d))
    with open(path, "rb") as f:
        assert openpyxl.load_workbook(f, read_only=True).active["A1"].value == "x"  # readable without the check
    with pytest.raises(DocumentUnreadable, match="workbook.xml is in an unsupported encoding"):
        read_xlsx_rows(path)


def test_pictures_and_other_parts_that_are_not_xml_are_no_reason_to_refuse(tmp_path: Path) -> None:
    def picture(name: str, data: bytes) -> tuple[str, bytes]:
        return (name, data) if name != "docProps/app.xml" else ("xl/media/image1.jpeg", b"\xff\xd8\xff\xe0JFIF")

    assert read_xlsx_rows(_patched(tmp_path, picture)) == [["x"]]


def test_control_characters_in_a_cell_are_dropped(tmp_path: Path) -> None:
    """XML carries C1 controls and DEL (U+009B is CSI to a terminal): the text that enters the records has none."""
    hostile = "<t>a\u009b31m\u0085b\u007fc</t>".encode()
    path = _patched(tmp_path, _only(SHEET, lambda d: d.replace(b"<t>x</t>", hostile)))
    with open(path, "rb") as f:
        assert openpyxl.load_workbook(f, read_only=True).active["A1"].value == "a\x9b31m\x85b\x7fc"
    assert read_xlsx_rows(path) == [["a31mbc"]]
