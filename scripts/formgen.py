"""Messy filled 附件1 申报表 forms with their ground truth, to measure a form parser's field accuracy.

``samplegen.form_docx`` builds the clean form; this module builds the forms
clerks really send: spaced and renamed labels, values typed into the label
cell, a vertical leader block, dates / phones / money / counts in every
format, content controls, tracked changes, nested member tables, text
boxes, extra, blank, deleted and merged rows, split runs.

Each :class:`FormCase` carries the .docx bytes and a flat ``truth`` dict of
normalised values (see the module README in the report / :func:`messy_forms`).
The table is written as raw WordprocessingML so every merge, content control
and revision mark is exactly what the case says; the document shell, the
text box and the deterministic packaging come from ``samplegen``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from samplegen import (
    FORM_COLS_CM,
    FORM_TITLE,
    MEMBER_POSITIONS,
    MEMBER_TITLES,
    POOLS,
    PROFILES,
    _new_document,
    _paragraph,
    _person_name,
    _rng,
    _save_docx,
    _textbox_run,
)

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
VARIATIONS = (
    "spaced_labels", "value_in_label_cell", "vertical", "date_formats", "phone_formats", "money_formats",
    "count_formats", "content_controls", "tracked_changes", "nested_member_table", "textbox_unit",
    "extra_member_rows", "deleted_rows", "split_runs", "results_inline", "blank_fields", "label_synonyms",
    "wide_merges",
)
REVISION_DATE = "2025-05-18T09:30:00Z"
PLACEHOLDER_TEXT = "单击或点击此处输入文字。"


@dataclass(frozen=True)
class FormCase:
    """One generated form: ``docx`` bytes and the normalised values a perfect parser returns."""

    name: str
    docx: bytes
    truth: dict[str, object]


def variation_names() -> list[str]:
    """Every variation :func:`messy_forms` mixes into its cases, in a fixed order."""
    return list(VARIATIONS)


# --------------------------------------------------------------------------
# Content: the values a case writes, and their truth
# --------------------------------------------------------------------------

INDUSTRIES = {
    "劳模和工匠人才": ["制造业", "电力、热力、燃气及水生产和供应业", "建筑业", "交通运输、仓储和邮政业"],
    "名师": ["教育"],
    "名医": ["卫生和社会工作"],
}
STUDIO_KINDS = {
    "劳模和工匠人才": ["劳模创新工作室", "工匠人才创新工作室", "技能大师创新工作室", "创新工作室"],
    "名师": ["名师创新工作室", "名师工作室"],
    "名医": ["名医创新工作室", "名医工作室"],
}
UNITS = {
    "劳模和工匠人才": ["河北正恒精密机械有限公司", "石家庄鹿泉区宏达建材有限公司", "新乐市华通电力工程有限公司",
                 "石家庄藁城区恒信纺织有限公司", "平山县西柏坡电力设备有限公司", "河北敬业集团有限公司"],
    "名师": ["正定县第一中学", "石家庄市第二十一中学", "石家庄市长安区育才小学", "石家庄市第一职业中专学校"],
    "名医": ["石家庄市第三医院", "石家庄市中医院", "石家庄市第一医院", "河北省胸科医院"],
}
CN_DIGITS = "〇一二三四五六七八九"
CN_COUNTS = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三", "十四",
             "十五", "十六", "十七", "十八", "十九", "二十"]
CN_MONEY = {5: "伍万元", 10: "拾万元", 15: "拾伍万元", 20: "贰拾万元", 30: "叁拾万元"}
FUNDS = (5, 8, 10, 12.5, 15, 20, 30, 6.5)

DATE_STYLES = ("年月", "点", "点0", "横", "斜", "年0月0", "汉字", "年月日")


def format_date(year: int, month: int, style: str, day: int = 15) -> str:
    """``year``/``month`` written in one of :data:`DATE_STYLES`."""
    if style == "汉字":
        return "".join(CN_DIGITS[int(d)] for d in str(year)) + "年" + CN_COUNTS[month] + "月"
    return {
        "年月": f"{year}年{month}月", "点": f"{year}.{month}", "点0": f"{year}.{month:02d}",
        "横": f"{year}-{month:02d}", "斜": f"{year}/{month}", "年0月0": f"{year}年{month:02d}月",
        "年月日": f"{year}年{month}月{day}日",
    }[style]


def format_phone(rng: random.Random, mobile: str, landline: str, messy: bool) -> tuple[str, str]:
    """(written, truth) for the 联系电话 cell."""
    if not messy:
        return mobile, mobile
    style = rng.randrange(7)
    if style >= 4:
        area, local = landline.split("-")
        written = (landline, f"({area}){local}", f"{area} {local}")[style - 4]
        return written, landline
    m = mobile
    written = (f"{m[:3]} {m[3:7]} {m[7:]}", f"{m[:3]}-{m[3:7]}-{m[7:]}", f"+86 {m}", f"{m}（手机）")[style]
    return written, mobile


def format_money(rng: random.Random, amount: float, messy: bool) -> str:
    """The 经费投入 value written for ``amount`` 万元."""
    num = f"{amount:g}"
    if not messy:
        return f"{num} 万元"
    styles = ["{n}万元", "{n} 万元", "{n}", "{yuan}元", "约{n}万元"]
    if amount in CN_MONEY:
        styles.append("cn")
    style = rng.choice(styles)
    if style == "cn":
        return CN_MONEY[int(amount)]
    return style.format(n=num, yuan=round(amount * 10000))


def format_count(rng: random.Random, count: int, messy: bool) -> str:
    """The 成员数 value written for ``count``."""
    if not messy:
        return f"{count}人"
    return rng.choice((f"{count}人", f"{count}", f"{CN_COUNTS[count]}人", f"{count} 名"))


@dataclass
class Content:
    """Everything one form says, as written (``text``) and as truth (``truth``)."""

    text: dict[str, str]
    truth: dict[str, object]
    members: list[dict[str, object]]
    results: list[str]
    category: str
    old: dict[str, str] = field(default_factory=dict)


def _leader_values(rng: random.Random, category: str) -> dict[str, str]:
    prof = PROFILES[category]
    return {
        "leader_name": _person_name(rng), "leader_gender": rng.choice("男男女"),
        "leader_education": rng.choice(prof["education"]), "leader_title": rng.choice(prof["title"]),
        "leader_post": rng.choice(prof["position"]), "leader_specialty": rng.choice(prof["skill"]),
        "leader_honour": rng.choice(prof["honour"] + ["全国五一劳动奖章", "河北省劳动模范", "河北省技术能手"]),
    }


def make_content(rng: random.Random, flags: set[str]) -> Content:
    """Random realistic values for one form, written per the case's format variations."""
    category = rng.choice(list(PROFILES))
    pools = POOLS[category]
    lead = _leader_values(rng, category)
    unit = rng.choice(UNITS[category])
    studio = lead["leader_name"] + rng.choice(STUDIO_KINDS[category])
    text: dict[str, str] = {"applicant_unit": unit, "studio_name": studio, **lead}
    truth: dict[str, object] = dict(text)
    dates = "date_formats" in flags
    for key, years, default in (("established", (2012, 2023), "年月"), ("leader_birth", (1966, 1988), "点0")):
        year, month = rng.randint(*years), rng.randint(1, 12)
        text[key] = format_date(year, month, rng.choice(DATE_STYLES) if dates else default, rng.randint(1, 28))
        truth[key] = f"{year}-{month:02d}"
    mobile = f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"
    landline = f"0311-{rng.randint(80000000, 89999999)}"
    text["leader_phone"], truth["leader_phone"] = format_phone(rng, mobile, landline, "phone_formats" in flags)
    text["industry"] = truth["industry"] = rng.choice(INDUSTRIES[category])
    area = rng.choice((60, 80, 100, 120, 150, 200))
    text["area"] = truth["area"] = rng.choice((f"{area}平方米", f"{area}㎡", f"约{area}平方米", f"{area} 平方米"))
    text["location"] = truth["location"] = unit + rng.choice(pools["place"] + ["办公楼三层", "综合楼201室"])
    fund = rng.choice(FUNDS)
    text["funding_wan"] = format_money(rng, fund, "money_formats" in flags)
    truth["funding_wan"] = int(fund) if float(fund).is_integer() else fund
    text["innovation_field"] = truth["innovation_field"] = rng.choice(pools["field"])
    for key, templates in (("benefits", BENEFITS), ("talent_training", TALENT)):
        text[key] = truth[key] = "".join(t.format(**_slots(rng, category)) for t in rng.sample(templates, 2))
    n_members = rng.randint(10, 15) if "extra_member_rows" in flags and rng.random() < 0.6 else rng.randint(4, 8)
    members = [
        {"name": _person_name(rng), "age": rng.randint(24, 56),
         "education": rng.choice(("大专", "本科", "本科", "硕士研究生", "中专")),
         "title": rng.choice(MEMBER_TITLES[category]), "post": rng.choice(MEMBER_POSITIONS[category])}
        for _ in range(n_members)
    ]
    count = n_members + 1 if rng.random() < 0.8 else n_members
    text["member_count"] = format_count(rng, count, "count_formats" in flags)
    truth["member_count"] = count
    n_results = 1 if "results_inline" in flags and rng.random() < 0.3 else rng.randint(2, 4)
    results = [f"{p}（{rng.randint(2018, 2024)}年）" for p in rng.sample(pools["product"], n_results)]
    old = {k: v for k, v in _leader_values(rng, category).items() if k != "leader_gender"}
    old.update(studio_name=old["leader_name"] + rng.choice(STUDIO_KINDS[category]),
               established=f"{rng.randint(2012, 2023)}年{rng.randint(1, 12)}月",
               leader_phone=f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
               innovation_field=rng.choice(pools["field"]), location=unit + "原" + rng.choice(pools["place"]))
    return Content(text, truth, members, results, category, old)


BENEFITS = [
    "近三年工作室创新成果累计创造经济效益{big}万元，节约成本{n}万元。",
    "通过持续改进，{metric}由{p1}%提升至{p2}%，取得了良好的经济效益和社会效益。",
    "工作室接待参观学习{n}批次，为{k}家单位解决实际难题，发挥了示范引领作用。",
]
TALENT = [
    "工作室与{people}签订师徒协议{n}对，累计开展培训{n2}场次。",
    "近三年成员中有{k}人晋升高一级职称或技术等级，{k2}人在市级以上竞赛中获奖。",
    "带头人编写培训讲义{k}套，录制教学视频{n}个，培训{people}{big}人次。",
]


def _slots(rng: random.Random, category: str) -> dict[str, object]:
    p1 = rng.randint(80, 92)
    return {"big": rng.randint(60, 600), "n": rng.randint(3, 30), "n2": rng.randint(5, 40), "k": rng.randint(2, 6),
            "k2": rng.randint(2, 8), "p1": p1, "p2": rng.randint(p1 + 3, 99),
            "metric": rng.choice(POOLS[category]["metric"]), "people": rng.choice(POOLS[category]["people"])}


# --------------------------------------------------------------------------
# WordprocessingML fragments
# --------------------------------------------------------------------------

FONTS = ("仿宋_GB2312", "宋体", "楷体_GB2312", "黑体")


class Ids:
    """Unique w:id values for revisions and content controls within one document."""

    def __init__(self) -> None:
        self.n = 100

    def __call__(self) -> int:
        self.n += 1
        return self.n


def run(text: str, *, bold: bool = False, size: float | None = None, font: str | None = None,
        color: str | None = None, tag: str = "t") -> str:
    """One ``w:r`` (``tag="delText"`` for deleted text); newlines become ``w:br``."""
    props = ""
    if font:
        props += f'<w:rFonts w:ascii="{font}" w:eastAsia="{font}" w:hAnsi="{font}"/>'
    if bold:
        props += "<w:b/>"
    if color:
        props += f'<w:color w:val="{color}"/>'
    if size:
        props += f'<w:sz w:val="{int(size * 2)}"/><w:szCs w:val="{int(size * 2)}"/>'
    pieces = [f'<w:{tag} xml:space="preserve">{escape(part)}</w:{tag}>' for part in text.split("\n")]
    body = "<w:br/>".join(pieces)
    return f"<w:r>{'<w:rPr>' + props + '</w:rPr>' if props else ''}{body}</w:r>"


def para(runs: str, *, center: bool = False) -> str:
    """A ``w:p`` around already built runs."""
    ppr = '<w:pPr><w:jc w:val="center"/></w:pPr>' if center else ""
    return f"<w:p>{ppr}{runs}</w:p>"


def split_runs(rng: random.Random, text: str, **fmt: object) -> str:
    """``text`` as two to four runs with differing fonts, sizes, bold and colour."""
    if len(text) < 2:
        return run(text, **fmt)  # type: ignore[arg-type]
    cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(1, 3))))
    parts = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
    return "".join(run(p, bold=rng.random() < 0.3, size=rng.choice((None, 10.5, 11, 12)),
                       font=rng.choice((None, *FONTS)), color=rng.choice((None, None, "000000", "1F1F1F")))
                   for p in parts)


def sdt_props(ids: Ids, alias: str, *, showing_placeholder: bool = False) -> str:
    """A plain-text content control's ``w:sdtPr`` pointing at a placeholder docPart."""
    return (f'<w:sdtPr><w:alias w:val="{escape(alias)}"/><w:tag w:val="{escape(alias)}"/><w:id w:val="{ids()}"/>'
            '<w:placeholder><w:docPart w:val="DefaultPlaceholder_-1854013440"/></w:placeholder>'
            f'{"<w:showingPlcHdr/>" if showing_placeholder else ""}<w:text/></w:sdtPr>')


def sdt_run(ids: Ids, alias: str, runs: str, *, showing_placeholder: bool = False) -> str:
    """Run-level content control around ``runs``."""
    return (f"<w:sdt>{sdt_props(ids, alias, showing_placeholder=showing_placeholder)}"
            f"<w:sdtContent>{runs}</w:sdtContent></w:sdt>")


def sdt_block(ids: Ids, alias: str, paragraphs: str) -> str:
    """Block-level content control around whole paragraphs of a cell."""
    return f"<w:sdt>{sdt_props(ids, alias)}<w:sdtContent>{paragraphs}</w:sdtContent></w:sdt>"


def revision(ids: Ids, kind: str, runs: str) -> str:
    """``w:ins`` / ``w:del`` around ``runs``."""
    return f'<w:{kind} w:id="{ids()}" w:author="Administrator" w:date="{REVISION_DATE}">{runs}</w:{kind}>'


BORDERS = "".join(f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="auto"/>'
                  for side in ("top", "left", "bottom", "right", "insideH", "insideV"))


@dataclass
class Cell:
    """One ``w:tc``: logical span, content XML, vertical merge."""

    span: int
    body: str
    vmerge: str | None = None


@dataclass
class Row:
    """One ``w:tr``: cells after the group label; ``group`` rows share a vMerged column-0 label."""

    cells: list[Cell]
    group: str | None = None
    props: str = ""


def table_xml(rows: Sequence[tuple[list[Cell], str]], widths: Sequence[int], *, nested: bool = False) -> str:
    """A bordered ``w:tbl`` with ``widths`` (twips) as its grid."""
    grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in widths)
    jc = "" if nested else '<w:jc w:val="center"/>'
    head = (f'<w:tbl><w:tblPr><w:tblW w:w="0" w:type="auto"/>{jc}'
            f'<w:tblBorders>{BORDERS}</w:tblBorders><w:tblLayout w:type="fixed"/>'
            f'<w:tblLook w:val="04A0"/></w:tblPr><w:tblGrid>{grid}</w:tblGrid>')
    out = [head]
    for cells, props in rows:
        out.append(f"<w:tr>{'<w:trPr>' + props + '</w:trPr>' if props else ''}")
        col = 0
        for cell in cells:
            width = sum(widths[col:col + cell.span])
            col += cell.span
            tcpr = f'<w:tcW w:w="{width}" w:type="dxa"/>'
            if cell.span > 1:
                tcpr += f'<w:gridSpan w:val="{cell.span}"/>'
            if cell.vmerge:
                tcpr += '<w:vMerge w:val="restart"/>' if cell.vmerge == "restart" else "<w:vMerge/>"
            tcpr += '<w:vAlign w:val="center"/>'
            out.append(f"<w:tc><w:tcPr>{tcpr}</w:tcPr>{cell.body or para('')}</w:tc>")
        if col != len(widths):
            raise ValueError(f"row spans {col} grid columns, grid has {len(widths)}")
        out.append("</w:tr>")
    out.append("</w:tbl>")
    return "".join(out)


# --------------------------------------------------------------------------
# The form builder
# --------------------------------------------------------------------------

SYNONYMS = {
    "成立时间": ["工作室成立时间", "成立日期"],
    "姓名": ["带头人姓名"],
    "联系电话": ["手机号码", "联系方式"],
    "成员数": ["成员人数", "工作室成员数"],
    "职称/技术等级": ["职称（技术等级）", "职称或技术等级"],
    "经费投入": ["经费投入（万元）"],
    "工作室名称": ["工作室全称"],
    "主要技能特长": ["技术特长", "主要技术特长"],
    "申报单位": ["申报单位（盖章）"],
}
SPLITS = {
    "成立时间": "成立\n时间", "所属行业": "所属\n行业", "工作室带头人情况": "工作室带头\n人情况",
    "出生年月": "出生\n年月", "工作岗位及职务": "工作岗位\n及职务", "主要技能特长": "主要技\n能特长",
    "曾获最高荣誉": "曾获最高\n荣誉", "工作室建设情况": "工作室建设\n情况", "经济和社会效益": "经济和社\n会效益",
    "人才培养情况": "人才培\n养情况", "主要创新成果": "主要\n创新\n成果", "工作室成员情况": "工作室成员\n情况",
    "职称/技术等级": "职称/\n技术等级",
}
TEXT_FIELDS = (
    "studio_name", "established", "industry", "leader_name", "leader_gender", "leader_birth", "leader_education",
    "leader_title", "leader_post", "leader_specialty", "leader_honour", "leader_phone", "area", "location",
    "member_count", "funding_wan", "innovation_field", "benefits", "talent_training",
)
TRUTH_KEYS = ("applicant_unit", *TEXT_FIELDS, "innovation_results", "members")
BLANKABLE = (*TEXT_FIELDS, "applicant_unit", "innovation_results", "members")
PAIR_ROWS = {
    # row key: [(label, field, value span)] on a 6-column body (the group label takes column 0)
    "leader1": [("姓名", "leader_name", 1), ("性别", "leader_gender", 1), ("出生年月", "leader_birth", 1)],
    "leader2": [("学历", "leader_education", 1), ("职称/技术等级", "leader_title", 3)],
    "leader3": [("工作岗位及职务", "leader_post", 1), ("主要技能特长", "leader_specialty", 3)],
    "leader4": [("曾获最高荣誉", "leader_honour", 1), ("联系电话", "leader_phone", 3)],
    "build1": [("面积", "area", 1), ("工作室地点", "location", 1), ("成员数", "member_count", 1)],
    "build2": [("经费投入", "funding_wan", 1), ("创新领域", "innovation_field", 3)],
}
DELETABLE = {
    "build1": ("area", "location", "member_count"), "build2": ("funding_wan", "innovation_field"),
    "benefits": ("benefits",), "talent": ("talent_training",), "results": ("innovation_results",),
}


class FormBuilder:
    """Builds one case's document from its :class:`Content` and variation flags."""

    def __init__(self, rng: random.Random, content: Content, flags: set[str]) -> None:
        self.rng, self.c, self.flags, self.ids = rng, content, flags, Ids()
        self.blank: set[str] = set()
        self.deleted: set[str] = set()
        self.sdt_fields: set[str] = set()
        self.tracked: set[str] = set()
        self.inline: set[str] = set()
        self.wide = 2 if "wide_merges" in flags else 1
        self._plan()

    # -- planning --------------------------------------------------------

    def _plan(self) -> None:
        rng, flags = self.rng, self.flags
        if "deleted_rows" in flags:
            self.deleted.add(rng.choice(list(DELETABLE)))
        gone = {f for key in self.deleted for f in DELETABLE[key]}
        if "blank_fields" in flags:
            choices = [f for f in BLANKABLE if f not in gone]
            self.blank.update(rng.sample(choices, rng.randint(1, 3)))
        live = [f for f in TEXT_FIELDS if f not in gone and f not in self.blank]
        if "content_controls" in flags:
            self.sdt_fields.update(rng.sample(live, rng.randint(3, 8)))
            if self.blank & set(TEXT_FIELDS) and rng.random() < 0.5:  # an untouched placeholder is no value
                self.sdt_fields.add(rng.choice(sorted(self.blank & set(TEXT_FIELDS))))
        if "tracked_changes" in flags:
            self.tracked.update(rng.sample([f for f in live if f in self.c.old], rng.randint(1, 2)))
        if "value_in_label_cell" in flags:
            keys = ["row0", "build1", "build2"] + ([] if "vertical" in flags else ["leader1", "leader2", "leader3",
                                                                                    "leader4"])
            pairs = [(k, f) for k in keys for _, f, _ in self._pairs(k)
                     if f not in gone and f not in self.blank and f not in self.tracked]
            self.inline.update(f for _, f in rng.sample(pairs, min(len(pairs), rng.randint(2, 5))))

    def _pairs(self, key: str) -> list[tuple[str, str, int]]:
        if key == "row0":
            return [("成立时间", "established", 1), ("所属行业", "industry", 1)]
        return PAIR_ROWS[key]

    # -- text pieces -----------------------------------------------------

    def label_text(self, label: str, *, colon: bool = False, synonyms: bool = True) -> str:
        rng, flags = self.rng, self.flags
        if synonyms and "label_synonyms" in flags and label in SYNONYMS and rng.random() < 0.7:
            label = rng.choice(SYNONYMS[label])
        if "spaced_labels" in flags and rng.random() < 0.6:
            if len(label) == 2:
                label = label[0] + rng.choice(("　　", " ", "  ", "　")) + label[1]
            elif len(label) <= 4 and rng.random() < 0.5:
                label = rng.choice(("　", " ")).join(label)
            if rng.random() < 0.5:
                label += rng.choice(("：", "：", ":"))
        if colon and not label.endswith(("：", ":")):
            label += "："
        return label

    def label(self, label: str, *, span: int = 1, vmerge: str | None = None) -> Cell:
        text = self.label_text(label)
        if "split_runs" in self.flags and label in SPLITS and self.rng.random() < 0.6:
            head, _, tail = SPLITS[label].partition("\n")
            if self.rng.random() < 0.5:
                body = para(run(head), center=True) + para(run(tail.replace("\n", "")), center=True)
            else:
                body = para(run(SPLITS[label]), center=True)
        else:
            body = para(run(text), center=True)
        return Cell(span * self.wide, body, vmerge)

    def runs_for(self, key: str, text: str) -> str:
        """Runs for one value: split, tracked, content-controlled per the plan."""
        rng = self.rng
        body = split_runs(rng, text) if "split_runs" in self.flags and rng.random() < 0.6 else run(text)
        if key in self.tracked:
            old = revision(self.ids, "del", run(self.c.old[key], tag="delText"))
            body = old + revision(self.ids, "ins", body)
        return body

    def value_paras(self, key: str) -> str:
        """The paragraphs of a value cell (empty paragraph when blank)."""
        if key in self.blank:
            if key in self.sdt_fields:
                return para(sdt_run(self.ids, key, run(PLACEHOLDER_TEXT, color="808080"), showing_placeholder=True))
            return para("")
        body = self.runs_for(key, self.c.text[key])
        if key in self.sdt_fields:
            if self.rng.random() < 0.5:
                return sdt_block(self.ids, key, para(body))
            return para(sdt_run(self.ids, key, body))
        return para(body)

    def value(self, key: str, span: int, vmerge: str | None = None) -> Cell:
        return Cell(span * self.wide, self.value_paras(key), vmerge)

    def pair_cells(self, pairs: Sequence[tuple[str, str, int]]) -> list[Cell]:
        cells: list[Cell] = []
        for label, key, span in pairs:
            if key in self.inline:
                head = self.label_text(label, colon=True)
                if "split_runs" in self.flags or self.rng.random() < 0.5:
                    body = para(run(head) + self.runs_for(key, self.c.text[key]))
                else:
                    body = para(run(head + self.c.text[key]))
                if self.rng.random() < 0.5:
                    cells += [Cell((1 + span) * self.wide, body)]
                else:
                    cells += [Cell(self.wide, body), Cell(span * self.wide, para(""))]
            else:
                lab, val = self.label(label), self.value(key, span)
                if self.wide == 2 and self.rng.random() < 0.3:  # label narrower than its logical column
                    lab.span, val.span = 1, val.span + 1
                cells += [lab, val]
        return cells

    # -- rows ------------------------------------------------------------

    def rows(self) -> list[Row]:
        out = [Row([self.label("工作室名称"), self.value("studio_name", 2),
                    *self.pair_cells(self._pairs("row0"))])]
        out += self.leader_rows()
        for key in ("build1", "build2"):
            if key not in self.deleted:
                out.append(Row(self.pair_cells(PAIR_ROWS[key]), "工作室建设情况"))
        for key, label, field_key in (("benefits", "经济和社会效益", "benefits"),
                                      ("talent", "人才培养情况", "talent_training")):
            if key not in self.deleted:
                out += self.text_rows(label, self.value_paras(field_key))
        if "results" not in self.deleted:
            out += self.text_rows("主要创新成果", self.results_paras())
        out += self.member_rows()
        for label, lines in (("本单位工会意见", ["同意推荐。", "盖章　　2025年5月19日"]),
                             ("县（市）区、产业工会意见", ["同意推荐。", "盖章　　2025年5月23日"]),
                             ("市总工会意见", ["", "盖章　　　年　月　日"])):
            out += self.text_rows(label, "".join(para(run(x)) for x in lines), merge=False)
        return out

    def leader_rows(self) -> list[Row]:
        group = "工作室带头人情况"
        if "vertical" not in self.flags:
            return [Row(self.pair_cells(PAIR_ROWS[k]), group) for k in ("leader1", "leader2", "leader3", "leader4")]
        top = [("姓名", "leader_name"), ("性别", "leader_gender"), ("出生年月", "leader_birth"),
               ("学历", "leader_education"), ("职称/技术等级", "leader_title"), ("工作岗位及职务", "leader_post")]
        bottom = [("主要技能特长", "leader_specialty"), ("曾获最高荣誉", "leader_honour"), ("联系电话", "leader_phone")]
        return [Row([self.label(lab) for lab, _ in top], group), Row([self.value(k, 1) for _, k in top], group),
                Row([self.label(lab, span=2) for lab, _ in bottom], group),
                Row([self.value(k, 2) for _, k in bottom], group)]

    def text_rows(self, label: str, body: str, *, merge: bool = True) -> list[Row]:
        """A label plus one wide value cell; with wide_merges sometimes vMerged over two rows."""
        if merge and "wide_merges" in self.flags and self.rng.random() < 0.6:
            return [Row([Cell(6 * self.wide, body, "restart")], label),
                    Row([Cell(6 * self.wide, para(""), "continue")], label)]
        return [Row([self.label(label), Cell(6 * self.wide, body)])]

    def results_paras(self) -> str:
        results = self.c.results
        if "innovation_results" in self.blank:
            return para(run("1.")) + para(run("2.")) + para(run("3.")) + para(run("……可附页"))
        rng = self.rng
        style = rng.choice(("inline", "inline_paren", "paren", "plain", "dun")) if "results_inline" in self.flags \
            else "plain"
        number = {"paren": "（{i}）", "inline_paren": "（{i}）", "dun": "{i}、"}.get(style, "{i}.")
        if len(results) == 1 and rng.random() < 0.4:
            items = [results[0]]
        else:
            items = [number.format(i=i) + r for i, r in enumerate(results, start=1)]
        tail = para(run("……可附页")) if rng.random() < 0.7 else ""
        if style.startswith("inline") and len(items) > 1:
            sep = "；" if style == "inline" or rng.random() < 0.5 else ""
            line = sep.join(items) + rng.choice(("", "。"))
            return para(self.runs_for("innovation_results", line)) + tail
        return "".join(para(self.runs_for("innovation_results", item)) for item in items) + tail

    # -- members ---------------------------------------------------------

    def member_lines(self) -> list[tuple[list[str], str]]:
        """(cell texts, row kind) for the member block: header, members, blanks, revisions."""
        rng = self.rng
        # The member table's 姓名 is the members' own: never "带头人姓名".
        header = [self.label_text(h, synonyms=h != "姓名") for h in ("姓名", "年龄", "学历", "职称/技术等级", "工作岗位及职务")]
        blanked = "members" in self.blank
        lines: list[tuple[list[str], str]] = [(header, "header")]
        for m in self.c.members:
            values = [str(m[k]) for k in ("name", "age", "education", "title", "post")]
            lines.append(([""] * 5 if blanked else values, "member"))
        if blanked:
            return lines
        if "extra_member_rows" in self.flags:
            for _ in range(rng.randint(1, 3)):
                lines.insert(rng.randint(2, len(lines)), ([""] * 5, "blank"))
            lines += [([""] * 5, "blank")] * rng.randint(0, 3)
        if "tracked_changes" in self.flags:
            ghost = [_person_name(rng), str(rng.randint(24, 56)), "本科",
                     rng.choice(MEMBER_TITLES[self.c.category]), rng.choice(MEMBER_POSITIONS[self.c.category])]
            lines.insert(rng.randint(1, len(lines)), (ghost, "deleted"))
        return lines

    def member_row_cells(self, texts: list[str], kind: str, col_spans: Sequence[int]) -> tuple[list[Cell], str]:
        cells = []
        for text, span in zip(texts, col_spans):
            if kind == "header":
                cells.append(Cell(span, para(run(text), center=True)))
            elif kind == "deleted":
                # Word marks the runs deleted too; other editors only mark the row
                deleted = self.rng.random() < 0.7
                cells.append(Cell(span, para(revision(self.ids, "del", run(text, tag="delText")) if deleted
                                             else run(text))))
            elif text and "split_runs" in self.flags and self.rng.random() < 0.3:
                cells.append(Cell(span, para(split_runs(self.rng, text))))
            else:
                cells.append(Cell(span, para(run(text))))
        props = f'<w:del w:id="{self.ids()}" w:author="Administrator" w:date="{REVISION_DATE}"/>' \
            if kind == "deleted" else ""
        return cells, props

    def member_rows(self) -> list[Row]:
        group = "工作室成员情况"
        lines = self.member_lines()
        if "nested_member_table" in self.flags:
            widths = [1300, 800, 1300, 1700, 2400]
            rows = [self.member_row_cells(t, k, [1] * 5) for t, k in lines]
            body = table_xml(rows, widths, nested=True) + para(run("可附页" if self.rng.random() < 0.6 else ""))
            return [Row([Cell(6 * self.wide, body)], group)]
        spans = [self.wide] * 4 + [2 * self.wide]
        out = []
        for texts, kind in lines:
            cells, props = self.member_row_cells(texts, kind, spans)
            out.append(Row(cells, group, props))
        out.append(Row([Cell(6 * self.wide, para(run("可附页")))], group))
        return out

    # -- assembly --------------------------------------------------------

    def table(self) -> str:
        rows = self.rows()
        assembled: list[tuple[list[Cell], str]] = []
        for i, row in enumerate(rows):
            cells = list(row.cells)
            if row.group:
                first = i == 0 or rows[i - 1].group != row.group
                single = first and (i + 1 == len(rows) or rows[i + 1].group != row.group)
                if first:
                    label = self.label(row.group, vmerge=None if single else "restart")
                else:
                    label = Cell(self.wide, para(""), "continue")
                cells.insert(0, label)
            assembled.append((cells, row.props))
        twips = [round(cm * 567) for cm in FORM_COLS_CM]
        widths = [w // 2 for w in twips for _ in range(2)] if self.wide == 2 else twips
        return table_xml(assembled, widths)

    def unit_line(self) -> str:
        unit = "" if "applicant_unit" in self.blank else self.c.text["applicant_unit"]
        label = self.label_text("申报单位", colon=True)
        date = self.rng.choice(("2025年5月19日", "　　年　　月　　日", "2025年5月20日"))
        return f"{label}{unit}{'　' * self.rng.randint(2, 8)}{date}"

    def document(self) -> bytes:
        doc = _new_document(size=12)
        _paragraph(doc, "附件1", font="黑体", size=14)
        _paragraph(doc, FORM_TITLE, bold=True, size=18, align=WD_ALIGN_PARAGRAPH.CENTER, font="方正小标宋简体")
        if "textbox_unit" in self.flags:
            doc.add_paragraph()._p.append(_textbox_run([self.unit_line()]))
        else:
            _paragraph(doc, self.unit_line(), size=12)
        tbl = parse_xml(f'<w:root xmlns:w="{W_NS}">{self.table()}</w:root>')[0]
        doc.element.body.sectPr.addprevious(tbl)
        doc.add_paragraph()
        return _save_docx(doc, title=FORM_TITLE, author="Administrator")  # no truth in the metadata

    def truth(self) -> dict[str, object]:
        gone = {f for key in self.deleted for f in DELETABLE[key]} | self.blank
        values = {**self.c.truth, "members": [dict(m) for m in self.c.members],
                  "innovation_results": list(self.c.results)}
        truth = {key: values[key] for key in TRUTH_KEYS}
        for key in gone:
            truth[key] = [] if key in ("members", "innovation_results") else None
        truth["_blank"] = sorted(gone, key=BLANKABLE.index)
        truth["_variations"] = [v for v in VARIATIONS if v in self.flags]
        return truth


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------


def _assign(rng: random.Random, count: int) -> list[set[str]]:
    """Variation sets for ``count`` cases, dealt from reshuffled decks so each is used about equally."""
    deck: list[str] = []
    out: list[set[str]] = []
    for _ in range(count):
        want = rng.randint(2, 6)
        chosen: set[str] = set()
        skipped: list[str] = []
        while len(chosen) < want:
            if not deck:
                deck = list(VARIATIONS)
                rng.shuffle(deck)
            name = deck.pop()
            if name in chosen:
                skipped.append(name)
            else:
                chosen.add(name)
        deck.extend(skipped)
        out.append(chosen)
    return out


def messy_forms(seed: int = 0, count: int = 60) -> list[FormCase]:
    """``count`` messy filled forms with their truth; the same ``seed`` gives byte-identical documents.

    Truth keys: applicant_unit, studio_name, established, industry, leader_* (name, gender, birth,
    education, title, post, specialty, honour, phone), area, location, member_count, funding_wan,
    innovation_field, benefits, talent_training, innovation_results, members, plus ``_blank`` (fields
    the case leaves empty or deletes: value None, or [] for lists) and ``_variations``.
    """
    plan = _assign(_rng("formgen-plan", seed), count)
    cases = []
    for index, flags in enumerate(plan):
        rng = _rng("formgen", seed, index)
        builder = FormBuilder(rng, make_content(rng, flags), flags)
        data = builder.document()
        truth = builder.truth()
        tags = "+".join(truth["_variations"]) or "clean"  # type: ignore[arg-type]
        cases.append(FormCase(f"form{index:03d}-{tags}", data, truth))
    return cases

