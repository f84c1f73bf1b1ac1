"""read_docx_text / read_docx_tables on DOCX files made with python-docx plus hand-written XML."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import pytest

from helpers.docx import make_docx, rewrite_members
from parsers.docx_text import DocxText, read_docx_tables, read_docx_text
from parsers.errors import DocumentUnreadable
from parsers.wordcount import count_words


def _p(text: str) -> str:
    return f"<w:p><w:r><w:t xml:space=\"preserve\">{text}</w:t></w:r></w:p>"


def test_plain_paragraphs_without_header_and_footer(tmp_path: Path) -> None:
    result = read_docx_text(make_docx(tmp_path, _p("中间段")))
    assert result == DocxText(paragraphs=("正文开头", "中间段", "正文结尾"))
    assert result.text == "正文开头\n中间段\n正文结尾"


def test_content_controls_are_read(tmp_path: Path) -> None:
    block = f"<w:sdt><w:sdtPr><w:alias w:val=\"名称\"/></w:sdtPr><w:sdtContent>{_p('块级控件')}</w:sdtContent></w:sdt>"
    inline = ("<w:p><w:r><w:t>工作室名称：</w:t></w:r><w:sdt><w:sdtPr/><w:sdtContent>"
              "<w:r><w:t>张三劳模创新工作室</w:t></w:r></w:sdtContent></w:sdt></w:p>")
    assert read_docx_text(make_docx(tmp_path, block + inline)).paragraphs[1:3] == (
        "块级控件", "工作室名称：张三劳模创新工作室")


def test_tracked_changes_accepted(tmp_path: Path) -> None:
    xml = ("<w:p><w:r><w:t>保留</w:t></w:r>"
           "<w:ins w:id=\"1\" w:author=\"a\"><w:r><w:t>插入</w:t></w:r></w:ins>"
           "<w:del w:id=\"2\" w:author=\"a\"><w:r><w:delText>删除</w:delText></w:r></w:del>"
           "<w:moveFrom w:id=\"3\" w:author=\"a\"><w:r><w:t>移走</w:t></w:r></w:moveFrom>"
           "<w:moveTo w:id=\"4\" w:author=\"a\"><w:r><w:t>移来</w:t></w:r></w:moveTo></w:p>")
    assert read_docx_text(make_docx(tmp_path, xml)).paragraphs[1] == "保留插入移来"


TEXT_BOX = """<w:p><w:r><w:t>锚点段</w:t></w:r><w:r><mc:AlternateContent>
<mc:Choice Requires="wps"><w:drawing><wp:anchor distT="0" distB="0" distL="0" distR="0" simplePos="0"
 relativeHeight="1" behindDoc="0" locked="0" layoutInCell="1" allowOverlap="1"><wp:simplePos x="0" y="0"/>
 <wp:docPr id="1" name="文本框 1"/><a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">
 <a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"><wps:wsp><wps:txbx>
 <w:txbxContent><w:p><w:r><w:t>文本框里的字</w:t></w:r></w:p></w:txbxContent>
 </wps:txbx><wps:bodyPr/></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>
<mc:Fallback><w:pict><v:shape id="tb1"><v:textbox><w:txbxContent><w:p><w:r><w:t>文本框里的字</w:t></w:r></w:p>
</w:txbxContent></v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>
<w:r><w:t>锚点后</w:t></w:r></w:p>"""


def test_text_box_counted_once(tmp_path: Path) -> None:
    result = read_docx_text(make_docx(tmp_path, TEXT_BOX))
    assert result.paragraphs == ("正文开头", "锚点段锚点后", "文本框里的字", "正文结尾")
    assert result.text.count("文本框里的字") == 1


def test_legacy_vml_text_box_without_alternate_content(tmp_path: Path) -> None:
    xml = ("<w:p><w:r><w:pict><v:shape><v:textbox><w:txbxContent>" + _p("旧式文本框")
           + "</w:txbxContent></v:textbox></v:shape></w:pict></w:r></w:p>")
    assert "旧式文本框" in read_docx_text(make_docx(tmp_path, xml)).paragraphs


def test_field_codes_skipped_results_kept(tmp_path: Path) -> None:
    xml = ("<w:p><w:r><w:t xml:space=\"preserve\">第 </w:t></w:r>"
           "<w:r><w:fldChar w:fldCharType=\"begin\"/></w:r>"
           "<w:r><w:instrText xml:space=\"preserve\"> PAGE \\* MERGEFORMAT </w:instrText></w:r>"
           "<w:r><w:fldChar w:fldCharType=\"separate\"/></w:r><w:r><w:t>3</w:t></w:r>"
           "<w:r><w:fldChar w:fldCharType=\"end\"/></w:r><w:r><w:t xml:space=\"preserve\"> 页</w:t></w:r></w:p>"
           "<w:p><w:fldSimple w:instr=\" DATE \"><w:r><w:t>2024年5月1日</w:t></w:r></w:fldSimple></w:p>")
    assert read_docx_text(make_docx(tmp_path, xml)).paragraphs[1:3] == ("第 3 页", "2024年5月1日")


def test_field_result_spanning_paragraphs_and_nested_fields(tmp_path: Path) -> None:
    begin, sep, end = ("<w:r><w:fldChar w:fldCharType=\"%s\"/></w:r>" % k for k in ("begin", "separate", "end"))
    toc, pageref = ("<w:r><w:instrText>%s</w:instrText></w:r>" % i for i in ("TOC \\o", "PAGEREF _Toc1"))
    xml = (f"<w:p>{begin}{toc}{sep}<w:r><w:t>目录一</w:t></w:r></w:p>"
           f"<w:p><w:r><w:t>目录二</w:t></w:r>{begin}{pageref}{sep}<w:r><w:t>5</w:t></w:r>{end}</w:p>"
           f"<w:p>{end}<w:r><w:t>目录后</w:t></w:r></w:p>")
    assert read_docx_text(make_docx(tmp_path, xml)).paragraphs[1:4] == ("目录一", "目录二5", "目录后")


def test_unterminated_field_instruction_does_not_hide_the_rest(tmp_path: Path) -> None:
    xml = "<w:p><w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText>BROKEN</w:instrText></w:r></w:p>"
    assert read_docx_text(make_docx(tmp_path, xml)).paragraphs[1:] == ("", "正文结尾")


def test_tabs_breaks_symbols(tmp_path: Path) -> None:
    xml = ("<w:p><w:pPr><w:tabs><w:tab w:val=\"left\" w:pos=\"720\"/></w:tabs></w:pPr>"
           "<w:r><w:t>甲</w:t><w:tab/><w:t>乙</w:t><w:br/><w:t>丙</w:t>"
           "<w:sym w:font=\"Wingdings\" w:char=\"F0FE\"/><w:t>丁</w:t></w:r></w:p>")
    assert read_docx_text(make_docx(tmp_path, xml)).paragraphs[1] == "甲\t乙\n丙丁"


def _table_doc(tmp_path: Path) -> Path:
    d = docx.Document()
    d.add_paragraph("表前")
    t = d.add_table(rows=3, cols=3)
    t.cell(0, 0).merge(t.cell(0, 1)).text = "横向合并"      # gridSpan=2
    t.cell(0, 2).text = "右上"
    t.cell(1, 0).merge(t.cell(2, 0)).text = "纵向合并"      # vMerge restart + continue
    t.cell(1, 1).text = "中"
    inner = t.cell(1, 2).add_table(rows=1, cols=2)          # nested table
    inner.cell(0, 0).text = "内1"
    inner.cell(0, 1).text = "内2"
    t.cell(2, 1).text = "下中"
    t.cell(2, 2).text = "右下"
    d.add_paragraph("表后")
    d.add_table(rows=1, cols=1).cell(0, 0).text = "第二表"
    path = tmp_path / "表格.docx"
    d.save(path)
    return path


def test_tables_grid_merges_and_nesting(tmp_path: Path) -> None:
    assert read_docx_tables(_table_doc(tmp_path)) == [
        [["横向合并", "", "右上"], ["纵向合并", "中", ""], ["", "下中", "右下"]],
        [["内1", "内2"]],
        [["第二表"]],
    ]


def test_table_text_in_document_order_with_nested_table(tmp_path: Path) -> None:
    paragraphs = [p for p in read_docx_text(_table_doc(tmp_path)).paragraphs if p]
    # vMerge continuation cells hold an empty paragraph; merged text appears once.
    assert paragraphs == ["表前", "横向合并", "右上", "纵向合并", "中", "内1", "内2", "下中", "右下", "表后", "第二表"]


def test_grid_before_after_sdt_rows_and_deleted_rows(tmp_path: Path) -> None:
    def tc(text: str, props: str = "") -> str:
        return f"<w:tc><w:tcPr>{props}</w:tcPr>{_p(text)}</w:tc>"

    span3, hmerge = '<w:gridSpan w:val="3"/>', "<w:hMerge/>"
    xml = ("<w:tbl><w:tblPr/><w:tblGrid><w:gridCol/><w:gridCol/><w:gridCol/></w:tblGrid>"
           f"<w:tr><w:trPr><w:gridBefore w:val=\"1\"/></w:trPr>{tc('甲')}{tc('乙')}</w:tr>"
           f"<w:tr><w:trPr><w:gridAfter w:val=\"2\"/></w:trPr>{tc('丙')}</w:tr>"
           f"<w:sdt><w:sdtPr/><w:sdtContent><w:tr>{tc('丁', span3)}</w:tr></w:sdtContent></w:sdt>"
           f"<w:tr><w:trPr><w:del w:id=\"9\" w:author=\"a\"/></w:trPr>{tc('已删行')}</w:tr>"
           f"<w:tr><w:sdt><w:sdtPr/><w:sdtContent>{tc('戊')}</w:sdtContent></w:sdt>{tc('己', hmerge)}{tc('庚')}</w:tr>"
           "</w:tbl>" + _p(""))
    assert read_docx_tables(make_docx(tmp_path, xml)) == [
        [["", "甲", "乙"], ["丙", "", ""], ["丁", "", ""], ["戊", "", "庚"]],
    ]


def test_word_count_of_a_narrative(tmp_path: Path) -> None:
    d = docx.Document()
    for _ in range(10):
        d.add_paragraph("工作室" * 33 + "。")  # 100 字 per paragraph
    path = tmp_path / "事迹材料.docx"
    d.save(path)
    assert count_words(read_docx_text(path).text).low == 1000


def test_main_part_found_through_relationships(tmp_path: Path) -> None:
    path = make_docx(tmp_path, _p("另名主文档"))
    with zipfile.ZipFile(path) as z:
        xml, rels = z.read("word/document.xml"), z.read("_rels/.rels").decode()
    rewrite_members(path, {"word/document.xml": None, "word/document2.xml": xml,
                           "_rels/.rels": rels.replace("word/document.xml", "word/document2.xml").encode()})
    assert "另名主文档" in read_docx_text(path).paragraphs


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "fake.docx"
    path.write_text("这不是Word文件", encoding="utf-8")
    with pytest.raises(DocumentUnreadable, match="not a DOCX"):
        read_docx_text(path)


def test_zip_without_document_xml(tmp_path: Path) -> None:
    path = tmp_path / "empty.docx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
    with pytest.raises(DocumentUnreadable, match="word/document.xml"):
        read_docx_text(path)
    with pytest.raises(DocumentUnreadable):
        read_docx_tables(path)


def test_truncated_docx(tmp_path: Path) -> None:
    path = make_docx(tmp_path, _p("内容" * 2000))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DocumentUnreadable):
        read_docx_text(path)


def test_broken_xml(tmp_path: Path) -> None:
    path = make_docx(tmp_path, "<w:p><w:r><w:t>未闭合</w:r></w:p>")
    with pytest.raises(DocumentUnreadable, match="well-formed"):
        read_docx_text(path)


W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _entity_document(prolog: str) -> str:
    """A well-formed document.xml whose only text is an entity declared in its DTD, after `prolog`."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<!DOCTYPE w:document [<!ENTITY e "注入的实体">]>'
            f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>&e;</w:t></w:r></w:p></w:body></w:document>')


@pytest.mark.parametrize("prolog", ["", "<!--" + "x" * 5000 + "-->", "<?pi " + "y" * 5000 + "?>\n"],
                         ids=["plain", "after-5KB-comment", "after-5KB-instruction"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_dtd_is_refused_wherever_the_prolog_puts_it(tmp_path: Path, prolog: str, encoding: str) -> None:
    """The parser reports the DTD, not a look at the first 4 KB: padding before it changes nothing."""
    path = make_docx(tmp_path)
    xml = _entity_document(prolog)
    rewrite_members(path, {"word/document.xml": xml.replace('"UTF-8"', f'"{encoding.upper()}"').encode(encoding)})
    with pytest.raises(DocumentUnreadable, match="DTD"):
        read_docx_text(path)
    with pytest.raises(DocumentUnreadable, match="DTD"):
        read_docx_tables(path)


def test_a_dtd_in_the_package_relationships_is_refused(tmp_path: Path) -> None:
    path = make_docx(tmp_path, _p("正文"))
    with zipfile.ZipFile(path) as z:
        rels = z.read("_rels/.rels").decode()
    hostile = rels.replace("?>", '?><!--' + "z" * 5000 + '--><!DOCTYPE Relationships [<!ENTITY t "x">]>', 1)
    rewrite_members(path, {"_rels/.rels": hostile.encode()})
    with pytest.raises(DocumentUnreadable, match="_rels/.rels has a DTD"):
        read_docx_text(path)


def test_huge_document_xml_refused(tmp_path: Path) -> None:
    path = make_docx(tmp_path)
    huge = b"<w:document>" + b" " * (50 * 1024 * 1024) + b"</w:document>"  # deflates to ~50 KB
    rewrite_members(path, {"word/document.xml": huge})
    with pytest.raises(DocumentUnreadable, match="50 MB"):
        read_docx_text(path)


def test_pictures_are_counted_by_their_media_parts(tmp_path: Path) -> None:
    import io

    from PIL import Image

    from parsers.docx_text import count_pictures

    def picture(colour: str) -> io.BytesIO:
        out = io.BytesIO()
        Image.new("RGB", (40, 30), colour).save(out, "JPEG")
        out.seek(0)
        return out

    document = docx.Document()
    document.add_paragraph("事迹材料")
    for colour in ("red", "green", "blue"):  # three different pictures: three media parts
        document.add_picture(picture(colour))
    with_pictures, without = tmp_path / "p.docx", tmp_path / "t.docx"
    document.save(with_pictures)
    docx.Document().save(without)
    assert (count_pictures(with_pictures), count_pictures(without)) == (3, 0)
    (tmp_path / "bad.docx").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(DocumentUnreadable):
        count_pictures(tmp_path / "bad.docx")


def test_control_characters_in_the_text_are_dropped(tmp_path: Path) -> None:
    """XML carries C1 controls and DEL (U+009B is CSI to a terminal): form values and narratives have none."""
    path = make_docx(tmp_path, _p("姓名\u009b31m张\u0085三\u007f") + "<w:tbl><w:tr><w:tc>" + _p("单位\u009b") +
                     "</w:tc></w:tr></w:tbl>")
    assert read_docx_text(path).paragraphs[1:3] == ("姓名31m张三", "单位")
    assert read_docx_tables(path) == [[["单位"]]]


def test_one_cell_layout_tables_are_frames_not_tables(tmp_path: Path) -> None:
    """A clerk's form drawn inside a one-cell table (twice, here): its lines are loose text and only the
    real table inside is a table; a one-row table of two cells is still a table."""
    from parsers.docx_text import read_docx_layout

    def tbl(rows: list[list[str]]) -> str:
        body = "".join("<w:tr>" + "".join(f"<w:tc>{c}</w:tc>" for c in row) + "</w:tr>" for row in rows)
        return f"<w:tbl><w:tblPr/>{body}</w:tbl>"

    form = tbl([[_p("姓名"), _p("张三")], [_p("性别"), _p("男")]])
    frame = tbl([[_p("申报单位：某公司") + form + _p("")]])
    layout = read_docx_layout(make_docx(tmp_path, tbl([[frame + _p("")]]) + tbl([[_p("甲"), _p("乙")]])))
    assert "申报单位：某公司" in layout.paragraphs
    assert [[[c.text for c in row] for row in t] for t in layout.tables] == [
        [["姓名", "张三"], ["性别", "男"]], [["甲", "乙"]]]
