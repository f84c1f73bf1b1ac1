"""Pre-screening from the parsed form and summary table: blanks, team size, age, results, agreement.

Pure functions: records in, findings and normalised fields out. Every check
here is a hint for a person (review or warning), never a rejection by itself,
unless a campaign's severities say otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from parsers import normalize
from parsers.form_reader import KINDS, FormRecord, split_items
from parsers.names import normalize_name
from pipeline.config import Campaign, ConditionGroup, FormRules, LeaderCondition
from pipeline.rules.facts import MaterialFacts, SummaryFacts, age_at, months_between
from pipeline.rules.findings import Code, Finding
from pipeline.rules.subject import unit_kind
from pipeline.rules.wording import default_severity, make_finding, unreadable_reason


def _finding(campaign: Campaign, code: Code, **params: object) -> Finding:
    return make_finding(code, campaign.severity(code, default_severity(code)), **params)  # type: ignore[arg-type]


def team_size(record: FormRecord) -> tuple[int | None, int]:
    """(the 成员数 written on the form, the rows of its member table)."""
    written = record.values.get("member_count")
    return (written if isinstance(written, int) else None), len(record.members)


def effective_team_size(record: FormRecord) -> int | None:
    """The team's size: the written number, else the member table plus the leader when not listed in it."""
    written, rows = team_size(record)
    if written is not None:
        return written
    if not rows:
        return None
    leader = record.values.get("leader_name")
    return rows + (0 if any(m.get("name") == leader for m in record.members) else 1)


def _counts_agree(written: int, rows: int) -> bool:
    # Forms differ on whether the leader is one of the listed members: both readings are fine.
    return written in (rows, rows + 1)


def check_form(form_file: str, record: FormRecord, rules: FormRules, campaign: Campaign,
               studio: str, category: str) -> list[Finding]:
    """FORM_FIELDS_MISSING, TEAM_TOO_SMALL, TOO_RECENT, TOO_FEW_RESULTS, FORM_MISMATCH, LEADER_CONDITION."""
    out: list[Finding] = []
    gaps = list(record.missing) + [f"{title}（填写内容无法识别）" for title in record.unreadable]
    if gaps:
        out.append(_finding(campaign, Code.FORM_FIELDS_MISSING, file=form_file, detail="、".join(gaps)))
    size = effective_team_size(record)
    if rules.min_members and size is not None and size < rules.min_members:
        out.append(_finding(campaign, Code.TEAM_TOO_SMALL, file=form_file, count=size, minimum=rules.min_members))
    written, rows = team_size(record)
    if written is not None and rows and not _counts_agree(written, rows):
        out.append(_finding(campaign, Code.FORM_MISMATCH, file=form_file,
                            detail=f"成员数填写为{written}人，但“工作室成员情况”列出{rows}人"))
    established = record.values.get("established")
    running = months_between(established if isinstance(established, str) else None, campaign.deadline)
    if rules.min_months_running and running is not None and running < rules.min_months_running:
        out.append(_finding(campaign, Code.TOO_RECENT, file=form_file, detail=_month_zh(str(established)),
                            minimum=_duration_zh(rules.min_months_running)))
    results = record.values.get("innovation_results")
    minimum = rules.results_minimum(category)   # 劳模: 2 a year (一(一)8); 名师/名医: results every year (一(二)6)
    if minimum and isinstance(results, list) and not record.results_see_attached and len(results) < minimum:
        out.append(_finding(campaign, Code.TOO_FEW_RESULTS, file=form_file, count=len(results), minimum=minimum))
    form_studio = record.values.get("studio_name")
    if studio and isinstance(form_studio, str) and normalize_name(form_studio) != normalize_name(studio):
        out.append(_finding(campaign, Code.FORM_MISMATCH, file=form_file,
                            detail=f"的工作室名称“{form_studio}”与邮件主题中的“{studio}”不一致"))
    out += _too_many(form_file, record, rules, campaign)
    out += _conditions(form_file, record, rules, campaign, category)
    out += _named_after_leader(form_file, record, rules, campaign, studio, category)
    return out


def _named_after_leader(form_file: str, record: FormRecord, rules: FormRules, campaign: Campaign, studio: str,
                        category: str) -> list[Finding]:
    """名师/名医 studios are 原则上 named after their leader (张三名师创新工作室): a hint when the name lacks it."""
    leader = record.values.get("leader_name")
    name = studio or str(record.values.get("studio_name") or "")
    if category not in rules.named_after_leader or not isinstance(leader, str) or not leader.strip() or not name:
        return []
    if normalize_name(leader) in normalize_name(name):
        return []
    return [_finding(campaign, Code.NOT_NAMED_AFTER_LEADER, file=form_file, studio=name, name=leader,
                     category=category)]


def _too_many(form_file: str, record: FormRecord, rules: FormRules, campaign: Campaign) -> list[Finding]:
    out = []
    for spec in rules.schema.fields:
        items = record.values.get(spec.name)
        if spec.max_items and isinstance(items, list) and len(items) > spec.max_items:
            out.append(_finding(campaign, Code.TOO_MANY_ITEMS, file=form_file, field=spec.title, count=len(items),
                                maximum=spec.max_items))
    return out


_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")


def _meets(cond: LeaderCondition, value: object, deadline: datetime) -> bool:
    """Whether a field's value (one text, or a list of items) satisfies `cond`."""
    items = value if isinstance(value, list) else [value]
    for item in map(str, items):
        if not any(word in item for word in cond.any_of) or any(word in item for word in cond.none_of):
            continue
        if not cond.within_years:
            return True
        years = [int(y) for y in _YEAR.findall(item)]
        if any(deadline.year - cond.within_years <= y <= deadline.year for y in years):
            return True
    return False


def _blank(value: object) -> bool:
    return value in (None, "", [])


def _branch_met(branch: ConditionGroup, value: object, deadline: datetime) -> bool:
    """Whether at least `min_items` items of the field fit one of a condition's alternatives (any_of_groups):
    a word of `any_of`, none of `none_of`, and with `within_years` a year in the years before the deadline."""
    items = value if isinstance(value, list) else ([] if _blank(value) else [value])
    fitting = [item for item in map(str, items)
               if any(w in item for w in branch.any_of) and not any(w in item for w in branch.none_of)
               and (not branch.within_years or any(deadline.year - branch.within_years <= int(y) <= deadline.year
                                                   for y in _YEAR.findall(item)))]
    return len(fitting) >= branch.min_items


def _conditions(form_file: str, record: FormRecord, rules: FormRules, campaign: Campaign,
                category: str) -> list[Finding]:
    out = []
    titles = {spec.name: spec.title for spec in rules.schema.fields}
    for cond in rules.conditions:
        value = record.values.get(cond.field)
        branches = cond.alternatives()
        if cond.category not in ("", category) or all(_blank(record.values.get(b.field)) for b in branches):
            continue  # blank: FORM_FIELDS_MISSING already asks for it
        met = _meets(cond, value, campaign.deadline) if not cond.groups else \
            any(_branch_met(b, record.values.get(b.field), campaign.deadline) for b in branches)
        if not met:
            shown = "；".join(map(str, value)) if isinstance(value, list) else str(value or "未填写")
            out.append(_finding(campaign, cond.code, file=form_file, field=titles.get(cond.field, cond.field),
                                value=shown, explain=cond.explain))
    return out


def _month_zh(value: str) -> str:
    return f"{value[:4]}年{int(value[5:])}月" if len(value) == 7 else value


def _duration_zh(months: int) -> str:
    return f"{months // 12}年" if months % 12 == 0 else f"{months}个月"


def summary_row(summary: SummaryFacts, studio: str) -> Mapping[str, str] | None:
    """The summary table's row for `studio` (names compared after normalising width, spaces and 《》)."""
    wanted = normalize_name(studio)
    rows = [r for r in summary.rows if r.get("studio_name")]
    exact = [r for r in rows if normalize_name(r["studio_name"]) == wanted]
    # 附件2 of the Qingdao notice has one 创新工作室领衔人 column: the studio's name, its 领衔人 written after it.
    named = [r for r in rows if wanted and normalize_name(r["studio_name"]).startswith(wanted)]
    return (exact or named or [None])[0]


def _same(a: object, b: object) -> bool:
    if isinstance(a, int) or isinstance(b, int):
        return a == b
    return normalize_name(str(a)) == normalize_name(str(b))


def check_summary(summary: SummaryFacts, campaign: Campaign, expected: Mapping[str, object]) -> list[Finding]:
    """SUMMARY_MISMATCH: the studio missing from the table, or its row disagreeing with the form and subject."""
    rules = campaign.summary_table
    studio = str(expected.get("studio_name") or "")
    if rules is None or summary.problem or not studio or summary.rows is None:
        return []  # unreadable (UNREADABLE_DOCUMENT says so) or a PDF, which is accepted as is
    if not summary.rows:
        return [_finding(campaign, Code.SUMMARY_MISMATCH, file=summary.file, detail="没有找到填写的工作室信息")]
    row = summary_row(summary, studio)
    if row is None:
        return [_finding(campaign, Code.SUMMARY_MISMATCH, file=summary.file, detail=f"没有列出“{studio}”")]
    kinds = {col.name: col for col in rules.table.columns}
    titles = {col.name: col.title for col in rules.table.columns}
    differences = []
    for name in rules.compare:
        want = expected.get(name)
        raw = row.get(name, "")
        got = _read(kinds[name].kind, raw) if name in kinds else raw
        if want in (None, "") or got in (None, ""):
            continue   # a blank on either side is reported elsewhere (FORM_FIELDS_MISSING), not as a disagreement
        if not _same(want, got):
            differences.append(f"“{titles[name]}”填写为“{raw}”，与申报表或邮件主题中的“{want}”不一致")
    out = [_finding(campaign, Code.SUMMARY_MISMATCH, file=summary.file, detail="；".join(differences))] \
        if differences else []
    for col in rules.table.columns:
        items = split_items(row.get(col.name, "")) if col.kind == "list" else []
        if col.max_items and len(items) > col.max_items:
            out.append(_finding(campaign, Code.TOO_MANY_ITEMS, file=summary.file, field=col.title, count=len(items),
                                maximum=col.max_items))
    return out


def _read(kind: str, raw: str) -> object:
    if kind == "list":
        return split_items(raw) or None
    return KINDS.get(kind, KINDS["text"])(raw)  # the same normalisers the form went through


def category_of(studio: str, record: FormRecord | None, campaign: Campaign, subject: str = "") -> str:
    """The studio's category: a form field naming it when the campaign has one, else a category word in the
    studio's name (名师 / 名医 studios are named that way), the form's name for it or the subject, else what
    the form says of the leader (`category_signs`), else the campaign's default."""
    rules = campaign.form
    texts = [studio, subject]
    if record is not None:
        texts.insert(1, str(record.values.get("studio_name") or ""))
    if rules is not None and rules.category_field and record is not None:
        texts.insert(0, normalize.checked_option(str(record.values.get(rules.category_field) or "")))
    for text in texts:
        named = [c for c in campaign.categories if c and c in text]
        if named:
            return named[0]
    signed = [category for category, _field, _value in category_signs(record, campaign)]
    if len(set(signed)) == 1:  # a teacher's title and a doctor's honour at once: not for the code to choose
        return signed[0]
    return campaign.default_category if studio else ""


def category_signs(record: FormRecord | None, campaign: Campaign) -> list[tuple[str, str, str]]:
    """(category, field, value) for each form field that shows the leader belongs to a category (高级教师: 名师)."""
    rules = campaign.form
    if record is None or rules is None:
        return []
    out = []
    for category, (fields, words) in rules.category_signs.items():
        for name in fields:
            value = record.values.get(name)
            text = "；".join(map(str, value)) if isinstance(value, list) else str(value or "")
            if any(word in text for word in words):
                out.append((category, name, text))
    return out


def check_category_channel(record: FormRecord | None, campaign: Campaign, unit: str, studio: str,
                           category: str) -> list[Finding]:
    """CATEGORY_CHANNEL: a category the notice has collected by named units (名师/名医: 市教科文卫工会) sent by
    another recommending unit; how the category was recognised is said, for staff and the sender."""
    expected = campaign.category_units.get(category, ())
    if not expected or not unit or unit_kind(unit, campaign) is None:
        return []   # no such rule, or a unit that may not send at all (NOT_RECOMMENDING_UNIT says so)
    if campaign.unit_key(unit) in {campaign.unit_key(name) for name in expected}:
        return []
    if category in studio:
        how = f"名称“{studio}”含“{category}”"
    else:
        sign = next(((f, v) for c, f, v in category_signs(record, campaign) if c == category), None)
        titles = {spec.name: spec.title for spec in campaign.form.schema.fields} if campaign.form else {}
        how = (f"的申报表中{campaign.wording.leader}的“{titles.get(sign[0], sign[0])}”为“{sign[1]}”" if sign
               else "的申报表所填内容")
    return [_finding(campaign, Code.CATEGORY_CHANNEL, how=how, category=category, expected="或".join(expected),
                     unit=unit)]


def check_materials(materials: MaterialFacts, campaign: Campaign, unit: str, studio: str,
                    category: str) -> list[Finding]:
    """Every pre-screening finding for one submission's parsed materials."""
    form = materials.form
    # A material that was there but could not be read is never passed over: the stamped scan that was junk
    # behind a %PDF header was dropped here, and the package accepted without one. (A problem already found
    # when the file was identified is reported by check_documents, once.)
    unread = [m for m in (form, materials.summary, *materials.scans) if m is not None and m.problem and not m.reported]
    out: list[Finding] = [_finding(campaign, Code.UNREADABLE_DOCUMENT, file=m.file, detail=unreadable_reason(m.problem),
                                   note=m.problem) for m in unread]
    if form is not None and form.record is not None and campaign.form is not None:
        out += check_form(form.file, form.record, campaign.form, campaign, studio, category)
    out += check_category_channel(form.record if form else None, campaign, unit, studio, category)
    if materials.summary is not None:
        out += check_summary(materials.summary, campaign, expected_summary(form.record if form else None, unit, studio,
                                                                           category))
    scans = [s for s in materials.scans if s.info is not None]
    if scans and not any(s.info is not None and s.info.seal_visible for s in scans):
        out.append(_finding(campaign, Code.SEAL_NOT_VISIBLE, file=scans[0].file))
    return out


def expected_summary(record: FormRecord | None, unit: str, studio: str, category: str) -> dict[str, object]:
    """What the studio's summary row should say: the subject's unit and name, the rest from the form."""
    values: dict[str, object] = dict(record.values) if record else {}
    size = effective_team_size(record) if record else None
    values.update({"recommending_unit": unit, "studio_name": studio, "category": category, "member_count": size})
    return values


def form_fields(materials: MaterialFacts, deadline: datetime) -> dict[str, object]:
    """The parsed form, summary row and scan facts as flat `fields` (docs/DESIGN.md's JSON)."""
    out: dict[str, object] = {}
    form = materials.form
    if form is not None and form.record is not None:
        record = form.record
        values = dict(record.values)
        form_studio = values.pop("studio_name", None)
        out.update(values)
        out["form_studio_name"] = form_studio
        out["members"] = record.members
        written, rows = team_size(record)
        out["member_count"] = effective_team_size(record)
        out["member_count_written"] = written
        out["member_table_count"] = rows
        results = values.get("innovation_results")
        out["innovation_result_count"] = len(results) if isinstance(results, list) else 0
        birth = values.get("leader_birth")
        out["leader_age"] = age_at(birth if isinstance(birth, str) else None, deadline)
        out["form_missing"] = record.missing + record.unreadable
    if materials.summary is not None and materials.summary.rows is not None:
        out["summary_rows"] = [dict(r) for r in materials.summary.rows]
    if materials.scans:
        out["scan_pages"] = sum(s.info.pages for s in materials.scans if s.info)
        out["scan_seal_visible"] = any(s.info.seal_visible for s in materials.scans if s.info)
    return out
