"""What the rules judge, built by hand: the facts of one file, the files of a complete package, and the facts of
a whole submission (on time, with the campaign's example subject).

    from helpers.facts import complete_files, facts, file_facts
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from parsers.wordcount import WordCount
from pipeline.rules.checks import ArchiveFacts, SubmissionFacts
from pipeline.rules.facts import FileFacts
from pipeline.rules.roles import assign_roles

SUBJECT = "正定县总工会张三创新工作室入库材料"
ON_TIME = datetime(2025, 5, 26, 2, 0, tzinfo=timezone.utc)


def file_facts(name: str, fmt: str, words: int | None = None, high: int | None = None, problem: str = "",
               text: str = "") -> FileFacts:
    """One unpacked file of a.zip: its format, its 字数 (`words`, up to `high`), the problem reading it."""
    wc = WordCount(low=words, high=high if high is not None else words, chars=words) if words is not None else None
    return FileFacts(name=name, path=Path("/nonexistent") / name, size=1000, format=fmt, origin="a.zip",
                     words=wc, problem=problem, text=text)


def complete_files() -> list[FileFacts]:
    """Every material the notice asks for, each long enough."""
    return [
        file_facts("（1）石家庄市劳模和工匠人才创新工作室入A级库申报表.docx", "docx", 600),
        file_facts("（1）石家庄市劳模和工匠人才创新工作室入A级库申报表（盖章扫描件）.pdf", "pdf"),
        file_facts("（2）张三创新工作室事迹材料.docx", "docx", 1500),
        file_facts("（3）佐证材料/3-1 市级劳动模范证书.jpg", "jpeg"),
        file_facts("（3）佐证材料/3-2 专利证书.jpg", "jpeg"),
        file_facts("（4）石家庄市劳模和工匠人才创新工作室入库汇总表.xlsx", "xlsx"),
    ]


def facts(campaign, files=None, subject=SUBJECT, archive=SUBJECT + ".zip", received=ON_TIME, **kw) -> SubmissionFacts:
    """A submission of `files` (complete_files() by default) in one zip, its roles assigned as `campaign` says."""
    files = complete_files() if files is None else files
    archives = (ArchiveFacts(archive, "zip"),) if archive else ()
    names = kw.pop("attachment_names", (archive,) if archive else tuple(f.name for f in files))
    return SubmissionFacts(subject=subject, received_at=received, attachment_names=names, archives=archives,
                           files=tuple(assign_roles(files, campaign)), **kw)
