#!/usr/bin/env python3
"""Sample-mail generator for studio-intake.

Builds realistic, fully deterministic submissions to the 2025 Shijiazhuang
call for the A-level library of 劳模和工匠人才（名师、名医）创新工作室
(notice: docs/notices/shijiazhuang-2025-a-library.txt) and writes them
as raw ``.eml`` files together with the verdict each one should receive.

Part 1 is a library of builders that return ``bytes`` (documents, images,
archives, raw RFC 5322 messages); tests import it with
``sys.path.insert(0, "<repo>/scripts"); import samplegen``.
Part 2 (:func:`main`) writes ``sample_mail/NN-slug.eml`` and
``sample_mail/expected.json``.

Everything is deterministic: fixed seeds, fixed archive and document
timestamps, fixed MIME boundaries.  Two runs give byte-identical output.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import io
import json
import math
import quopri
import random
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote
from xml.sax.saxutils import escape

import docx
import openpyxl
import py7zr
import py7zr.compressor
import rars
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from PIL import Image, ImageDraw, ImageFilter

# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

CST = timezone(timedelta(hours=8))
FIXED_DT = datetime(2025, 5, 20, 10, 0, 0)
"""Timestamp written into every archive member and document property."""
FIXED_ZIP_TIME = FIXED_DT.timetuple()[:6]
FIXED_UNIX = int(FIXED_DT.replace(tzinfo=CST).timestamp())
RECIPIENT = "sjzjjb@126.com"

FORM_TITLE = "石家庄市劳模和工匠人才（名师、名医）创新工作室入A级库申报表"
SUMMARY_TITLE = "石家庄市劳模和工匠人才（名师、名医）创新工作室入库汇总表"
FORM_FILE = "（1）石家庄市劳模和工匠人才创新工作室入A级库申报表"
SUMMARY_FILE = "（4）石家庄市劳模和工匠人才创新工作室入库汇总表"
EVIDENCE_DIR = "（3）佐证材料"

SUMMARY_HEADERS = (
    "序号", "推荐单位", "申报单位", "工作室名称", "带头人姓名", "年龄", "性别", "职务",
    "技术等级/职称", "曾获最高荣誉", "主要技术特长", "专业领域", "成员人数", "成立时间", "所属行业",
)

Category = Literal["劳模和工匠人才", "名师", "名医"]

# --------------------------------------------------------------------------
# Word-style character counting (字数)
# --------------------------------------------------------------------------

AMBIGUOUS_PUNCT = "“”‘’—…·"
"""Marks whose counting by Word is unsettled (see docs/PITFALLS.md)."""


def is_cjk_unit(ch: str) -> bool:
    """True for a Han character or a CJK / full-width punctuation mark."""
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0xF900 <= cp <= 0xFAFF
        or 0x20000 <= cp <= 0x3134F
        or 0x3001 <= cp <= 0x303F
        or 0xFF00 <= cp <= 0xFFEF
    )


def word_count(text: str) -> tuple[int, int]:
    """Word's 字数 as ``(low, high)``.

    Each Han character and CJK punctuation mark counts 1, each
    whitespace-separated run of other characters counts 1.  ``high`` also
    counts every mark of :data:`AMBIGUOUS_PUNCT`, ``low`` counts none.
    """
    low = high = 0
    in_word = False
    for ch in text:
        if ch.isspace():
            in_word = False
        elif is_cjk_unit(ch):
            low, high, in_word = low + 1, high + 1, False
        elif ch in AMBIGUOUS_PUNCT:
            high, in_word = high + 1, False
        elif not in_word:
            low, high, in_word = low + 1, high + 1, True
    return low, high


def han_punct_count(text: str) -> int:
    """Number of Han characters plus CJK punctuation marks in ``text``."""
    return sum(1 for ch in text if is_cjk_unit(ch))


def _wc(text: str) -> int:
    """The low Word count (the one the pipeline must pass at ≥ 1000)."""
    return word_count(text)[0]


def _rng(*parts: object) -> random.Random:
    """A random generator seeded from ``parts`` (stable across runs)."""
    return random.Random("|".join(str(p) for p in parts))


def _digest(*parts: object, length: int = 16) -> str:
    """A stable hex string derived from ``parts``."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:length]


# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------

POOLS: dict[str, dict[str, list[str]]] = {
    "劳模和工匠人才": {
        "field": ["数控加工", "设备维修", "焊接工艺", "电气自动化", "纺织工艺", "化工生产", "电力运维"],
        "problem": ["设备振动超标", "焊缝气孔率偏高", "换型调试时间长", "能耗居高不下",
                    "关键部件磨损快", "产品一次合格率低", "生产线频繁停机"],
        "product": ["自动上料装置", "多功能焊接工装", "智能巡检小车", "快速换型夹具",
                    "在线检测系统", "节能控制柜", "刀具寿命管理系统"],
        "metric": ["生产效率", "产品合格率", "设备利用率", "一次交检合格率"],
        "people": ["青年职工", "新入职员工", "班组骨干"],
        "people2": ["老师傅", "技术骨干", "高级技师"],
        "place": ["生产一线", "车间班组", "生产现场"],
        "honour": ["市级劳动模范", "河北省五一劳动奖章", "河北省技术能手"],
    },
    "名师": {
        "field": ["初中数学教学", "小学语文阅读教学", "高中物理实验教学", "信息技术课程建设", "班主任工作"],
        "problem": ["课堂互动不足", "作业负担偏重", "实验教学开展不充分", "学生阅读兴趣不高",
                    "青年教师课堂把控能力弱"],
        "product": ["分层作业设计方案", "校本课程资源包", "数字化实验平台", "大单元教学设计集", "微课资源库"],
        "metric": ["学生学业合格率", "课堂教学效率", "青年教师优质课获奖率"],
        "people": ["青年教师", "新入职教师", "乡村学校教师"],
        "people2": ["骨干教师", "学科带头人", "特级教师"],
        "place": ["教学一线", "教研组", "课堂"],
        "honour": ["市级教学名师", "河北省骨干教师", "石家庄市优秀教师"],
    },
    "名医": {
        "field": ["心血管内科", "骨科微创手术", "中医针灸", "儿科呼吸系统疾病诊治", "急诊急救"],
        "problem": ["疑难病例诊断周期长", "术后康复慢", "基层首诊能力不足", "患者平均住院日偏长",
                    "急危重症抢救时效不高"],
        "product": ["微创手术操作规范", "中医特色诊疗方案", "康复训练指导手册", "远程会诊平台", "临床路径优化方案"],
        "metric": ["诊断符合率", "手术成功率", "患者满意度"],
        "people": ["青年医师", "进修医生", "基层医务人员"],
        "people2": ["主任医师", "学科骨干", "副主任医师"],
        "place": ["临床一线", "科室", "病区"],
        "honour": ["市级名医", "河北省名中医", "河北省优秀医师"],
    },
}

SECTIONS: list[tuple[str, list[str]]] = [
    ("一、工作室基本情况", [
        "{studio}成立于{year}年，现有成员{members}人，平均年龄{age}岁，是一支结构合理、协作紧密的创新团队。",
        "工作室带头人长期扎根{place}，在{field}领域积累了丰富经验，先后获得{honour}等荣誉。",
        "工作室建有固定活动场所{area}平方米，配备了必要的仪器设备和专业资料，牌匾醒目，各项制度上墙公开。",
        "工作室建立了例会、学习培训、项目攻关、考核奖励等制度，做到有计划、有目标、有记录、有考核。",
        "单位每年安排专项经费{fund}万元，用于工作室开展创新活动、购置设备和奖励先进。",
        "工作室成员分工明确，既有经验丰富的{people2}，也有思维活跃的{people}，形成了老中青结合的梯队。",
        "工作室坚持每月召开一次工作例会，总结上月工作，研究解决{place}遇到的实际问题。",
    ]),
    ("二、聚焦难点问题，扎实开展技术攻关", [
        "针对{problem}这一难题，工作室成立专项攻关小组，经过{n}次反复试验，最终使{metric}提高了{pct}%。",
        "工作室紧盯{place}的堵点难点，每年确定{k}个以上重点攻关课题，实行项目负责制，明确责任人和完成时限。",
        "在攻关过程中，成员们白天跟班实践，晚上查阅资料、讨论方案，历时{months}个月完成了攻关任务。",
        "工作室积极开展“五小”活动，累计征集合理化建议{big}条，采纳实施{n}条，有效解决了一批实际问题。",
        "围绕{field}中的关键环节，工作室对原有流程进行了系统梳理和优化，{problem}的问题得到根本解决。",
        "工作室注重发挥集体智慧，遇到难题大家一起想办法，形成了人人讲创新、事事求改进的良好氛围。",
        "近三年，工作室共承担各类攻关项目{n}项，全部按期完成，其中{k}项达到行业先进水平。",
    ]),
    ("三、坚持师带徒，培育骨干人才", [
        "工作室坚持传帮带，与{people}签订师徒协议{n}对，制定个性化培养计划，做到手把手教、面对面带。",
        "通过岗位练兵、技能比武和专题授课等形式，累计开展培训{n}场次，培训{people}{big}人次。",
        "近三年，工作室成员中有{k}人晋升高一级职称或技术等级，{k2}人在市级以上竞赛中获奖。",
        "工作室把人才培养作为重要任务，鼓励成员参加学历教育和继续教育，形成了比学赶超的良好氛围。",
        "带头人坚持把自己的经验和方法毫无保留地传授给{people}，编写培训讲义{k}套，录制教学视频{n}个。",
        "工作室定期组织成员外出学习交流，先后到{k}家先进单位参观学习，开阔了眼界，拓宽了思路。",
    ]),
    ("四、注重成果转化，创新成果丰硕", [
        "工作室先后取得国家专利{n}项，其中发明专利{k}项，形成操作法和技术规范{k2}项。",
        "成员们研制的{product}已在本单位全面推广应用，操作简便、安全可靠，受到普遍欢迎。",
        "{year}年，工作室完成的{product}项目获得市级职工技术创新成果奖。",
        "工作室总结提炼的{product}被列为单位标准，在同行业多家单位推广使用。",
        "工作室成员撰写的{k}篇论文在省级以上期刊发表，{k2}项成果获得市级以上奖励。",
        "工作室坚持边研究、边应用、边完善，推动创新成果尽快转化为现实生产力。",
    ]),
    ("五、经济效益和社会效益显著", [
        "据统计，近三年工作室创新成果累计创造经济效益{big}万元，节约成本{n}万元。",
        "通过持续改进，{metric}由{p1}%提升至{p2}%，取得了良好的经济效益和社会效益。",
        "工作室的创新成果有效降低了劳动强度，改善了工作环境，职工的获得感和幸福感明显增强。",
        "工作室多次承担对外交流和示范任务，接待参观学习{n}批次，发挥了良好的示范引领作用。",
        "工作室积极参加送技术下基层等公益活动，为{k}家单位解决实际难题，赢得了广泛赞誉。",
    ]),
    ("六、下一步工作打算", [
        "下一步，工作室将继续发挥示范引领作用，聚焦发展需求，在攻关创新和人才培养上持续用力。",
        "工作室将进一步完善运行机制，加强与高校、科研院所的交流合作，推动更多创新成果落地转化。",
        "我们将以此次申报为契机，对标先进、查找不足，努力把工作室建设成为创新的平台、育人的摇篮。",
        "工作室将持续加大人才培养力度，力争三年内再培养{k}名骨干人才，为单位高质量发展贡献力量。",
    ]),
]

FILLERS = [
    "为单位发展作出了积极贡献。", "得到了上级的充分肯定。", "团队凝聚力不断增强。",
    "各项工作扎实推进。", "创新氛围日益浓厚。", "职工积极参与。", "成效明显。", "效果好。",
]
"""Short sentences used to pad a text to an exact length."""

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红鹏飞宇浩然晨阳博文佳琪欣怡子涵雨萱梓轩"


def _person_name(rng: random.Random) -> str:
    """A plausible Chinese personal name."""
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(SURNAMES) + given


def _slot_values(rng: random.Random, category: str, studio: str) -> dict[str, object]:
    """Random values for every placeholder used in :data:`SECTIONS`."""
    values: dict[str, object] = {k: rng.choice(v) for k, v in POOLS[category].items()}
    p1 = rng.randint(84, 92)
    values.update(
        studio=studio, year=rng.randint(2016, 2022), members=rng.randint(6, 15), age=rng.randint(33, 42),
        area=rng.choice((80, 100, 120, 150, 200)), fund=rng.choice((5, 8, 10, 15, 20)),
        n=rng.randint(3, 30), k=rng.randint(2, 6), k2=rng.randint(2, 8), big=rng.randint(60, 600),
        pct=rng.randint(8, 35), months=rng.randint(3, 10), p1=p1, p2=rng.randint(p1 + 4, 99),
    )
    return values


def _sentence(rng: random.Random, template: str, category: str, studio: str) -> str:
    """Fill one template with fresh random slot values."""
    return template.format(**_slot_values(rng, category, studio))


# --------------------------------------------------------------------------
# Narrative text
# --------------------------------------------------------------------------


def _section_sentences(rng: random.Random, templates: Sequence[str], budget: int,
                       category: str, studio: str, rounds: int = 1) -> list[str]:
    """Sentences from ``templates`` (the first one first, each used ``rounds`` times at most)
    whose total 字数 stays within ``budget``."""
    rest = list(templates[1:])
    rng.shuffle(rest)
    out: list[str] = []
    used = 0
    for template in [templates[0], *rest] * rounds:
        sentence = _sentence(rng, template, category, studio)
        if used + _wc(sentence) <= budget:
            out.append(sentence)
            used += _wc(sentence)
    return out


def _pad(deficit: int) -> list[str]:
    """Distinct filler sentences, longest first, totalling at most ``deficit`` 字数."""
    out: list[str] = []
    for filler in sorted(FILLERS, key=_wc, reverse=True):
        if _wc(filler) <= deficit:
            out.append(filler)
            deficit -= _wc(filler)
    return out


def _group(rng: random.Random, sentences: list[str]) -> list[str]:
    """Join sentences into paragraphs of two to four sentences."""
    paragraphs: list[str] = []
    while sentences:
        take = rng.randint(2, 4)
        paragraphs.append("".join(sentences[:take]))
        sentences = sentences[take:]
    return paragraphs


def narrative_paragraphs(chars: int, seed: int, *, category: str = "劳模和工匠人才",
                         studio: str = "工作室", headings: bool = True) -> list[str]:
    """Paragraphs of a 事迹材料 whose total low 字数 is ``chars`` (−3 at most).

    With ``headings`` the text is divided into the usual numbered sections;
    short texts (or ``headings=False``) are plain paragraphs.
    """
    rng = _rng("narrative", seed, category)
    sections = SECTIONS if headings and chars >= 400 else [("", [t for _, ts in SECTIONS[:5] for t in ts])]
    blocks: list[list[str]] = []
    remaining = chars
    for index, (heading, templates) in enumerate(sections):
        budget = remaining // (len(sections) - index) - _wc(heading)
        sentences = _section_sentences(rng, templates, budget, category, studio)
        blocks.append(([heading] if heading else []) + _group(rng, sentences))
        remaining -= _wc(heading) + sum(_wc(s) for s in sentences)
    target = blocks[-2] if len(blocks) > 1 else blocks[-1]
    if remaining > 60:  # long texts: more of the same kinds of sentences
        extra = _section_sentences(rng, [t for _, ts in SECTIONS[1:5] for t in ts], remaining - 20, category,
                                   studio, rounds=1 + chars // 1500)
        target.extend(_group(rng, extra))
        remaining -= sum(_wc(s) for s in extra)
    _append_to_block(target, "".join(_pad(remaining)), bool(sections[0][0]))
    return [p for block in blocks for p in block]


def _append_to_block(block: list[str], text: str, has_heading: bool) -> None:
    """Append ``text`` to the block's last paragraph (a new one if the block is only a heading)."""
    if len(block) > int(has_heading):
        block[-1] += text
    elif text:
        block.append(text)


def narrative_text(chars: int, seed: int, category: str = "劳模和工匠人才") -> str:
    """Plausible Chinese 事迹材料 prose of about ``chars`` Word 字数 (paragraphs joined by newlines)."""
    return "\n".join(narrative_paragraphs(chars, seed, category=category))


# --------------------------------------------------------------------------
# OOXML helpers (deterministic packaging)
# --------------------------------------------------------------------------

_CORE_DATE = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def normalise_ooxml(data: bytes) -> bytes:
    """Rewrite an OOXML package with fixed zip timestamps and core-property dates."""
    stamp = FIXED_DT.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _CORE_DATE.sub(rb"\g<1>" + stamp + rb"\g<3>", body)
            member = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.create_system = 0
            dst.writestr(member, body)
    return out.getvalue()


_STYLE_REFS = ("w:pStyle", "w:rStyle", "w:tblStyle")
_STYLE_LINKS = ("w:basedOn", "w:link", "w:next")


def _trim_styles(document: Any) -> None:
    """Drop style definitions the document never uses (keeps the file small)."""
    styles = document.styles.element
    by_id = {s.get(qn("w:styleId")): s for s in styles.findall(qn("w:style"))}
    wanted = {s_id for s_id, s in by_id.items() if s.get(qn("w:default")) == "1"}
    for tag in _STYLE_REFS:
        wanted.update(e.get(qn("w:val")) for e in document.element.iter(qn(tag)))
    wanted = _linked_styles(by_id, wanted)
    for s_id, style in by_id.items():
        if s_id not in wanted:
            styles.remove(style)
    for latent in styles.findall(qn("w:latentStyles")):
        styles.remove(latent)


def _linked_styles(by_id: Mapping[str, Any], roots: set[str]) -> set[str]:
    """Every style reachable from ``roots`` through basedOn / link / next."""
    found = set(roots)
    todo = [s_id for s_id in roots if s_id in by_id]
    while todo:
        style = by_id[todo.pop()]
        for tag in _STYLE_LINKS:
            link = style.find(qn(tag))
            target = link.get(qn("w:val")) if link is not None else None
            if target in by_id and target not in found:
                found.add(target)
                todo.append(target)
    return found


_DROPPED_RELS = ("stylesWithEffects", "customXml", "thumbnail")


def _drop_optional_parts(document: Any) -> None:
    """Remove template parts Word does not need (effects styles, custom XML, thumbnail)."""
    for part in (document.part, document.part.package):
        for r_id, rel in list(part.rels.items()):
            if any(key in rel.reltype for key in _DROPPED_RELS):
                part.rels.pop(r_id)


def _new_document(*, landscape: bool = False, font: str = "仿宋_GB2312", size: float = 14) -> Any:
    """A python-docx document on A4 paper with a Chinese body font."""
    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(2.5)
    section.top_margin = section.bottom_margin = Cm(2.5)
    normal = document.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(size)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
    return document


def _save_docx(document: Any, *, title: str, author: str) -> bytes:
    """Serialise a document with fixed core properties and fixed zip timestamps."""
    props = document.core_properties
    props.author = props.last_modified_by = author
    props.title, props.comments, props.revision = title, "", 3
    props.created = props.modified = props.last_printed = FIXED_DT
    _drop_optional_parts(document)
    _trim_styles(document)
    buf = io.BytesIO()
    document.save(buf)
    return normalise_ooxml(buf.getvalue())


def _paragraph(container: Any, text: str, *, bold: bool = False, size: float | None = None,
               align: Any = None, font: str | None = None, indent: bool = False) -> Any:
    """Add a paragraph with a single formatted run."""
    par = container.add_paragraph()
    run = par.add_run(text)
    run.bold = bold or None
    if size:
        run.font.size = Pt(size)
    if font:
        run.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
    if align is not None:
        par.alignment = align
    if indent:
        par.paragraph_format.first_line_indent = Pt(2 * (size or 14))
    return par


def _set_cell(cell: Any, text: str | Sequence[str], *, center: bool = False, size: float = 11) -> None:
    """Replace a cell's content with one paragraph per line of ``text``."""
    lines = [text] if isinstance(text, str) else list(text)
    cell.text = ""
    first = cell.paragraphs[0]
    for i, line in enumerate(lines):
        par = first if i == 0 else cell.add_paragraph()
        par.add_run(line).font.size = Pt(size)
        if center:
            par.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _grid_table(document: Any, rows: Sequence[Sequence[str]], *, size: float, center_all: bool = False) -> Any:
    """A plain bordered table, header row centred."""
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = document.styles["Table Grid"]
    for index, (row, values) in enumerate(zip(table.rows, rows)):
        for cell, value in zip(row.cells, values):
            _set_cell(cell, value, center=center_all or index == 0, size=size)
    return table


# --------------------------------------------------------------------------
# 附件1 application form
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """One row of the 工作室成员情况 sub-table."""

    name: str
    age: int
    education: str
    title: str
    position: str


@dataclass(frozen=True)
class Leader:
    """The 工作室带头人 block of the form."""

    name: str
    gender: str
    birth: str
    education: str
    title: str
    position: str
    skill: str
    honour: str
    phone: str

    @property
    def age(self) -> int:
        """Age in 2025."""
        return 2025 - int(self.birth[:4])


PROFILES: dict[str, dict[str, list[str]]] = {
    "劳模和工匠人才": {
        "education": ["大专", "本科"], "title": ["高级技师", "特级技师", "高级工程师"],
        "position": ["维修车间主任", "生产部副部长", "首席技师", "班组长"],
        "skill": ["数控设备故障诊断", "精密零件加工", "自动化产线调试", "焊接工艺优化"],
        "honour": ["河北省劳动模范", "石家庄市劳动模范", "河北省五一劳动奖章", "河北省金牌工人"],
        "industry": ["制造业"],
    },
    "名师": {
        "education": ["本科", "硕士研究生"], "title": ["正高级教师", "高级教师"],
        "position": ["数学教研组长", "副校长", "语文教研组长", "年级主任"],
        "skill": ["初中数学教学研究", "小学语文阅读教学", "课程设计与教研"],
        "honour": ["河北省特级教师", "石家庄市教学名师", "河北省骨干教师"],
        "industry": ["教育"],
    },
    "名医": {
        "education": ["硕士研究生", "博士研究生"], "title": ["主任医师", "主任医师（二级）"],
        "position": ["心内科主任", "骨科主任", "副院长"],
        "skill": ["冠心病介入治疗", "关节微创手术", "中西医结合诊疗"],
        "honour": ["石家庄市名医", "河北省名中医", "河北省优秀医师"],
        "industry": ["卫生和社会工作"],
    },
}
MEMBER_TITLES = {
    "劳模和工匠人才": ["技师", "高级技师", "高级工", "工程师", "助理工程师"],
    "名师": ["高级教师", "一级教师", "二级教师"],
    "名医": ["副主任医师", "主治医师", "住院医师", "主管护师"],
}
MEMBER_POSITIONS = {
    "劳模和工匠人才": ["维修钳工", "数控操作工", "电工", "技术员", "质检员", "班组长"],
    "名师": ["数学教师", "语文教师", "班主任", "教研组副组长"],
    "名医": ["主治医师", "住院医师", "护士长", "医疗组长"],
}


def make_leader(name: str, gender: str, category: str, seed: int) -> Leader:
    """A plausible leader profile for ``category``."""
    rng = _rng("leader", name, seed)
    pick = {k: rng.choice(v) for k, v in PROFILES[category].items()}
    return Leader(
        name=name, gender=gender, birth=f"{rng.randint(1968, 1985)}.{rng.randint(1, 12):02d}",
        education=pick["education"], title=pick["title"], position=pick["position"], skill=pick["skill"],
        honour=pick["honour"], phone=f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
    )


def make_members(category: str, seed: int, count: int = 6) -> list[Member]:
    """``count`` plausible studio members."""
    rng = _rng("members", category, seed)
    return [
        Member(_person_name(rng), rng.randint(24, 55), rng.choice(("大专", "本科", "本科", "硕士研究生")),
               rng.choice(MEMBER_TITLES[category]), rng.choice(MEMBER_POSITIONS[category]))
        for _ in range(count)
    ]


FORM_COLS_CM = (2.4, 2.3, 2.6, 2.3, 2.4, 1.9, 2.1)


def _form_table(document: Any, rows: int) -> Any:
    """The bordered 7-column grid of the printed form."""
    table = document.add_table(rows=rows, cols=len(FORM_COLS_CM))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for row in table.rows:
        for cell, width in zip(row.cells, FORM_COLS_CM):
            cell.width = Cm(width)
    return table


def _fill_row(table: Any, r: int, spans: Sequence[tuple[int, int, str | Sequence[str], bool]]) -> None:
    """Merge and fill cells of row ``r``: ``(first_col, last_col, text, is_label)`` each, left to right."""
    cells = table.rows[r].cells  # looked up once: table.cell() rescans the whole table
    for first, last, text, label in spans:
        cell = cells[first].merge(cells[last]) if last > first else cells[first]
        _set_cell(cell, text, center=label)


def _label_column(table: Any, top: int, bottom: int, text: str) -> None:
    """Merge column 0 vertically from ``top`` to ``bottom`` and label it."""
    cell = table.cell(top, 0).merge(table.cell(bottom, 0)) if bottom > top else table.cell(top, 0)
    _set_cell(cell, text, center=True)


def form_docx(unit: str, studio: str, leader: str | Leader, category: str = "劳模和工匠人才",
              members: Sequence[Member] | None = None, *, seed: int = 0, founded: str = "2019年3月",
              industry: str | None = None, location: str | None = None, gender: str = "男",
              field: str | None = None, date: str = "2025年5月19日", results: int = 3) -> bytes:
    """A filled 附件1 入A级库申报表 (``unit`` is the 申报单位) as .docx bytes."""
    rng = _rng("form", studio, seed)
    lead = leader if isinstance(leader, Leader) else make_leader(leader, gender, category, seed)
    crew = list(members) if members is not None else make_members(category, seed)
    pools = POOLS[category]
    document = _new_document(size=12)
    _paragraph(document, "附件1", font="黑体", size=14)
    _paragraph(document, FORM_TITLE, bold=True, size=18, align=WD_ALIGN_PARAGRAPH.CENTER, font="方正小标宋简体")
    _paragraph(document, f"申报单位：{unit}　　　　　　　{date}", size=12)
    first_member = 10
    opinions = first_member + 2 + len(crew)
    table = _form_table(document, opinions + 3)
    _fill_row(table, 0, [(0, 0, "工作室名称", True), (1, 2, studio, False), (3, 3, "成立时间", True),
                         (4, 4, founded, False), (5, 5, "所属行业", True),
                         (6, 6, industry or PROFILES[category]["industry"][0], False)])
    _label_column(table, 1, 4, "工作室带头人情况")
    _fill_row(table, 1, [(1, 1, "姓名", True), (2, 2, lead.name, False), (3, 3, "性别", True),
                         (4, 4, lead.gender, False), (5, 5, "出生年月", True), (6, 6, lead.birth, False)])
    _fill_row(table, 2, [(1, 1, "学历", True), (2, 2, lead.education, False),
                         (3, 3, "职称/技术等级", True), (4, 6, lead.title, False)])
    _fill_row(table, 3, [(1, 1, "工作岗位及职务", True), (2, 2, lead.position, False),
                         (3, 3, "主要技能特长", True), (4, 6, lead.skill, False)])
    _fill_row(table, 4, [(1, 1, "曾获最高荣誉", True), (2, 2, lead.honour, False),
                         (3, 3, "联系电话", True), (4, 6, lead.phone, False)])
    _label_column(table, 5, 6, "工作室建设情况")
    _fill_row(table, 5, [(1, 1, "面积", True), (2, 2, f"{rng.choice((80, 120, 150))}平方米", False),
                         (3, 3, "工作室地点", True), (4, 4, location or f"{unit}{rng.choice(pools['place'])}", False),
                         (5, 5, "成员数", True), (6, 6, f"{len(crew) + 1}人", False)])
    _fill_row(table, 6, [(1, 1, "经费投入", True), (2, 2, f"{rng.choice((8, 10, 15, 20))} 万元", False),
                         (3, 3, "创新领域", True), (4, 6, field or rng.choice(pools["field"]), False)])
    texts = {name: _sentence(rng, tpl, category, studio)
             for name, tpl in (("benefit", SECTIONS[4][1][0]), ("talent", SECTIONS[2][1][1]))}
    _fill_row(table, 7, [(0, 0, "经济和社会效益", True), (1, 6, texts["benefit"], False)])
    _fill_row(table, 8, [(0, 0, "人才培养情况", True), (1, 6, texts["talent"], False)])
    results = [f"{i}.{product}（{rng.randint(2019, 2024)}年）"
               for i, product in enumerate(rng.sample(pools["product"], 3)[:results], start=1)]
    _fill_row(table, 9, [(0, 0, "主要创新成果", True), (1, 6, results + ["……可附页"], False)])
    _member_rows(table, first_member, crew)
    for offset, (label, text) in enumerate((
            ("本单位工会意见", ["同意推荐。", f"盖章　　{date}"]),
            ("县（市）区、产业工会意见", ["同意推荐。", "盖章　　2025年5月23日"]),
            ("市总工会意见", ["", "盖章　　　年　月　日"]))):
        _fill_row(table, opinions + offset, [(0, 0, label, True), (1, 6, text, False)])
    return _save_docx(document, title=FORM_TITLE, author=lead.name)


def _member_rows(table: Any, top: int, crew: Sequence[Member]) -> None:
    """The 工作室成员情况 block: header row, one row per member, 可附页."""
    bottom = top + len(crew) + 1
    _label_column(table, top, bottom, "工作室成员情况")
    header = ("姓名", "年龄", "学历", "职称/技术等级", "工作岗位及职务")
    rows = [header] + [(m.name, str(m.age), m.education, m.title, m.position) for m in crew]
    for r, values in enumerate(rows, start=top):
        _fill_row(table, r, [(1, 1, values[0], r == top), (2, 2, values[1], r == top),
                             (3, 3, values[2], r == top), (4, 4, values[3], r == top),
                             (5, 6, values[4], r == top)])
    _fill_row(table, bottom, [(1, 6, "可附页", False)])


# --------------------------------------------------------------------------
# 事迹材料 narrative
# --------------------------------------------------------------------------

TEXTBOX_XML = """<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"
 xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"
 xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
 xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"
 xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"
 xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office">
<mc:AlternateContent><mc:Choice Requires="wps"><w:drawing>
<wp:anchor distT="45720" distB="45720" distL="114300" distR="114300" simplePos="0" relativeHeight="251659264"
 behindDoc="0" locked="0" layoutInCell="1" allowOverlap="1">
<wp:simplePos x="0" y="0"/><wp:positionH relativeFrom="column"><wp:posOffset>0</wp:posOffset></wp:positionH>
<wp:positionV relativeFrom="paragraph"><wp:posOffset>0</wp:posOffset></wp:positionV>
<wp:extent cx="5615940" cy="1800000"/><wp:effectExtent l="0" t="0" r="0" b="0"/><wp:wrapTopAndBottom/>
<wp:docPr id="1" name="文本框 1"/><wp:cNvGraphicFramePr/>
<a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">
<wps:wsp><wps:cNvSpPr txBox="1"/><wps:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="5615940" cy="1800000"/></a:xfrm>
<a:prstGeom prst="rect"><a:avLst/></a:prstGeom><a:solidFill><a:srgbClr val="FFFFFF"/></a:solidFill>
<a:ln w="6350"><a:solidFill><a:srgbClr val="000000"/></a:solidFill></a:ln></wps:spPr>
<wps:txbx><w:txbxContent>{content}</w:txbxContent></wps:txbx>
<wps:bodyPr rot="0" vert="horz" wrap="square" lIns="91440" tIns="45720" rIns="91440" bIns="45720" anchor="t"
 anchorCtr="0"><a:noAutofit/></wps:bodyPr></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing>
</mc:Choice><mc:Fallback><w:pict>
<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">
<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>
<v:shape id="文本框 1" o:spid="_x0000_s1026" type="#_x0000_t202"
 style="position:absolute;margin-left:0;margin-top:0;width:442.2pt;height:141.75pt;z-index:251659264"
 strokeweight=".5pt"><v:textbox><w:txbxContent>{content}</w:txbxContent></v:textbox></v:shape>
</w:pict></mc:Fallback></mc:AlternateContent></w:r>"""


def _textbox_run(paragraphs: Sequence[str]) -> Any:
    """A Word 2010 text box run (``mc:Choice`` drawing plus VML fallback)."""
    content = "".join(f"<w:p><w:r><w:t>{escape(p)}</w:t></w:r></w:p>" for p in paragraphs)
    return parse_xml(TEXTBOX_XML.replace("{content}", content))


def _results_table_rows(target: int, seed: int, category: str) -> list[tuple[str, str, str]]:
    """Rows for a 创新成果一览表 whose cell text totals about ``target`` 字数."""
    rng = _rng("results-table", seed)
    header = ("序号", "成果名称", "应用情况及效益")
    rows = [header]
    total = sum(_wc(c) for c in header)
    templates = SECTIONS[3][1][1:2] + SECTIONS[4][1][:2]
    while total < target - 10:
        product = rng.choice(POOLS[category]["product"])
        text = _sentence(rng, rng.choice(templates), category, "工作室")
        row = (str(len(rows)), product, text)
        rows.append(row)
        total += sum(_wc(c) for c in row)
    return rows


def narrative_docx(studio: str, chars: int, seed: int, *, category: str = "劳模和工匠人才",
                   table_chars: int = 0, textbox_chars: int = 0) -> bytes:
    """A 事迹材料 .docx: title plus body paragraphs totalling about ``chars`` 字数.

    ``table_chars`` / ``textbox_chars`` add a 成果一览表 table and a text box
    holding that much more text (counted separately from ``chars``).
    """
    title = f"{studio}事迹材料"
    document = _new_document(size=16)
    _paragraph(document, title, bold=True, size=22, align=WD_ALIGN_PARAGRAPH.CENTER, font="方正小标宋简体")
    caption = "工作室近年主要创新成果一览表" if table_chars else ""
    if textbox_chars:
        box = narrative_paragraphs(textbox_chars, seed + 1, category=category, studio=studio, headings=False)
        document.add_paragraph()._p.append(_textbox_run(box))
    body = narrative_paragraphs(chars - _wc(title) - _wc(caption), seed, category=category, studio=studio)
    for text in body:
        heading = bool(re.match(r"^[一二三四五六七八九十]、", text))
        _paragraph(document, text, size=16, indent=not heading, font="黑体" if heading else None)
    if table_chars:
        _paragraph(document, caption, bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER)
        rows = _results_table_rows(table_chars, seed, category)
        _grid_table(document, rows, size=12)
    return _save_docx(document, title=title, author="Administrator")


# --------------------------------------------------------------------------
# 附件2 summary table
# --------------------------------------------------------------------------


def _summary_values(rows: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """Data rows as lists of strings in :data:`SUMMARY_HEADERS` order (序号 filled in)."""
    out = []
    for i, row in enumerate(rows, start=1):
        values = {"序号": i, **row}
        out.append([str(values.get(h, "")) for h in SUMMARY_HEADERS])
    return out


SUMMARY_WIDTHS = (5, 16, 22, 20, 9, 6, 6, 14, 12, 16, 16, 12, 8, 10, 10)


def summary_xlsx(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """附件2 汇总表 as .xlsx: title row, header row, one row per mapping (keys = headers)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    ws.append([SUMMARY_TITLE])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(SUMMARY_HEADERS))
    ws["A1"].font = Font(name="方正小标宋简体", size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 36
    ws.append(list(SUMMARY_HEADERS))
    for values in _summary_values(rows):
        ws.append([int(v) if v.isdigit() else v for v in values])
    for row in ws.iter_rows(min_row=2, max_row=ws.max_row):
        for cell in row:
            cell.border = border
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.font = Font(name="宋体", size=11, bold=cell.row == 2)
    for index, width in enumerate(SUMMARY_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    wb.properties.creator = wb.properties.lastModifiedBy = "Administrator"
    wb.properties.created = wb.properties.modified = FIXED_DT
    buf = io.BytesIO()
    wb.save(buf)
    return normalise_ooxml(buf.getvalue())


def summary_docx(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """附件2 汇总表 as .docx (landscape): title paragraph and a 15-column table."""
    document = _new_document(landscape=True, size=10)
    _paragraph(document, "附件2", font="黑体", size=14)
    _paragraph(document, SUMMARY_TITLE, bold=True, size=18, align=WD_ALIGN_PARAGRAPH.CENTER, font="方正小标宋简体")
    _grid_table(document, [list(SUMMARY_HEADERS)] + _summary_values(rows), size=9, center_all=True)
    return _save_docx(document, title=SUMMARY_TITLE, author="Administrator")


# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------

RED = (214, 32, 38)


def _noise(rng: random.Random, size: tuple[int, int], grain: int = 2) -> Image.Image:
    """Deterministic grey noise (Pillow's effect_noise depends on C rand())."""
    w, h = max(1, size[0] // grain), max(1, size[1] // grain)
    small = Image.frombytes("L", (w, h), rng.randbytes(w * h))
    return Image.merge("RGB", [small.resize(size, Image.Resampling.BILINEAR)] * 3)


def _text_bars(draw: ImageDraw.ImageDraw, rng: random.Random, box: tuple[int, int, int, int],
               pitch: int, height: int, fill: tuple[int, int, int]) -> None:
    """Dark bars standing in for lines of text inside ``box``."""
    left, top, right, bottom = box
    for y in range(top, bottom - height, pitch):
        draw.rectangle([left, y, left + rng.randint((right - left) // 3, right - left), y + height], fill=fill)


def _star(cx: float, cy: float, outer: float) -> list[tuple[float, float]]:
    """The ten corners of a five-pointed star."""
    points = []
    for i in range(10):
        radius = outer if i % 2 == 0 else outer * 0.38
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def _seal(draw: ImageDraw.ImageDraw, centre: tuple[int, int], radius: int) -> None:
    """A red official seal: ring, star and a crown of character-like marks."""
    cx, cy = centre
    draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], outline=RED, width=max(3, radius // 14))
    draw.polygon(_star(cx, cy, radius * 0.32), fill=RED)
    for i in range(13):
        angle = math.pi * (0.85 + i * 1.3 / 12)
        x, y = cx + radius * 0.72 * math.cos(angle), cy + radius * 0.72 * math.sin(angle)
        draw.rectangle([x - 4, y - 4, x + 4, y + 4], fill=RED)
    draw.rectangle([cx - radius * 0.4, cy + radius * 0.45, cx + radius * 0.4, cy + radius * 0.55], fill=RED)


def _certificate(label: str, seed: int, size: tuple[int, int]) -> Image.Image:
    """A photo-like picture of a certificate lying on a desk."""
    rng = _rng("photo", label, seed)
    w, h = size
    desk = tuple(rng.randint(70, 140) for _ in range(3))
    img = Image.new("RGB", size, desk)  # type: ignore[arg-type]
    draw = ImageDraw.Draw(img)
    m = lambda v: int(v * min(w, h) / 360)  # noqa: E731 - scale helper
    paper = [(m(28) + rng.randint(-6, 6), m(22)), (w - m(26), m(30) + rng.randint(-6, 6)),
             (w - m(30), h - m(20)), (m(22), h - m(28) + rng.randint(-6, 6))]
    cover = rng.choice(((168, 28, 36), (245, 238, 220), (238, 226, 190)))
    draw.polygon(paper, fill=cover)
    draw.rectangle([m(50), m(44), w - m(50), h - m(44)], fill=(248, 242, 226), outline=(196, 160, 60), width=m(5))
    draw.rectangle([w // 2 - m(70), m(62), w // 2 + m(70), m(82)], fill=(150, 30, 30))
    _text_bars(draw, rng, (m(80), m(110), w - m(90), h - m(90)), m(22), m(7), (70, 64, 60))
    _seal(draw, (w - m(110), h - m(95)), m(40))
    return img


def photo_jpeg(label: str, seed: int, size: tuple[int, int] = (480, 360)) -> bytes:
    """An evidence photo (certificate on a desk, light sensor noise) as JPEG, quality 70."""
    img = _certificate(label, seed, size)
    img = Image.blend(img, _noise(_rng("grain", label, seed), size), 0.04).filter(ImageFilter.GaussianBlur(0.6))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=70, optimize=True)
    return buf.getvalue()


def photo_png(label: str, seed: int, size: tuple[int, int] = (480, 360)) -> bytes:
    """The same kind of picture as a PNG screenshot (no noise, so it stays small)."""
    buf = io.BytesIO()
    _certificate(label, seed, size).save(buf, "PNG", optimize=True)
    return buf.getvalue()


SCAN_SIZE = (620, 877)


def _scan_page(title: str, seed: int, page: int, seal: bool = True) -> Image.Image:
    """One scanned form page: ruled table, text bars and (on the last rows) a red seal."""
    rng = _rng("scan", title, seed, page)
    w, h = SCAN_SIZE
    img = Image.new("RGB", SCAN_SIZE, (252, 252, 250))
    draw = ImageDraw.Draw(img)
    if page == 0:
        draw.rectangle([w // 2 - 200, 48, w // 2 + 200, 64], fill=(40, 40, 40))
        draw.rectangle([w // 2 - 120, 72, w // 2 + 120, 88], fill=(40, 40, 40))
        draw.rectangle([64, 104, 360, 112], fill=(60, 60, 60))
    top, rows = (128, 14) if page == 0 else (56, 16)
    bottom = ruled_rows(draw, rng, top, rows)
    if seal:
        _seal(draw, (w - 170, bottom - 70), 58)
    return img


def ruled_rows(draw: ImageDraw.ImageDraw, rng: random.Random, top: int, rows: int) -> int:
    """The scanned form's ruled table from `top`: label and text bars in each row; returns its bottom edge."""
    w, h = SCAN_SIZE
    row_h = (h - 80 - top) // rows
    for r in range(rows + 1):
        draw.line([56, top + r * row_h, w - 56, top + r * row_h], fill=(30, 30, 30), width=2)
    for x in (56, 152, w - 56):
        draw.line([x, top, x, top + rows * row_h], fill=(30, 30, 30), width=2)
    for r in range(rows):
        y = top + r * row_h + row_h // 2 - 4
        draw.rectangle([64, y, 144, y + 8], fill=(50, 50, 50))
        _text_bars(draw, rng, (168, y, w - 72, y + 9), 16, 8, (50, 50, 50))
    return top + rows * row_h


def _scan_pages(title: str, seed: int, pages: int, seal: bool = True) -> list[Image.Image]:
    """``pages`` scanned pages with a little scanner softness."""
    return [_scan_page(title, seed, p, seal).filter(ImageFilter.GaussianBlur(0.5)) for p in range(pages)]


def stamped_scan_pdf(title: str, seed: int, pages: int = 1, seal: bool = True) -> bytes:
    """A scanned, stamped form as an image-only PDF (Pillow, 72 dpi, fixed dates); ``seal=False``: not stamped."""
    images = _scan_pages(title, seed, pages, seal)
    stamp = FIXED_DT.timetuple()
    buf = io.BytesIO()
    images[0].save(buf, "PDF", resolution=72, save_all=True, append_images=images[1:], quality=45, optimize=True,
                   title="", producer="", creator="", creationDate=stamp, modDate=stamp)
    return buf.getvalue()


def stamped_scan_jpeg(title: str, seed: int) -> bytes:
    """The first page of the stamped scan as a JPEG."""
    buf = io.BytesIO()
    _scan_pages(title, seed, 1)[0].save(buf, "JPEG", quality=45, optimize=True)
    return buf.getvalue()


# --------------------------------------------------------------------------
# Archives
# --------------------------------------------------------------------------

Files = Sequence[tuple[str, bytes]]
ZipNames = Literal["gbk", "utf8-noflag", "utf8-flag"]
_DOS_TIME = (FIXED_DT.hour << 11) | (FIXED_DT.minute << 5) | (FIXED_DT.second // 2)
_DOS_DATE = ((FIXED_DT.year - 1980) << 9) | (FIXED_DT.month << 5) | FIXED_DT.day


@dataclass(frozen=True)
class _ZipEntry:
    """One member as it goes on the wire."""

    name: bytes
    data: bytes
    flags: int
    external: int


def _zip_entry(name: str, data: bytes, encoding: ZipNames) -> _ZipEntry:
    """Encode a member name the way the chosen kind of archiver does."""
    is_dir = name.endswith("/")
    if encoding == "gbk":
        return _ZipEntry(name.encode("gbk"), data, 0, 0x10 if is_dir else 0x20)
    mode = 0o40755 if is_dir else 0o100644
    flags = 0x800 if encoding == "utf8-flag" else 0
    return _ZipEntry(name.encode("utf-8"), data, flags, (mode << 16) | (0x10 if is_dir else 0))


def _zip_record(entry: _ZipEntry, offset: int, made_by: int) -> tuple[bytes, bytes]:
    """The local header+data and the central-directory record of one member."""
    method = 8 if entry.data else 0
    packed = _deflate(entry.data) if method else b""
    crc = zlib.crc32(entry.data)
    common = struct.pack("<HHHHHIIIHH", 20, entry.flags, method, _DOS_TIME, _DOS_DATE, crc,
                         len(packed), len(entry.data), len(entry.name), 0)
    local = b"PK\x03\x04" + common + entry.name + packed
    central = (b"PK\x01\x02" + struct.pack("<H", made_by) + common
               + struct.pack("<HHHII", 0, 0, 0, entry.external, offset) + entry.name)
    return local, central


def _deflate(data: bytes) -> bytes:
    """Raw deflate at level 9."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def with_dirs(files: Files) -> list[tuple[str, bytes]]:
    """``files`` preceded by an explicit entry for every folder (as WinRAR/360 write)."""
    out: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for name, data in files:
        parts = name.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folder = "/".join(parts[:depth]) + "/"
            if folder not in seen:
                seen.add(folder)
                out.append((folder, b""))
        if name not in seen:
            out.append((name, data))
    return out


def zip_bytes(files: Files, name_encoding: ZipNames = "gbk") -> bytes:
    """A zip written member by member so the name bytes and flag bit are exactly controlled.

    ``gbk``: GBK names, no UTF-8 flag (Chinese Windows); ``utf8-noflag``: UTF-8
    names without the flag (macOS Finder); ``utf8-flag``: flagged UTF-8.
    Folder entries are ``name/`` with empty data.
    """
    made_by = 20 if name_encoding == "gbk" else (3 << 8) | 21
    body, directory = io.BytesIO(), io.BytesIO()
    for name, data in files:
        local, central = _zip_record(_zip_entry(name, data, name_encoding), body.tell(), made_by)
        body.write(local)
        directory.write(central)
    count = len(files)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, directory.tell(), body.tell(), 0)
    return body.getvalue() + directory.getvalue() + end


def zip_with_member(files: Files, evil_name: str = "../../etc/passwd",
                    name_encoding: ZipNames = "gbk") -> bytes:
    """A zip of ``files`` plus a path-traversal member ``evil_name``."""
    return zip_bytes(list(files) + [(evil_name, b"owned\r\n")], name_encoding)


def truncate(data: bytes, keep: float = 0.6) -> bytes:
    """The first ``keep`` fraction of ``data`` (a download cut short)."""
    return data[: int(len(data) * keep)]


@contextlib.contextmanager
def _deterministic_py7zr(seed: str) -> Iterator[None]:
    """Make py7zr use fixed timestamps and a seeded AES IV while the block runs."""
    timestamp = py7zr.helpers.ArchiveTimestamp
    original_now = timestamp.__dict__["from_now"]
    original_random = py7zr.compressor.get_random_bytes
    rng = _rng("7z-iv", seed)
    timestamp.from_now = classmethod(lambda cls: cls.from_datetime(FIXED_UNIX))  # type: ignore[assignment]
    py7zr.compressor.get_random_bytes = rng.randbytes
    try:
        yield
    finally:
        timestamp.from_now = original_now  # type: ignore[assignment]
        py7zr.compressor.get_random_bytes = original_random


def sevenz_bytes(files: Files, password: str | None = None, header_encryption: bool = False) -> bytes:
    """A 7z archive (UTF-16 names by format), optionally AES-encrypted, deterministic."""
    buf = io.BytesIO()
    with _deterministic_py7zr(f"{password}|{[n for n, _ in files]}"):
        with py7zr.SevenZipFile(buf, "w", password=password, header_encryption=header_encryption) as archive:
            for name, data in files:
                if not name.endswith("/"):
                    archive.writestr(data, name)
    return buf.getvalue()


def _rar4_blocks(data: bytes) -> Iterator[tuple[int, int, bytes, bytes]]:
    """Split a RAR 1.5–4.x archive into ``(type, flags, header, payload)`` blocks."""
    pos = 7
    while pos < len(data):
        _crc, kind, flags, size = struct.unpack_from("<HBHH", data, pos)
        extra = struct.unpack_from("<I", data, pos + 7)[0] if flags & 0x8000 else 0
        yield kind, flags, data[pos:pos + size], data[pos + size:pos + size + extra]
        pos += size + extra


def _rar4_file_header(header: bytes, encoding: str) -> bytes:
    """Re-encode a RAR4 file header's name (Windows host, backslashes, no Unicode flag)."""
    flags = struct.unpack_from("<H", header, 3)[0]
    name_at = 32 + (8 if flags & 0x100 else 0)
    name_len = struct.unpack_from("<H", header, 26)[0]
    name = header[name_at:name_at + name_len].decode("utf-8").replace("/", "\\").encode(encoding)
    body = bytearray(header[2:name_at] + name + header[name_at + name_len:])
    body[13] = 2  # HOST_OS: Win32
    struct.pack_into("<H", body, 3, len(body) + 2)
    struct.pack_into("<H", body, 24, len(name))
    return struct.pack("<H", zlib.crc32(body) & 0xFFFF) + bytes(body)


def _rar4_clean(data: bytes, encoding: str) -> bytes:
    """Drop the ``RARS`` marker sub-block rars writes and re-encode the member names."""
    out = bytearray(data[:7])
    for kind, _flags, header, payload in _rar4_blocks(data):
        if kind == 0x7A and b"RARS" in header:
            continue
        out += (_rar4_file_header(header, encoding) if kind == 0x74 else header) + payload
    return bytes(out)


def _vint(data: bytes, pos: int) -> tuple[int, int]:
    """Read a RAR5 variable-length integer; returns ``(value, next_pos)``."""
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _rar5_clean(data: bytes) -> bytes:
    """Drop the ``RARS`` service header rars writes (unar reads it as 'needs a password')."""
    out = bytearray(data[:8])
    pos = 8
    while pos < len(data):
        size, body_at = _vint(data, pos + 4)
        kind, cursor = _vint(data, body_at)
        flags, cursor = _vint(data, cursor)
        extra = 0
        if flags & 1:
            _, cursor = _vint(data, cursor)
        if flags & 2:
            extra, cursor = _vint(data, cursor)
        end = body_at + size + extra
        if not (kind == 3 and b"RARS" in data[body_at:body_at + size]):
            out += data[pos:end]
        pos = end
    return bytes(out)


def rar_bytes(files: Files, version: Literal[4, 5] = 5, solid: bool = False, name_encoding: str = "gbk") -> bytes:
    """A RAR archive written by ``rars`` and made to look like WinRAR output.

    RAR5 names are UTF-8 by format.  RAR4 names are stored in ``name_encoding``
    (GBK, as Chinese WinRAR without the Unicode flag) with ``\\`` separators.
    """
    builder = rars.RarBuilder(format=rars.RAR50 if version == 5 else rars.RAR40, solid=solid)
    mtime = FIXED_UNIX if version == 5 else (_DOS_DATE << 16) | _DOS_TIME
    for name, data in files:
        if name.endswith("/"):
            if version == 5 and not solid:  # rars would mark the first file after a folder solid
                builder.add_directory(name.rstrip("/"), mtime=mtime)
            continue
        builder.add_bytes(data, name, mtime=mtime)
    raw = builder.to_bytes()
    return _rar5_clean(raw) if version == 5 else _rar4_clean(raw, name_encoding)


def _vint_bytes(value: int) -> bytes:
    """A RAR5 variable-length integer."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _rar5_first_volume(data: bytes) -> bytes:
    """The first volume without the volume-number field, as WinRAR writes it (the RAR5 format: "not present
    for first volume"). rars writes it with 0 there, which rarfile takes for a later part."""
    size, body_at = _vint(data, 8 + 4)  # after the signature and the main header's CRC32
    end = body_at + size
    _kind, cursor = _vint(data, body_at)
    flags, cursor = _vint(data, cursor)
    if flags & 1:  # extra area size
        _, cursor = _vint(data, cursor)
    archive_flags, after_flags = _vint(data, cursor)
    if not archive_flags & 2:
        return data
    _number, after_number = _vint(data, after_flags)
    body = data[body_at:cursor] + _vint_bytes(archive_flags & ~2) + data[after_number:end]
    header = _vint_bytes(len(body)) + body
    return data[:8] + zlib.crc32(header).to_bytes(4, "little") + header + data[end:]


def rar5_volumes(files: Files, volume_size: int) -> list[bytes]:
    """A RAR5 archive split into volumes (the parts of 材料.part1.rar, 材料.part2.rar …, in order), made to
    look like WinRAR output."""
    builder = rars.RarBuilder(format=rars.RAR50, volume_size=volume_size)
    for name, data in files:
        if not name.endswith("/"):
            builder.add_bytes(data, name, mtime=FIXED_UNIX)
    with tempfile.TemporaryDirectory() as tmp:
        parts = [Path(p).read_bytes() for p in builder.write_volumes(str(Path(tmp) / "v.part1.rar"))]
    return [_rar5_clean(_rar5_first_volume(parts[0])), *map(_rar5_clean, parts[1:])]


# --------------------------------------------------------------------------
# Raw RFC 5322 messages
# --------------------------------------------------------------------------

CRLF = "\r\n"
Style = Literal["foxmail", "netease", "outlook", "qq", "iphone", "plain"]
MIME_TYPES = {
    ".zip": "application/x-zip-compressed", ".7z": "application/x-7z-compressed",
    ".rar": "application/x-rar-compressed", ".docx": "application/vnd.openxmlformats-officedocument"
    ".wordprocessingml.document", ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
}


@dataclass(frozen=True)
class Attachment:
    """One attached file: its name, bytes and optional MIME type."""

    filename: str
    data: bytes
    content_type: str | None = None

    @property
    def mime_type(self) -> str:
        """The declared Content-Type (guessed from the extension when not given)."""
        suffix = Path(self.filename).suffix.lower()
        return self.content_type or MIME_TYPES.get(suffix, "application/octet-stream")


@dataclass(frozen=True)
class ClientStyle:
    """How one mail client writes headers, bodies and attachment names."""

    label: str
    codec: str
    filename_form: Literal["rfc2047", "rfc2231", "raw"]
    mailer: str
    alternative: bool = True
    body_encoding: Literal["base64", "quoted-printable"] = "base64"
    mime_version: str = "1.0"
    quote_name: bool = True
    extra: tuple[tuple[str, str], ...] = ()


STYLES: dict[str, ClientStyle] = {
    "foxmail": ClientStyle("GB2312", "gb18030", "rfc2047", "Foxmail 7.2.25.375[cn]"),
    "netease": ClientStyle("UTF-8", "utf-8", "rfc2047", "Coremail Webmail Server Version XT5.0.14 build "
                           "20240801(9da12a7b) Copyright (c) 2002-2025 www.mailtech.cn 163com"),
    "outlook": ClientStyle("gb2312", "gb18030", "rfc2231", "Microsoft Outlook 16.0", quote_name=False,
                           extra=(("Content-Language", "zh-cn"),)),
    "qq": ClientStyle("gb18030", "gb18030", "rfc2047", "QQMail 2.x",
                      extra=(("X-Priority", "3"), ("X-QQ-MIME", "TCMime 1.0 by Tencent"))),
    "iphone": ClientStyle("utf-8", "utf-8", "raw", "iPhone Mail (22E252)", alternative=False,
                          body_encoding="quoted-printable", mime_version="1.0 (1.0)", quote_name=False),
    "plain": ClientStyle("GB2312", "gb18030", "rfc2047", "", alternative=False),
}


def encoded_word(text: str, label: str, codec: str) -> str:
    """One RFC 2047 B-encoded word."""
    return f"=?{label}?B?{base64.b64encode(text.encode(codec)).decode()}?="


def encoded_words(text: str, label: str, codec: str, limit: int = 75) -> list[str]:
    """RFC 2047 words of at most ``limit`` characters, split between characters."""
    words: list[str] = []
    chunk = ""
    for ch in text:
        if chunk and len(encoded_word(chunk + ch, label, codec)) > limit:
            words.append(encoded_word(chunk, label, codec))
            chunk = ""
        chunk += ch
    if chunk:
        words.append(encoded_word(chunk, label, codec))
    return words


def _header_text(text: str, style: ClientStyle) -> str:
    """A header value: ASCII as is, otherwise folded encoded words."""
    if text.isascii():
        return text
    return (CRLF + " ").join(encoded_words(text, style.label, style.codec))


def _address(name: str, addr: str, style: ClientStyle) -> str:
    """``"Display name" <addr>`` with the name encoded (and quoted or not) the client's way."""
    if not name:
        return addr
    if name.isascii():
        return f'"{name}" <{addr}>'
    shown = encoded_word(name, style.label, style.codec)
    return f'"{shown}" <{addr}>' if style.quote_name else f"{shown} <{addr}>"


def _rfc2231(param: str, value: str, limit: int = 64) -> list[str]:
    """``param*=utf-8''…`` or ``param*0*=…; param*1*=…`` continuations (split between characters)."""
    pieces = [quote(ch.encode("utf-8"), safe="") for ch in value]
    if len(param) + len("".join(pieces)) + 9 <= limit:
        return [f"{param}*=utf-8''{''.join(pieces)}"]
    segments: list[str] = []
    current = "utf-8''"
    for piece in pieces:
        if len(current) + len(piece) > limit - len(param) - 6:
            segments.append(current)
            current = ""
        current += piece
    segments.append(current)
    return [f"{param}*{i}*={segment}" for i, segment in enumerate(segments)]


def _name_params(param: str, filename: str, style: ClientStyle) -> list[str]:
    """The ``name``/``filename`` parameter(s) for an attachment header."""
    if filename.isascii():
        return [f'{param}="{filename}"']
    if style.filename_form == "rfc2231" and param == "filename":
        return _rfc2231(param, filename)
    if style.filename_form == "raw":
        return [f'{param}="{filename}"']
    return [f'{param}="{encoded_word(filename, style.label, style.codec)}"']


def _b64(data: bytes) -> str:
    """Base64 wrapped at 76 characters, CRLF line ends, trailing CRLF."""
    text = base64.b64encode(data).decode()
    return "".join(text[i:i + 76] + CRLF for i in range(0, len(text), 76))


def _qp(data: bytes) -> str:
    """Quoted-printable with CRLF line ends."""
    encoded = quopri.encodestring(data.replace(b"\r\n", b"\n")).decode("ascii")
    return encoded.replace("\n", CRLF) + ("" if encoded.endswith("\n") else CRLF)


def _part(headers: Sequence[str], body: str) -> str:
    """A MIME part: header lines, blank line, body."""
    return CRLF.join(headers) + CRLF + CRLF + body


def _multipart(kind: str, boundary: str, parts: Sequence[str], preamble: str = "") -> tuple[str, str]:
    """``(content_type_header_value, body)`` of a multipart entity."""
    body = (preamble + CRLF + CRLF if preamble else "") + "".join(
        f"--{boundary}{CRLF}{part}{CRLF}" for part in parts) + f"--{boundary}--{CRLF}"
    return f'multipart/{kind};{CRLF}\tboundary="{boundary}"', body


def _text_part(kind: str, text: str, style: ClientStyle, encoding: str) -> str:
    """A text/plain or text/html part in the client's charset and transfer encoding."""
    data = text.replace("\n", "\r\n").encode(style.codec)
    body = _qp(data) if encoding == "quoted-printable" else _b64(data)
    return _part([f'Content-Type: text/{kind};{CRLF}\tcharset="{style.label}"',
                  f"Content-Transfer-Encoding: {encoding}"], body)


def _html_from_text(text: str, charset: str) -> str:
    """The HTML alternative a webmail or desktop client generates from plain text."""
    lines = "".join(f"<div>{escape(line) or '<br>'}</div>" for line in text.split("\n"))
    return (f'<html><head><meta http-equiv="content-type" content="text/html; charset={charset}">'
            f'</head><body style="font-size:14px;font-family:宋体">{lines}</body></html>')


def _attachment_part(att: Attachment, style: ClientStyle) -> str:
    """A base64 attachment part with the name written the client's way; an attached message (message/rfc822,
    "forward as attachment") as it is, 8bit, the way Foxmail and Outlook attach one."""
    name = _name_params("name", att.filename, style)
    filename = _name_params("filename", att.filename, style)
    fold = ";" + CRLF + "\t"
    message = att.mime_type == "message/rfc822"
    return _part([f"Content-Type: {att.mime_type};{CRLF}\t" + fold.join(name),
                  "Content-Transfer-Encoding: " + ("8bit" if message else "base64"),
                  "Content-Disposition: attachment;" + CRLF + "\t" + fold.join(filename)],
                 att.data.decode("utf-8") if message else _b64(att.data))


def _boundary(style_name: str, message_id: str, level: int) -> str:
    """A fixed MIME boundary in the shape the client uses."""
    h = _digest("boundary", message_id, level, length=32).upper()
    return {
        "foxmail": f"----=_00{level}_NextPart{int(h[:12], 16) % 10**12:012d}_=----",
        "netease": f"----=_Part_{int(h[:6], 16)}_{int(h[6:14], 16)}.17482{int(h[14:22], 16) % 10**8:08d}",
        "outlook": f"----=_NextPart_00{level}_{h[:4]}_01DBCE{h[4:6]}.{h[6:14]}",
        "qq": f"----=_NextPart_{h[:8]}_{h[8:16]}_{h[16:24]}",
        "iphone": f"Apple-Mail-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}",
    }.get(style_name, f"=_{h}_{level}")


def _received_time(moment: datetime) -> str:
    """RFC 5322 date with the ``(CST)`` comment Coremail appends."""
    return format_datetime(moment.astimezone(CST)) + " (CST)"


PUBLIC_FIRST_OCTETS = (27, 36, 42, 58, 60, 101, 106, 110, 111, 113, 115, 116, 117, 119, 120, 121, 123, 124, 183,
                       202, 211, 218, 220, 221, 222, 223)


def _ip(*parts: object) -> str:
    """A stable public-looking (Chinese-ISP style) IPv4 address."""
    h = bytes.fromhex(_digest("ip", *parts, length=8))
    return f"{PUBLIC_FIRST_OCTETS[h[0] % len(PUBLIC_FIRST_OCTETS)]}.{h[1]}.{h[2]}.{(h[3] % 250) + 2}"


def _mx_received(relay: str, message_id: str, received: datetime) -> str:
    """The topmost line mx.126.com adds; its time is the receipt time."""
    token = _digest("mx", message_id, received, length=22)
    return (f"Received: from {relay} (unknown [{_ip(relay)}]){CRLF}\tby mx.126.com (Coremail) with SMTP id {token}"
            f"--.{int(token[:4], 16)}S3;{CRLF}\t{_received_time(received)}")


def _sender_received(from_addr: str, message_id: str, sent: datetime) -> tuple[str, str]:
    """``(relay_host, Received line)`` written by the sender's own mail server."""
    domain = from_addr.rsplit("@", 1)[-1]
    token = _digest("smtp-id", message_id, length=24)
    client = f"PC-{token[:6].upper()}"
    if domain == "qq.com":
        return (f"out{_ip(domain, message_id).replace('.', '-')}.mail.qq.com",
                f"Received: from {client} ([{_ip('client', message_id)}]){CRLF}\tby newxmesmtplogicsvrszc13-0.qq.com"
                f" (NewEsmtp) with SMTP{CRLF}\tid {token[:16].upper()}; {_received_time(sent)}")
    if domain in ("126.com", "163.com"):
        return (f"m{int(token[:2], 16) % 16 + 1}-{int(token[2:4], 16)}.{domain}",
                f"Received: from {client} (unknown [{_ip('client', message_id)}]){CRLF}\tby smtp"
                f"{int(token[4:5], 16) % 9 + 1} (Coremail) with SMTP id _____{token[:18]}--.{int(token[18:22], 16)}S2"
                f"{CRLF}\tfor <{RECIPIENT}>; {_received_time(sent)}")
    return (f"mail.{domain}",
            f"Received: from {client} (unknown [{_ip('client', message_id)}]){CRLF}\tby mail.{domain} (Postfix) "
            f"with ESMTPA id {token[:11].upper()}{CRLF}\tfor <{RECIPIENT}>; {_received_time(sent)}")


def received_headers(from_addr: str, message_id: str, sent: datetime, received: datetime | None) -> list[str]:
    """The sender-side Received line and, when ``received`` is given, the mx.126.com one above it."""
    relay, lower = _sender_received(from_addr, message_id, sent)
    return [_mx_received(relay, message_id, received), lower] if received is not None else [lower]


def _body_entity(style_name: str, style: ClientStyle, message_id: str, text: str, html: str | None,
                 encoding: str) -> tuple[str, str]:
    """``(content_type, body)`` of the readable part: text alone or text+html alternative."""
    if style.alternative or html is not None:
        html = html if html is not None else _html_from_text(text, style.label)
        parts = [_text_part("plain", text, style, encoding), _text_part("html", html, style, encoding)]
        return _multipart("alternative", _boundary(style_name, message_id, 2), parts)
    part = _text_part("plain", text, style, encoding)
    head, body = part.split(CRLF + CRLF, 1)
    return head.removeprefix("Content-Type: "), body


def eml(*, subject: str, from_name: str, from_addr: str, to: str = RECIPIENT, date: datetime,
        received: datetime | None, message_id: str, body_text: str | None = None, body_html: str | None = None,
        attachments: Sequence[Attachment] = (), style: Style = "foxmail",
        extra_headers: Sequence[tuple[str, str]] = (), body_encoding: str | None = None,
        submitted: datetime | None = None) -> bytes:
    """Raw RFC 5322 bytes written by hand the way ``style``'s client writes them.

    ``received`` adds a topmost ``Received: … by mx.126.com …; <time>`` line (the
    receipt time); a lower Received line from the sender's server is always
    present, stamped ``submitted`` (default: two seconds before receipt).
    ``extra_headers`` go after the standard headers.
    """
    cs = STYLES[style]
    text = body_text or ""
    sent_at = submitted or (received - timedelta(seconds=2) if received else date)
    headers = received_headers(from_addr, message_id, sent_at, received)
    headers += [f"Date: {format_datetime(date)}", f"From: {_address(from_name, from_addr, cs)}",
                f"To: {to}", f"Subject: {_header_text(subject, cs)}", f"Message-ID: {message_id}"]
    headers += [f"X-Mailer: {cs.mailer}"] if cs.mailer else []
    headers += [f"{k}: {v}" for k, v in (*cs.extra, *extra_headers)]
    if style == "plain":
        return (CRLF.join(headers) + CRLF + CRLF).encode() + text.replace("\n", CRLF).encode(cs.codec) + b"\r\n"
    encoding = body_encoding or cs.body_encoding
    content_type, body = _body_entity(style, cs, message_id, text, body_html, encoding)
    if attachments:
        readable = _part([f"Content-Type: {content_type}"], body)
        parts = [readable] + [_attachment_part(a, cs) for a in attachments]
        content_type, body = _multipart("mixed", _boundary(style, message_id, 1), parts,
                                        "This is a multi-part message in MIME format.")
    headers += [f"MIME-Version: {cs.mime_version}", f"Content-Type: {content_type}"]
    return (CRLF.join(headers) + CRLF + CRLF + body).encode("utf-8")


def dsn_eml(*, reporting_host: str, original_rcpt: str, original_subject: str, original_id: str,
            date: datetime, received: datetime, message_id: str) -> bytes:
    """A Postfix delivery-status notification (multipart/report) from MAILER-DAEMON."""
    cs = STYLES["plain"]
    queue_id = _digest("queue", message_id, length=10).upper()
    notice = (f"This is the mail system at host {reporting_host}.{CRLF}{CRLF}I'm sorry to have to inform you that "
              f"your message could not{CRLF}be delivered to one or more recipients. It's attached below.{CRLF}{CRLF}"
              f"<{original_rcpt}>: host {reporting_host}[private/dovecot-lmtp] said: 552{CRLF}    5.2.2 "
              f"<{original_rcpt}> Quota exceeded (mailbox for user is full){CRLF}")
    status = (f"Reporting-MTA: dns; {reporting_host}{CRLF}X-Postfix-Queue-ID: {queue_id}{CRLF}"
              f"X-Postfix-Sender: rfc822; {RECIPIENT}{CRLF}Arrival-Date: {format_datetime(date - timedelta(seconds=3))}"
              f"{CRLF}{CRLF}Final-Recipient: rfc822; {original_rcpt}{CRLF}Original-Recipient: rfc822;{original_rcpt}"
              f"{CRLF}Action: failed{CRLF}Status: 5.2.2{CRLF}Diagnostic-Code: smtp; 552 5.2.2 Quota exceeded{CRLF}")
    original = (f"Date: {format_datetime(date - timedelta(seconds=5))}{CRLF}From: {RECIPIENT}{CRLF}"
                f"To: {original_rcpt}{CRLF}Subject: {_header_text(original_subject, STYLES['netease'])}{CRLF}"
                f"Message-ID: {original_id}{CRLF}Auto-Submitted: auto-replied{CRLF}")
    parts = [_part(["Content-Description: Notification", "Content-Type: text/plain; charset=us-ascii"], notice),
             _part(["Content-Description: Delivery report", "Content-Type: message/delivery-status"], status),
             _part(["Content-Description: Undelivered Message Headers", "Content-Type: text/rfc822-headers"], original)]
    boundary = f"{queue_id}.{FIXED_UNIX}/{reporting_host}"
    content_type, body = _multipart("report", boundary, parts, "This is a MIME-encapsulated message.")
    content_type = content_type.replace("multipart/report;", "multipart/report; report-type=delivery-status;")
    headers = [_mx_received(reporting_host, message_id, received),
               f"Received: by {reporting_host} (Postfix){CRLF}\tid {queue_id}; {_received_time(date)}",
               "Return-Path: <>", f"Date: {format_datetime(date)}",
                f"From: MAILER-DAEMON@{reporting_host} (Mail Delivery System)",
                f"Subject: {_header_text('Undelivered Mail Returned to Sender', cs)}", f"To: {RECIPIENT}",
                "Auto-Submitted: auto-replied", "MIME-Version: 1.0", f"Content-Type: {content_type}",
                "Content-Transfer-Encoding: 8bit", f"Message-Id: {message_id}"]
    return (CRLF.join(headers) + CRLF + CRLF + body).encode("ascii")


# --------------------------------------------------------------------------
# Campaign content
# --------------------------------------------------------------------------


FOUNDED = "2019年3月"


@dataclass(frozen=True)
class Studio:
    """One studio applying through one recommending unit."""

    unit: str
    leader: str
    gender: str
    applicant: str
    category: str = "劳模和工匠人才"
    industry: str = "制造业"
    seed: int = 0
    founded: str = FOUNDED
    member_count: int = 6                                # members besides the leader
    results: int = 3                                     # 主要创新成果 listed on the form
    leader_changes: tuple[tuple[str, str], ...] = ()     # e.g. (("title", "副主任医师"),) on the form and summary
    summary_changes: tuple[tuple[str, Any], ...] = ()    # the summary row disagreeing with the form
    form_bytes: bytes | None = None                      # a hand-filled form instead of the template
    plain_name: bool = False                             # a 名师/名医 studio named without its category word

    @property
    def name(self) -> str:
        """The studio's name, e.g. ``李红名师创新工作室``."""
        prefix = "" if self.category == "劳模和工匠人才" or self.plain_name else self.category
        return f"{self.leader}{prefix}创新工作室"

    @property
    def subject(self) -> str:
        """The subject (and archive stem) the notice prescribes."""
        return f"{self.unit}{self.name}入库材料"

    @property
    def profile(self) -> Leader:
        """The leader's details."""
        return replace(make_leader(self.leader, self.gender, self.category, self.seed), **dict(self.leader_changes))

    @property
    def field(self) -> str:
        """The studio's 创新领域 / 专业领域."""
        return _rng("field", self.name).choice(POOLS[self.category]["field"])

    @property
    def members(self) -> list[Member]:
        """The studio's members (leader not included)."""
        return make_members(self.category, self.seed, self.member_count)

    def form(self) -> bytes:
        """This studio's filled 附件1 申报表."""
        if self.form_bytes is not None:
            return self.form_bytes
        return form_docx(self.applicant, self.name, self.profile, self.category, self.members, seed=self.seed,
                         founded=self.founded, industry=self.industry, field=self.field, results=self.results)

    def summary_row(self) -> dict[str, Any]:
        """This studio's row of the 附件2 汇总表 (consistent with :meth:`form`)."""
        lead = self.profile
        return {"推荐单位": self.unit, "申报单位": self.applicant, "工作室名称": self.name, "带头人姓名": lead.name,
                "年龄": lead.age, "性别": lead.gender, "职务": lead.position, "技术等级/职称": lead.title,
                "曾获最高荣誉": lead.honour, "主要技术特长": lead.skill, "专业领域": self.field,
                "成员人数": len(self.members) + 1, "成立时间": self.founded, "所属行业": self.industry,
                **dict(self.summary_changes)}


EVIDENCE = {
    "劳模和工匠人才": ["市级劳动模范证书", "实用新型专利证书", "职工技术创新成果奖证书"],
    "名师": ["市级教学名师证书", "优秀教学成果奖证书", "课题结题证书"],
    "名医": ["市级名医证书", "科技进步奖证书", "工作室活动照片"],
}


@dataclass(frozen=True)
class Package:
    """Which documents go into a submission, and how they are named."""

    narrative_chars: int = 1500
    evidence: int = 2
    evidence_names: tuple[str, ...] | None = None
    png_evidence: int | None = None
    scan: Literal["pdf", "jpg", None] = "pdf"
    scan_seal: bool = True
    scan_pages: int = 1
    word_form: bool = True
    narrative: bool = True
    summary: Literal["xlsx", "docx", None] = "xlsx"
    folder: str = ""
    table_chars: int = 0
    textbox_chars: int = 0
    numbered: bool = True          # False: the files without the notice's （1）…（4） (四.4)


def _evidence_files(studio: Studio, pkg: Package) -> list[tuple[str, bytes]]:
    """The （3）佐证材料 folder: numbered JPEGs unless told otherwise."""
    titles = EVIDENCE[studio.category][: pkg.evidence]
    names = pkg.evidence_names or tuple(f"3-{i} {t}.jpg" for i, t in enumerate(titles, start=1))
    files = []
    for i, name in enumerate(names, start=1):
        maker = photo_png if pkg.png_evidence == i else photo_jpeg
        files.append((f"{EVIDENCE_DIR}/{name}", maker(name, studio.seed + i)))
    return files


def materials(studio: Studio, pkg: Package = Package()) -> list[tuple[str, bytes]]:
    """The documents of one submission as ``(path, bytes)`` in the notice's order."""
    files: list[tuple[str, bytes]] = []
    if pkg.word_form:
        files.append((f"{FORM_FILE}.docx", studio.form()))
    if pkg.scan == "pdf":
        files.append((f"{FORM_FILE}（盖章扫描件）.pdf",
                      stamped_scan_pdf(studio.name, studio.seed, pkg.scan_pages, pkg.scan_seal)))
    elif pkg.scan == "jpg":
        files.append((f"{FORM_FILE}（盖章扫描件）.jpg", stamped_scan_jpeg(studio.name, studio.seed)))
    if pkg.narrative:
        files.append((f"（2）{studio.name}事迹材料.docx",
                      narrative_docx(studio.name, pkg.narrative_chars, studio.seed, category=studio.category,
                                     table_chars=pkg.table_chars, textbox_chars=pkg.textbox_chars)))
    files += _evidence_files(studio, pkg)
    if pkg.summary:
        maker = summary_xlsx if pkg.summary == "xlsx" else summary_docx
        files.append((f"{SUMMARY_FILE}.{pkg.summary}", maker([studio.summary_row()])))
    if not pkg.numbered:
        files = [(re.sub(r"(^|/)（\d）", r"\1", name), data) for name, data in files]
    if pkg.folder:
        files = [(f"{pkg.folder}/{name}", data) for name, data in files]
    return files


def mac_zip_files(files: Files) -> list[tuple[str, bytes]]:
    """Files as macOS Finder zips them: folders listed, plus ``__MACOSX/._*`` AppleDouble entries."""
    apple_double = (b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x01\x00\x00\x00\x09\x00\x00\x00\x32"
                    b"\x00\x00\x00\x20" + b"ATTR" + bytes(28))
    extras = []
    for name, _ in files:
        folder, _, leaf = name.rpartition("/")
        extras.append((f"__MACOSX/{folder}/._{leaf}" if folder else f"__MACOSX/._{leaf}", apple_double))
    return with_dirs(list(files) + extras)


def clerk_body(what: str, contact: str, phone: str, signature: str = "") -> str:
    """The short note a union clerk writes above the attachment."""
    lines = ["您好！", f"附件为{what}，请查收。", f"联系人：{contact}　电话：{phone}"]
    return "\n".join(lines + (["", signature] if signature else []))


# --------------------------------------------------------------------------
# The sample set
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Sender:
    """Who sends a message and with what client."""

    name: str
    addr: str
    style: Style
    contact: str
    phone: str


@dataclass(frozen=True)
class Sample:
    """One sample message and the verdict the pipeline must reach."""

    slug: str
    verdict: str
    codes: tuple[str, ...]
    build: Callable[[], bytes]


def _at(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    """A moment in May 2025, Beijing time."""
    return datetime(2025, 5, day, hour, minute, second, tzinfo=CST)


def _message_id(moment: datetime, addr: str) -> str:
    """``<20250526100211.1234@zdxzgh.126.com>``-style id."""
    local, domain = addr.split("@")
    return f"<{moment:%Y%m%d%H%M%S}.{int(_digest('mid', addr, moment, length=4), 16) % 10000:04d}@{local}.{domain}>"


@dataclass(frozen=True)
class Submission:
    """A clerk's e-mail carrying the materials of one studio."""

    studio: Studio
    sender: Sender
    received: datetime
    package: Package = Package()
    archive: Literal["zip", "zip-mac", "7z", "rar4", "rar5", "none"] = "zip"
    subject: str | None = None
    archive_name: str | None = None
    date: datetime | None = None
    body: str | None = None
    rar_solid: bool = False
    mutate: Callable[[bytes], bytes] | None = None
    evil_member: str | None = None
    sevenz_password: str | None = None
    submitted: datetime | None = None   # when the sender's own server took it (default: just before receipt)

    @property
    def sent(self) -> datetime:
        """The Date header (a minute or so before receipt unless forged)."""
        return self.date or self.received - timedelta(seconds=37 + self.studio.seed % 50)

    @property
    def message_id(self) -> str:
        """This message's Message-ID."""
        return _message_id(self.sent, self.sender.addr)

    def archive_bytes(self, files: list[tuple[str, bytes]]) -> bytes:
        """Pack ``files`` the way this sender does."""
        packers: dict[str, Callable[[], bytes]] = {
            "zip": lambda: (zip_with_member(with_dirs(files), self.evil_member) if self.evil_member
                            else zip_bytes(with_dirs(files), "gbk")),
            "zip-mac": lambda: zip_bytes(mac_zip_files(files), "utf8-noflag"),
            "7z": lambda: sevenz_bytes(files, self.sevenz_password, header_encryption=bool(self.sevenz_password)),
            "rar4": lambda: rar_bytes(files, 4, self.rar_solid),
            "rar5": lambda: rar_bytes(with_dirs(files), 5, self.rar_solid),
        }
        data = packers[self.archive]()
        return self.mutate(data) if self.mutate else data

    def attachments(self) -> list[Attachment]:
        """The archive (or, with ``archive="none"``, every document loose)."""
        files = materials(self.studio, self.package)
        if self.archive == "none":
            return [Attachment(name.rsplit("/", 1)[-1], data) for name, data in files]
        ext = {"zip-mac": "zip", "rar4": "rar", "rar5": "rar"}.get(self.archive, self.archive)
        return [Attachment(self.archive_name or f"{self.studio.subject}.{ext}", self.archive_bytes(files))]

    def to_eml(self, received: datetime | None = None) -> bytes:
        """The raw message (``received`` overrides the receipt time, for redeliveries)."""
        s = self.sender
        signature = "发自我的iPhone" if s.style == "iphone" else s.addr
        body = self.body or clerk_body(self.studio.subject, s.contact, s.phone, signature)
        return eml(subject=self.subject or self.studio.subject, from_name=s.name, from_addr=s.addr,
                   date=self.sent, received=received or self.received, message_id=self.message_id,
                   body_text=body, attachments=self.attachments(), style=s.style,
                   submitted=self.submitted or self.received - timedelta(seconds=2))


def _studio(unit: str, leader: str, gender: str, applicant: str, seed: int, **kw: Any) -> Studio:
    """Shorthand constructor for :class:`Studio`."""
    return Studio(unit, leader, gender, applicant, seed=seed, **kw)


def _foxmail(name: str, addr: str, contact: str, phone: str) -> Sender:
    """A county clerk sending with Foxmail on Chinese Windows."""
    return Sender(name, addr, "foxmail", contact, phone)


ZHENGDING = _studio("正定县总工会", "张三", "男", "河北正恒精密机械有限公司", 1)
LUQUAN = _studio("鹿泉区总工会", "孙伟", "男", "石家庄鹿泉区宏达建材有限公司", 6)
GAOYI = _studio("高邑县总工会", "钱进", "男", "高邑县华瓷陶瓷有限公司", 27)


MESSY_FORM = (1, "form021-")   # (seed, name prefix) of the formgen case sample 34 carries


def messy_form_case() -> Any:
    """The hand-filled-looking form of sample 34 (scripts/formgen.py), with its ground truth."""
    import formgen  # imports this module: only loaded when needed

    seed, prefix = MESSY_FORM
    return next(c for c in formgen.messy_forms(seed=seed, count=60) if c.name.startswith(prefix))


def _messy_form_studio() -> Studio:
    """A studio whose form is filled the messy way (spaced labels, vertical leader block, tracked changes …)."""
    case = messy_form_case()
    t = case.truth
    return _studio("藁城区总工会", str(t["leader_name"]), str(t["leader_gender"]), str(t["applicant_unit"]), 34,
                   industry=str(t["industry"]), form_bytes=case.docx,
                   summary_changes=(("带头人姓名", t["leader_name"]), ("成员人数", t["member_count"]),
                                    ("成立时间", t["established"]), ("技术等级/职称", t["leader_title"])))


def _submissions() -> dict[str, Submission]:
    """The clerk-written samples, keyed by ``NN-slug``."""
    return {
        "01-accepted-zip-gbk": Submission(
            ZHENGDING, _foxmail("正定县总工会", "zdxzgh@126.com", "王喆", "0311-88012345"), _at(26, 10, 2, 11),
            Package(narrative_chars=1500, evidence=3, scan_pages=2)),
        # 名师 studios come through 市教科文卫工会 (三、四.2), led by a 市级教学名师 (一(三)1第一)
        "02-accepted-7z-utf8": Submission(
            _studio("石家庄市教科文卫工会", "李红", "女", "石家庄市桥西区育英小学", 2, category="名师", industry="教育",
                    leader_changes=(("honour", "石家庄市教学名师"),)),
            Sender("市教科文卫工会", "jkwwgh_sjz@163.com", "outlook", "赵晓燕", "0311-86023456"), _at(21, 15, 40, 5),
            Package(summary="docx"), archive="7z"),
        "03-accepted-rar5": Submission(
            _studio("石家庄市教科文卫工会", "王建国", "男", "石家庄市第三医院", 3, category="名医",
                    industry="卫生和社会工作"),
            Sender("市教科文卫工会", "sjzjkwwgh@126.com", "netease", "刘倩", "0311-86690231"), _at(22, 9, 15, 42),
            Package(scan="jpg"), archive="rar5"),
        "04-accepted-mac-zip-deadline-day": Submission(
            _studio("辛集市总工会", "赵磊", "男", "河北辛集皮革制品有限公司", 4),
            Sender("辛集市总工会", "xjszgh@126.com", "iphone", "马丽", "13931188765"), _at(30, 23, 10, 27),
            Package(folder="辛集市总工会赵磊创新工作室入库材料"), archive="zip-mac", date=_at(30, 23, 9, 58)),
        # an enterprise union the office has not yet listed as 市总直属 (四.3): staff confirm it
        "05-enterprise-not-on-roster-rar4": Submission(
            _studio("河北敬业集团有限公司工会", "刘洋", "男", "河北敬业集团有限公司", 5),
            Sender("敬业集团工会", "2875431906@qq.com", "qq", "高峰", "0311-82916688"), _at(23, 11, 5, 9),
            Package(folder="河北敬业集团有限公司工会刘洋创新工作室入库材料"), archive="rar4", rar_solid=True),
        "06-narrative-too-short": Submission(
            LUQUAN, _foxmail("鹿泉区总工会", "lqqzgh@163.com", "杜娟", "0311-82016677"), _at(24, 16, 20, 33),
            Package(narrative_chars=780)),
        "07-resubmission-fixed": Submission(
            LUQUAN, _foxmail("鹿泉区总工会", "lqqzgh@163.com", "杜娟", "0311-82016677"), _at(26, 16, 45, 12),
            Package(narrative_chars=1300),
            body="您好！\n根据反馈意见，已将事迹材料补充至1000字以上，现重新报送鹿泉区总工会孙伟创新工作室入库材料，"
                 "请查收。\n联系人：杜娟　电话：0311-82016677"),
        "08-evidence-png-renamed": Submission(
            _studio("藁城区总工会", "周静", "女", "石家庄藁城区恒信纺织有限公司", 8),
            Sender("藁城区总工会", "gcqzgh@126.com", "netease", "范文", "0311-88156021"), _at(25, 10, 30, 51),
            Package(png_evidence=2)),
        "09-evidence-unnumbered": Submission(
            _studio("新乐市总工会", "吴刚", "男", "新乐市华通电力工程有限公司", 9,
                    industry="电力、热力、燃气及水生产和供应业"),
            Sender("新乐市总工会", "xlszgh@163.com", "netease", "孟凡", "0311-88562310"), _at(27, 14, 5, 20),
            Package(evidence_names=("荣誉证书.jpg", "专利证书.jpg"))),
        "10-missing-scan": Submission(
            _studio("长安区总工会", "郑强", "男", "石家庄长安区城市供热有限公司", 10,
                    industry="电力、热力、燃气及水生产和供应业"),
            _foxmail("长安区总工会", "caqzgh@sjzca.gov.cn", "韩雪", "0311-86687010"), _at(27, 9, 40, 2),
            Package(scan=None)),
        "11-missing-word-form": Submission(
            _studio("裕华区总工会", "冯敏", "女", "石家庄裕华区康泰食品有限公司", 11),
            Sender("裕华区总工会", "yhqzgh@126.com", "outlook", "石磊", "0311-85203344"), _at(28, 10, 12, 45),
            Package(word_form=False)),
        "12-missing-narrative-summary": Submission(
            _studio("新华区总工会", "陈晨", "男", "石家庄新华区顺达物流有限公司", 12,
                    industry="交通运输、仓储和邮政业"),
            Sender("新华区总工会", "1398765432@qq.com", "qq", "袁媛", "0311-87025566"), _at(28, 15, 33, 8),
            Package(narrative=False, summary=None)),
        "13-subject-format": Submission(
            _studio("晋州市总工会", "褚磊", "男", "晋州市金穗纺织有限公司", 13),
            _foxmail("晋州市总工会", "jzszgh@163.com", "贾宁", "0311-84316020"), _at(29, 9, 20, 14),
            subject="褚磊创新工作室申报材料"),
        "14-base-unit": Submission(
            _studio("正定县第一中学工会", "卫东", "男", "正定县第一中学", 14, category="名师", industry="教育"),
            Sender("正定一中工会", "zdyzgh@126.com", "netease", "卫红", "0311-88026120"), _at(22, 14, 48, 30)),
        "15-no-attachment": Submission(
            _studio("赞皇县总工会", "蒋涛", "男", "赞皇县金隅水泥有限公司", 15),
            _foxmail("赞皇县总工会", "zhxzgh@126.com", "梁静", "0311-84226035"), _at(23, 17, 2, 40),
            archive="none", package=Package(word_form=False, scan=None, narrative=False, evidence=0, summary=None)),
        "16-loose-files": Submission(
            _studio("元氏县总工会", "沈洁", "女", "元氏县恒达机械制造有限公司", 16),
            Sender("元氏县总工会", "ysxzgh@163.com", "netease", "孔丽", "0311-84626011"), _at(26, 11, 30, 16),
            archive="none"),
        "17-archive-name-mismatch": Submission(
            _studio("赵县总工会", "韩梅", "女", "赵县雪花梨果品加工有限公司", 17),
            _foxmail("赵县总工会", "zxzgh@126.com", "曹阳", "0311-84926018"), _at(27, 16, 18, 49),
            archive_name="申报材料.zip"),
        "18-archive-corrupt": Submission(
            _studio("平山县总工会", "杨帆", "男", "平山县西柏坡电力设备有限公司", 18),
            Sender("平山县总工会", "3201987456@qq.com", "qq", "邱实", "0311-82926310"), _at(28, 11, 47, 3),
            mutate=truncate),
        "19-archive-encrypted": Submission(
            _studio("灵寿县总工会", "朱丽", "女", "灵寿县石材工艺品有限公司", 19),
            Sender("灵寿县总工会", "lsxzgh@126.com", "outlook", "崔浩", "0311-82526602"), _at(29, 10, 5, 36),
            archive="7z", sevenz_password="lszgh2025"),
        "20-unsafe-archive": Submission(
            _studio("无极县总工会", "秦川", "男", "无极县皮革工业有限公司", 20),
            _foxmail("无极县总工会", "wjxzgh@126.com", "董洁", "0311-85526130"), _at(29, 15, 26, 55),
            evil_member="../../evil.txt"),
        "21-late": Submission(
            _studio("深泽县总工会", "许诺", "女", "深泽县纺织机械有限公司", 21),
            Sender("深泽县总工会", "szxzgh@163.com", "netease", "吕洋", "0311-83526012"),
            datetime(2025, 5, 31, 9, 12, 4, tzinfo=CST), date=_at(30, 18, 0, 0)),
        "28-form-team-too-small": Submission(
            _studio("井陉县总工会", "贾亮", "男", "井陉县矿山机械有限公司", 28, member_count=1),
            _foxmail("井陉县总工会", "jxxzgh@126.com", "田甜", "0311-82026501"), _at(26, 9, 12, 40)),
        "29-form-too-recent": Submission(
            _studio("栾城区总工会", "邱敏", "女", "石家庄栾城区绿源食品有限公司", 29, founded="2024.10"),
            Sender("栾城区总工会", "lcqzgh@163.com", "netease", "严冬", "0311-85462210"), _at(27, 10, 48, 2)),
        "30-form-few-results": Submission(
            _studio("井陉矿区总工会", "常凯", "男", "井陉矿区煤机配件有限公司", 30, results=1),
            _foxmail("井陉矿区总工会", "jxkqzgh@126.com", "林琳", "0311-82816321"), _at(27, 15, 2, 18)),
        "31-form-blank-phone": Submission(
            _studio("高新区总工会", "方圆", "女", "石家庄高新区康力药业有限公司", 31, leader_changes=(("phone", ""),)),
            Sender("高新区总工会", "gxqzgh@126.com", "outlook", "彭辉", "0311-67501234"), _at(28, 9, 3, 55)),
        "32-summary-mismatch": Submission(
            _studio("循环化工园区总工会", "白雪", "女", "石家庄循环化工园区华能化工有限公司", 32,
                    summary_changes=(("带头人姓名", "白雪梅"), ("成员人数", 9))),
            _foxmail("循环化工园区总工会", "xhhgyq@126.com", "江河", "0311-67883456"), _at(28, 14, 40, 7)),
        "33-mingyi-leader-title": Submission(
            _studio("石家庄市教科文卫工会", "段明", "男", "石家庄市第一医院", 33, category="名医",
                    industry="卫生和社会工作", leader_changes=(("title", "副主任医师"),)),
            Sender("市教科文卫工会", "sjzjkwwgh@126.com", "netease", "刘倩", "0311-86690231"), _at(29, 11, 26, 30),
            Package(scan="jpg")),
        "34-messy-form": Submission(
            _messy_form_studio(), Sender("藁城区总工会", "gcqzgh@126.com", "netease", "范文", "0311-88156021"),
            _at(29, 14, 12, 6)),
        "35-scan-without-seal": Submission(
            _studio("行唐县总工会", "温良", "男", "行唐县农机制造有限公司", 35),
            _foxmail("行唐县总工会", "xtxzgh@126.com", "葛优", "0311-82726688"), _at(29, 16, 5, 12),
            Package(scan_seal=False)),
        "27-narrative-table-textbox": Submission(
            GAOYI, _foxmail("高邑县总工会", "gyxzgh@126.com", "苏畅", "0311-84026688"), _at(30, 16, 20, 9),
            Package(narrative_chars=700, table_chars=170, textbox_chars=170)),
        # a 名师 studio by its leader's title and honour (not its name), sent by a county union (三、四.2)
        "36-mingshi-by-form-via-county": Submission(
            _studio("裕华区总工会", "赵雅丽", "女", "石家庄市裕华区东苑小学", 36, category="名师", industry="教育",
                    plain_name=True, leader_changes=(("honour", "石家庄市学科名师"),)),
            Sender("裕华区总工会", "yhqzgh@126.com", "outlook", "石磊", "0311-85203344"), _at(27, 11, 20, 40),
            Package(evidence=1, narrative_chars=1100)),
        # Date 23:52 on deadline day, taken by the sender's server at 23:52, delivered at 01:05: a server's delay
        "37-delayed-by-server": Submission(
            _studio("赞皇县总工会", "齐峰", "男", "赞皇县恒泰机械有限公司", 37),
            _foxmail("赞皇县总工会", "zhxzgh@126.com", "梁静", "0311-84226035"),
            datetime(2025, 5, 31, 1, 5, 12, tzinfo=CST), Package(evidence=1, narrative_chars=1100),
            date=_at(30, 23, 52, 10), submitted=_at(30, 23, 52, 14)),
    }


LARGE_FILE_TOKEN = "X-NETEASE-HUGE-ATTACHMENT.7f2a1c4e9b3d5a6f"


def _large_attachment_message() -> bytes:
    """22: NetEase 超大附件 — a download link in the body instead of an attachment."""
    studio = _studio("行唐县总工会", "何平", "男", "行唐县红枣食品有限公司", 22)
    name = f"{studio.subject}.zip"
    url = (f"https://mail.163.com/large-attachment-download/index.html?p={LARGE_FILE_TOKEN}"
           f"&file={_digest('file', name, length=32)}&title={quote(name)}")
    expiry = "2025年6月13日 17:40"
    text = clerk_body(studio.subject, "郭亮", "0311-82826031") + (
        f"\n\n从网易163邮箱发来的超大附件\n{name} (86.42M, {expiry} 到期)\n下载地址：{url}\n")
    html = (f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"></head><body>'
            f'<div>您好！</div><div>附件为{studio.subject}，请查收。</div><div>联系人：郭亮　电话：0311-82826031</div>'
            f'<div id="divNeteaseBigAttach" style="margin-top:20px"><div style="font-weight:bold">'
            f'从网易163邮箱发来的超大附件</div><table><tr><td><a href="{escape(url)}" target="_blank">{name}</a>'
            f'</td><td>86.42M</td><td>{expiry} 到期</td><td><a href="{escape(url)}" target="_blank">下载</a></td>'
            f'</tr></table></div></body></html>')
    moment = _at(29, 17, 40, 22)
    addr = "xtxzgh@163.com"
    return eml(subject=studio.subject, from_name="行唐县总工会", from_addr=addr, date=moment - timedelta(seconds=48),
               received=moment, message_id=_message_id(moment, addr), body_text=text, body_html=html,
               style="netease", body_encoding="quoted-printable")


def _auto_reply_message() -> bytes:
    """23: an Outlook out-of-office answer to the office's reminder."""
    moment = _at(27, 8, 3, 17)
    addr = "jxxzgh@jingxing.gov.cn"
    return eml(subject="自动回复: 关于报送劳模和工匠人才创新工作室入A级库申报材料的提醒", from_name="井陉县总工会",
               from_addr=addr, date=moment - timedelta(seconds=3), received=moment,
               message_id=_message_id(moment, addr), style="outlook",
               body_text="您好，我于5月26日至6月3日外出学习，期间不能及时回复邮件。如有急事，请致电0311-82026100。谢谢！",
               extra_headers=[("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All"),
                              ("In-Reply-To", "<20250527075901.4411@sjzjjb.126.com>"),
                              ("References", "<20250527075901.4411@sjzjjb.126.com>")])


def _bounce_message() -> bytes:
    """24: a Postfix DSN for a reply the office sent."""
    moment = _at(28, 8, 30, 6)
    return dsn_eml(reporting_host="mail.jzgh.gov.cn", original_rcpt="jzxzgh@jzgh.gov.cn",
                   original_subject="回复：井陉矿区总工会创新工作室入库材料", original_id="<20250528082958.0312@sjzjjb.126.com>",
                   date=moment - timedelta(seconds=1), received=moment,
                   message_id="<20250528003005.8A3C21F4B@mail.jzgh.gov.cn>")


def _spam_message() -> bytes:
    """26: an invoice-selling advertisement without MIME."""
    moment = _at(25, 3, 14, 51)
    addr = "kp8826@fpdk-sh.com"
    text = ("您好！\n本公司长期代开全国各地增值税普通发票、专用发票（建筑、运输、咨询、广告、材料等），"
            "点数优惠，可先验票后付款。\n联系人：陈经理　电话：13800000000（微信同号）\n"
            "此邮件为系统发送，如有打扰敬请谅解。")
    return eml(subject="代开发票（各行业）可验证后付款", from_name="陈经理", from_addr=addr,
               date=moment - timedelta(seconds=6), received=moment, message_id=_message_id(moment, addr),
               body_text=text, style="plain")


def samples() -> list[Sample]:
    """All sample messages in file order with their expected verdicts."""
    subs = _submissions()
    expectations: dict[str, tuple[str, tuple[str, ...]]] = {
        "01-accepted-zip-gbk": ("accepted", ()), "02-accepted-7z-utf8": ("accepted", ()),
        "03-accepted-rar5": ("accepted", ()), "04-accepted-mac-zip-deadline-day": ("accepted", ()),
        "05-enterprise-not-on-roster-rar4": ("review", ("UNIT_NOT_ON_ROSTER",)),
        "06-narrative-too-short": ("rejected", ("NARRATIVE_TOO_SHORT",)),
        "07-resubmission-fixed": ("accepted", ()), "08-evidence-png-renamed": ("rejected", ("EVIDENCE_NOT_JPEG",)),
        "09-evidence-unnumbered": ("rejected", ("EVIDENCE_NAMING",)),
        "10-missing-scan": ("rejected", ("MISSING_FORM_SCAN",)),
        "11-missing-word-form": ("rejected", ("MISSING_FORM_WORD",)),
        "12-missing-narrative-summary": ("rejected", ("MISSING_NARRATIVE", "MISSING_SUMMARY")),
        "13-subject-format": ("rejected", ("SUBJECT_FORMAT",)),
        "14-base-unit": ("rejected", ("LEADER_CONDITION", "NOT_RECOMMENDING_UNIT")),
        "15-no-attachment": ("rejected", ("NO_ATTACHMENT",)), "16-loose-files": ("rejected", ("NOT_ARCHIVE",)),
        "17-archive-name-mismatch": ("rejected", ("ARCHIVE_NAME_MISMATCH",)),
        "18-archive-corrupt": ("rejected", ("ARCHIVE_CORRUPT",)),
        "19-archive-encrypted": ("rejected", ("ARCHIVE_ENCRYPTED",)),
        "20-unsafe-archive": ("rejected", ("UNSAFE_ARCHIVE",)), "21-late": ("rejected", ("LATE",)),
        "27-narrative-table-textbox": ("accepted", ()),
        "28-form-team-too-small": ("review", ("TEAM_TOO_SMALL",)), "29-form-too-recent": ("review", ("TOO_RECENT",)),
        "30-form-few-results": ("review", ("TOO_FEW_RESULTS",)),
        "31-form-blank-phone": ("review", ("FORM_FIELDS_MISSING",)),
        "32-summary-mismatch": ("review", ("SUMMARY_MISMATCH",)),
        "33-mingyi-leader-title": ("review", ("LEADER_CONDITION",)),
        "34-messy-form": ("accepted", ()), "35-scan-without-seal": ("review", ("SEAL_NOT_VISIBLE",)),
        "36-mingshi-by-form-via-county": ("review", ("CATEGORY_CHANNEL",)),
        "37-delayed-by-server": ("review", ("DELAYED_DELIVERY",)),
    }
    out = [Sample(slug, *expectations[slug], sub.to_eml) for slug, sub in subs.items()]
    out += [
        Sample("22-large-attachment-link", "review", ("LARGE_ATTACHMENT_LINK",), _large_attachment_message),
        Sample("23-auto-reply", "ignored", ("AUTO_REPLY",), _auto_reply_message),
        Sample("24-bounce", "ignored", ("BOUNCE",), _bounce_message),
        Sample("25-duplicate", "ignored", ("DUPLICATE",),
               lambda: subs["01-accepted-zip-gbk"].to_eml(received=_at(26, 10, 31, 48))),
        Sample("26-unrelated", "ignored", ("UNRELATED",), _spam_message),
    ]
    return sorted(out, key=lambda s: s.slug)


def generate(out_dir: Path) -> dict[str, dict[str, Any]]:
    """Write every sample and ``expected.json`` into ``out_dir``; return the expectations."""
    out_dir.mkdir(parents=True, exist_ok=True)
    expected: dict[str, dict[str, Any]] = {}
    for sample in samples():
        name = f"{sample.slug}.eml"
        (out_dir / name).write_bytes(sample.build())
        expected[name] = {"verdict": sample.verdict, "codes": sorted(sample.codes)}
    text = json.dumps(expected, ensure_ascii=False, indent=2) + "\n"
    (out_dir / "expected.json").write_text(text, encoding="utf-8")
    return expected


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python scripts/samplegen.py [--out sample_mail]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "sample_mail",
                        help="output folder (default: <repo>/sample_mail)")
    args = parser.parse_args(argv)
    expected = generate(args.out)
    total = sum((args.out / name).stat().st_size for name in expected)
    print(f"wrote {len(expected)} messages ({total / 1024:.0f} KiB) and expected.json to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
