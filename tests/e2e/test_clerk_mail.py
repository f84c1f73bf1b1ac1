"""Mail as county clerks really write it (issue 15, sections 4 and 5), end to end on a real SQLite database:
punctuated subjects, reworded and framed forms, the same delivery saved twice, the report's roster groups."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import docx
import pytest
import samplegen as g
from click.testing import CliRunner

from helpers.configfile import write_example_config
from pipeline.bootstrap import build_app
from pipeline.cli.main import main
from pipeline.config import load_config
from pipeline.intake.ledger import ingest_bytes
from pipeline.rules.subject import parse_subject
from pipeline.staff.report import collect, render_html, render_text
from storage import repo

CST = timezone(timedelta(hours=8))
STUDIO = g.Studio(unit="正定县总工会", leader="张三", gender="男", applicant="正定县某某机械厂", seed=7)
MAY_26 = datetime(2025, 5, 26, 10, 0, tzinfo=CST)


def _mail(subject: str, archive_stem: str, *, studio: g.Studio = STUDIO, files: list[tuple[str, bytes]] | None = None,
          message_id: str = "<a1@zdxzgh.126.com>", from_addr: str = "zdxzgh@126.com",
          received: datetime = MAY_26) -> bytes:
    archive = g.zip_bytes(files if files is not None else g.materials(studio))
    return g.eml(subject=subject, from_name=studio.unit, from_addr=from_addr, date=received, received=received,
                 message_id=message_id, body_text=g.clerk_body("入库材料", "李丽", "0311-88015566"),
                 attachments=[g.Attachment(archive_stem + ".zip", archive)])


def _judged(app) -> list[tuple[str, list[str], str, str]]:
    with app.sessions() as s:
        return [(x.verdict, [f.code for f in x.findings], x.recommending_unit, x.studio_name)
                for x in repo.submissions(s)]


# --- the subject: what clerks type between the unit and the studio ----------------------------------------

SEPARATORS = [" ", "\u3000", "——", "-", "－", "_", "·", "、", "：", ":", "+", "＋", "|", "~"]


@pytest.mark.parametrize("sep", SEPARATORS)
def test_a_separator_between_unit_and_studio_is_no_part_of_either_name(app, sep: str) -> None:
    """The subject punctuated, the archive named without (or with another mark): one studio, accepted,
    no ARCHIVE_NAME_MISMATCH / FORM_MISMATCH / SUMMARY_MISMATCH."""
    subject = f"{STUDIO.unit}{sep}{STUDIO.name}入库材料"
    ingest_bytes(app, _mail(subject, STUDIO.subject), "file:/x/1.eml")
    assert _judged(app) == [("accepted", [], "正定县总工会", "张三创新工作室")]


# (subject, archive stem) as two clerks of one office punctuate the same convention.
PUNCTUATED = [("【正定县总工会】张三创新工作室入库材料", "正定县总工会-张三创新工作室-入库材料"),
              ("正定县总工会“张三创新工作室”入库材料", "正定县总工会_张三创新工作室_入库材料"),
              ("正定县总工会——张三创新工作室——入库材料", "正定县总工会 张三创新工作室入库材料"),
              ("回复：正定县总工会·张三创新工作室 入库材料", "正定县总工会、张三创新工作室入库材料")]


@pytest.mark.parametrize("subject, stem", PUNCTUATED)
def test_subject_and_archive_punctuated_differently_name_one_studio(app, subject: str, stem: str) -> None:
    ingest_bytes(app, _mail(subject, stem), "file:/x/1.eml")
    assert _judged(app) == [("accepted", [], "正定县总工会", "张三创新工作室")]


def test_separators_inside_a_studio_name_stay(campaign) -> None:
    """Only the joints lose their marks: a studio named after two people, or a name with a middle dot, reads
    as the clerk wrote it in the form; two studios listed in one subject are still two."""
    two = parse_subject("正定县总工会——和谐创新工作室、李四创新工作室入库材料", campaign)
    assert (two.unit, two.studio) == ("正定县总工会", "和谐创新工作室、李四创新工作室")
    dot = parse_subject("正定县总工会-买买提·艾力创新工作室-入库材料", campaign)
    assert (dot.unit, dot.studio, dot.text) == ("正定县总工会", "买买提·艾力创新工作室",
                                                "正定县总工会买买提·艾力创新工作室入库材料")


def test_a_punctuated_studio_in_a_subject_of_several_is_still_several(app) -> None:
    raw = _mail("正定县总工会：和谐创新工作室、李四创新工作室入库材料", "正定县总工会和谐创新工作室、李四创新工作室入库材料")
    ingest_bytes(app, raw, "file:/x/1.eml")
    [(_verdict, codes, _unit, _studio)] = _judged(app)
    assert "SEVERAL_STUDIOS" in codes


# --- forms clerks retyped or framed ------------------------------------------------------------------------

def _relabel(form: bytes, mapping: dict[str, str]) -> bytes:
    """The template with some labels retyped by the clerk (the first cell reading each old label)."""
    document, done = docx.Document(io.BytesIO(form)), set()
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                old = cell.text
                if old in mapping and old not in done:
                    runs = cell.paragraphs[0].runs
                    runs[0].text = mapping[old]
                    for run in runs[1:]:
                        run.text = ""
                    done.add(old)
    assert done == set(mapping)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _framed(form: bytes, depth: int) -> bytes:
    """The whole form (title, 申报单位 line, table) moved into a one-cell layout table, `depth` times."""
    document = docx.Document(io.BytesIO(form))
    body = document.element.body
    for _ in range(depth):
        content = [el for el in body if not el.tag.endswith("}sectPr")]
        frame = document.add_table(rows=1, cols=1)
        cell = frame.cell(0, 0)._tc
        last = cell[-1]                       # the empty paragraph a cell must end with
        for el in content:
            cell.insert(cell.index(last), el)
        body.remove(frame._tbl)
        body.insert(0, frame._tbl)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.mark.parametrize("mapping", [
    {"姓名": "工作室负责人", "成立时间": "组建日期", "联系电话": "手机"},
    {"姓名": "领衔人", "成立时间": "创建时间", "联系电话": "电话号码"},
    {"姓名": "牵头人", "成立时间": "成立年月", "联系电话": "联系方式"},
])
def test_a_form_with_reworded_labels_is_accepted(app, mapping: dict[str, str]) -> None:
    studio = g.Studio(unit="正定县总工会", leader="张三", gender="男", applicant="正定县某某机械厂", seed=7,
                      form_bytes=_relabel(STUDIO.form(), mapping))
    ingest_bytes(app, _mail(studio.subject, studio.subject, studio=studio), "file:/x/1.eml")
    assert _judged(app) == [("accepted", [], "正定县总工会", "张三创新工作室")]
    with app.sessions() as s:
        [sub] = repo.submissions(s)
        fields = sub.fields
    assert (fields["leader_name"], fields["established"]) == ("张三", "2019-03")
    assert fields["leader_phone"] == STUDIO.profile.phone.replace("-", "")


@pytest.mark.parametrize("depth", [1, 2])
def test_a_form_inside_a_one_cell_layout_table_is_accepted(app, depth: int) -> None:
    studio = g.Studio(unit="正定县总工会", leader="张三", gender="男", applicant="正定县某某机械厂", seed=7,
                      form_bytes=_framed(STUDIO.form(), depth))
    ingest_bytes(app, _mail(studio.subject, studio.subject, studio=studio), "file:/x/1.eml")
    assert _judged(app) == [("accepted", [], "正定县总工会", "张三创新工作室")]
    with app.sessions() as s:
        assert repo.submissions(s)[0].fields["applicant_unit"] == "正定县某某机械厂"


# --- the same delivery saved twice --------------------------------------------------------------------------

def _fresh_config(root: Path) -> Path:
    """config.example.toml on its own new SQLite database, data and outbox under `root`."""
    root.mkdir(parents=True)
    return write_example_config(root)


def _ingest_and_list(config: Path, *paths: Path) -> list[tuple[str, str]]:
    result = CliRunner().invoke(main, ["ingest", "--config", str(config), *map(str, paths)])
    assert result.exit_code == 0, result.output
    app = build_app(load_config(config))
    with app.sessions() as s:
        return sorted((Path(x.message.source_key.removeprefix("file:").split("#")[0]).name, x.verdict)
                      for x in repo.submissions(s))


def test_of_two_identical_deliveries_the_first_named_is_the_original_on_every_run(tmp_path: Path) -> None:
    raw = _mail(STUDIO.subject, STUDIO.subject)
    mail = tmp_path / "mail"
    mail.mkdir()
    for name in ("z-saved-first.eml", "a-saved-again.eml"):
        (mail / name).write_bytes(raw)
    first, again = mail / "z-saved-first.eml", mail / "a-saved-again.eml"
    expected = [("a-saved-again.eml", "ignored"), ("z-saved-first.eml", "accepted")]
    for run in range(2):   # two runs, each on a fresh database: the same outcome
        assert _ingest_and_list(_fresh_config(tmp_path / f"given-{run}"), first, again) == expected
    assert _ingest_and_list(_fresh_config(tmp_path / "reversed"), again, first) == [
        ("a-saved-again.eml", "accepted"), ("z-saved-first.eml", "ignored")]


# --- the report's roster: accepted, sent but nothing accepted yet, nothing sent ---------------------------

def test_the_report_tells_units_that_sent_only_rejected_mail_from_silent_ones(app, clock) -> None:
    zanhuang = g.Studio(unit="赞皇县总工会", leader="蒋涛", gender="男", applicant="赞皇县某某公司", seed=3)
    ingest_bytes(app, _mail(STUDIO.subject, STUDIO.subject), "file:/x/1.eml")
    no_archive = g.eml(subject=zanhuang.subject, from_name="赞皇县总工会", from_addr="zhxzgh@126.com", date=MAY_26,
                       received=MAY_26, message_id="<z1@zhxzgh.126.com>", body_text="材料见附件。")
    ingest_bytes(app, no_archive, "file:/x/2.eml")
    assert [v for v, *_ in _judged(app)] == ["accepted", "rejected"]
    data = collect(app, clock(), None)
    assert ("县（市、区）总工会", "正定县总工会") in data.accepted_units
    assert [u for _k, u in data.waiting_units] == ["赞皇县总工会"]
    silent = [u for _k, u in data.silent_units]
    assert "赞皇县总工会" not in silent and "正定县总工会" not in silent and "长安区总工会" in silent
    html, text = render_html(data), render_text(data)
    waiting = html[html.index('<table id="waiting"'):]
    assert "赞皇县总工会" in waiting[:waiting.index("</table>")]
    assert "赞皇县总工会" not in html[html.index('<table id="silent"'):]
    assert "已报送、尚无材料受理的单位 1 个：赞皇县总工会" in text
