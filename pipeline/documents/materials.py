"""Read the identified materials into records: the application form, the summary table, the stamped scan.

Problems reading a file become facts (a `problem` string), never exceptions:
the rules turn them into UNREADABLE_DOCUMENT for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

from parsers.docx_text import read_docx_layout, read_docx_tables
from parsers.errors import DocumentUnreadable
from parsers.form_reader import read_form, read_table_rows
from parsers.scan import scan_info
from parsers.sheets import read_xlsx_rows
from pipeline.config import Campaign
from pipeline.rules.facts import (
    FileFacts,
    FormFacts,
    MaterialFacts,
    ScanFacts,
    SummaryFacts,
)


def word_path(facts: FileFacts) -> Path | None:
    """The .docx to read for a Word file: itself, or the LibreOffice conversion of a .doc / .wps."""
    if facts.format == "docx":
        return facts.path
    converted = facts.converted
    return converted if converted is not None and converted.exists() else None


def _read_form(facts: FileFacts, campaign: Campaign) -> FormFacts:
    assert campaign.form is not None
    path = word_path(facts)
    if facts.problem or path is None:
        return FormFacts(facts.name, problem=facts.problem or "legacy word: not converted", reported=True)
    try:
        return FormFacts(facts.name, record=read_form(read_docx_layout(path), campaign.form.schema))
    except DocumentUnreadable as exc:
        return FormFacts(facts.name, problem=str(exc) or "damaged file")


def _summary_rows(facts: FileFacts) -> list[list[str]]:
    if facts.format == "xlsx":
        return read_xlsx_rows(facts.path)
    path = word_path(facts)
    if path is None:
        raise DocumentUnreadable(facts.problem or f"summary table as {facts.format}")
    return [row for table in read_docx_tables(path) for row in table]


def _read_summary(facts: FileFacts, campaign: Campaign) -> SummaryFacts:
    assert campaign.summary_table is not None
    if facts.format == "pdf":
        return SummaryFacts(facts.name)   # a PDF summary is accepted as is; nothing to compare against
    try:
        rows = read_table_rows(_summary_rows(facts), campaign.summary_table.table)
    except DocumentUnreadable as exc:
        return SummaryFacts(facts.name, problem=str(exc) or "damaged file")
    return SummaryFacts(facts.name, rows=tuple(rows))


def _read_scan(facts: FileFacts) -> ScanFacts:
    try:
        return ScanFacts(facts.name, info=scan_info(facts.path, facts.format))
    except DocumentUnreadable as exc:
        return ScanFacts(facts.name, problem=str(exc) or "damaged file")


def read_materials(files: tuple[FileFacts, ...], campaign: Campaign) -> MaterialFacts:
    """Parse the form (the first Word one), the summary table and every stamped scan of a submission."""
    forms = [f for f in files if f.role == "form_word"]
    summaries = [f for f in files if f.role == "summary"]
    form = _read_form(_preferred(forms), campaign) if forms and campaign.form else None
    summary = _read_summary(_preferred(summaries), campaign) if summaries and campaign.summary_table else None
    scans = tuple(_read_scan(f) for f in files if f.role == "form_scan" and not f.problem)
    return MaterialFacts(form=form, summary=summary, scans=scans)


def _preferred(files: list[FileFacts]) -> FileFacts:
    """Of several candidates, a readable .docx / .xlsx before an old format or a damaged copy."""
    return min(files, key=lambda f: (bool(f.problem), f.format not in ("docx", "xlsx")))


