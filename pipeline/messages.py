"""The Chinese wording of every finding: what is wrong, and how the sender fixes it.

Kept apart from the rules so staff can reword without touching logic, and so
tests assert on codes, not words (pyflakes' messages.py does the same).
"""

from __future__ import annotations

import re
import unicodedata

from pipeline.findings import Code, Finding, Severity

# code -> (default severity, message template, how to fix)
_TEXTS: dict[Code, tuple[Severity, str, str]] = {
    Code.SUBJECT_FORMAT: (Severity.REJECT, "邮件主题“{subject}”不符合要求的格式“推荐单位+工作室名称+入库材料”。",
                          "请按“{example}”的格式填写邮件主题后重新发送。"),
    Code.NOT_RECOMMENDING_UNIT: (Severity.REJECT, "“{unit}”不是本次可以直接报送的推荐单位。",
                                 "申报材料须由县（市、区）总工会、产业工会或市总直属企业工会汇总后报送，请联系所属推荐单位报送。"),
    Code.NO_ATTACHMENT: (Severity.REJECT, "邮件中没有附件。",
                         "请将全部申报材料打包为一个压缩文件（ZIP、7Z或RAR）作为附件重新发送。"),
    Code.NOT_ARCHIVE: (Severity.REJECT, "申报材料没有打包成压缩文件，而是逐个作为附件发送。",
                       "请将全部申报材料打包为一个压缩文件（ZIP、7Z或RAR），以邮件主题命名后重新发送。"),
    Code.ARCHIVE_NAME_MISMATCH: (Severity.REJECT, "压缩文件名“{file}”与邮件主题不一致。",
                                 "请将压缩文件命名为“{expected}”后重新发送。"),
    Code.ARCHIVE_CORRUPT: (Severity.REJECT, "压缩文件“{file}”已损坏或不完整，无法解压。",
                           "请重新压缩后再发送；如仍无法打开，请改用ZIP格式。"),
    Code.ARCHIVE_ENCRYPTED: (Severity.REJECT, "压缩文件“{file}”设置了密码，无法打开。",
                             "请去掉压缩密码，重新压缩后发送。"),
    Code.UNSAFE_ARCHIVE: (Severity.REJECT, "压缩文件“{file}”{detail}，出于安全考虑未予解压。",
                          "请只打包申报材料本身，不要包含快捷方式、上级目录路径或超大文件，重新压缩后发送。"),
    Code.MISSING_FORM_WORD: (Severity.REJECT, "未找到{title}。", "请补充该文件（Word格式），与其他材料一并重新打包发送。"),
    Code.MISSING_FORM_SCAN: (Severity.REJECT, "未找到{title}。", "请补充加盖公章后的扫描件（PDF或JPG格式），与其他材料一并重新打包发送。"),
    Code.MISSING_NARRATIVE: (Severity.REJECT, "未找到{title}。", "请补充事迹材料（Word格式），与其他材料一并重新打包发送。"),
    Code.NARRATIVE_TOO_SHORT: (Severity.REJECT, "事迹材料按Word字数统计约{count}字，要求不少于{minimum}字。",
                               "请补充事迹材料内容至不少于{minimum}字后重新发送。"),
    Code.MISSING_SUMMARY: (Severity.REJECT, "未找到{title}。", "请填写汇总表，与其他材料一并重新打包发送。"),
    Code.EVIDENCE_NOT_JPEG: (Severity.REJECT, "佐证材料“{file}”的实际格式是{actual}，不是JPG/JPEG图片。",
                             "请将图片另存为JPG格式（不要只修改扩展名）后重新打包发送。"),
    Code.EVIDENCE_NAMING: (Severity.REJECT, "佐证材料命名不符合要求：{detail}。",
                           "请按“3-1、3-2……”的顺序为佐证材料命名后重新打包发送。"),
    Code.LATE: (Severity.REJECT, "本邮件于{received}收到，已超过申报截止时间{deadline}。按通知要求，逾期未报视为放弃申报。",
                ""),
    # Worded for both cases: the materials sent only as a link, or attached with a link to something extra.
    Code.LARGE_ATTACHMENT_LINK: (Severity.REVIEW, "邮件中有“超大附件”或网盘下载链接（{detail}）。链接会过期，链接中的文件"
                                 "不会被下载，也无法作为正式材料留存。",
                                 "如链接中是申报材料，请将其直接作为普通附件重新发送（单个附件过大时可分卷或压缩图片）。"),
    Code.UNREADABLE_DOCUMENT: (Severity.REVIEW, "文件“{file}”无法读取（{detail}），已转工作人员人工查看。",
                               "如工作人员需要，会另行联系您；也可另存为.docx格式后重新发送。"),
    Code.FORM_FIELDS_MISSING: (Severity.REVIEW, "申报表“{file}”中以下内容未填写或无法识别：{detail}。",
                               "请在申报表中补填上述内容后重新发送。"),
    Code.TEAM_TOO_SMALL: (Severity.REVIEW, "申报表显示工作室成员{count}人，少于通知要求的{minimum}人。",
                          "如成员情况有遗漏，请补充后重新发送；工作人员将核实入库条件。"),
    Code.TOO_RECENT: (Severity.REVIEW, "申报表填写的工作室成立时间为{detail}，至申报截止时运行未满{minimum}。",
                      "如成立时间填写有误，请更正后重新发送；工作人员将核实入库条件。"),
    Code.TOO_FEW_RESULTS: (Severity.REVIEW, "申报表中列出的主要创新成果为{count}项，通知要求至少{minimum}项。",
                           "如有遗漏，请在“主要创新成果”一栏补充（可附页）后重新发送。"),
    Code.SUMMARY_MISMATCH: (Severity.REVIEW, "汇总表“{file}”中{detail}。", "请核对汇总表与申报表、邮件主题一致后重新发送。"),
    Code.FORM_MISMATCH: (Severity.REVIEW, "申报表“{file}”中{detail}。", "请核对后更正；如有误，请修改后重新发送。"),
    Code.LEADER_CONDITION: (Severity.REVIEW, "申报表中带头人的{field}为“{value}”，按通知要求，{explain}。",
                            "工作人员将核实带头人条件；如填写有误，请更正后重新发送。"),
    Code.MISSING_EVIDENCE: (Severity.REJECT, "未找到{title}。", "请补充{title}，与其他材料一并重新发送。"),
    Code.TOO_MANY_ITEMS: (Severity.REVIEW, "“{file}”中“{field}”填写了{count}项，通知要求不超过{maximum}项。",
                          "请精简至{maximum}项以内后重新发送。"),
    Code.CATEGORY_CONDITION: (Severity.REVIEW, "按通知要求，{explain}；申报表“{file}”的“{field}”中未见符合条件的内容。",
                              "工作人员将核实申报条件；如有遗漏，请补充后重新发送。"),
    Code.SEVERAL_STUDIOS: (Severity.REJECT, "这封邮件中有{count}个工作室的申报材料（{detail}）。按通知要求，每个工作室的材料应单独报送。",
                           "请为每个工作室单独发送一封邮件，邮件主题和压缩文件名均为“推荐单位+工作室名称+入库材料”，例如“{example}”。"),
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
                                          "请将邮件主题改为“{expected}”，压缩文件名与主题相同，重新发送。"),
    **{(code, "wrong_format"): (_WRONG_FORMAT, None) for code in (
        Code.MISSING_FORM_WORD, Code.MISSING_FORM_SCAN, Code.MISSING_NARRATIVE, Code.MISSING_SUMMARY)},
    (Code.ARCHIVE_CORRUPT, "volumes"): (
        "压缩文件“{file}”是分卷压缩包，{detail}，无法解压。",
        ("请将全部分卷作为附件放在同一封邮件中重新发送；如附件总大小超过邮箱限制，请先压缩图片，"
         "再将全部材料打包为一个压缩文件（不要分卷）重新发送。")),
}


class _Blank(dict):
    """Leaves unknown placeholders empty instead of failing: a message must always render."""

    def __missing__(self, key: str) -> str:
        return ""


def default_severity(code: Code) -> Severity:
    """The built-in severity of `code`; campaigns may override it."""
    return _TEXTS[code][0]


def make_finding(code: Code, severity: Severity | None = None, *, file: str = "", note: str = "", variant: str = "",
                 **params: object) -> Finding:
    """Build a finding with its Chinese message and fix (`variant`'s wording when there is one), filling the
    templates from `params`."""
    default, message, fix = _TEXTS[code]
    message, own_fix = _VARIANTS.get((code, variant), (message, fix))
    fix = own_fix or fix
    # Every value may be the sender's (a subject, file names, a list of 9,998 missing parts): bounded and
    # without links in the wording, which is what replies quote; `file` and `note` keep the whole for staff.
    values = _Blank(file=echo(file), **{k: echo(str(v)) for k, v in params.items()})
    return Finding(code=code, severity=severity or default, message=message.format_map(values),
                   file=file, fix=fix.format_map(values), note=note)


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
