"""Normalise file names, subjects and studio names so that they can be compared."""

from __future__ import annotations

import re
import unicodedata

# Zero-width and BOM characters survive NFKC and hide in copied names.
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_QUOTES = dict.fromkeys(map(ord, "《》〈〉<>“”\"'‘’「」『』"))
_LENTICULAR = dict.fromkeys(map(ord, "【】"))
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}

# Circled / dingbat numbers (①, ❶, ㊀ …) become bare digits under NFKC ("①申报书" → "1申报书"),
# so they must be removed before NFKC. ⑴ and ⒈ turn into "(1)" and "1." and are caught later.
_CIRCLED_PREFIX = re.compile(
    r"^\s*[\u2460-\u2473\u24ea-\u24ff\u2776-\u2793\u3251-\u325f\u3280-\u3289\u32b1-\u32bf]\s*"
)
_CN_NUM = "[一二三四五六七八九十百]+"
# A list prefix after NFKC. "1." only when no digit follows, so "3.1" and "2024.5" stay;
# "3-1" never matches because "-" is not a list separator.
_LIST_PREFIX = re.compile(
    rf"""^\s*(?:
        \(\s*(?:\d+|{_CN_NUM})\s*\)      # (1) (一)
      | \[\s*\d+\s*\]                    # [1]
      | 【\s*\d+\s*】                     # 【1】
      | (?:\d+|{_CN_NUM})\s*[、)]        # 1、 1) 一、
      | \d+\s*\.(?!\d)                   # 1.
    )""",
    re.VERBOSE,
)
_WHITESPACE = re.compile(r"\s+")

_EXT = re.compile(r"\.([A-Za-z0-9]{1,10})$")
# Browser downloads ("name(1)", "name (2)") and Windows copies ("name - 副本", "name - Copy (2)").
_COPY_SUFFIX = re.compile(r"(?:\s*[(（]\s*\d{1,3}\s*[)）]|\s+-\s+(?:副本|Copy))\s*$", re.IGNORECASE)

# Separators seen between the major and minor evidence number, after NFKC
# (full-width "－" and "﹣" already became "-").
_EVIDENCE_SEPS = "-_.—–‐‑−"


def normalize_name(text: str) -> str:
    """Return a comparison key: NFKC, no whitespace/quotes/list prefix, ASCII lower-case."""
    text = text.translate(_ZERO_WIDTH)
    text = _CIRCLED_PREFIX.sub("", text, count=1)
    text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH).translate(_QUOTES)
    stripped = _LIST_PREFIX.sub("", text, count=1)
    if stripped.strip():  # a name that is only "1." keeps its number
        text = stripped
    text = _WHITESPACE.sub("", text).translate(_LENTICULAR)
    return text.translate(_ASCII_LOWER)


def split_ext(filename: str) -> tuple[str, str]:
    """Split "a.b.DOCX" into ("a.b", ".docx"); a name without a real extension gives ("name", "")."""
    name = filename.strip()
    match = _EXT.search(name)
    # An extension has at least one letter: "佐证3.1" has none, "x.7z" and "a.mp4" do.
    if match and match.start() > 0 and re.search("[A-Za-z]", match.group(1)):
        return name[: match.start()], "." + match.group(1).lower()
    return name, ""


def strip_copy_suffix(stem: str) -> str:
    """Remove browser "(N)" and Windows "- 副本" / "- Copy" suffixes, repeatedly."""
    while True:
        shorter = _COPY_SUFFIX.sub("", stem, count=1)
        if shorter == stem or not shorter.strip():
            return stem
        stem = shorter


def evidence_number(filename: str, major: int = 3) -> tuple[int, int] | None:
    """Find "3-1" / "3－2" / "3_1" / "3.1" (major fixed) in a file name and return (major, minor)."""
    text = unicodedata.normalize("NFKC", filename)
    seps = re.escape(_EVIDENCE_SEPS)
    pattern = re.compile(
        # Not part of a longer number ("13-1", "2023-3-1"); the minor has 1–3 digits and ends there.
        rf"(?<!\d)(?<!\d[{seps}]){major}\s*([{seps}])\s*(\d{{1,3}})(?!\d)"
    )
    for match in pattern.finditer(text):
        if match.group(1) == ".":
            before = text[: match.start()]
            # "V3.1" is a version number, not evidence 3.1.
            if before[-1:].isascii() and before[-1:].isalpha():
                continue
        return major, int(match.group(2))
    return None
