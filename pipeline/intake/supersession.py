"""Which submission of a studio stands: a later one replaces an earlier one only when it may.

The notice lets a unit send a studio again before the deadline, and the later package is the one that counts.
But the inbox is public: a message that merely repeats a studio's subject — a stranger's, a clerk's follow-up
question without attachments, a package sent after the deadline — must not knock out the studio's standing
submission. Walking a studio's messages in receipt order, a later one replaces the standing one when

- the standing one is no real submission (no materials, or late): anything later may take its place; or
- the later one is a real submission (has materials, in time) *and* plausibly from the same sender: the same
  mailbox (case and +tag folded), or the same organisation's own domain (a hospital's union office and its
  deputy at @hospital.cn). On a public provider (126.com, qq.com …) the domain says nothing: there only the
  same mailbox counts.

A real submission from another sender is a *conflict*: it stands beside the standing one (neither replaces the
other) and goes to staff in review. Anything else that may not replace is recorded on its own and points to
the standing submission, which keeps its place in the 汇总表.

Pure: `chain` takes values; `refresh` is the thin part that reads and writes the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from pipeline.replies.policy import normalised_address, organisation_domain
from pipeline.rules.findings import Code, Finding, finding_row
from pipeline.rules.wording import make_finding
from storage import repo
from storage.models import Submission

SameSender = Callable[[str, str], bool]


@dataclass(frozen=True)
class Candidate:
    """What the rule needs to know of one submission of a studio."""

    id: int
    received_at: datetime
    message_pk: int
    sender: str
    has_materials: bool
    late: bool

    @property
    def real(self) -> bool:
        """A submission that may replace another: it carries materials and came in time."""
        return self.has_materials and not self.late


@dataclass(frozen=True)
class Chain:
    """The outcome for one studio: the standing submission, where each other one points, the conflicts."""

    standing: int | None
    superseded_by: dict[int, int | None]
    conflicts: frozenset[int]


def same_sender_rule(shared_domains: frozenset[str]) -> SameSender:
    """Two addresses plausibly of one sender: one mailbox, or one organisation's own (not public) domain."""
    def same(a: str, b: str) -> bool:
        if not a or not b:
            return False
        if normalised_address(a) == normalised_address(b):
            return True
        domain = organisation_domain(a)
        return domain == organisation_domain(b) and domain not in shared_domains
    return same


def chain(candidates: Sequence[Candidate], same_sender: SameSender) -> Chain:
    """Walk a studio's submissions in receipt order and decide which one stands (see the module's rule)."""
    ordered = sorted(candidates, key=lambda c: (c.received_at, c.message_pk))
    standing: Candidate | None = None
    conflicts: set[int] = set()
    for c in ordered:
        if standing is None or not standing.real or (c.real and same_sender(c.sender, standing.sender)):
            standing = c
        elif c.real:
            conflicts.add(c.id)
    top = standing.id if standing else None
    links = {c.id: (None if c.id == top or c.id in conflicts else top) for c in ordered}
    return Chain(top, links, frozenset(conflicts))


def candidate(sub: Submission) -> Candidate:
    """A stored submission as the rule sees it."""
    fields = sub.fields or {}
    has_materials = bool(fields["has_materials"]) if "has_materials" in fields else bool(sub.documents)
    return Candidate(sub.id, sub.message.received_at, sub.message_pk, sub.message.from_addr or "", has_materials,
                     any(f.code == Code.LATE for f in sub.findings))


def history(session: Session, campaign: str, studio_key: str) -> list[Candidate]:
    """Every judged, non-ignored submission of one studio."""
    return [candidate(s) for s in repo.studio_submissions(session, campaign, studio_key)]


def conflict_finding(standing: Candidate) -> Finding:
    """STUDIO_CONFLICT, with a note that tells staff (never the sender) which submission stands."""
    return make_finding(Code.STUDIO_CONFLICT, note=f"本工作室以 #{standing.id}（{standing.sender} 报送）为准")


def refresh(session: Session, campaign: str, studio_key: str, same_sender: SameSender) -> dict[int, Finding]:
    """Recompute which submission of the studio stands and store where the others point; returns the
    STUDIO_CONFLICT findings added now, by submission id.

    Every conflict gets its STUDIO_CONFLICT here, the message being judged and one found only now (messages
    judged out of receipt order, by parallel workers) alike, and an accepted one goes to review: the rule
    holds whatever order judging took.
    """
    candidates = history(session, campaign, studio_key)
    result = chain(candidates, same_sender)
    repo.set_superseded(session, result.superseded_by)
    standing = next((c for c in candidates if c.id == result.standing), None)
    added: dict[int, Finding] = {}
    for sub in repo.submissions_by_id(session, sorted(result.conflicts)):
        if standing is not None and not any(f.code == Code.STUDIO_CONFLICT for f in sub.findings):
            added[sub.id] = conflict_finding(standing)
            repo.add_finding(sub, finding_row(added[sub.id]))
            sub.verdict = "review" if sub.verdict == "accepted" else sub.verdict
    return added
