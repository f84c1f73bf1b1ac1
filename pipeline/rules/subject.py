"""The subject convention: split `<recommending unit><studio name><suffix>` and check the unit."""

from __future__ import annotations

import re
from dataclasses import dataclass

from parsers.names import normalize_name, split_ext, strip_copy_suffix
from pipeline.config import Campaign, UnitKind


@dataclass(frozen=True)
class SubjectParts:
    """What the subject (or an archive name) says about the submission."""

    text: str          # normalised, reply/forward prefixes removed
    unit: str          # normalised recommending unit, "" when not found
    studio: str        # normalised studio name, "" when not found
    well_formed: bool  # the whole text fits the campaign's pattern


# A real subject (unit + studio + 入库材料) is well under 200 characters. Matching is quadratic in the length
# (the campaign's pattern, then each cut between unit and studio), so longer text is never matched: a
# 30,000-character subject took 15 s of CPU per parse, several parses per message.
MAX_SUBJECT_CHARS = 256
_PARSED_KEEP = 64  # parses remembered: one message's subject and archive names are parsed by several rules


def clean_subject(subject: str, campaign: Campaign) -> str:
    """Normalise a subject for comparison: width, spaces, 《》, and Re:/转发: prefixes."""
    text = campaign.subject.strip_prefixes.sub("", subject[: 4 * MAX_SUBJECT_CHARS].strip())
    return normalize_name(campaign.subject.strip_prefixes.sub("", normalize_name(text)))


_parsed: dict[tuple[str, int], tuple[Campaign, SubjectParts]] = {}


def parse_subject(subject: str, campaign: Campaign) -> SubjectParts:
    """Split a subject (or an archive's stem) into unit and studio by the campaign's pattern.

    The pattern finds where unit + studio sit; the split between them is the
    longest prefix that is a recognised recommending unit (河北敬业集团有限公司工会,
    not 河北敬业集团), so a studio named after its workshop keeps its name.
    A text longer than MAX_SUBJECT_CHARS is not well formed. The routing, the rules and the studio's
    identity each ask about the same subject: it is parsed once.
    """
    key = (subject, id(campaign))
    known = _parsed.get(key)
    if known is not None and known[0] is campaign:
        return known[1]
    parts = _parse(subject, campaign)
    if len(_parsed) >= _PARSED_KEEP:
        _parsed.clear()
    _parsed[key] = (campaign, parts)
    return parts


# What clerks type between the unit and the studio, or before 入库材料, to set the parts apart (after NFKC:
# full-width ：＋－～｜ are ASCII by now; whitespace, quotes and 【】 are already gone). None of it is part of
# either name, so it is dropped at the joints; inside a studio's name (和谐创新工作室、李四创新工作室, 买买提·艾力)
# it stays, so the name reads and compares as the clerk wrote it in the form and the summary table.
_JOINT = frozenset("—–‐‑−-_·・•‧、:+|~/,，;；")


def _without_joints(text: str) -> tuple[str, list[int]]:
    """`text` without joint characters, and for each kept character its index in `text`."""
    where = [i for i, ch in enumerate(text) if ch not in _JOINT]
    return "".join(text[i] for i in where), where


def _parse(subject: str, campaign: Campaign) -> SubjectParts:
    text = clean_subject(subject, campaign)
    if len(text) > MAX_SUBJECT_CHARS:
        return SubjectParts(text[:MAX_SUBJECT_CHARS] + "…", "", "", False)
    bare, where = _without_joints(text)
    # Matched without the joints first (正定县总工会——张三创新工作室-入库材料 is the convention, punctuated);
    # then as written, for a campaign whose pattern itself spells a separator.
    parts = _split(bare, where, text, campaign)
    if parts is None and bare != text:
        parts = _split(text, list(range(len(text))), text, campaign)
    return parts or SubjectParts(text, "", "", False)


def _split(bare: str, where: list[int], text: str, campaign: Campaign) -> SubjectParts | None:
    """Unit and studio of `bare` (which is `text` with the characters at `where` kept), or None if no match.

    The unit is taken from `bare`; the studio from `text` between its first and last kept character, so
    separators inside the studio's name survive and those around it don't. `text` of the result is
    unit + studio + the rest, without joints, so a subject and an archive name punctuated differently agree.
    """
    match = campaign.subject.pattern.fullmatch(bare)
    if not match:
        return None
    start, end = match.start("unit"), match.end("studio")
    both = bare[start:end]
    cut = next((c for c in range(len(both) - 1, 0, -1)
                if campaign.subject.studio_pattern.fullmatch(both[c:]) and unit_kind(both[:c], campaign)),
               match.end("unit") - start)
    unit = both[:cut]
    studio = text[where[start + cut]: where[end - 1] + 1]
    if not campaign.subject.studio_pattern.fullmatch(studio):
        studio = both[cut:]
    return SubjectParts(bare[:start] + unit + studio + bare[end:], unit, studio, True)


def archive_stem(filename: str) -> str:
    """An attachment's name without extension or the browser's "(1)" copy suffix."""
    stem, _ = split_ext(filename)
    if stem.lower().endswith(".tar"):
        stem = stem[:-4]
    return strip_copy_suffix(stem)


def archive_suffix(filename: str) -> str:
    """An attachment's extension as sent (".7z", ".tar.gz"): the name a fix asks for keeps the sender's format,
    which the notice leaves free (四.4: 打包以压缩文件形式上传)."""
    stem, ext = split_ext(filename)
    length = len(ext) + (4 if stem.lower().endswith(".tar") else 0)
    return filename[len(filename) - length:] if length else ""   # as written: ".RAR" stays ".RAR"


def unit_kind(unit: str, campaign: Campaign) -> UnitKind | None:
    """The kind of recommending unit `unit` is, or None when it may not send directly."""
    if not unit or any(p.search(unit) for p in campaign.unit_exclude):
        return None
    return next((k for k in campaign.units if k.matches(unit)), None)


# How clerks shorten a unit's name: 正定县总工会 → 正定总工会, 正定县工会, 正定工会.
_DROPPED = (re.compile(r"(?:县|区|市)(?=总?工会$)"), re.compile(r"总(?=工会$)"))


def full_unit_name(unit: str, campaign: Campaign) -> str | None:
    """The one known unit (listed in `names` or `roster`) that `unit` shortens, or None."""
    known = {normalize_name(n) for kind in campaign.units for n in (*kind.names, *kind.roster)}
    found = {name for name in known if unit != name and unit in _short_forms(name)}
    return found.pop() if len(found) == 1 else None


def _short_forms(name: str) -> set[str]:
    without_county, without_zong = (pattern.sub("", name) for pattern in _DROPPED)
    return {without_county, without_zong, _DROPPED[1].sub("", without_county)}


def names_an_organisation(text: str, campaign: Campaign) -> bool:
    """Whether a subject without 工会 still names a base unit (a school, a hospital …)."""
    return any(marker in text for marker in campaign.subject.organisation_markers)


def organisation_prefix(text: str, campaign: Campaign) -> str:
    """The organisation a subject starts with, cut after its last marker word (石家庄市第一医院 …)."""
    ends = [text.find(m) + len(m) for m in campaign.subject.organisation_markers if m in text]
    return text[: max(ends)] if ends else text
