"""Which field a form's label means, read the way a person reads it, not by its exact spelling.

Clerks retype the template's labels: 工作室负责人 or 领衔人 for 带头人, 组建日期 for 成立时间,
手机 or 电话号码 for 联系电话, 申报单位（盖章） for 申报单位. A person sees through width,
spacing, punctuation and brackets, through words that mean the same on a form, and through words
that only repeat what the form is about (工作室…, 带头人…, …姓名). `LabelIndex` does the same
against the campaign's own synonyms, and refuses what a person would find unclear:

- a label that contains a synonym but also says something else (成员姓名, 联系人电话,
  带头人出生年月 for 带头人) is not that field;
- a label that fits two fields equally well is neither.

Nothing here knows a notice: the vocabulary is how Chinese forms word things in general.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

# Words that mean the same thing on a form, each mapped to one spelling. Longest first, so that
# 手机号码 is one word, not 手机 + 号码.
_SAME_MEANING: dict[str, tuple[str, ...]] = {
    "带头人": ("带头人", "负责人", "领衔人", "牵头人", "领办人", "领军人"),
    "成立": ("成立", "创建", "组建", "创立", "建立", "设立", "建成"),
    "时间": ("年月日", "年月", "日期", "时间"),
    "电话": ("联系电话", "电话号码", "联系方式", "手机号码", "手机号", "联系手机", "移动电话", "固定电话",
             "办公电话", "手机", "电话"),
    "姓名": ("姓名", "名字"),
    "名称": ("名称", "全称"),
    "人数": ("人数", "数量"),
    "地点": ("地点", "地址", "场所", "位置"),
    "职务": ("职务", "职位"),
    "荣誉": ("荣誉称号", "荣誉", "称号"),
}
_CANONICAL = {word: canon for canon, words in _SAME_MEANING.items() for word in words}
_WORD = re.compile("|".join(sorted(map(re.escape, _CANONICAL), key=len, reverse=True)))

# Words around a label's core that only repeat what the form is about: 工作室负责人 is the 带头人,
# 带头人联系电话 the 联系电话, 领衔人姓名 the 带头人. 成员, 联系人, 出生 … are not here: they change
# whose value it is, so 成员姓名 and 联系人电话 never become the leader's.
_FILLER = ("创新工作室", "工作室", "带头人", "本人", "主要", "所在", "所属", "团队", "现任", "目前", "具体", "最高",
           "姓名", "名称", "时间", "的")
_ONLY_FILLER = re.compile("(?:" + "|".join(map(re.escape, sorted(_FILLER, key=len, reverse=True))) + ")*")
# A label names its field; one holding a number, a sentence or several lines is a value.
_MAX_LABEL = 14
_PUNCT = re.compile(r"[\s\u3000:：*＊/\\|、,，.。;；·・_\-—–~'\"“”‘’《》<>「」【】\[\]]+")
_BRACKETED = re.compile(r"[(（][^()（）]*[)）]")


def _flat(text: str) -> str:
    """Width, case, spacing and punctuation gone; bracket characters dropped but their content kept."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return _PUNCT.sub("", text).replace("(", "").replace(")", "")


def meaning(text: str) -> str:
    """A label reduced to what it says: 工作室 负责人： → 工作室带头人, 组建日期 → 成立时间."""
    return _WORD.sub(lambda m: _CANONICAL[m.group(0)], _flat(text))


def _readings(text: str) -> set[str]:
    """What a label may say: as written, and without a bracketed note (申报单位（盖章）, 经费投入（万元）)."""
    plain = unicodedata.normalize("NFKC", text or "")
    return {meaning(plain), meaning(_BRACKETED.sub("", plain))} - {""}


def _is_filler(text: str) -> bool:
    return _ONLY_FILLER.fullmatch(text) is not None


def looks_like_label(text: str) -> bool:
    """Short, one line, no digits: what a label cell can be (张三 can too; the index decides)."""
    flat = _flat(text)
    return 0 < len(flat) <= _MAX_LABEL and "\n" not in (text or "").strip() and not any(ch.isdigit() for ch in flat)


class LabelIndex:
    """The fields of one form by the meaning of their synonyms."""

    def __init__(self, fields: Iterable[tuple[str, Sequence[str]]]) -> None:
        # (synonym as meant, field, weight): each synonym as written, and without a filler ending
        # (成立时间 → 成立, so 组建 alone is read as 成立时间) unless nothing but filler is left
        # (工作室名称 → 工作室 would claim every 工作室… label).
        self._synonyms: list[tuple[str, str, int]] = []
        # What field_of said of each label text: forms of one template repeat theirs, and each is compared
        # with every synonym.
        self._read: dict[str, str | None] = {}
        for name, labels in fields:
            for label in labels:
                for said in _readings(label):
                    self._synonyms.append((said, name, 2 * len(said)))
                    core = _ENDING.sub("", said)
                    if core != said and not _is_filler(core):
                        self._synonyms.append((core, name, 2 * len(core) - 1))

    def field_of(self, label: str) -> str | None:
        """The one field `label` means, or None (not a label of this form, or as near to two fields)."""
        if label not in self._read:
            if len(self._read) >= _READ_KEPT:
                self._read.clear()
            self._read[label] = self._field_of(label)
        return self._read[label]

    def _field_of(self, label: str) -> str | None:
        if not looks_like_label(label):
            return None
        best: dict[str, int] = {}
        for said in _readings(label):
            for synonym, name, weight in self._synonyms:
                score = _score(said, synonym, weight)
                if score > best.get(name, 0):
                    best[name] = score
        if not best:
            return None
        top = max(best.values())
        winners = [name for name, score in best.items() if score == top]
        return winners[0] if len(winners) == 1 else None


_ENDING = re.compile("(?:姓名|名称|时间)$")
_READ_KEPT = 4096


def _score(said: str, synonym: str, weight: int) -> int:
    """How surely `said` means `synonym`: 0 not at all; an exact match outranks any containment, a longer
    synonym found outranks a shorter one. Around the synonym there may be filler only."""
    if said == synonym:
        return 1000 + weight
    start = said.find(synonym)
    while start >= 0:
        if _is_filler(said[:start]) and _is_filler(said[start + len(synonym):]):
            return weight
        start = said.find(synonym, start + 1)
    return 0
