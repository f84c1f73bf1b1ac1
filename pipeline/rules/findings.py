"""Findings and verdicts are values: a code, a severity, a message for the sender, the file concerned."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Code(StrEnum):
    """Stable finding codes (docs/DESIGN.md): extend, never rename."""

    SUBJECT_FORMAT = "SUBJECT_FORMAT"
    NOT_RECOMMENDING_UNIT = "NOT_RECOMMENDING_UNIT"
    NO_ATTACHMENT = "NO_ATTACHMENT"
    NOT_ARCHIVE = "NOT_ARCHIVE"
    ARCHIVE_NAME_MISMATCH = "ARCHIVE_NAME_MISMATCH"
    ARCHIVE_CORRUPT = "ARCHIVE_CORRUPT"
    ARCHIVE_ENCRYPTED = "ARCHIVE_ENCRYPTED"
    UNSAFE_ARCHIVE = "UNSAFE_ARCHIVE"
    MISSING_FORM_WORD = "MISSING_FORM_WORD"
    MISSING_FORM_SCAN = "MISSING_FORM_SCAN"
    MISSING_NARRATIVE = "MISSING_NARRATIVE"
    NARRATIVE_TOO_SHORT = "NARRATIVE_TOO_SHORT"
    MISSING_SUMMARY = "MISSING_SUMMARY"
    EVIDENCE_NOT_JPEG = "EVIDENCE_NOT_JPEG"
    EVIDENCE_NAMING = "EVIDENCE_NAMING"
    LATE = "LATE"
    FORM_FIELDS_MISSING = "FORM_FIELDS_MISSING"
    TEAM_TOO_SMALL = "TEAM_TOO_SMALL"
    TOO_RECENT = "TOO_RECENT"
    TOO_FEW_RESULTS = "TOO_FEW_RESULTS"
    SUMMARY_MISMATCH = "SUMMARY_MISMATCH"
    LARGE_ATTACHMENT_LINK = "LARGE_ATTACHMENT_LINK"
    UNREADABLE_DOCUMENT = "UNREADABLE_DOCUMENT"
    FORM_MISMATCH = "FORM_MISMATCH"
    LEADER_CONDITION = "LEADER_CONDITION"
    SEAL_NOT_VISIBLE = "SEAL_NOT_VISIBLE"
    SEVERAL_STUDIOS = "SEVERAL_STUDIOS"
    MISSING_EVIDENCE = "MISSING_EVIDENCE"
    TOO_MANY_ITEMS = "TOO_MANY_ITEMS"
    CATEGORY_CONDITION = "CATEGORY_CONDITION"
    AUTO_REPLY = "AUTO_REPLY"
    BOUNCE = "BOUNCE"
    DUPLICATE = "DUPLICATE"
    UNRELATED = "UNRELATED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    MESSAGE_UNDECODABLE = "MESSAGE_UNDECODABLE"  # the MIME structure could not be decoded at all: staff look
    STUDIO_CONFLICT = "STUDIO_CONFLICT"  # a studio already submitted from another sender: neither replaces the other
    DELAYED_DELIVERY = "DELAYED_DELIVERY"  # received after the deadline, sent before it: a server's delay? staff look
    MATERIAL_NAMING = "MATERIAL_NAMING"  # a material's file not named (and numbered) the way the notice orders
    UNIT_NOT_ON_ROSTER = "UNIT_NOT_ON_ROSTER"  # a unit of a kind the office confirms by its roster, not yet on it
    CATEGORY_CHANNEL = "CATEGORY_CHANNEL"  # a category the notice has collected by a named unit, sent by another
    NOT_NAMED_AFTER_LEADER = "NOT_NAMED_AFTER_LEADER"  # a category whose studios bear the leader's name, without it


# The basis of a rule that the notice does not set: the office added it (`basis = "office"` in the campaign).
# Such a rule may ask staff to look (review) but never rejects, and its wording never cites the notice.
OFFICE_BASIS = "office"


def is_office_basis(basis: str) -> bool:
    """Whether `basis` marks the office's own addition rather than a clause of the notice."""
    return basis.strip().lower() == OFFICE_BASIS


def basis_label(basis: str) -> str:
    """How staff read a finding's basis: the notice's clause, the office's own rule, or nothing recorded."""
    if not basis.strip():
        return "未注明"
    if is_office_basis(basis):
        return "本单位补充要求（通知未规定，只转人工核实）"
    return f"通知{basis.strip()}"


class Severity(StrEnum):
    """How much a finding weighs: reject decides the verdict, review asks for a person."""

    REJECT = "reject"
    REVIEW = "review"
    WARNING = "warning"
    INFO = "info"


class Verdict(StrEnum):
    """The outcome of one message (docs/DESIGN.md, "Verdicts and reason codes")."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    REVIEW = "review"
    IGNORED = "ignored"


IGNORE_CODES = frozenset({Code.AUTO_REPLY, Code.BOUNCE, Code.DUPLICATE, Code.UNRELATED})


@dataclass(frozen=True)
class Finding:
    """One problem found in a submission; `message` is the Chinese text the sender reads."""

    code: Code
    severity: Severity
    message: str
    file: str = ""
    fix: str = ""
    note: str = ""      # technical detail for staff (English tool output); never sent to the sender
    basis: str = ""     # the notice's clause the rule implements ("四.6"), "office", or "" (not recorded)
    # What the wording was made from, so a campaign's own phrases can be filled in later
    # (messages.for_campaign): the variant and the raw template values.
    variant: str = field(default="", compare=False, repr=False)
    params: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)


def verdict_for(findings: tuple[Finding, ...] | list[Finding]) -> Verdict:
    """Derive the verdict from findings: ignore codes win, then reject, then review."""
    if any(f.code in IGNORE_CODES for f in findings):
        return Verdict.IGNORED
    if any(f.severity is Severity.REJECT for f in findings):
        return Verdict.REJECTED
    if any(f.severity is Severity.REVIEW for f in findings):
        return Verdict.REVIEW
    return Verdict.ACCEPTED


def finding_row(f: Finding) -> dict[str, str]:
    """A finding as the columns of its database row."""
    return {"code": str(f.code), "severity": str(f.severity), "message": f.message, "fix": f.fix, "file": f.file,
            "note": f.note, "basis": f.basis}
