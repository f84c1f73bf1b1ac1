"""Process one message: ledger first, then decode, classify, unpack, identify, judge, store, queue the reply.

Nothing is lost: the raw bytes are on disk and in the ledger (committed) before
any parsing starts, so a crash leaves a `failed` row that `intake reprocess`
can replay.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import traceback
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from parsers.docx_text import read_docx_text
from parsers.errors import DocumentUnreadable
from parsers.names import normalize_name
from parsers.sniff import sniff_file
from pipeline.config import ArchiveLimits, Campaign, Config
from pipeline.documents import derived
from pipeline.documents.archives import ARCHIVE_KINDS, unpack
from pipeline.documents.identify import inspect_file
from pipeline.documents.materials import read_materials, word_path
from pipeline.documents.volumes import assemble, missing_detail, volume_sets
from pipeline.intake import supersession
from pipeline.intake.app import App, IngestResult, IngestStatus
from pipeline.intake.folders import UNPACKING_MARKER, judging_workdir, message_workdir
from pipeline.intake.ledger import mark_failed, read_head
from pipeline.intake.routing import route
from pipeline.intake.supersession import same_sender_rule
from pipeline.mail.classify import detect_automatic, find_large_attachment_links
from pipeline.mail.decode import (
    Attachment,
    DecodedMail,
    decode_headers,
    decode_message,
    decoding_failed,
    earliest_received_at,
)
from pipeline.mail.forwarded import unwrap_forwarded
from pipeline.mail.mimestream import STREAM_THRESHOLD, split_file
from pipeline.replies.compose import ReceivedDocument, ReplyContext, reply_subject, reply_text
from pipeline.replies.outbox import answers_our_mail, queue_reply
from pipeline.replies.policy import own_addresses
from pipeline.rules.checks import ArchiveFacts, SubmissionFacts, evaluate
from pipeline.rules.eligibility import category_of, form_fields
from pipeline.rules.facts import FileFacts, best_narrative
from pipeline.rules.findings import Code, Finding, Verdict, finding_row, verdict_for
from pipeline.rules.roles import assign_roles
from pipeline.rules.subject import archive_stem, parse_subject
from pipeline.rules.wording import make_finding
from storage import forms, repo
from storage.models import LedgerState, Message, Submission

log = logging.getLogger(__name__)


def process_in_process(app: App, message_pk: int, *, notify: bool) -> IngestResult:
    """Process the ledger row `message_pk` here, recording a traceback instead of raising."""
    with app.sessions() as session:
        message = session.get(Message, message_pk)
        assert message is not None
        try:
            sub = process_message(app, session, message, notify=notify)
            session.commit()
            return IngestResult(message.source_key, IngestStatus.NEW, sub.id, sub.verdict)
        except Exception:  # noqa: BLE001 - one broken mail must not block the inbox
            session.rollback()
            log.exception("processing message %s failed", message_pk)
            return mark_failed(app, message_pk, traceback.format_exc())


def _ignored(mail: DecodedMail, message: Message, session: Session, config: Config) -> Finding | None:
    """Automatic mail and duplicates are recorded but never answered."""
    own = own_addresses(config)
    kind = detect_automatic(mail)
    if kind is not None:
        return make_finding(Code(str(kind)))
    if mail.from_addr and mail.from_addr in own:
        return make_finding(Code.AUTO_REPLY)  # our own reply came back: never answer it (mail loop)
    earlier = repo.earlier_copy(session, message)
    if earlier is not None:
        return make_finding(Code.DUPLICATE, detail=f"（{earlier.received_at:%Y-%m-%d %H:%M} UTC 收到，编号 {earlier.id}）")
    return None


def _save_attachments(attachments: tuple[Attachment, ...], folder: Path) -> list[tuple[Attachment, Path]]:
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for i, att in enumerate(attachments):
        suffix = Path(att.filename).suffix[:16] if att.filename else ""
        path = folder / f"{i:03d}{suffix}"
        if att.path is not None:
            os.replace(att.path, path)  # decoded on disk by pipeline/mail/mimestream.py, in the same file system
        else:
            path.write_bytes(att.data)
        saved.append((att, path))
    return saved


def gather_facts(mail: DecodedMail, received_at: datetime, workdir: Path, campaign: Campaign,
                 limits: ArchiveLimits) -> SubmissionFacts:
    """Unpack and identify everything attached; all problems become facts, never exceptions."""
    shutil.rmtree(workdir, ignore_errors=True)
    unwrapped = unwrap_forwarded(mail.attachments, workdir / "forwarded")
    saved = _save_attachments(unwrapped.attachments, workdir / "attachments")
    shutil.rmtree(workdir / "forwarded", ignore_errors=True)  # what was decoded there has moved to attachments/
    names = [att.filename or f"附件{i + 1}" for i, (att, _path) in enumerate(saved)]
    sets = volume_sets([att.filename for att, _path in saved])
    in_sets = {index for vs in sets for _number, index in vs.members}
    archives: list[ArchiveFacts] = []
    files: list[FileFacts] = []
    for i, (_att, path) in enumerate(saved):
        if i in in_sets:
            continue
        if sniff_file(path) not in ARCHIVE_KINDS:  # by bytes: a .docx is a zip but not an archive of materials
            files.append(inspect_file(names[i], path, path.stat().st_size))
            continue
        archive, found = _unpacked(names[i], path, workdir, workdir / "unpacked" / f"{i:03d}", _left(limits, files))
        archives.append(archive)
        files.extend(found)
    for k, vs in enumerate(sets):
        if vs.missing:
            archives.append(ArchiveFacts(vs.name, vs.kind, "corrupt", missing_detail(vs.missing)))
            continue
        parts = [saved[index][1] for _number, index in vs.members]
        assembled = workdir / "volumes" / f"{k:03d}"
        first = assemble(vs, parts, assembled)
        archive, found = _unpacked(vs.name, first, workdir, workdir / "unpacked" / f"volumes-{k:03d}",
                                   _left(limits, files), sum(p.stat().st_size for p in parts))
        shutil.rmtree(assembled, ignore_errors=True)  # the parts stay in attachments/
        archives.append(archive)
        files.extend(found)
    return SubmissionFacts(
        subject=mail.subject, received_at=received_at, attachment_names=tuple(a.filename for a, _ in saved),
        archives=tuple(archives), files=tuple(assign_roles(files, campaign)),
        large_links=tuple(dict.fromkeys(find_large_attachment_links(mail) + unwrapped.large_links)),
        sent_at=mail.date, first_hop_at=earliest_received_at(mail))


def _left(limits: ArchiveLimits, files: list[FileFacts]) -> ArchiveLimits:
    """The limits for the next archive of a message: its file and byte budgets are for the whole message, so
    ten archives of 2 GB each cannot leave 20 GB on disk from one e-mail."""
    unpacked = [f for f in files if f.origin]
    return replace(limits, max_files=max(0, limits.max_files - len(unpacked)),
                   max_total_bytes=max(0, limits.max_total_bytes - sum(f.size for f in unpacked)))


def _unpacked(name: str, path: Path, workdir: Path, dest: Path, limits: ArchiveLimits,
              packed_bytes: int | None = None) -> tuple[ArchiveFacts, list[FileFacts]]:
    """One archive unpacked into `dest`: its facts and those of the files in it."""
    # If the unpacking kills the process, the marker tells the sandbox's parent which archive did it.
    (workdir / UNPACKING_MARKER).write_text(name, encoding="utf-8")
    result = unpack(path, dest, limits, packed_bytes)
    (workdir / UNPACKING_MARKER).unlink()
    found = [inspect_file(f.name, f.path, f.size, origin=name) for f in result.files]
    return ArchiveFacts(name, result.kind, result.problem, result.detail), found


def studio_identity(facts: SubmissionFacts, campaign: Campaign) -> tuple[str, str]:
    """(recommending unit, studio name) from the subject, else from an archive's name."""
    for text in (facts.subject, *(archive_stem(a.name) for a in facts.archives)):
        parts = parse_subject(text, campaign)
        if parts.well_formed:
            return parts.unit, parts.studio
    return "", ""


# "青岛市市立医院（盖章）": the form's reminder where the seal goes, written after the name, is not part of it.
_STAMP_NOTE = re.compile(r"\s*[（(]\s*(?:盖章|公章|签章|印章|盖公章)\s*[)）]\s*$")


def with_materials(facts: SubmissionFacts, campaign: Campaign) -> SubmissionFacts:
    """Add the studio's identity and the parsed form, summary table and scans to the facts."""
    unit, studio = studio_identity(facts, campaign)
    materials = read_materials(facts.files, campaign)
    record = materials.form.record if materials.form else None
    studio = studio or (str(record.values.get("studio_name") or "") if record else "")
    if not unit and record and not campaign.subject.enforced:
        # A notice with no subject convention (Qingdao): the 申报单位 on the stamped form is the unit that
        # sends it, and the studio's identity, the roster and supersession need one.
        unit = normalize_name(_STAMP_NOTE.sub("", str(record.values.get("applicant_unit") or "")))
    return replace(facts, materials=materials, unit=unit, studio=studio,
                   category=category_of(studio, record, campaign, facts.subject))


def _fields(facts: SubmissionFacts, campaign: Campaign) -> dict[str, object]:
    best = best_narrative(facts.files)
    return {
        **form_fields(facts.materials, campaign.deadline),
        "recommending_unit": facts.unit, "studio_name": facts.studio, "category": facts.category,
        "narrative_char_count": best.words.low if best and best.words else None,
        "narrative_plain_chars": best.words.chars if best and best.words else None,
        "narrative_file": best.name if best else None,
        "evidence_count": sum(1 for f in facts.files if f.role == "evidence"),
        # Whether it carried anything at all: only a message with materials may replace a studio's submission.
        "has_materials": bool(facts.attachment_names or facts.files or facts.large_links),
        "large_attachment_links": [{"file": x.filename, "url": x.url, "expires": x.expires} for x in facts.large_links],
    }


def _narrative_record(facts: SubmissionFacts) -> dict[str, object] | None:
    """The narrative's body text and counts, re-read from the file (FileFacts keeps only what rules need)."""
    best = best_narrative(facts.files)
    if best is None:
        return None
    path = word_path(best)
    try:
        text = read_docx_text(path).text if path is not None else ""
    except DocumentUnreadable:
        text = ""
    assert best.words is not None
    return {"file": best.name, "text": text, "word_count": best.words.low, "word_count_high": best.words.high,
            "char_count": best.words.chars}


def _save_records(session: Session, submission_id: int, facts: SubmissionFacts) -> None:
    form = facts.materials.form
    record = form.record if form else None
    summary = facts.materials.summary
    forms.save_records(session, submission_id, form_file=form.file if form else "",
                       values=record.values if record else None, raw=record.raw if record else None,
                       members=record.members if record else (), summary_file=summary.file if summary else "",
                       summary=summary.rows or () if summary else (), narrative=_narrative_record(facts))


def _document_rows(facts: SubmissionFacts, workdir: Path, cached: Path, *,
                   kept: bool = True) -> list[dict[str, object]]:
    """The documents' rows, each file's path in the `cached` folder (where it is re-made when staff open it)
    rather than in the `workdir` judging read it from; unpacked files that are not `kept` have no path."""
    def stored(path: Path) -> str:
        return str(cached / path.relative_to(workdir) if path.is_relative_to(workdir) else path)

    return [{"role": f.role, "name": f.name, "format": f.format, "size": f.size,
             "path": stored(f.path) if kept or not f.origin else "", "origin": f.origin,
             "word_count": f.words.low if f.words else None, "word_count_high": f.words.high if f.words else None,
             "char_count": f.words.chars if f.words else None} for f in facts.files]


def process_message(app: App, session: Session, message: Message, *, notify: bool) -> Submission:
    """Judge one ledger row and store the outcome (the caller commits)."""
    workdir, cached = judging_workdir(app, message), message_workdir(app, message)
    spill = workdir.with_name(workdir.name + ".spill")  # large attachments decoded to a file, moved from here
    try:
        sub = _judge(app, session, message, _decode_stored(app, message, spill), workdir, notify=notify)
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    if workdir != cached:
        # Read once, in memory, and done; a cache folder of an earlier judging may differ from this one.
        shutil.rmtree(workdir, ignore_errors=True)
        if cached.is_dir():
            derived.forget(cached)
    # Judged on disk: the folder joins the cache of derived files, which may at once be over its bound.
    elif derived.mark_ready(workdir):
        derived.settle(app.files_root, app.config.storage.derived_cache_mb, workdir)
    return sub


def rebuild_folder(app: App, message_pk: int) -> bool:
    """Re-make the folder of ledger row `message_pk` from its raw message as judging made it (the attachments
    decoded, the archives unpacked within the same limits, nothing of an unsafe archive kept); False when the
    message has no materials to show (undecodable, unrelated to every campaign)."""
    with app.sessions() as session:
        message = session.get(Message, message_pk)
        if message is None:
            return False
        workdir = message_workdir(app, message)
        spill = workdir.with_name(workdir.name + ".spill")
        try:
            mail = _decode_stored(app, message, spill)
            campaign = route(mail, app.config.campaigns, message.received_at)
            if campaign is None or decoding_failed(mail):
                return False
            facts = gather_facts(mail, message.received_at, workdir, campaign, app.config.limits)
        finally:
            shutil.rmtree(spill, ignore_errors=True)
    if any(a.problem == "unsafe" for a in facts.archives):
        shutil.rmtree(workdir / "unpacked", ignore_errors=True)
    derived.mark_ready(workdir)
    return True


def _decode_stored(app: App, message: Message, spill: Path) -> DecodedMail:
    """The stored message decoded: a large one streamed from its file, its big attachments into `spill`."""
    path = app.raw.path_for(message.sha256)
    if (message.size or 0) > STREAM_THRESHOLD and path.is_file():
        shutil.rmtree(spill, ignore_errors=True)
        mail = split_file(path, spill)
    else:
        mail = decode_message(app.raw.get(message.sha256))
    if decoding_failed(mail):
        # The body defeated the decoder (a 100 MB part of one line, in the memory-limited child): its
        # headers alone still say who sent what, for staff and for the verdict's record.
        mail = replace(decode_headers(read_head(path)), defects=mail.defects)
    return mail


def _judge(app: App, session: Session, message: Message, mail: DecodedMail, workdir: Path, *,
           notify: bool) -> Submission:
    now = app.clock()
    campaign = route(mail, app.config.campaigns, message.received_at)
    if decoding_failed(mail):
        # Never "ignored": a real submission can be broken this way, and nobody would ever look at it.
        undecodable = make_finding(Code.MESSAGE_UNDECODABLE)
        sub = repo.save_outcome(session, message, {"campaign": campaign.id if campaign else None,
                                                   "verdict": Verdict.REVIEW.value, "recommending_unit": "",
                                                   "studio_name": "", "studio_key": None, "evaluated_at": now,
                                                   "fields": {"defects": list(mail.defects)[-5:]}},
                                [{**finding_row(undecodable), "note": mail.defects[-1]}], [])
        message.status, message.error = LedgerState.PROCESSED, None
        return sub
    ignored = _ignored(mail, message, session, app.config)
    if ignored is None and campaign is None:
        ignored = make_finding(Code.UNRELATED)
    if ignored is not None or campaign is None:
        findings = [ignored] if ignored else []
        sub = repo.save_outcome(session, message, {"campaign": campaign.id if campaign else None, "verdict": "ignored",
                                                   "recommending_unit": "", "studio_name": "", "studio_key": None,
                                                   "fields": {}, "evaluated_at": now}, map(finding_row, findings), [])
        message.status, message.error = LedgerState.PROCESSED, None
        return sub
    facts = with_materials(gather_facts(mail, message.received_at, workdir, campaign, app.config.limits), campaign)
    findings = evaluate(facts, campaign)
    unit, studio = facts.unit, facts.studio
    key = f"{normalize_name(unit)}|{normalize_name(studio)}" if studio else None
    fields = _fields(facts, campaign)
    verdict = verdict_for(findings)
    unsafe = any(a.problem == "unsafe" for a in facts.archives)
    sub = repo.save_outcome(session, message, {
        "campaign": campaign.id, "verdict": verdict.value, "recommending_unit": unit, "studio_name": studio,
        "studio_key": key, "fields": fields, "evaluated_at": now,
    }, map(finding_row, findings), _document_rows(facts, workdir, message_workdir(app, message), kept=not unsafe))
    _save_records(session, sub.id, facts)
    if unsafe:
        # Rejected as unsafe: nothing it unpacked is kept (the raw message is, for staff and reprocessing),
        # so that a hostile sender cannot fill the disk a little more with every message.
        shutil.rmtree(workdir / "unpacked", ignore_errors=True)
    if key:
        conflict = supersession.refresh(session, campaign.id, key, same_sender_rule(app.config.smtp.shared_domains))
        if sub.id in conflict:  # staff see which one stands, and from whom; the sender never does
            findings.append(conflict[sub.id])
            verdict = verdict_for(findings)
    message.status, message.error = LedgerState.PROCESSED, None
    if notify and not sub.replies:
        _queue_reply(app, session, sub, mail, message, verdict, findings, facts, campaign, unit, studio)
    return sub


def _reply_to(mail: DecodedMail) -> str:
    """The Reply-To header as sent; `pipeline.replies.outbox.queue_reply` decides whether it is honoured."""
    return mail.header("reply-to")


def _queue_reply(app: App, session: Session, sub: Submission, mail: DecodedMail, message: Message, verdict: Verdict,
                 findings: list[Finding], facts: SubmissionFacts, campaign: Campaign, unit: str, studio: str) -> None:
    now = app.clock()
    withheld = answers_our_mail(session, app.config, mail.header("in-reply-to"), mail.header("references"))
    if withheld is None:
        ctx = ReplyContext(to_addr="", subject=mail.subject, message_id=mail.message_id,
                           references=mail.header("references"), received_at=message.received_at, studio=studio,
                           unit=unit)
        # A file sent both in the archive and loose is one line of the receipt, not two identical ones.
        docs = list(dict.fromkeys(ReceivedDocument(f.role, f.name, f.size, f.words.low if f.words else None)
                                  for f in facts.files))
        queued = queue_reply(session, app.config, campaign, sub, ctx, kind=verdict.value,
                             body=reply_text(verdict, findings, docs, ctx, campaign, now),
                             subject=reply_subject(verdict.value, campaign, unit, studio),
                             reply_to=_reply_to(mail), now=now)
        withheld = queued.withheld if queued.item is None else None  # a capped reply is a failed outbox row
    if withheld is not None:
        # Judged and stored all the same; staff see why nobody was answered (submissions --json "fields").
        log.warning("message %s: no reply queued: %s", message.id, withheld)
        sub.fields = {**(sub.fields or {}), "reply_withheld": withheld}
