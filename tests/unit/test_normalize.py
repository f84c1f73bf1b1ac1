"""Values as clerks type them → one normalised form, or None (never a guess)."""

from __future__ import annotations

import pytest

from parsers import normalize


@pytest.mark.parametrize("text, expected", [
    ("2019年3月", "2019-03"), ("2019.3", "2019-03"), ("2019.03", "2019-03"), ("2019-03", "2019-03"),
    ("2019/3", "2019-03"), ("2019年03月", "2019-03"), ("二〇一九年三月", "2019-03"), ("2019年3月15日", "2019-03"),
    ("２０１９年３月", "2019-03"), ("201903", "2019-03"), ("2019. 3", "2019-03"), (" 2019 年 12 月 ", "2019-12"),
    ("一九七五年十一月", "1975-11"), ("2019年", "2019"), ("2019", "2019"),
    ("", None), ("年 月", None), ("2019年13月", None), ("不详", None), ("19年3月", None),
])
def test_month(text: str, expected: str | None) -> None:
    assert normalize.month(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("13812345678", "13812345678"), ("138 1234 5678", "13812345678"), ("138-1234-5678", "13812345678"),
    ("+86 13812345678", "13812345678"), ("13812345678（手机）", "13812345678"), ("0311-85521691", "0311-85521691"),
    ("(0311)85521691", "0311-85521691"), ("0311 85521691", "0311-85521691"), ("（0311）8552-1691", "0311-85521691"),
    ("13812345678/0311-85521691", "13812345678"), ("０３１１－８５５２１６９１", "0311-85521691"),
    ("0311—85521691", "0311-85521691"), ("13386137612", "13386137612"), ("8613812345678", "13812345678"),
    ("85521691", None), ("", None), ("1381234567", None), ("无", None),
])
def test_phone(text: str, expected: str | None) -> None:
    assert normalize.phone(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("10万元", 10), ("10 万元", 10), ("10", 10), ("100000元", 10), ("12.5万元", 12.5), ("拾万元", 10),
    ("约10万元", 10), ("１０万元", 10), ("5000元", 0.5), ("1,000,000元", 100), ("二十万元", 20),
    ("", None), ("若干", None), ("万元", None),
])
def test_money_wan(text: str, expected: float | None) -> None:
    assert normalize.money_wan(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("7人", 7), ("7", 7), ("七人", 7), ("7 名", 7), ("十二人", 12), ("共8人", 8), ("", None), ("若干", None),
    ("7-8人", None), ("7人（含带头人）", 7), ("7(含带头人)", 7),
])
def test_count(text: str, expected: int | None) -> None:
    assert normalize.count(text) == expected


def test_gender_age_and_plain() -> None:
    assert [normalize.gender(x) for x in ("男", " 女 ", "男性", "未知")] == ["男", "女", "男", None]
    assert [normalize.gender(x) for x in ("☑男 □女", "□男 ☑女", "男√ 女□", "□男 □女")] == ["男", "女", "男", None]
    assert [normalize.age(x) for x in ("45", "45岁", "四十五", "450", "")] == [45, 45, 45, None, None]
    assert normalize.plain("  高级　技师 \n\n 车间主任 ") == "高级 技师\n车间主任"
    assert normalize.plain("单击或点击此处输入文字。") is None
    assert normalize.plain("无") == "无"   # "none" is an answer (no honour yet), not a blank


def test_label_key_ignores_spacing_width_and_colons() -> None:
    assert normalize.label_key("姓　　名：") == normalize.label_key("姓名") == "姓名"
    assert normalize.label_key("成立\n时间") == "成立时间"
    assert normalize.label_key("经费投入（万元）") == "经费投入(万元)"
