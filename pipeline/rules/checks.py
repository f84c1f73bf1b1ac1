"""The campaign's rules: facts about one submission in, findings out. No clock, network or database."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pipeline.config import Campaign
from pipeline.documents.volumes import ONE_VOLUME, missing_parts
from pipeline.rules.eligibility import check_materials
from pipeline.rules.facts import (
    EVIDENCE,
    IMAGE_FORMATS,
    OTHER,
    FileFacts,
    LargeAttachmentLink,
    MaterialFacts,
    best_narrative,
)
from pipeline.rules.findings import Code, Finding, Severity
from pipeline.rules.roles import expected_file_name, names_material
from pipeline.rules.subject import (
    archive_stem,
    archive_suffix,
    full_unit_name,
    names_an_organisation,
    organisation_prefix,
    parse_subject,
    unit_kind,
)
from pipeline.rules.wording import (
    default_severity,
    for_campaign,
    make_finding,
    unreadable_reason,
    unsafe_reason,
)

FORMAT_NAMES = {"png": "PNG", "gif": "GIF", "bmp": "BMP", "tiff": "TIFF", "webp": "WebP", "heic": "HEIC（苹果手机照片）",
                "pdf": "PDF", "docx": "Word", "doc": "Word", "xlsx": "Excel", "xls": "Excel", "unknown": "无法识别的格式"}


@dataclass(frozen=True)
class ArchiveFacts:
    """One attached archive and whether it could be unpacked."""

    name: str
    kind: str
    problem: str | None = None     # None | "encrypted" | "corrupt" | "unsafe"
    detail: str = ""


@dataclass(frozen=True)
class SubmissionFacts:
    """Everything the rules look at for one message."""

    subject: str
    received_at: datetime
    attachment_names: tuple[str, ...] = ()
    archives: tuple[ArchiveFacts, ...] = ()
    files: tuple[FileFacts, ...] = ()
    large_links: tuple[LargeAttachmentLink, ...] = ()
    materials: MaterialFacts = field(default_factory=MaterialFacts)   # the parsed form, summary table and scans
    unit: str = ""                               # the studio's identity, from the subject (or archive name)
    studio: str = ""
    category: str = ""
    sent_at: datetime | None = None              # the message's own Date (the sender's clock: a claim, not a fact)
    first_hop_at: datetime | None = None         # its earliest Received hop (the first server that took it)


def _finding(campaign: Campaign, code: Code, *, file: str = "", note: str = "", **params: object) -> Finding:
    return make_finding(code, campaign.severity(code, default_severity(code)), file=file, note=note, **params)


def format_moment(moment: datetime, campaign: Campaign) -> str:
    """A receipt time the way a Chinese clerk writes it, in the campaign's zone."""
    local = moment.astimezone(ZoneInfo(campaign.timezone))
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def check_subject(subject: str, campaign: Campaign) -> list[Finding]:
    """SUBJECT_FORMAT or NOT_RECOMMENDING_UNIT, from the subject alone (nothing where the notice prescribes
    no subject)."""
    if not campaign.subject.enforced:
        return []
    parts = parse_subject(subject, campaign)
    if parts.well_formed:
        if unit_kind(parts.unit, campaign) is None:
            full = full_unit_name(parts.unit, campaign)
            if full is not None:  # 正定总工会 for 正定县总工会: the right sender, a shortened name
                return [_finding(campaign, Code.SUBJECT_FORMAT, variant="short_unit", unit=parts.unit, full=full,
                                 expected=full + parts.studio + parts.text[len(parts.unit + parts.studio):])]
            return [_finding(campaign, Code.NOT_RECOMMENDING_UNIT, unit=parts.unit)]
        return []
    if "工会" not in parts.text and names_an_organisation(parts.text, campaign):
        # A base unit wrote its own name where a federation's should be: the fix is the sender, not the format.
        return [_finding(campaign, Code.NOT_RECOMMENDING_UNIT, unit=organisation_prefix(parts.text, campaign))]
    return [_finding(campaign, Code.SUBJECT_FORMAT, variant="" if subject.strip() else "empty", subject=subject,
                     example=campaign.subject.example)]


def check_archive_names(facts: SubmissionFacts, campaign: Campaign) -> list[Finding]:
    """附件文件命名格式同邮件主题: each archive is named like the subject."""
    if not campaign.subject.attachment_same_as_subject:
        return []
    subject = parse_subject(facts.subject, campaign)
    out = []
    for archive in facts.archives:
        stem = parse_subject(archive_stem(archive.name), campaign)
        if stem.text == subject.text or (not subject.well_formed and stem.well_formed):
            continue
        expected = subject.text if subject.well_formed else campaign.subject.example
        out.append(_finding(campaign, Code.ARCHIVE_NAME_MISMATCH, file=archive.name,
                            expected=expected + (archive_suffix(archive.name) or ".zip")))
    return out


def volume_gap(detail: str) -> str | None:
    """What is missing from a multi-volume archive, in Chinese; None when `detail` is about something else."""
    missing = missing_parts(detail)
    if missing:
        return "缺少第" + "、".join(str(n) for n in missing) + "卷"
    if ONE_VOLUME in detail:
        return "其余分卷不在这封邮件中"
    return None


def check_attachments(facts: SubmissionFacts, campaign: Campaign) -> tuple[list[Finding], bool]:
    """Attachment-level findings, and whether the documents inside can be judged at all."""
    out: list[Finding] = []
    if facts.large_links:
        detail = "、".join(link.label for link in facts.large_links)
        out.append(_finding(campaign, Code.LARGE_ATTACHMENT_LINK, detail=detail))
    if not facts.attachment_names:
        if not facts.large_links:
            out.append(_finding(campaign, Code.NO_ATTACHMENT))
        return out, False
    if campaign.archive_required and not facts.archives:
        out.append(_finding(campaign, Code.NOT_ARCHIVE))
    codes = {"encrypted": Code.ARCHIVE_ENCRYPTED, "corrupt": Code.ARCHIVE_CORRUPT, "unsafe": Code.UNSAFE_ARCHIVE}
    broken = [a for a in facts.archives if a.problem]
    for archive in broken:
        gap = volume_gap(archive.detail) if archive.problem == "corrupt" else None
        if gap is not None:
            out.append(_finding(campaign, Code.ARCHIVE_CORRUPT, file=archive.name, variant="volumes", detail=gap,
                                note=archive.detail))
            continue
        out.append(_finding(campaign, codes[archive.problem or "corrupt"], file=archive.name,
                            detail=unsafe_reason(archive.detail), note=archive.detail))
    out.extend(check_archive_names(facts, campaign))
    return out, not broken


def check_documents(files: tuple[FileFacts, ...], campaign: Campaign) -> list[Finding]:
    """Every required material is present and readable."""
    out: list[Finding] = []
    for role in campaign.documents:
        found = [f for f in files if f.role == role.role]
        if role.required and not found and role.missing_code:
            # 事迹材料.pdf where Word is asked for: the clerk sent it, so "not found" would read as a mistake
            wrong = [f for f in files if f.role == OTHER and names_material(f, role)]
            if wrong:
                out.append(_finding(campaign, Code[role.missing_code], variant="wrong_format", title=role.title,
                                    file=wrong[0].name,
                                    actual=FORMAT_NAMES.get(wrong[0].format, wrong[0].format.upper())))
            else:
                out.append(_finding(campaign, Code[role.missing_code], title=role.title))
    for f in files:
        if f.problem and f.role not in ("other", EVIDENCE):
            out.append(_finding(campaign, Code.UNREADABLE_DOCUMENT, file=f.name, detail=unreadable_reason(f.problem),
                                note=f.problem))
    return out + check_narrative(files, campaign)


def check_narrative(files: tuple[FileFacts, ...], campaign: Campaign) -> list[Finding]:
    """不少于N字 by Word's 字数: pass at the low count, reject below the high count, review in between."""
    best = best_narrative(files)
    minimum = campaign.narrative_min_chars
    if best is None or best.words is None or minimum <= 0:
        return []
    if best.words.low >= minimum:
        return []
    code = Code.NARRATIVE_TOO_SHORT
    # Between the low and the high count Word itself may say either: a person decides.
    severity = campaign.severity(code, default_severity(code)) if best.words.high < minimum else Severity.REVIEW
    # Pages pasted in as pictures: say why the count is low, or the clerk sees 11 字 for a three-page narrative.
    variant = "pictures" if best.pictures and best.words.low < minimum // 2 else ""
    finding = make_finding(code, severity, file=best.name, variant=variant, count=best.words.low, minimum=minimum,
                           pictures=best.pictures)
    return [finding]


def check_evidence(files: tuple[FileFacts, ...], campaign: Campaign) -> list[Finding]:
    """Images are JPEG by their bytes; evidence is numbered 3-1, 3-2 … without gaps or repeats."""
    rule = campaign.evidence
    evidence = [f for f in files if f.role == EVIDENCE]
    out: list[Finding] = []
    if len(evidence) < rule.min_count:
        out.append(_finding(campaign, Code.MISSING_EVIDENCE, title=rule.title))
    for f in evidence:
        allowed = f.format in rule.image_formats or f.format in rule.other_formats
        if not allowed and (f.format in IMAGE_FORMATS or f.format not in ("docx", "doc", "xlsx", "xls")):
            out.append(_finding(campaign, Code.EVIDENCE_NOT_JPEG, file=f.name,
                                actual=FORMAT_NAMES.get(f.format, f.format.upper())))
    if not rule.require_numbering:
        return out
    unnumbered = [f.basename for f in evidence if f.evidence_no is None]
    problems = [f"“{'、'.join(unnumbered)}”没有按“{rule.major}-1、{rule.major}-2”编号"] if unnumbered else []
    numbers = [f.evidence_no[1] for f in evidence if f.evidence_no]
    repeated = sorted(n for n, k in Counter(numbers).items() if k > 1)
    if repeated:
        problems.append("编号重复：" + "、".join(f"{rule.major}-{n}" for n in repeated))
    if rule.require_sequence and numbers:
        gaps = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
        if gaps:
            problems.append("编号不连续，缺少" + "、".join(f"{rule.major}-{n}" for n in gaps))
    if problems:
        out.append(_finding(campaign, Code.EVIDENCE_NAMING, file="、".join(unnumbered), detail="；".join(problems)))
    return out


def check_deadline(received_at: datetime, campaign: Campaign, sent_at: datetime | None = None,
                   first_hop_at: datetime | None = None) -> list[Finding]:
    """LATE by the server's receipt time, compared as aware datetimes; DELAYED_DELIVERY (review) instead when the
    message looks sent in time and held up on the way (`delayed_in_transit`)."""
    if not campaign.is_late(received_at):
        return []
    moments = {"received": format_moment(received_at, campaign), "deadline": format_moment(campaign.deadline, campaign)}
    if sent_at is not None and delayed_in_transit(received_at, sent_at, first_hop_at, campaign):
        return [_finding(campaign, Code.DELAYED_DELIVERY, sent=format_moment(sent_at, campaign), **moments)]
    return [_finding(campaign, Code.LATE, **moments)]


def delayed_in_transit(received_at: datetime, sent_at: datetime, first_hop_at: datetime | None,
                       campaign: Campaign) -> bool:
    """Whether a message received after the deadline may have been sent before it (the notice says 前发送) and
    held up by a server: its Date is before the deadline, at most `delayed_delivery_hours` before the receipt
    (a server retries for hours, not days: a Date weeks back is a wrong clock or a forgery, and stays LATE),
    and not before its own earliest Received hop by more than `sent_skew_minutes` (the first server took it
    when its Date says, give or take the clocks; one that first saw it after the deadline shows it left late).
    The Date and the lower Received lines are the sender's to write, so this only ever asks staff to look."""
    window = timedelta(hours=campaign.delayed_delivery_hours)
    if not window or first_hop_at is None or campaign.is_late(sent_at):
        return False
    if not timedelta(0) <= received_at - sent_at <= window:
        return False
    return sent_at >= first_hop_at - timedelta(minutes=campaign.sent_skew_minutes)


_SEPARATORS = re.compile(r"[、，,;；/]|和|与|及")


def studios_named(facts: SubmissionFacts, campaign: Campaign) -> list[str]:
    """The studios of a message that holds several: named together in the subject, or by two or more of its
    archives; [] for one (an archive named after another studio than the subject is a misnamed archive).
    How a list of studios is told from one name with a 、 or 和 in it: see `_studio_list`.
    """
    in_subject: list[str] = []
    subject = parse_subject(facts.subject, campaign)
    if subject.well_formed:
        in_subject = _studio_list(subject.studio, campaign)
    stems = (parse_subject(archive_stem(archive.name), campaign) for archive in facts.archives)
    in_archives = list(dict.fromkeys(name for stem in stems if stem.well_formed
                                     for name in _studio_list(stem.studio, campaign) or [stem.studio]))
    if len(in_subject) < 2 and len(in_archives) < 2:
        return []
    return list(dict.fromkeys(in_subject + in_archives))


def _studio_list(text: str, campaign: Campaign) -> list[str]:
    """The studio names `text` lists (at least two), cut only at separators that end a whole studio name:
    和谐创新工作室、张三创新工作室 is two, 张三、李四创新工作室 and 机械与自动化创新工作室 are one ([])."""
    names, start = [], 0
    for separator in _SEPARATORS.finditer(text):
        head = text[start:separator.start()]
        if head and campaign.subject.studio_pattern.fullmatch(head):
            names.append(head)
            start = separator.end()
    tail = text[start:]
    return [*names, tail] if names and tail and campaign.subject.studio_pattern.fullmatch(tail) else []


def check_material_names(facts: SubmissionFacts, campaign: Campaign) -> list[Finding]:
    """命名格式和顺序: each material's file carries its number and says what it is; a file that does not gets the
    name the notice gives it (a format rule, judged like the evidence's 3-1, 3-2 numbering)."""
    roles = {d.role: d for d in campaign.documents if d.order}
    return [_finding(campaign, Code.MATERIAL_NAMING, file=f.name, name=f.basename, expected=expected)
            for f in facts.files
            if f.role in roles and (expected := expected_file_name(f, roles[f.role], facts.studio)) is not None]


def check_unit_roster(facts: SubmissionFacts, campaign: Campaign) -> list[Finding]:
    """A unit of a kind the office confirms by its roster (市总直属企业工会: any company's union fits the pattern,
    only the directly affiliated may send) that is not on it yet: review, never silently accepted."""
    unit = facts.unit or parse_subject(facts.subject, campaign).unit
    kind = unit_kind(unit, campaign) if unit else None
    if kind is None or not kind.confirm_by_roster:
        return []
    listed = {campaign.unit_key(name) for name in (*kind.roster, *kind.names)}
    if campaign.unit_key(unit) in listed:
        return []
    return [_finding(campaign, Code.UNIT_NOT_ON_ROSTER, unit=unit, label=kind.label or kind.kind)]


def check_one_studio(facts: SubmissionFacts, campaign: Campaign) -> list[Finding]:
    """每个工作室单独报送: several studios in one message are one finding, not a misnamed archive per studio."""
    studios = studios_named(facts, campaign)
    if not studios:
        return []
    return [_finding(campaign, Code.SEVERAL_STUDIOS, count=len(studios), detail="、".join(studios),
                     example=campaign.subject.example)]


def evaluate(facts: SubmissionFacts, campaign: Campaign) -> list[Finding]:
    """Every finding for one submission, in the order a clerk would read them, in the campaign's words, each
    with the clause of the notice it rests on; a rule the office added itself at most asks for review."""
    return [for_campaign(f, campaign) for f in _evaluate(facts, campaign)]


def _evaluate(facts: SubmissionFacts, campaign: Campaign) -> list[Finding]:
    findings = check_subject(facts.subject, campaign)
    if not findings:  # a unit the subject already fails needs no roster check on top
        findings += check_unit_roster(facts, campaign)
    deadline = check_deadline(facts.received_at, campaign, facts.sent_at, facts.first_hop_at)
    several = check_one_studio(facts, campaign)
    if several:  # the materials of each are judged when each comes in its own message
        return findings + several + deadline
    attachment_findings, judge_contents = check_attachments(facts, campaign)
    findings += attachment_findings
    if judge_contents:
        findings += check_documents(facts.files, campaign)
        findings += check_material_names(facts, campaign)
        findings += check_evidence(facts.files, campaign)
        findings += check_materials(facts.materials, campaign, facts.unit, facts.studio, facts.category)
    return findings + deadline
