"""The facts the rules read: what is known about each received file, what reading the materials gave, and a
file sent as a download link. Plain data, no I/O: pipeline.documents gathers them, pipeline.rules judges them."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from parsers.form_reader import FormRecord
from parsers.names import normalize_name, split_ext, strip_copy_suffix
from parsers.wordcount import WordCount

if TYPE_CHECKING:  # a type only: parsers.scan reads PDFs and images
    from parsers.scan import ScanInfo

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
class ReadFile:
    """What reading one material gave: the value, or why it could not be read."""

    file: str
    problem: str = ""
    reported: bool = False   # the problem was already found when the file was identified (one finding, not two)


@dataclass(frozen=True)
class FormFacts(ReadFile):
    record: FormRecord | None = None


@dataclass(frozen=True)
class SummaryFacts(ReadFile):
    rows: tuple[dict[str, str], ...] | None = None   # None: a PDF or unreadable, nothing to compare


@dataclass(frozen=True)
class ScanFacts(ReadFile):
    info: ScanInfo | None = None


@dataclass(frozen=True)
class MaterialFacts:
    """The records read from one submission's materials (None: that material wasn't there)."""

    form: FormFacts | None = None
    summary: SummaryFacts | None = None
    scans: tuple[ScanFacts, ...] = field(default_factory=tuple)


def best_narrative(files: tuple[FileFacts, ...] | list[FileFacts]) -> FileFacts | None:
    """Of the counted narratives, the longest by Word's low count (the one the 字数 rule and records use)."""
    counted = [f for f in files if f.role == "narrative" and f.words is not None]
    return max(counted, key=lambda f: f.words.low if f.words else 0) if counted else None


def age_at(birth: str | None, moment: datetime) -> int | None:
    """Whole years from a 'YYYY-MM' birth month to `moment` (a leader's age at the deadline)."""
    if not birth or len(birth) != 7:
        return None
    year, month = int(birth[:4]), int(birth[5:])
    return moment.year - year - (1 if moment.month < month else 0)


def months_between(start: str | None, moment: datetime) -> int | None:
    """Full months from a 'YYYY-MM' month to `moment` (how long a studio has run)."""
    if not start or len(start) != 7:
        return None
    return (moment.year - int(start[:4])) * 12 + moment.month - int(start[5:])


# Where a link without a file name sits, by host (the services pipeline.mail.classify recognises, and the mail hosts).
_LINK_SERVICES = (
    ("pan.baidu.com", "百度网盘"), ("1drv.ms", "OneDrive"), ("onedrive.live.com", "OneDrive"),
    ("sharepoint.com", "SharePoint"), ("qq.com", "QQ邮箱超大附件"), ("163.com", "网易邮箱超大附件"),
    ("126.com", "网易邮箱超大附件"), ("126.net", "网易邮箱超大附件"), ("yeah.net", "网易邮箱超大附件"),
)


@dataclass(frozen=True)
class LargeAttachmentLink:
    """A file sent as a download link instead of an attachment (never fetched)."""

    filename: str
    url: str
    expires: str

    @property
    def label(self) -> str:
        """How a reply names it: the file name, else the service it sits on; never the address (replies to
        126 stay free of links, and the address is the sender's to know; staff see it in the record)."""
        if self.filename:
            return self.filename
        host = urllib.parse.urlsplit(self.url).hostname or ""
        for suffix, service in _LINK_SERVICES:
            if host == suffix or host.endswith("." + suffix):
                return f"{service}上未注明文件名的文件"
        return "未注明文件名的下载链接"
