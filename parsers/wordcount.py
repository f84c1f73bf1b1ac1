"""Count 字数 the way Microsoft Word's status bar does (中文字符和朝鲜语单词 + 非中文单词)."""

from __future__ import annotations

from dataclasses import dataclass

# Each character in these ranges is one "word" (Word's East Asian characters) and ends a Latin run.
_CJK_RANGES = (
    (0x1100, 0x11FF),    # Hangul Jamo
    (0x2E80, 0x2FDF),    # CJK Radicals Supplement, Kangxi Radicals
    (0x2FF0, 0x2FFF),    # Ideographic Description Characters
    (0x3001, 0x303F),    # CJK Symbols and Punctuation (U+3000 is a space, see _is_space)
    (0x3040, 0x31FF),    # Kana, Bopomofo, Hangul Compatibility Jamo, Kanbun, CJK Strokes
    (0x3200, 0x33FF),    # Enclosed CJK Letters and Months, CJK Compatibility (㈱ ㍻)
    (0x3400, 0x4DBF),    # Extension A
    (0x4E00, 0x9FFF),    # CJK Unified Ideographs
    (0xA960, 0xA97F),    # Hangul Jamo Extended-A
    (0xAC00, 0xD7FF),    # Hangul Syllables, Jamo Extended-B
    (0xF900, 0xFAFF),    # CJK Compatibility Ideographs
    (0xFE10, 0xFE1F),    # Vertical Forms
    (0xFE30, 0xFE4F),    # CJK Compatibility Forms
    (0xFF01, 0xFFEF),    # Halfwidth and Fullwidth Forms (full-width letters count one each in Word)
    (0x16FE0, 0x16FFF),  # Ideographic Symbols and Punctuation
    (0x20000, 0x323AF),  # Extensions B–I, Compatibility Supplement
)

# Punctuation whose count depends on the font Word assigned to it: a Chinese font makes
# it East Asian (counts 1 each), a Latin font makes it part of a Latin word.
# U+2015 is added because GB2312's "——" is mapped to it by some converters.
AMBIGUOUS = frozenset("“”‘’—…·\u2015")

# Invisible format characters join the letters around them (Word: "foo\u200bbar" is one word).
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")


@dataclass(frozen=True)
class WordCount:
    """Word's 字数 bounded from below and above, plus the plain character count."""

    low: int     # Word's 字数 without the ambiguous punctuation
    high: int    # with the ambiguous punctuation “”‘’—…· counted as CJK
    chars: int   # plain character count, excluding whitespace


def is_cjk(ch: str) -> bool:
    """True for a character Word counts as one East Asian word on its own."""
    cp = ord(ch)
    return cp >= 0x1100 and any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def count_words(text: str) -> WordCount:
    """Count 字数: one per CJK character or punctuation mark, one per run of other non-space characters."""
    # Word decides per character whether “”‘’—…· are East Asian (1 each, splitting Latin runs) or
    # Latin (part of a run). `high` is the all-East-Asian count. `low` lets them neither count nor
    # split nor start a run, which is at or below every mix of the two ("A—B": low 1, Latin 1, high 3;
    # "“你好”": low 2, Latin 4, high 4), so a low count of 1000 is 1000 in Word whatever the fonts.
    cjk = ambiguous = low_runs = high_runs = chars = 0
    in_low_run = in_high_run = False
    for ch in text:
        if ch.isspace():  # includes U+3000 and NBSP
            in_low_run = in_high_run = False
            continue
        if ch in _INVISIBLE:
            continue
        chars += 1
        if is_cjk(ch):
            cjk += 1
            in_low_run = in_high_run = False
        elif ch in AMBIGUOUS:
            ambiguous += 1
            in_high_run = False
        else:
            low_runs += not in_low_run
            high_runs += not in_high_run
            in_low_run = in_high_run = True
    return WordCount(low=cjk + low_runs, high=cjk + ambiguous + high_runs, chars=chars)
