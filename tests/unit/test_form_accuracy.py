"""Field-level accuracy on messy forms filled the ways clerks fill them (scripts/formgen.py, written apart
from the reader): every field right on ≥95% of forms, and where a field can't be read, no value — never a
wrong one (a blank becomes FORM_FIELDS_MISSING for a person, a wrong value would go into the records)."""

from __future__ import annotations

from pathlib import Path

import formgen
import pytest

from parsers.docx_text import read_docx_layout
from parsers.form_reader import read_form
from pipeline.config import Campaign

MEMBER_KEYS = ("name", "age", "education", "title", "post")


def _compare(case: formgen.FormCase, campaign: Campaign, tmp_path: Path) -> tuple[list[str], list[str]]:
    """(fields read wrong, fields read as blank though filled) for one form."""
    assert campaign.form is not None
    path = tmp_path / "form.docx"
    path.write_bytes(case.docx)
    record = read_form(read_docx_layout(path), campaign.form.schema)
    got: dict[str, object] = {**record.values,
                              "members": [{k: m.get(k) for k in MEMBER_KEYS} for m in record.members]}
    wrong, blank = [], []
    for key in formgen.TRUTH_KEYS:
        truth = case.truth.get(key)
        value = got.get(key)
        if key in ("members", "innovation_results"):
            truth, value = truth or [], value or []
        if value == truth:
            continue
        (blank if value in (None, []) else wrong).append(key)
    return wrong, blank


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_messy_forms_are_read_field_for_field(seed: int, campaign: Campaign, tmp_path: Path) -> None:
    cases = formgen.messy_forms(seed=seed, count=60)
    results = {case.name: _compare(case, campaign, tmp_path) for case in cases}
    wrong = {name: w for name, (w, _) in results.items() if w}
    perfect = sum(1 for w, b in results.values() if not w and not b)
    assert wrong == {}
    assert perfect >= 0.95 * len(cases), {name: b for name, (_, b) in results.items() if b}


def test_blanked_fields_are_reported_as_missing(campaign: Campaign, tmp_path: Path) -> None:
    """The generator's deliberately blank required fields are exactly what the reader lists as missing."""
    assert campaign.form is not None
    required = {spec.name: spec.title for spec in (*campaign.form.schema.fields, *campaign.form.schema.header_fields)
                if spec.required}
    checked = 0
    for case in formgen.messy_forms(seed=3, count=60):
        blanked = [f for f in case.truth["_blank"] if f in required]  # type: ignore[union-attr]
        if not blanked:
            continue
        path = tmp_path / "form.docx"
        path.write_bytes(case.docx)
        record = read_form(read_docx_layout(path), campaign.form.schema)
        assert {required[f] for f in blanked} <= set(record.missing), case.name
        checked += 1
    assert checked >= 8
