"""The Chinese wording of every finding: what is wrong, and how the sender fixes it.

Kept apart from the rules so staff can reword without touching logic, and so
tests assert on codes, not words (pyflakes' messages.py does the same).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from pipeline.rules.findings import Code, Finding, Severity, is_office_basis

if TYPE_CHECKING:
    from pipeline.config import Campaign

# code -> (default severity, message template, how to fix). The templates name no campaign's conventions:
# what one notice calls things (入库材料, its subject format, its recommending units, the image formats and
# evidence numbering it allows) comes from the campaign (`campaign_phrases`), and a campaign may replace a
# template in its `wording` table. `{per_notice}` is "按通知要求，" and `{required_by}` "通知要求" only for a
# rule whose campaign records the notice's clause (`basis`); the office's own rules never cite the notice.
_TEXTS: dict[Code, tuple[Severity, str, str]] = {
    Code.SUBJECT_FORMAT: (Severity.REJECT, "邮件主题“{subject}”不符合要求的格式{subject_format}。",
                          "请按“{example}”的格式填写邮件主题后重新发送。"),
    Code.NOT_RECOMMENDING_UNIT: (Severity.REJECT, "“{unit}”不是本次可以直接报送的推荐单位。",
                                 "申报材料须由{units}报送，请联系所属推荐单位报送。"),
    Code.NO_ATTACHMENT: (Severity.REJECT, "邮件中没有附件。", "请将全部申报材料{attach_how}重新发送。"),
    Code.NOT_ARCHIVE: (Severity.REJECT, "申报材料没有打包成压缩文件，而是逐个作为附件发送。",
                       "请将全部申报材料打包为一个压缩文件（ZIP、7Z或RAR）{archive_named}后重新发送。"),
    Code.ARCHIVE_NAME_MISMATCH: (Severity.REJECT, "压缩文件名“{file}”与邮件主题不一致。",
                                 "请将压缩文件命名为“{expected}”后重新发送。"),
    Code.ARCHIVE_CORRUPT: (Severity.REJECT, "压缩文件“{file}”已损坏或不完整，无法解压。",
                           "请重新压缩后再发送；如仍无法打开，请改用ZIP格式。"),
    Code.ARCHIVE_ENCRYPTED: (Severity.REJECT, "压缩文件“{file}”设置了密码，无法打开。",
                             "请去掉压缩密码，重新压缩后发送。"),
    Code.UNSAFE_ARCHIVE: (Severity.REJECT, "压缩文件“{file}”{detail}，出于安全考虑未予解压。",
                          "请只打包申报材料本身，不要包含快捷方式、上级目录路径或超大文件，重新压缩后发送。"),
    Code.MISSING_FORM_WORD: (Severity.REJECT, "未找到{title}。", "请补充该文件（{formats}格式），{together}。"),
    Code.MISSING_FORM_SCAN: (Severity.REJECT, "未找到{title}。", "请补充加盖公章后的扫描件（{formats}格式），{together}。"),
    Code.MISSING_NARRATIVE: (Severity.REJECT, "未找到{title}。", "请补充事迹材料（{formats}格式），{together}。"),
    Code.NARRATIVE_TOO_SHORT: (Severity.REJECT, "事迹材料按Word字数统计约{count}字，要求不少于{minimum}字。",
                               "请补充事迹材料内容至不少于{minimum}字后重新发送。"),
    Code.MISSING_SUMMARY: (Severity.REJECT, "未找到{title}。", "请填写汇总表，{together}。"),
    Code.EVIDENCE_NOT_JPEG: (Severity.REJECT, "{evidence}“{file}”的实际格式是{actual}，不是{image_formats}。",
                             "请将图片另存为{save_as}格式（不要只修改扩展名）后{resend}。"),
    Code.EVIDENCE_NAMING: (Severity.REJECT, "{evidence}命名不符合要求：{detail}。",
                           "请按“{numbering}”的顺序为{evidence}命名后{resend}。"),
    Code.LATE: (Severity.REJECT, "本邮件于{received}收到，已超过申报截止时间{deadline}。", ""),
    # Worded for both cases: the materials sent only as a link, or attached with a link to something extra.
    Code.LARGE_ATTACHMENT_LINK: (Severity.REVIEW, "邮件中有“超大附件”或网盘下载链接（{detail}）。链接会过期，链接中的文件"
                                 "不会被下载，也无法作为正式材料留存。",
                                 "如链接中是申报材料，请将其直接作为普通附件重新发送（单个附件过大时可分卷或压缩图片）。"),
    Code.UNREADABLE_DOCUMENT: (Severity.REVIEW, "文件“{file}”无法读取（{detail}），已转工作人员人工查看。",
                               "如工作人员需要，会另行联系您；也可另存为.docx格式后重新发送。"),
    Code.FORM_FIELDS_MISSING: (Severity.REVIEW, "申报表“{file}”中以下内容未填写或无法识别：{detail}。",
                               "请在申报表中补填上述内容后重新发送。"),
    Code.TEAM_TOO_SMALL: (Severity.REVIEW, "申报表显示工作室成员{count}人，少于{required_by}的{minimum}人。",
                          "如成员情况有遗漏，请补充后重新发送；工作人员将核实{conditions}。"),
    Code.TOO_RECENT: (Severity.REVIEW, "申报表填写的工作室成立时间为{detail}，至申报截止时运行未满{minimum}。",
                      "如成立时间填写有误，请更正后重新发送；工作人员将核实{conditions}。"),
    Code.TOO_FEW_RESULTS: (Severity.REVIEW, "申报表中列出的主要创新成果为{count}项，{required_by}至少{minimum}项。",
                           "如有遗漏，请在“主要创新成果”一栏补充（可附页）后重新发送。"),
    Code.SUMMARY_MISMATCH: (Severity.REVIEW, "汇总表“{file}”中{detail}。", "请核对汇总表与申报表、邮件主题一致后重新发送。"),
    Code.FORM_MISMATCH: (Severity.REVIEW, "申报表“{file}”中{detail}。", "请核对后更正；如有误，请修改后重新发送。"),
    Code.LEADER_CONDITION: (Severity.REVIEW, "申报表中{leader}的{field}为“{value}”，{per_notice}{explain}。",
                            "工作人员将核实{leader}条件；如填写有误，请更正后重新发送。"),
    Code.MISSING_EVIDENCE: (Severity.REJECT, "未找到{title}。", "请补充{title}，与其他材料一并重新发送。"),
    Code.TOO_MANY_ITEMS: (Severity.REVIEW, "“{file}”中“{field}”填写了{count}项，{required_by}不超过{maximum}项。",
                          "请精简至{maximum}项以内后重新发送。"),
    Code.CATEGORY_CONDITION: (Severity.REVIEW, "{per_notice}{explain}；申报表“{file}”的“{field}”中未见符合条件的内容。",
                              "工作人员将核实申报条件；如有遗漏，请补充后重新发送。"),
    # Not in either notice (issue 15): one studio per message is the office's wish, so no 按通知要求 here.
    Code.SEVERAL_STUDIOS: (Severity.REJECT, ("这封邮件中有{count}个工作室的申报材料（{detail}）。为便于逐个登记和答复，"
                                             "每个工作室的材料请单独报送。"),
                           "请为每个工作室单独发送一封邮件{one_naming}。"),
    Code.SEAL_NOT_VISIBLE: (Severity.WARNING, "未能在申报表扫描件“{file}”中识别到红色公章。",
                            "如扫描件未盖章，请加盖公章后重新扫描发送；已盖章的请忽略此条。"),
    Code.AUTO_REPLY: (Severity.INFO, "自动回复邮件，不予处理。", ""),
    Code.BOUNCE: (Severity.INFO, "退信通知，不予处理。", ""),
    Code.DUPLICATE: (Severity.INFO, "与此前收到的邮件{detail}重复，不再重复处理。", ""),
    Code.UNRELATED: (Severity.INFO, "与本次申报无关的邮件，不予处理。", ""),
    Code.INTERNAL_ERROR: (Severity.REVIEW, "系统处理该邮件时出错，已转工作人员人工处理。", "无需重新发送，工作人员会尽快核对。"),
    Code.MESSAGE_UNDECODABLE: (Severity.REVIEW, "这封邮件的格式无法解析，附件无法读取，已转工作人员人工处理。",
                               "工作人员会核对原始邮件；如需重新发送，会另行联系您。"),
    Code.STUDIO_CONFLICT: (Severity.REVIEW, "该工作室此前已收到由其他邮箱报送的材料，本次材料暂不替换此前的报送，"
                                            "已转工作人员核对。",
                           "工作人员核对后会与您联系；如您此前已报送过该工作室，请使用当时的邮箱重新发送。"),
    # The receipt is after the deadline, the sender's own Date a little before it: the server may have held it.
    Code.DELAYED_DELIVERY: (Severity.REVIEW, ("本邮件于{received}收到，晚于申报截止时间{deadline}；邮件标注的发送时间为"
                                              "{sent}，早于截止时间，可能是邮件在传递途中被服务器延迟，已转工作人员核实"
                                              "是否按时发送。"),
                            "无需重新发送，工作人员核实后会另行联系。"),
    # One per file, so each expected name is said whole; the fix gives the whole order, for files not listed.
    Code.MATERIAL_NAMING: (Severity.REJECT, "{per_notice}材料文件须按规定的序号和名称命名：“{name}”应命名为“{expected}”。",
                           "请按{material_order}的序号和名称为各项材料命名后{resend}。"),
    Code.UNIT_NOT_ON_ROSTER: (Severity.REVIEW, "“{unit}”尚不在{label}名单中，已转工作人员核实其能否直接报送。",
                              "工作人员核实后会另行联系；如贵单位不属于{label}，请通过所属推荐单位报送。"),
    Code.CATEGORY_CHANNEL: (Severity.REVIEW, ("该工作室{how}，属于{category}类；{per_notice}此类工作室由{expected}组织报送，"
                                              "本次由“{unit}”报送，已转工作人员核实。"),
                            "工作人员核实后会另行联系；如确属{category}类，请联系{expected}报送。"),
    Code.NOT_NAMED_AFTER_LEADER: (Severity.REVIEW, ("工作室名称“{studio}”中没有{leader}“{name}”的姓名；{per_notice}{category}类"
                                                    "工作室原则上以{leader}姓名命名。"),
                                  "工作人员将核实；如工作室名称填写有误，请更正后重新发送。"),
}


# Wordings that replace a code's own in one situation: (code, variant) -> (message template, how to fix; None:
# the code's own).
_WRONG_FORMAT = "收到的“{file}”是{actual}文件，不符合要求：应为{title}。"
_VARIANTS: dict[tuple[Code, str], tuple[str, str | None]] = {
    (Code.NARRATIVE_TOO_SHORT, "pictures"): (
        "事迹材料按Word字数统计约{count}字，要求不少于{minimum}字；文件中另有{pictures}张图片，图片里的文字不计入字数。",
        "请以文字形式（不要用图片或扫描件）编写事迹材料，不少于{minimum}字后重新发送。"),
    (Code.SUBJECT_FORMAT, "empty"): ("邮件没有填写主题。", None),
    (Code.SUBJECT_FORMAT, "short_unit"): ("邮件主题中的推荐单位“{unit}”不是全称，应为“{full}”。",
                                          "请将邮件主题改为“{expected}”{archive_same}，重新发送。"),
    **{(code, "wrong_format"): (_WRONG_FORMAT, None) for code in (
        Code.MISSING_FORM_WORD, Code.MISSING_FORM_SCAN, Code.MISSING_NARRATIVE, Code.MISSING_SUMMARY)},
    (Code.ARCHIVE_CORRUPT, "volumes"): (
        "压缩文件“{file}”是分卷压缩包，{detail}，无法解压。",
        ("请将全部分卷作为附件放在同一封邮件中重新发送；如附件总大小超过邮箱限制，请先压缩图片，"
         "再将全部材料打包为一个压缩文件（不要分卷）重新发送。")),
}

# The campaign's phrases when no campaign is known (or it says nothing): plain words that cite no notice.
DEFAULT_PHRASES: dict[str, str] = {
    "materials": "申报材料", "subject_format": "", "evidence": "佐证材料", "leader": "带头人", "units": "推荐单位",
    "together": "与其他材料一并重新发送", "resend": "重新发送", "attach_how": "作为附件", "archive_named": "",
    "archive_same": "", "image_formats": "JPG/JPEG图片", "save_as": "JPG", "numbering": "3-1、3-2……",
    "formats": "规定", "per_notice": "", "required_by": "要求", "conditions": "申报条件", "one_naming": "",
    "material_order": "规定",
}
PHRASE_NAMES = frozenset(DEFAULT_PHRASES)
# Placeholders a wording override may use: the phrases and every value a check passes.
PARAM_NAMES = frozenset({"subject", "example", "unit", "full", "expected", "file", "detail", "title", "actual",
                         "count", "minimum", "maximum", "pictures", "received", "deadline", "field", "value",
                         "explain", "sent", "label", "how", "category", "studio", "name"})


class _Blank(dict):
    """Leaves unknown placeholders empty instead of failing: a message must always render."""

    def __missing__(self, key: str) -> str:
        return ""


def default_severity(code: Code) -> Severity:
    """The built-in severity of `code`; campaigns may override it."""
    return _TEXTS[code][0]


def templates(code: Code, variant: str = "") -> tuple[str, str]:
    """The built-in (message, fix) templates of `code` in `variant`."""
    _default, message, fix = _TEXTS[code]
    message, own_fix = _VARIANTS.get((code, variant), (message, fix))
    return message, own_fix or fix


def variants() -> list[tuple[Code, str]]:
    """Every (code, variant) with a wording of its own, the plain wording of each code ("") included."""
    return [(code, "") for code in _TEXTS] + list(_VARIANTS)


def render(code: Code, variant: str, params: Mapping[str, str], phrases: Mapping[str, str] | None = None,
           override: tuple[str | None, str | None] = (None, None)) -> tuple[str, str]:
    """The (message, fix) of a finding: the templates (or a campaign's `override` of them) filled with the
    campaign's `phrases` and the check's `params`."""
    message, fix = templates(code, variant)
    message, fix = override[0] if override[0] is not None else message, override[1] if override[1] is not None else fix
    # Every value may be the sender's (a subject, file names, a list of 9,998 missing parts): bounded and
    # without links in the wording, which is what replies quote; a finding's `file` and `note` keep the whole.
    values = _Blank({**DEFAULT_PHRASES, **(phrases or {}), **{k: echo(v) for k, v in params.items()}})
    return message.format_map(values), fix.format_map(values)


def make_finding(code: Code, severity: Severity | None = None, *, file: str = "", note: str = "", variant: str = "",
                 **params: object) -> Finding:
    """Build a finding with its Chinese message and fix (`variant`'s wording when there is one), filling the
    templates from `params`; `for_campaign` later words it in the campaign's own terms."""
    raw = {"file": file, **{k: str(v) for k, v in params.items()}}
    message, fix = render(code, variant, raw)
    return Finding(code=code, severity=severity or default_severity(code), message=message, file=file, fix=fix,
                   note=note, variant=variant, params=tuple(raw.items()))


def for_campaign(finding: Finding, campaign: Campaign) -> Finding:
    """`finding` as `campaign` has it: worded with its phrases (and its wording overrides), carrying the clause
    of the notice the rule implements, and capped at review when the rule is the office's own addition."""
    basis = campaign.basis_of(finding.code, dict(finding.params))
    own = is_office_basis(basis)
    severity = Severity.REVIEW if own and finding.severity is Severity.REJECT else finding.severity
    message, fix = render(finding.code, finding.variant, dict(finding.params),
                          campaign_phrases(campaign, finding.code, basis),
                          campaign.wording.override(str(finding.code), finding.variant))
    return replace(finding, severity=severity, message=message, fix=fix, basis=basis)


def _either(items: Sequence[str], last: str = "或") -> str:
    """"A", "A或B", "A、B或C"."""
    items = list(dict.fromkeys(i for i in items if i))
    if len(items) < 2:
        return "".join(items)
    return "、".join(items[:-1]) + last + items[-1]


_FORMAT_WORDS = {"docx": "Word", "doc": "Word", "pdf": "PDF", "jpeg": "JPG", "png": "PNG", "xlsx": "Excel",
                 "xls": "Excel", "odt": "ODT", "ods": "ODS", "rtf": "RTF", "text": "文本", "gif": "GIF", "bmp": "BMP",
                 "tiff": "TIFF", "webp": "WebP", "heic": "HEIC"}


def campaign_phrases(campaign: Campaign, code: Code | None = None, basis: str | None = None) -> dict[str, str]:
    """The words a finding of `code` uses for what `campaign` asks: its own terms, the formats and numbering it
    allows, whether materials come packed, and whether the rule may cite the notice (its `basis`)."""
    words = campaign.wording
    basis = campaign.basis_of(code) if basis is None and code is not None else (basis or "")
    cites = bool(basis.strip()) and not is_office_basis(basis)
    subject = campaign.subject
    packed = campaign.archive_required
    named_like_subject = packed and subject.enforced and subject.attachment_same_as_subject
    images = campaign.evidence.image_formats
    image_words = (_either([_FORMAT_WORDS.get(f, f.upper()) if f != "jpeg" else "JPG/JPEG" for f in images])
                   or "JPG/JPEG")
    subject_format = f"“{words.subject_format}”" if words.subject_format else ""
    if subject.enforced and subject_format:
        one_naming = (f"，邮件主题{'和压缩文件名' if named_like_subject else ''}均为{subject_format}"
                      + (f"，例如“{subject.example}”" if subject.example else ""))
    elif subject.enforced and subject.example:
        one_naming = f"，邮件主题{'和压缩文件名' if named_like_subject else ''}按“{subject.example}”的格式填写"
    else:
        one_naming = ""
    role = next((d for d in campaign.documents if code is not None and d.missing_code == str(code)), None)
    return {
        "materials": words.materials, "subject_format": subject_format, "evidence": words.evidence,
        "leader": words.leader, "units": _either([u.label or u.kind for u in campaign.units]) or "推荐单位",
        "together": "与其他材料一并重新打包发送" if packed else "与其他材料一并重新发送",
        "resend": "重新打包发送" if packed else "重新发送",
        "attach_how": "打包为一个压缩文件（ZIP、7Z或RAR）作为附件" if packed else "作为附件",
        "archive_named": "，以邮件主题命名" if named_like_subject else "",
        "archive_same": "，压缩文件名与主题相同" if named_like_subject else "",
        "image_formats": f"{image_words}图片",
        "save_as": _either([_FORMAT_WORDS.get(f, f.upper()) for f in images]) or "JPG",
        "numbering": f"{campaign.evidence.major}-1、{campaign.evidence.major}-2……",
        "formats": _either([_FORMAT_WORDS.get(f, f.upper()) for f in role.formats]) if role and role.formats else "规定",
        "per_notice": "按通知要求，" if cites else "", "required_by": "通知要求" if cites else "要求",
        "conditions": words.conditions, "one_naming": one_naming, "material_order": material_order(campaign),
    }


def material_order(campaign: Campaign) -> str:
    """The materials' files in the order and with the names a campaign's notice gives them (“（1）…申报表”、
    “（3）佐证材料（3-1、3-2……）” …); "规定" when it orders none."""
    named = {(d.order, d.file_name.replace("{studio}", "XXX创新工作室") or d.title) for d in campaign.documents if d.order}
    if not named:
        return "规定"
    major = campaign.evidence.major
    named.add((major, f"{campaign.wording.evidence}（{major}-1、{major}-2……）"))
    return "、".join(f"“（{order}）{name}”" for order, name in sorted(named))


# Archive and parser problems arrive as English tool output; the sender reads a Chinese summary.
_UNSAFE_REASONS = (("ratio", "压缩比异常（疑似“压缩炸弹”）"), ("too many files", "包含的文件数量过多"),
                   ("too much data", "解压后体积过大"), ("absolute path", "包含绝对路径的文件名"),
                   ("escapes", "包含指向上级目录（..）的文件名"), ("link or special", "包含快捷方式或链接文件"))
_UNREADABLE_REASONS = (("encrypted", "文件设置了密码"), ("legacy word", "旧版Word（.doc/.wps）格式，系统无法直接读取"),
                       ("legacy excel", "旧版Excel（.xls）格式，系统无法直接读取"), ("not a docx", "文件内容与扩展名不符"),
                       ("not an xlsx", "文件内容与扩展名不符"), ("corrupt", "文件已损坏"))


def unsafe_reason(detail: str) -> str:
    """A Chinese phrase for why an archive was refused."""
    text = detail.lower()
    return next((zh for key, zh in _UNSAFE_REASONS if key in text), "存在安全问题")


def unreadable_reason(detail: str) -> str:
    """A Chinese phrase for why a document could not be read (Chinese details pass through)."""
    if any("\u4e00" <= ch <= "\u9fff" for ch in detail):
        return detail
    text = detail.lower()
    return next((zh for key, zh in _UNREADABLE_REASONS if key in text), "文件已损坏或无法识别")


# --- the sender's text quoted back ------------------------------------------------------------------------

ECHO_CHARS = 200      # at most this much of one quoted value (a file name is at most 255)
LIST_ITEMS = 10       # a list quoted back names this many, then "等N个"
RUN_MIN = 3           # 1、2、3 and longer consecutive runs become "1至3"
LINK_GONE = "〔链接已略去〕"

_STOP = r"\s\"'<>“”‘’（）()，,。；;、【】\[\]"
_TLDS = (r"com|cn|net|org|gov|edu|top|xyz|info|biz|cc|co|io|me|tv|vip|club|site|online|shop|link|app|ly|gl|ru"
         r"|us|uk|hk|tw|jp|kr|de|fr|in|pw|ws|su|tk|ml|ga|cf|gq|icu|fun|ink|wang|ren|pub|live|work|tech|store"
         r"|cloud|win|bid|loan|xin|中国|公司|网络|网址|在线|商城")
# What a mail program turns into a link: a scheme, www., an e-mail address, or a host name under a web TLD
# (not under .zip/.doc: a file name is not a host). Replies to 126 carry no links at all (spam scoring),
# and a quoted link would let anyone use our office to deliver theirs.
_LINK = re.compile(
    rf"(?:[A-Za-z][A-Za-z0-9+.-]{{1,15}}://|mailto:|www[.．])[^{_STOP}]*"
    rf"|[^{_STOP}@]{{1,64}}@[^{_STOP}@]{{1,253}}[.．][A-Za-z]{{2,}}"
    rf"|(?<![\w.．-])(?:[\w-]+[.．])+(?:{_TLDS})(?![\w-])(?:[/:?#][^{_STOP}]*)?",
    re.IGNORECASE)
_ITEM = r"[^、“”‘’\"；;，,。（）()\n]+"
# Matches start only where an item or a number starts (the lookbehinds), and an address's parts are bounded
# (RFC 5321's 64 and 253): otherwise each of these is tried from every position of a long run and a sender's
# 8,000-character subject cost a second of CPU per quote.
_LIST = re.compile(rf"(?<![^、“”‘’\"；;，,。（）()\n]){_ITEM}(?:、{_ITEM}){{{LIST_ITEMS},}}")
_NUMBERS = re.compile(r"(?<![\d-])(?:\d+-)?\d+(?:、(?:\d+-)?\d+)+")
_NUMBER = re.compile(r"(\d+-)?(\d+)")


def one_line(text: str) -> str:
    """Sender-supplied text on one line: control characters and Unicode line/paragraph separators become
    spaces (the email package splits header values with str.splitlines and refuses them; CR/LF in a header
    would be injection), runs of white space one space."""
    return " ".join("".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text).split())


def _runs(match: re.Match[str]) -> str:
    """"2、3、4、…、9999" → "2至9999"; "3-1、3-2、3-3、3-5" → "3-1至3-3、3-5"."""
    items = [(m.group(1) or "", int(m.group(2))) for m in map(_NUMBER.fullmatch, match.group().split("、")) if m]
    out: list[str] = []
    start = 0
    for i in range(1, len(items) + 1):
        if i < len(items) and items[i][0] == items[i - 1][0] and items[i][1] == items[i - 1][1] + 1:
            continue
        (prefix, first), (_, last) = items[start], items[i - 1]
        run = [f"{prefix}{n}" for n in range(first, last + 1)]
        out += [f"{prefix}{first}至{prefix}{last}"] if len(run) >= RUN_MIN else run
        start = i
    return "、".join(out)


def _first_items(match: re.Match[str]) -> str:
    items = match.group().split("、")
    return "、".join(items[:LIST_ITEMS]) + f"等{len(items)}个"


def echo(text: str, limit: int = ECHO_CHARS) -> str:
    """What a reply may quote of `text`: one line, links replaced, number runs and long lists summarised, at
    most `limit` characters."""
    text = _LINK.sub(LINK_GONE, one_line(text))
    text = _LIST.sub(_first_items, _NUMBERS.sub(_runs, text))
    return text if len(text) <= limit else text[: limit - 2].rstrip("、，, ") + "……"
