"""The DOCX readers walk the main part in C (lxml's iterwalk): the same paragraphs, tables and placed cells as the
Python walk before it (helpers/docx_reference.py), on samplegen's documents and on random markup."""

from __future__ import annotations

import itertools
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import samplegen as g
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from helpers.docx_reference import reference_layout, reference_tables, reference_text
from parsers.docx_text import read_docx_layout, read_docx_tables, read_docx_text

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
STRICT = "http://purl.oclc.org/ooxml/wordprocessingml/main"
ROOT = (f'<w:document xmlns:w="{W}" xmlns:s="{STRICT}" '
        'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:v="urn:schemas-microsoft-com:vml" xmlns:x="urn:example:other">')
_files = itertools.count()


def _docx(folder: Path, document_xml: bytes) -> Path:
    """A minimal package: the content types and the main part (a new file each time: the readers keep bodies by
    file identity)."""
    path = folder / f"walk-{next(_files)}.docx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", document_xml)
    return path


def _assert_same(path: Path, document_xml: bytes) -> None:
    body = etree.fromstring(document_xml)[0]
    assert read_docx_text(path) == reference_text(body)
    assert read_docx_tables(path) == reference_tables(body)
    assert read_docx_layout(path) == reference_layout(body)


def _samplegen_documents() -> dict[str, bytes]:
    member = g.make_members("劳模和工匠人才", 3)
    return {
        "form": g.form_docx("某某公司工会", "张三劳模创新工作室", "张三", seed=3),
        "form-few-members": g.form_docx("某某医院", "李四工匠创新工作室", "李四", members=member[:2], seed=5),
        "narrative": g.narrative_docx("张三劳模创新工作室", 2600, 7, table_chars=300, textbox_chars=200),
        "summary": g.summary_docx([{"工作室名称": "张三劳模创新工作室", "推荐单位": "某某公司工会"}]),
    }


@pytest.mark.parametrize("name", ["form", "form-few-members", "narrative", "summary"])
def test_samplegen_documents_read_as_before(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.docx"
    path.write_bytes(_samplegen_documents()[name])
    with zipfile.ZipFile(path) as z:
        document_xml = z.read("word/document.xml")
    _assert_same(path, document_xml)


# Random markup: the elements the walk treats apart (paragraphs, runs' text, fields, revisions, properties, tables
# with spans and merges, content controls, mc:AlternateContent, text boxes), in both namespaces, nested anyhow.
_LEAVES = st.one_of(
    st.builds(lambda t: f"<w:t>{escape(t)}</w:t>", st.text(alphabet="ab中 \t", max_size=3)),
    st.builds(lambda t: f"<s:t>{escape(t)}</s:t>", st.text(alphabet="cd", max_size=2)),
    st.sampled_from([
        "<w:tab/>", "<w:ptab/>", "<w:br/>", "<w:cr/>", "<w:noBreakHyphen/>", "<w:sym/>", "<!--note-->", "<?pi x?>",
        '<w:fldChar w:fldCharType="begin"/>', '<w:fldChar w:fldCharType="separate"/>',
        '<w:fldChar w:fldCharType="end"/>', '<s:fldChar s:fldCharType="begin"/>', "<w:fldChar/>",
        "<w:instrText>PAGE</w:instrText>", "<w:delText>gone</w:delText>", "<w:delInstrText>X</w:delInstrText>",
        '<w:gridSpan w:val="2"/>', '<w:gridSpan w:val="x"/>', '<s:gridSpan s:val="3"/>', "<w:vMerge/>",
        '<w:vMerge w:val="restart"/>', '<w:vMerge w:val="continue"/>', "<w:hMerge/>", '<w:gridBefore w:val="1"/>',
        '<w:gridAfter w:val="2"/>', "<w:del/>", "<x:t>other</x:t>", "<w:tc/>", "<w:tr/>", "<w:p/>",
        # fields: an instruction left open at a paragraph's end, one without a result, one with
        '<w:r><w:fldChar w:fldCharType="begin"/><w:instrText>REF</w:instrText></w:r>',
        '<w:p><w:r><w:fldChar w:fldCharType="begin"/><w:instrText>REF</w:instrText></w:r></w:p>',
        "<w:p><w:r><w:t>after</w:t></w:r></w:p>",
        '<w:r><w:fldChar w:fldCharType="begin"/><w:instrText>PAGE</w:instrText><w:fldChar w:fldCharType="end"/>'
        "<w:t>shown</w:t></w:r>",
        '<w:r><w:fldChar w:fldCharType="begin"/><w:instrText>DATE</w:instrText><w:fldChar w:fldCharType="separate"/>'
        '<w:t>result</w:t><w:fldChar w:fldCharType="end"/></w:r>',
    ]),
)
_CONTAINERS = [
    "w:p", "w:p", "w:r", "w:r", "w:tbl", "w:tbl", "w:tr", "w:tr", "w:tc", "w:tc", "w:sdt", "w:sdtContent",
    "w:sdtPr", "w:ins", "w:del", "w:moveFrom", "w:moveTo", "w:trPr", "w:tcPr", "w:pPr", "w:rPr", "w:tblPr",
    "w:hyperlink", "w:smartTag", "w:txbxContent", "w:pict", "v:textbox", "x:p", "s:p", "s:tbl", "s:tr", "s:tc",
    "s:trPr", "s:r", "w:t", "w:fldChar", "mc:AlternateContent", "mc:AlternateContent", "mc:Choice", "mc:Choice",
    "mc:Fallback",
]
_ROW_PROPERTIES = ["", "<w:trPr/>", "<w:trPr><w:del/></w:trPr>", "<s:trPr><s:del/></s:trPr>",
                   '<w:trPr><w:gridBefore w:val="1"/><w:gridAfter w:val="1"/></w:trPr>']
_CELL_PROPERTIES = ["", "<w:tcPr/>", '<w:tcPr><w:gridSpan w:val="2"/></w:tcPr>', "<w:tcPr><w:vMerge/></w:tcPr>",
                    '<w:tcPr><w:vMerge w:val="restart"/></w:tcPr>', '<w:tcPr><w:hMerge w:val="continue"/></w:tcPr>']


def _nested(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Any container around markup, or a table of rows of cells (properties first, as Word writes them)."""
    cell = st.builds(lambda pr, kids: f"<w:tc>{pr}{''.join(kids)}</w:tc>", st.sampled_from(_CELL_PROPERTIES),
                     st.lists(inner, max_size=3))
    row = st.builds(lambda pr, cells: f"<w:tr>{pr}{''.join(cells)}</w:tr>", st.sampled_from(_ROW_PROPERTIES),
                    st.lists(cell, min_size=1, max_size=3))
    return st.one_of(
        st.builds(lambda tag, kids: f"<{tag}>{''.join(kids)}</{tag}>", st.sampled_from(_CONTAINERS),
                  st.lists(inner, max_size=4)),
        st.builds(lambda rows: f"<w:tbl><w:tblPr/>{''.join(rows)}</w:tbl>", st.lists(row, min_size=1, max_size=3)),
    )


_MARKUP = st.recursive(_LEAVES, _nested, max_leaves=60)
_RANDOM = settings(derandomize=True, deadline=None, database=None, max_examples=400,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for every example, its files kept to the end: a deleted file's inode may come back."""
    return tmp_path_factory.mktemp("walk")


@_RANDOM
@given(blocks=st.lists(_MARKUP, min_size=1, max_size=5))
def test_random_markup_reads_as_before(folder: Path, blocks: list[str]) -> None:
    document_xml = f"{ROOT}<w:body>{''.join(blocks)}</w:body></w:document>".encode()
    _assert_same(_docx(folder, document_xml), document_xml)
