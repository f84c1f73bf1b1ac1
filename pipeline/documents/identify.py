"""Identify each received file: its real format, the role it plays, and the facts parsers read from it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from parsers.convert import convert_to_docx, soffice_path
from parsers.docx_text import count_pictures, read_docx_tables, read_docx_text
from parsers.errors import DocumentUnreadable
from parsers.names import evidence_number, normalize_name, split_ext, strip_copy_suffix
from parsers.sheets import read_xlsx_rows
from parsers.sniff import sniff_file
from parsers.wordcount import WordCount, count_words
from pipeline.config import Campaign, DocumentRole

IMAGE_FORMATS = frozenset({"jpeg", "png", "gif", "bmp", "tiff", "webp", "heic"})
WORD_FORMATS = frozenset({"docx", "doc"})
# What an extension promises, for files too damaged to sniff: a broken 事迹材料.docx is still the narrative.
EXTENSION_FORMATS = {".docx": "docx", ".doc": "doc", ".wps": "doc", ".xlsx": "xlsx", ".xls": "xls", ".et": "xls",
                     ".pdf": "pdf", ".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png"}
UNSNIFFABLE = frozenset({"unknown", "zip", "ole", "empty", "ooxml"})
OTHER = "other"
EVIDENCE = "evidence"


@dataclass(frozen=True)
class FileFacts:
    """One received file and what is known about it."""

    name: str                      # display path, e.g. "（3）佐证材料/3-1 证书.jpg"
    path: Path
    size: int
    format: str                    # sniffed from the bytes
    origin: str = ""               # the archive it came from, "" for a loose attachment
    role: str = OTHER
    evidence_no: tuple[int, int] | None = None
    words: WordCount | None = None
    text: str = ""                 # Word text (narrative) or table text (form/summary), for content matching
    problem: str = ""              # why it could not be read, "" when fine
    converted: Path | None = None  # the .docx LibreOffice made of a .doc / .wps, read in its place
    pictures: int = 0              # pictures in a Word file (text in them is not counted)

    @property
    def basename(self) -> str:
        return PurePosixPath(self.name).name

    @property
    def folders(self) -> str:
        return normalize_name("/".join(PurePosixPath(self.name).parts[:-1]))

    @property
    def norm_stem(self) -> str:
        return normalize_name(strip_copy_suffix(split_ext(self.basename)[0]))


@dataclass(frozen=True)
class _Read:
    """What _read_text found in a Word or Excel file."""

    body: str = ""
    tables: str = ""
    problem: str = ""
    converted: Path | None = None  # LibreOffice's .docx of a .doc
    pictures: int = 0


def _read_text(path: Path, fmt: str) -> _Read:
    """Body text, table text and pictures of Word files, table text of Excel files; others: nothing."""
    if fmt == "doc" and soffice_path() is None:
        return _Read(problem="旧版Word（.doc/.wps）格式")
    converted = None
    try:
        if fmt == "doc":  # read through a DOCX that LibreOffice writes next to it; the format stays "doc"
            path = converted = convert_to_docx(path, path.parent)
        if fmt in ("docx", "doc"):
            tables = "\n".join("\t".join(row) for t in read_docx_tables(path) for row in t)
            return _Read(read_docx_text(path).text, tables, "", converted, count_pictures(path))
        if fmt == "xlsx":
            return _Read(tables="\n".join("\t".join(row) for row in read_xlsx_rows(path)))
    except DocumentUnreadable as exc:
        return _Read(problem=str(exc) or "damaged file")
    if fmt == "xls":
        return _Read(problem="旧版Excel（.xls）格式")
    return _Read()


def inspect_file(name: str, path: Path, size: int, origin: str = "") -> FileFacts:
    """Sniff one file and read the text a role decision or a check needs."""
    fmt = sniff_file(path)
    claimed = EXTENSION_FORMATS.get(split_ext(PurePosixPath(name).name)[1])
    if fmt in UNSNIFFABLE and fmt != "zip" and claimed:
        return FileFacts(name, path, size, fmt, origin, problem="文件已损坏或不是声称的格式")
    if fmt == "zip" and claimed in ("docx", "xlsx"):
        # A zip named .docx / .xlsx: read it as what it claims; a damaged one then says why it can't be read.
        fmt = claimed
    read = _read_text(path, fmt)
    words = count_words(read.body) if read.body else None
    return FileFacts(name, path, size, fmt, origin, words=words, text=read.tables or read.body, problem=read.problem,
                     converted=read.converted, pictures=read.pictures)


def _fits_format(facts: FileFacts, role: DocumentRole) -> bool:
    if facts.format in role.formats:
        return True
    claimed = EXTENSION_FORMATS.get(split_ext(facts.basename)[1])
    return facts.format in UNSNIFFABLE and claimed in role.formats


def _name_role(facts: FileFacts, campaign: Campaign) -> str | None:
    name = facts.norm_stem
    for role in campaign.documents:
        if not _fits_format(facts, role) or any(k in name for k in role.exclude_keywords):
            continue
        if any(k in name for k in role.name_keywords):
            return role.role
    return None


def _content_role(facts: FileFacts, campaign: Campaign) -> str | None:
    text = "".join(facts.text.split())
    for role in campaign.documents:
        if role.content_keywords and facts.format in role.formats and all(k in text for k in role.content_keywords):
            return role.role
    return None


def _role_of(facts: FileFacts, campaign: Campaign) -> FileFacts:
    """Numbered evidence first (the notice's own naming), then names, evidence folders, then content."""
    number = evidence_number(facts.basename, major=campaign.evidence.major)
    if number:
        return replace(facts, role=EVIDENCE, evidence_no=number)
    role = _name_role(facts, campaign)
    if role is None and any(k in facts.folders for k in campaign.evidence.folder_keywords):
        role = EVIDENCE
    role = role or _content_role(facts, campaign)
    if role is None and _names_a_material(facts, campaign):
        return replace(facts, role=OTHER)  # e.g. 事迹材料.pdf: the material in the wrong format, not evidence
    if role is None and (facts.format in IMAGE_FORMATS or facts.format == "pdf"):
        role = EVIDENCE  # an unnumbered photo or scan is evidence named the wrong way
    return replace(facts, role=role or OTHER)


def _names_a_material(facts: FileFacts, campaign: Campaign) -> bool:
    """The name says it is one of the materials, whatever its format."""
    return any(names_material(facts, role) for role in campaign.documents)


def names_material(facts: FileFacts, role: DocumentRole) -> bool:
    """The file's name says it is `role`'s material, whatever its format."""
    name = facts.norm_stem
    return any(k in name for k in role.name_keywords) and not any(x in name for x in role.exclude_keywords)


def _narrative_fallback(files: list[FileFacts], campaign: Campaign) -> list[FileFacts]:
    """A Word file nobody claimed, with real prose in it, is the narrative named without 事迹."""
    role = campaign.role("narrative")
    if role is None or any(f.role == "narrative" for f in files):
        return files
    candidates = [f for f in files if f.role == OTHER and f.format in role.formats and f.words and f.words.low >= 200]
    if not candidates:
        return files
    best = max(candidates, key=lambda f: f.words.low if f.words else 0)
    return [replace(f, role="narrative") if f is best else f for f in files]


def assign_roles(files: list[FileFacts], campaign: Campaign) -> list[FileFacts]:
    """Give every file its role under `campaign`'s list of materials."""
    return _narrative_fallback([_role_of(f, campaign) for f in files], campaign)


# The number a material's file (or its folder) starts with, after NFKC: （1） (1) 【1】 [1] 1、 1. 1) 1- 1_ and
# （一）; "3-1" is evidence 3-1, not material 3, and "2025年" is no number.
_MATERIAL_NO = re.compile(r"^\s*(?:[(\[【]\s*(\d{1,2}|[一二三四五六七八九])\s*[)\]】]"
                          r"|(\d{1,2}|[一二三四五六七八九])\s*(?:[、.)]|[-_](?!\d)))")
_CN_DIGITS = {ch: i for i, ch in enumerate("一二三四五六七八九", start=1)}


def material_number(facts: FileFacts) -> int | None:
    """The order number the file's name gives it (（1） for the form …), else its folder's (（3）佐证材料/…)."""
    parts = PurePosixPath(facts.name).parts
    for part in (parts[-1], *parts[-2:-1]):
        match = _MATERIAL_NO.match(unicodedata.normalize("NFKC", part))
        if match:
            number = match.group(1) or match.group(2)
            return int(number) if number.isdigit() else _CN_DIGITS[number]
    return None


def expected_file_name(facts: FileFacts, role: DocumentRole, studio: str) -> str | None:
    """The name the notice gives `facts` as `role`'s material (（2）张三创新工作室事迹材料.docx), or None when its
    name already has the material's number and says what it is (the words need not be the notice's verbatim:
    （1）申报表.docx is ordered and recognisable, which is what the numbering is for)."""
    if not role.order or (material_number(facts) == role.order and names_material(facts, role)):
        return None
    _stem, ext = split_ext(facts.basename)
    title = role.file_name.replace("{studio}", studio or "XXX创新工作室") if role.file_name else role.title
    return f"（{role.order}）{title}{ext}"
