"""count_words against numbers Microsoft Word shows in its 字数 box."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers.wordcount import WordCount, count_words


@pytest.mark.parametrize("text, words", [
    ("Hello World", 2),
    ("Hello、World。", 4),            # office-wordcount validation set, checked in Word
    ("2024年", 2),
    ("ISO9001认证", 3),
    ("Hello 世界", 3),
    ("中文测试", 4),
    ("안녕하세요", 5),                 # each Hangul syllable
    ("东京2024オリンピック", 9),
    ("ＡＢＣＤＥ１２３４５", 10),        # full-width letters and digits count one each
    ("「こんにちは」", 7),
    ("①②③④⑤", 1),                   # circled numbers are not East Asian in Word
    ("㈱テスト㈲", 5),
    ("〽々〆", 3),
    ("foo\u200bbar", 1),              # zero-width space does not split a word
    ("hello 🙂 world", 3),
    ("第3-1号，共12.5万元（含税）。", 13),
    ("", 0),
    ("   \n\t\u3000\u3000", 0),       # U+3000 is a space, not a punctuation mark
])
def test_known_word_counts(text: str, words: int) -> None:
    count = count_words(text)
    assert count.low == count.high == words


def test_thousand_han_characters() -> None:
    text = "劳模创新工作室" * 142 + "申报材料完成"  # 994 + 6
    assert count_words(text) == WordCount(low=1000, high=1000, chars=1000)


def test_cjk_extensions_and_compatibility_ideographs() -> None:
    # Extension A 㐀, Extension B 𠀀, Extension G 𰀀, compatibility 﨎, CJK compatibility form ︰.
    assert count_words("㐀𠀀𰀀﨎︰").low == 5


def test_chars_exclude_whitespace() -> None:
    assert count_words("Hello、World。").chars == 12
    assert count_words("\u3000\u3000本工作室 成立于 2019 年。\n") == WordCount(low=10, high=10, chars=13)


@pytest.mark.parametrize("text, low, high", [
    ("他说：“你好”。", 6, 8),               # quotes between Han characters
    ("劳模精神——创新", 6, 8),
    ("等等……", 2, 4),
    ("A—B", 1, 3),                        # low never exceeds the Latin-font reading (1 word)
    ("“Hello”", 1, 3),
    ("·", 0, 1),
    ("‘单引号’", 3, 5),
])
def test_ambiguous_band(text: str, low: int, high: int) -> None:
    count = count_words(text)
    assert (count.low, count.high) == (low, high)
    assert count.chars == len(text)


def test_low_is_a_lower_bound_of_the_latin_reading() -> None:
    # Read as Latin, “ ” — … · join runs like letters; that count lies between low and high.
    text = "本人2019年获“河北省劳动模范”称号——这是荣誉…Work hard·每天"
    count = count_words(text)
    latin = count_words(text.translate(str.maketrans("“”—…·", "abcde")))
    assert count.low <= latin.low <= count.high


def test_mixed_narrative() -> None:
    text = "2023年，工作室完成QC成果5项，获得国家专利3件（其中发明专利1件）。"
    # 2023|年|，|工作室(3)|完成(2)|QC|成果(2)|5|项|，|获得国家专利(6)|3|件|（|其中发明专利(6)|1|件|）|。
    assert count_words(text) == WordCount(low=33, high=33, chars=len(text))


def _reference_count(text: str) -> tuple[int, int, int]:
    """Word's rule character by character, as the counter was first written: the regular expressions of
    parsers/wordcount.py must give exactly this on any text."""
    from parsers.wordcount import AMBIGUOUS, INVISIBLE, is_cjk

    cjk = ambiguous = low_runs = high_runs = chars = 0
    in_low = in_high = False
    for ch in text:
        if ch.isspace():
            in_low = in_high = False
            continue
        if ch in INVISIBLE:
            continue
        chars += 1
        if is_cjk(ch):
            cjk += 1
            in_low = in_high = False
        elif ch in AMBIGUOUS:
            ambiguous += 1
            in_high = False
        else:
            low_runs += not in_low
            high_runs += not in_high
            in_low = in_high = True
    return cjk + low_runs, cjk + ambiguous + high_runs, chars


@given(st.text(alphabet="ab1 \t\n\u3000\u00a0中文한ㄱ、。，“”‘’—…·\u2015\u200b\u200c\u00ad\ufeffＡ！-_.\u2028\u1100"
                        "\U00020000é]^\\", max_size=60) | st.text(max_size=60))
def test_the_counter_agrees_with_the_rule_character_by_character(text: str) -> None:
    counted = count_words(text)
    assert (counted.low, counted.high, counted.chars) == _reference_count(text)
