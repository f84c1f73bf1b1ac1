"""Parsed records end to end: a real submission's form, members, summary row and narrative in the database
and under `fields` in `intake submissions --json`; a reprocess writes the same rows, never twice."""

from __future__ import annotations

import json

import pytest
import samplegen as g
from click.testing import CliRunner
from sqlalchemy import func, select

from helpers.submissions import STUDIO, submission
from pipeline.cli.main import main
from pipeline.intake.ledger import ingest_bytes, reprocess_all
from storage import repo
from storage.forms import FormMember, FormValue, Narrative, SummaryRow


def _rows(app, model) -> int:  # type: ignore[no-untyped-def]
    with app.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.mark.both_databases
def test_form_summary_and_narrative_are_stored_and_shown(app, config) -> None:  # type: ignore[no-untyped-def]
    assert ingest_bytes(app, submission(), "file:/x/1.eml").verdict == "accepted"
    lead = STUDIO.profile
    with app.sessions() as s:
        values = {v.field: v.value for v in s.scalars(select(FormValue))}
        members = s.scalars(select(FormMember).order_by(FormMember.position)).all()
        (row,) = s.scalars(select(SummaryRow)).all()
        (narrative,) = s.scalars(select(Narrative)).all()
    assert values["leader_name"] == "张三" and values["applicant_unit"] == STUDIO.applicant
    assert values["leader_phone"] == lead.phone and values["member_count"] == len(STUDIO.members) + 1
    assert values["leader_birth"] == lead.birth.replace(".", "-") and values["established"] == "2019-03"
    assert [m.name for m in members] == [m.name for m in STUDIO.members]
    assert [m.age for m in members] == [m.age for m in STUDIO.members]
    assert row.studio_name == STUDIO.name and row.values["leader_name"] == "张三"
    assert narrative.word_count is not None and narrative.word_count >= 1000 and STUDIO.name in narrative.text
    assert narrative.char_count is not None and narrative.char_count >= narrative.word_count

    out = CliRunner().invoke(main, ["submissions", "--config", str(config.path), "--json"], catch_exceptions=False)
    (shown,) = json.loads(out.output)
    fields = shown["fields"]
    assert fields["leader_name"] == "张三" and fields["studio_name"] == STUDIO.name
    assert fields["member_count"] == len(STUDIO.members) + 1 and fields["innovation_result_count"] == 3
    assert fields["leader_age"] == 2025 - int(lead.birth[:4]) - (1 if int(lead.birth[5:]) > 5 else 0)
    assert fields["category"] == "劳模和工匠人才" and fields["narrative_char_count"] == narrative.word_count
    assert fields["scan_seal_visible"] is True and fields["scan_pages"] == 1
    assert len(fields["members"]) == len(STUDIO.members)

    before = [_rows(app, m) for m in (FormValue, FormMember, SummaryRow, Narrative)]
    reprocess_all(app)
    assert [_rows(app, m) for m in (FormValue, FormMember, SummaryRow, Narrative)] == before


def test_an_unreadable_form_is_a_finding_not_a_crash(app) -> None:  # type: ignore[no-untyped-def]
    files = [(name, b"PK\x03\x04 not really a docx" if name.endswith("申报表.docx") else data)
             for name, data in g.materials(STUDIO)]
    raw = g.eml(subject=STUDIO.subject, from_name="正定县总工会", from_addr="zdxzgh@126.com",
                date=g.datetime(2025, 5, 26, 10, 0, tzinfo=g.CST),
                received=g.datetime(2025, 5, 26, 10, 0, tzinfo=g.CST),
                message_id="<b2@zdxzgh.126.com>",
                body_text="附件为入库材料。", attachments=[g.Attachment(STUDIO.subject + ".zip", g.zip_bytes(files))])
    result = ingest_bytes(app, raw, "file:/x/2.eml")
    assert result.verdict == "review"
    with app.sessions() as s:
        assert s.scalar(select(func.count()).select_from(FormValue)) == 0
        (sub,) = repo.submissions(s)
        assert [(f.code, f.file) for f in sub.findings] == [("UNREADABLE_DOCUMENT", f"{g.FORM_FILE}.docx")]
