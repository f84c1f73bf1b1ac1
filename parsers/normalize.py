"""Values as clerks type them, normalised: months, phone numbers, money in 万元, counts, labels.

Every function returns None when it cannot read the value with confidence: a
blank is reported as a finding, a guess would be a wrong value in the records.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"[\s\u3000\u00a0\u200b\ufeff]+")
# Chinese numerals as clerks write them in dates and counts (〇 and 零 both mean zero).
_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "O": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "三": 3, "叁": 3,
              "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8,
              "九": 9, "玖": 9}
_CN_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}


def squash(text: str) -> str:
    """NFKC (full-width → ASCII), no whitespace of any kind: how labels and names are compared."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text or ""))


def label_key(text: str) -> str:
    """A label cell's text reduced to what identifies it: no spaces, colons, brackets' content kept."""
    return squash(text).strip(":：*＊").replace("《", "").replace("》", "")


def cn_number(text: str) -> int | None:
    """'七' → 7, '十二' → 12, '二〇一九' → 2019 (digit by digit), '12' → 12; None if not a number."""
    text = squash(text)
    if text.isdigit():
        return int(text)
    if not text or any(ch not in _CN_DIGITS and ch not in _CN_UNITS for ch in text):
        return None
    if not any(ch in _CN_UNITS for ch in text):
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))  # 二〇一九 is read digit by digit
    total, digit = 0, None
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        else:
            total += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
    return total + (digit or 0)


_CN_DATE = re.compile(r"([〇零○一二三四五六七八九Ｏ]{4})年([一二三四五六七八九十]{1,3})月")
_MONTH = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*(?:年|[./\-－—_、,，]|\s)\s*(\d{1,2})(?!\d)")
_COMPACT = re.compile(r"(?<!\d)((?:19|20)\d{2})(0[1-9]|1[0-2])(?:\d{2})?(?!\d)")
_YEAR_ONLY = re.compile(r"^(?:约)?((?:19|20)\d{2})年?$")


def month(text: str) -> str | None:
    """'2019年3月', '2019.3', '2019-03', '2019/03', '二〇一九年三月', '201903' → '2019-03';
    a bare year ('2019年') → '2019'; anything else → None."""
    value = unicodedata.normalize("NFKC", text or "").strip()
    cn = _CN_DATE.search(value)
    if cn:
        value = f"{cn_number(cn.group(1))}年{cn_number(cn.group(2))}月"
    for pattern in (_MONTH, _COMPACT):
        m = pattern.search(value)
        if m and 1 <= int(m.group(2)) <= 12:
            return f"{m.group(1)}-{int(m.group(2)):02d}"
    year = _YEAR_ONLY.match(squash(value))
    return year.group(1) if year else None


_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})(\d{7,8})(?!\d)")


def phone(text: str) -> str | None:
    """The first phone number in a cell: a mobile as 11 digits, a landline as '0311-85521691'.

    Separators (spaces, hyphens, brackets, +86) are dropped first; several numbers → the first one.
    """
    value = unicodedata.normalize("NFKC", text or "")
    # A country code only in front of a whole mobile number: "13386137612" has an "86" inside it.
    value = re.sub(r"(?<!\d)(?:\+86|0086|86)[\s\-]*(?=1[3-9]\d[\s\-]?\d{4}[\s\-]?\d{4}(?!\d))", "", value)
    for part in re.split(r"[/、;；,，]|或", value):
        digits = re.sub(r"[\s\-()（）.—–]", "", part)
        mobile = _MOBILE.search(digits)
        if mobile:
            return mobile.group(0)
        land = _LANDLINE.search(digits)
        if land:
            return f"{land.group(1)}-{land.group(2)}"
    return None


_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(万元|万|元)?")


def money_wan(text: str) -> int | float | None:
    """An amount in 万元 (the form's printed unit): '10万元' → 10, '100000元' → 10, '12.5' → 12.5, '拾万元' → 10."""
    value = squash(text).replace(",", "").removeprefix("约").removeprefix("共")
    m = _AMOUNT.search(value)
    if m is None:
        cn = re.match(r"^([零一二三四五六七八九十百千壹贰叁肆伍陆柒捌玖拾佰仟两]+)(万元|万|元)?$", value)
        if not cn or cn_number(cn.group(1)) is None:
            return None
        amount, unit = float(cn_number(cn.group(1)) or 0), cn.group(2) or "万元"
    else:
        amount, unit = float(m.group(1)), m.group(2) or "万元"
    if unit == "元":
        amount /= 10000
    amount = round(amount, 4)
    return int(amount) if amount.is_integer() else amount


def count(text: str) -> int | None:
    """'7人', '7', '七人', '7 名', '7人（含带头人）' → 7; None when no single number is there ('7-8人')."""
    value = squash(text).removeprefix("共").removeprefix("约")
    m = re.match(r"^(\d+|[零一二三四五六七八九十两]+)(?:人|名|位|个)?(?:$|[(（])", value)
    return cn_number(m.group(1)) if m else None


_TICKED, _UNTICKED = "☑■√✓✔☒▣◼●", "☐□○"
_OPTION = rf"[^\s{_TICKED}{_UNTICKED}]+"


def checked_option(text: str) -> str:
    """'☑男 □女' / '男√ 女□' → '男': the option a clerk ticked on a printed choice; other text is returned as it is."""
    text = text or ""
    if not any(mark in text for mark in _UNTICKED):
        return text
    # Where the empty boxes stand (before or after their options) tells which side the tick is on.
    boxes_first = re.search(rf"[{_UNTICKED}]\s*{_OPTION}", text) is not None
    pattern = rf"[{_TICKED}]\s*({_OPTION})" if boxes_first else rf"({_OPTION}?)\s*[{_TICKED}]"
    m = re.search(pattern, text)
    return m.group(1) if m else ""


def gender(text: str) -> str | None:
    """'男', '男性', 'M' → '男'; '女' → '女'."""
    value = squash(checked_option(text))
    if value in ("男", "男性", "M", "m"):
        return "男"
    if value in ("女", "女性", "F", "f"):
        return "女"
    return None


def age(text: str) -> int | None:
    """'45', '45岁', '四十五' → 45, within a working age."""
    value = squash(text).removesuffix("岁").removesuffix("周岁")
    number = cn_number(value)
    return number if number is not None and 16 <= number <= 90 else None


def plain(text: str) -> str | None:
    """A free-text value with its spacing tidied; None for a blank or a placeholder left in the template."""
    lines = [" ".join(line.replace("\u3000", " ").split()) for line in (text or "").splitlines()]
    value = "\n".join(line for line in lines if line).strip()
    if not value or squash(value) in _PLACEHOLDERS:
        return None
    return value


# What an unfilled template cell or a content control's prompt holds.
_PLACEHOLDERS = frozenset({"", "/", "-", "—", "——", "……", "...", "单击或点击此处输入文字。", "单击此处输入文字。",
                           "Clickortapheretoentertext.", "Clickheretoentertext.", "年月", "年月日", "万元", "人"})
