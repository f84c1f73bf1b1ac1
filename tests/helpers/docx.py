"""DOCX files for the document readers' tests: python-docx documents with hand-written WordprocessingML inside.

    from helpers.docx import make_docx, rewrite_members
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx

PLACEHOLDER = "<w:p><w:r><w:t>PLACEHOLDER</w:t></w:r></w:p>"


def rewrite_members(path: Path, replace: dict[str, bytes | None]) -> None:
    """Rewrite members of a zip (None drops the member)."""
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i.filename) for i in z.infolist()}
    for name, data in replace.items():
        if data is None:
            members.pop(name, None)
        else:
            members[name] = data
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)


def make_docx(tmp_path: Path, body_xml: str = "", before: str = "正文开头", after: str = "正文结尾") -> Path:
    """A python-docx document whose middle paragraph is replaced by raw WordprocessingML."""
    d = docx.Document()
    d.sections[0].header.paragraphs[0].text = "页眉文字"
    d.sections[0].footer.paragraphs[0].text = "页脚文字"
    d.add_paragraph(before)
    d.add_paragraph("PLACEHOLDER")
    d.add_paragraph(after)
    path = tmp_path / "申报书.docx"
    d.save(path)
    with zipfile.ZipFile(path) as z:
        xml = z.read("word/document.xml").decode()
    assert PLACEHOLDER in xml
    rewrite_members(path, {"word/document.xml": xml.replace(PLACEHOLDER, body_xml).encode()})
    return path
