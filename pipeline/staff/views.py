"""How submissions are shown: the JSON contract of docs/DESIGN.md and a readable terminal table."""

from __future__ import annotations

import unicodedata
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.textsafe import terminal_text
from storage.models import ReplyState, Submission
from storage.staff import StaffDecision

DISPLAY_ZONE = ZoneInfo("Asia/Shanghai")


def reply_summary(sub: Submission) -> dict[str, Any]:
    """The `reply` member: the latest queued reply, or status none."""
    if not sub.replies:
        return {"status": "none", "to": None, "subject": None}
    last = sub.replies[-1]
    # `sending` lasts from the claim to the server's answer (or until a crash is settled): not delivered yet.
    status = ReplyState.PENDING if last.status == ReplyState.SENDING else last.status
    return {"status": status, "to": last.to_addr, "subject": last.subject}


def submission_json(sub: Submission, decision: StaffDecision | None = None) -> dict[str, Any]:
    """One element of `intake submissions --json`: exactly the top-level keys of docs/DESIGN.md.

    Anything more about the studio goes under `fields` (superseded_by: the id of
    the studio's submission that stands instead of this one, or null; see pipeline/intake/supersession.py).
    `verdict` is the effective one: a staff decision when there is one, the rules' verdict
    then under `fields.machine_verdict` and the decision under `fields.staff_decision`.
    """
    msg = sub.message
    extra: dict[str, Any] = {}
    if decision is not None:
        extra = {"machine_verdict": sub.verdict, "staff_decision": {
            "decision": decision.decision, "note": decision.note, "by": decision.decided_by,
            "at": decision.decided_at.astimezone(DISPLAY_ZONE).isoformat()}}
    return {
        "id": sub.id, "message_id": msg.message_id, "uid": msg.uid, "subject": msg.subject, "from": msg.from_addr,
        "received_at": msg.received_at.astimezone(DISPLAY_ZONE).isoformat(), "campaign": sub.campaign,
        "verdict": decision.decision if decision is not None else sub.verdict,
        "reasons": [{"code": f.code, "severity": f.severity, "message": f.message, "file": f.file}
                    for f in sub.findings],
        "fields": {**(sub.fields or {}), "superseded_by": sub.superseded_by, **extra},
        "reply": reply_summary(sub),
    }


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _fit(text: str, width: int) -> str:
    """Pad or cut `text` to `width` terminal columns."""
    if _width(text) <= width:
        return text + " " * (width - _width(text))
    out, used = "", 0
    for ch in text:
        if used + _width(ch) > width - 1:
            break
        out, used = out + ch, used + _width(ch)
    return out + "…" + " " * (width - used - 1)


def table(rows: list[list[str]], widths: list[int]) -> str:
    """A plain table for a terminal that lines up with Chinese text (full-width characters take two columns).

    Cells hold subjects and file names from strangers: every control character (ESC, BEL, C1, bidi
    overrides, newlines) is shown as an escape before the cell is measured, so it is neither executed by
    the terminal nor able to break the row."""
    return "\n".join("  ".join(_fit(terminal_text(cell), w) for cell, w in zip(row, widths)).rstrip()
                     for row in rows)


def submissions_table(subs: list[Submission], decisions: dict[int, StaffDecision] | None = None) -> str:
    """The listing printed by `intake demo` and `intake submissions` (a staff decision marked 人工)."""
    rows = [["ID", "主题", "结论", "问题代码"]]
    for sub in subs:
        codes = ", ".join(dict.fromkeys(f.code for f in sub.findings)) or "-"
        decision = (decisions or {}).get(sub.id)
        verdict = f"{decision.decision} (人工)" if decision is not None else sub.verdict
        verdict += " (superseded)" if sub.superseded_by else ""
        rows.append([str(sub.id), sub.message.subject or "（无主题）", verdict, codes])
    return table(rows, [4, 52, 22, 60])
