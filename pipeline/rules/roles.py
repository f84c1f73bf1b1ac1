"""Which material each received file is, and what its name should be: by the campaign's names and words, and
by content where a name says nothing (pure: FileFacts in, FileFacts with roles out)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from pathlib import PurePosixPath

from parsers.names import evidence_number, split_ext
from pipeline.config import Campaign, DocumentRole
from pipeline.rules.facts import (
    EVIDENCE,
    EXTENSION_FORMATS,
    IMAGE_FORMATS,
    OTHER,
    UNSNIFFABLE,
    FileFacts,
)

# The number a material's file (or its folder) starts with, after NFKC: （1） (1) 【1】 [1] 1、 1. 1) 1- 1_ and
# （一）; "3-1" is evidence 3-1, not material 3, and "2025年" is no number.
_MATERIAL_NO = re.compile(r"^\s*(?:[(\[【]\s*(\d{1,2}|[一二三四五六七八九])\s*[)\]】]"
                          r"|(\d{1,2}|[一二三四五六七八九])\s*(?:[、.)]|[-_](?!\d)))")
_CN_DIGITS = {ch: i for i, ch in enumerate("一二三四五六七八九", start=1)}

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
