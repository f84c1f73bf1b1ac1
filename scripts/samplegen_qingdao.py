#!/usr/bin/env python3
"""Sample mail for the second campaign (Qingdao 2022, campaigns/qingdao-wjw-2022.toml): the same pipeline,
configured by data alone. Writes sample_mail_qingdao/*.eml and expected.json, deterministically.

    python scripts/samplegen_qingdao.py [--out sample_mail_qingdao]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
from docx.enum.text import WD_ALIGN_PARAGRAPH
from openpyxl.styles import Alignment, Border, Side

sys.path.insert(0, str(Path(__file__).resolve().parent))
import samplegen as g  # noqa: E402  (the shared builders: documents, images, archives, MIME)

FORM_TITLE = "劳动模范（领军人才）创新工作室申报表"
SUMMARY_TITLE = "劳动模范（领军人才）创新工作室汇总表"
# 附件2 as printed: five columns; 创新工作室 and 领衔人 share one, as 职称 and 技术等级 do.
SUMMARY_HEADERS = ("创新工作室所在单位", "创新工作室\n领衔人", "职称\n技术等级", "主要创新成果",
                   "领衔人主要荣誉（限5项以内）")
# The notice names no mailbox ("报市医务工会"): the samples are addressed to a placeholder, never a real one.
RECIPIENT = "市医务工会 <mailbox@example.invalid>"
TYPES = ("技术创新型", "服务创新型", "管理创新型")
OUT = Path(__file__).resolve().parent.parent / "sample_mail_qingdao"


@dataclass(frozen=True)
class QStudio:
    """One studio of a 委属单位 applying under the Qingdao notice."""

    unit: str
    leader: str
    gender: str
    kind: str
    name_core: str                 # e.g. "张伟劳模" → 张伟劳模创新工作室
    title: str = "主任医师"
    results: tuple[str, ...] = ("2021年获青岛市科技进步二等奖（冠脉介入新技术）", "一种可调式穿刺定位架（国家实用新型专利）")
    honours: tuple[str, ...] = ("青岛市劳动模范", "青岛市拔尖人才")
    members: int = 5
    seed: int = 0
    summary_studio: str | None = None   # the summary table naming the studio otherwise than the form
    with_leader: bool = False           # the summary's 创新工作室领衔人 cell: the studio's name, then its 领衔人

    @property
    def name(self) -> str:
        return f"{self.name_core}创新工作室"

    @property
    def subject(self) -> str:
        return f"{self.unit}{self.name}申报材料"

    def crew(self) -> list[g.Member]:
        return g.make_members("名医", self.seed, self.members)


def _ticks(kind: str) -> str:
    return "　".join(("☑" if t == kind else "□") + t for t in TYPES)


def form_docx(s: QStudio) -> bytes:
    """附件1 as the office's Word template, filled in."""
    document = g._new_document(size=12)
    g._paragraph(document, "附件1", font="黑体", size=14)
    g._paragraph(document, FORM_TITLE, bold=True, size=18, align=WD_ALIGN_PARAGRAPH.CENTER, font="方正小标宋简体")
    g._paragraph(document, f"申报单位：{s.unit}（盖章）　　　　申报日期　2022年5月{10 + s.seed % 8}日", size=12)
    crew = s.crew()
    rows = 9 + len(crew) + 1
    table = document.add_table(rows=rows, cols=6)
    table.style = document.styles["Table Grid"]

    def fill(r: int, spans: Sequence[tuple[int, int, str | Sequence[str]]]) -> None:
        cells = table.rows[r].cells
        for first, last, text in spans:
            cell = cells[first].merge(cells[last]) if last > first else cells[first]
            g._set_cell(cell, text)

    fill(0, [(0, 0, "工作室名称"), (1, 2, s.name), (3, 3, "工作室类型"), (4, 5, _ticks(s.kind))])
    fill(1, [(0, 0, "领衔人"), (1, 1, s.leader), (2, 2, "性别"), (3, 3, s.gender), (4, 4, "出生年月"),
             (5, 5, f"{1968 + s.seed % 12}年{1 + s.seed % 12}月")])
    fill(2, [(0, 0, "学历"), (1, 1, "博士研究生"), (2, 2, "职称/技术等级"), (3, 3, s.title), (4, 4, "科室及职务"),
             (5, 5, "心内科主任")])
    fill(3, [(0, 0, "联系电话"), (1, 2, f"1{3 + s.seed % 6}9{s.seed:04d}{5321 + s.seed:04d}"), (3, 3, "成员人数"),
             (4, 5, f"{len(crew) + 1}人")])
    fill(4, [(0, 0, "领衔人主要荣誉"), (1, 5, [f"{i}.{h}" for i, h in enumerate(s.honours, 1)])])
    fill(5, [(0, 0, "主要创新成果"), (1, 5, [f"{i}.{r}" for i, r in enumerate(s.results, 1)])])
    fill(6, [(0, 0, "创新工作计划"), (1, 5, "围绕医学攀峰攻坚行动开展技术攻关，每年完成不少于2项创新项目。")])
    fill(7, [(0, 5, "团队成员情况")])
    fill(8, [(0, 0, "姓名"), (1, 1, "年龄"), (2, 2, "学历"), (3, 3, "职称"), (4, 5, "科室及职务")])
    for r, m in enumerate(crew, start=9):
        fill(r, [(0, 0, m.name), (1, 1, str(m.age)), (2, 2, m.education), (3, 3, m.title), (4, 5, m.position)])
    fill(rows - 1, [(0, 0, "单位意见"), (1, 5, ["同意推荐。", "（盖章）　2022年5月12日"])])
    return g._save_docx(document, title=FORM_TITLE, author="Administrator")


def summary_cells(s: QStudio) -> list[str]:
    """The studio's row of 附件2, filled the way the notice's example row is."""
    studio = s.summary_studio or s.name
    return [s.unit, f"{studio}\n{s.leader}" if s.with_leader else studio,
            "正高级" if "主任" in s.title and "副" not in s.title else "副高级" if "副" in s.title else s.title,
            "；".join(s.results), "；".join(s.honours)]


def summary_xlsx(studios: Sequence[QStudio]) -> bytes:
    """附件2 in Excel: title row, the five headers, one row per studio."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([SUMMARY_TITLE])
    ws.append(list(SUMMARY_HEADERS))
    for s in studios:
        ws.append(summary_cells(s))
    thin = Side(style="thin")
    for row in ws.iter_rows(min_row=2, max_row=ws.max_row):
        for cell in row:
            cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
            cell.alignment = Alignment(wrap_text=True, vertical="center")
    wb.properties.creator = wb.properties.lastModifiedBy = "Administrator"
    wb.properties.created = wb.properties.modified = g.FIXED_DT
    buf = g.io.BytesIO()
    wb.save(buf)
    return g.normalise_ooxml(buf.getvalue())


def summary_docx(studios: Sequence[QStudio]) -> bytes:
    """附件2 on the notice's own Word template: landscape, the five headers, one row per studio, two blank rows."""
    document = g._new_document(landscape=True, size=12)
    g._paragraph(document, "附件2", font="黑体", size=14)
    g._paragraph(document, SUMMARY_TITLE, bold=True, size=18, align=WD_ALIGN_PARAGRAPH.CENTER, font="方正小标宋简体")
    rows = [list(SUMMARY_HEADERS), *(summary_cells(s) for s in studios), [""] * 5, [""] * 5]
    table = document.add_table(rows=len(rows), cols=5)
    table.style = document.styles["Table Grid"]
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            g._set_cell(table.rows[r].cells[c], text.split("\n"), center=r == 0)
    return g._save_docx(document, title=SUMMARY_TITLE, author="Administrator")


@dataclass(frozen=True)
class QSubmission:
    """One e-mail from a unit, and what it carries."""

    studio: QStudio
    addr: str
    received: datetime
    archive: str = "zip"            # zip | 7z | none (loose files)
    word_form: bool = True
    scan: bool = True
    certificates: int = 2
    summary: str = "xlsx"            # xlsx | docx | none (附件2 is not among what 五(三) asks for)
    subject: str | None = None
    archive_name: str | None = None  # the archive's name, when not the subject's
    file_names: dict[str, str] = field(default_factory=dict)   # the usual name -> the one this sender chose
    body: str | None = None
    extra_headers: tuple[tuple[str, str], ...] = ()

    def files(self) -> list[tuple[str, bytes]]:
        s = self.studio
        out: list[tuple[str, bytes]] = []
        if self.scan:
            out.append((f"{FORM_TITLE}（盖章扫描件）.pdf", g.stamped_scan_pdf(s.name, s.seed, 2)))
        if self.word_form:
            out.append((f"{FORM_TITLE}.docx", form_docx(s)))
        labels = ("职称证书", "科技进步奖获奖证书", "劳动模范荣誉证书", "专利证书")
        for i in range(self.certificates):
            out.append((f"证明材料/{labels[i % len(labels)]}复印件.jpg", g.photo_jpeg(labels[i], s.seed + i)))
        if self.summary == "xlsx":
            out.append((f"{SUMMARY_TITLE}.xlsx", summary_xlsx([s])))
        elif self.summary == "docx":
            out.append((f"附件2{SUMMARY_TITLE}.docx", summary_docx([s])))
        return [(self.file_names.get(name, name), data) for name, data in out]

    def to_eml(self) -> bytes:
        s = self.studio
        subject = self.subject or s.subject
        files = self.files()
        stem = self.archive_name or subject
        if self.archive == "none":
            attachments = [g.Attachment(name.split("/")[-1], data) for name, data in files]
        elif self.archive == "7z":
            attachments = [g.Attachment(f"{stem}.7z", g.sevenz_bytes(files))]
        elif self.archive == "zip":
            attachments = [g.Attachment(f"{stem}.zip", g.zip_bytes(g.with_dirs(files), "gbk"))]
        else:   # "absent": a message with nothing attached
            attachments = []
        body = self.body or f"您好！\n附件为{subject}，请查收。\n联系人：{s.leader}　电话：0532-8{s.seed:03d}6688\n"
        return g.eml(subject=subject, from_name=s.unit, from_addr=self.addr, to=RECIPIENT, date=self.received,
                     received=self.received,
                     message_id=f"<qd{s.seed:03d}.{self.received:%Y%m%d%H%M%S}@{self.addr.split('@')[1]}>",
                     body_text=body, attachments=attachments, style="netease", submitted=self.received,
                     extra_headers=self.extra_headers)


def _at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2022, 5, day, hour, minute, 7, tzinfo=g.CST)


def _studio(unit: str, leader: str, gender: str, kind: str, core: str, seed: int, **kw: Any) -> QStudio:
    return QStudio(unit, leader, gender, kind, core, seed=seed, **kw)


def submissions() -> dict[str, tuple[QSubmission, str, tuple[str, ...]]]:
    """slug → (message, expected verdict, expected codes)."""
    management = ("2021年获青岛市管理创新成果一等奖（门诊一站式服务流程再造）", "2020年山东省医院管理创新案例")
    service = ("“暖心护理”服务品牌获2021年青岛市服务名牌认定", "互联网+延续护理服务平台")
    return {
        "q01-accepted-technical-zip": (QSubmission(
            _studio("青岛市市立医院", "张伟", "男", "技术创新型", "张伟劳模", 1), "slyy@qd.gov.cn", _at(12, 9, 30)),
            "accepted", ()),
        "q02-accepted-service-loose-files": (QSubmission(
            _studio("青岛市中心医院", "李娜", "女", "服务创新型", "李娜护理服务", 2, title="主任护师", results=service),
            "qdzxyy@126.com", _at(13, 15, 2), archive="none", word_form=False,
            subject="青岛市中心医院李娜护理服务创新工作室（服务创新型）申报材料"), "accepted", ()),
        "q03-accepted-management-7z": (QSubmission(
            _studio("青岛市海慈医疗集团", "王强", "男", "管理创新型", "王强管理", 3, title="研究员", results=management),
            "hcyl@qd.gov.cn", _at(16, 10, 45), archive="7z"), "accepted", ()),
        "q04-award-too-old": (QSubmission(
            _studio("青岛市第三人民医院", "赵敏", "女", "技术创新型", "赵敏领军人才", 4,
                    results=("2017年获青岛市科技进步二等奖", "一种新型引流装置（实用新型专利）")),
            "dsrmyy@126.com", _at(16, 14, 20)), "review", ("CATEGORY_CONDITION",)),
        "q05-too-many-honours": (QSubmission(
            _studio("青岛市胸科医院", "刘洋", "男", "技术创新型", "刘洋劳模", 5,
                    honours=("全国五一劳动奖章", "山东省劳动模范", "青岛市劳动模范", "青岛市拔尖人才",
                             "青岛市优秀医师", "青岛市工匠人才")), "xkyy@qd.gov.cn", _at(17, 11, 8)),
            "review", ("TOO_MANY_ITEMS",)),
        "q06-missing-stamped-form": (QSubmission(
            _studio("青岛市妇女儿童医院", "陈静", "女", "服务创新型", "陈静儿科服务", 6, title="主任医师", results=service),
            "fetyy@126.com", _at(17, 16, 40), scan=False), "rejected", ("MISSING_FORM_SCAN",)),
        "q07-no-certificates": (QSubmission(
            _studio("青岛市口腔医院", "孙涛", "男", "技术创新型", "孙涛劳模", 7), "qdkqyy@126.com", _at(18, 9, 12),
            certificates=0), "rejected", ("MISSING_EVIDENCE",)),
        "q08-late": (QSubmission(
            _studio("青岛市精神卫生中心", "周丽", "女", "管理创新型", "周丽管理", 8, results=management),
            "jswszx@126.com", datetime(2022, 5, 21, 8, 30, 0, tzinfo=g.CST)), "rejected", ("LATE",)),
        "q09-summary-mismatch": (QSubmission(
            _studio("青岛市第八人民医院", "吴军", "男", "技术创新型", "吴军劳模", 9, summary_studio="吴军创新工作室"),
            "dbrmyy@126.com", _at(19, 10, 5)), "review", ("SUMMARY_MISMATCH",)),
        # The notice sets no team size (二(一)、(三): a 创新团队, 结构相对合理): two people are not a finding.
        "q10-small-team": (QSubmission(
            _studio("青岛市疾病预防控制中心", "郑红", "女", "技术创新型", "郑红领军人才", 10, members=1,
                    title="主任医师"), "qdcdc@126.com", _at(19, 15, 33)), "accepted", ()),
        # Issue 15 §2: what follows the notice but no convention of the office's is judged on its materials.
        "q11-any-subject-accepted": (QSubmission(
            _studio("青岛市中医医院", "刘芳", "女", "技术创新型", "刘芳劳模", 11), "qdszyy@126.com", _at(13, 10, 21),
            subject="青岛市中医医院刘芳工作室申报材料", archive_name="材料"), "accepted", ()),
        "q12-plain-subject-no-summary": (QSubmission(
            _studio("青岛市急救中心", "马骏", "男", "服务创新型", "马骏急救服务", 12, title="主任医师", results=service),
            "qdjjzx@126.com", _at(18, 17, 2), archive="none", summary="none", subject="报送",
            file_names={f"{FORM_TITLE}（盖章扫描件）.pdf": "申报表（盖章）.pdf", f"{FORM_TITLE}.docx": "申报表.docx"},
            body="李老师：\n附件是我中心的申报表（已盖章）和有关证明材料复印件。\n马骏\n"), "accepted", ()),
        "q13-five-column-word-summary": (QSubmission(
            _studio("青岛市中心血站", "高洁", "女", "管理创新型", "高洁管理", 13, results=management, with_leader=True),
            "qdzxxz@126.com", _at(19, 9, 40), summary="docx"), "accepted", ()),
        # 三(一)1's second branch: no 市级二等奖, but two 国家发明专利 within three years.
        "q14-technical-two-patents": (QSubmission(
            _studio("青岛市市立医院", "韩冰", "女", "技术创新型", "韩冰劳模", 14,
                    results=("2020年获国家发明专利（一种可降解止血夹，ZL202010000001.X）",
                             "2021年获国家发明专利（一种经皮穿刺导引装置，ZL202110000002.3）")),
            "slyy@qd.gov.cn", _at(17, 9, 15)), "accepted", ()),
        # 二(二): neither a 市级以上劳模 nor a 高层次人才 nor a 正高级 leader: staff check who leads.
        "q15-leader-condition": (QSubmission(
            _studio("青岛市胸科医院", "徐亮", "男", "服务创新型", "徐亮护理服务", 15, title="副主任护师", results=service,
                    honours=("青岛市卫生健康系统优秀护士", "院级先进工作者")),
            "xkyy@qd.gov.cn", _at(18, 14, 50)), "review", ("LEADER_CONDITION",)),
        # Not submissions: a question without attachments, an out-of-office: ignored, never answered.
        "q16-question-unrelated": (QSubmission(
            _studio("青岛市第三人民医院", "赵敏", "女", "技术创新型", "赵敏领军人才", 4), "dsrmyy@126.com", _at(9, 8, 55),
            archive="absent", subject="关于创新工作室申报的咨询",
            body="李老师您好，请问申报表需要几份？谢谢。\n"), "ignored", ("UNRELATED",)),
        "q17-auto-reply": (QSubmission(
            _studio("青岛市口腔医院", "孙涛", "男", "技术创新型", "孙涛劳模", 7), "qdkqyy@126.com", _at(18, 9, 13),
            archive="absent", subject="自动回复：您的邮件已收到", body="您好，我正在休假，5月23日返回。\n",
            extra_headers=(("Auto-Submitted", "auto-replied"),)), "ignored", ("AUTO_REPLY",)),
    }


def generate(out: Path) -> dict[str, dict[str, Any]]:
    """Write every message and expected.json into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    expected = {}
    for slug, (sub, verdict, codes) in submissions().items():
        (out / f"{slug}.eml").write_bytes(sub.to_eml())
        expected[f"{slug}.eml"] = {"verdict": verdict, "codes": sorted(codes)}
    (out / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return expected


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    expected = generate(args.out)
    print(f"wrote {len(expected)} messages and expected.json to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
