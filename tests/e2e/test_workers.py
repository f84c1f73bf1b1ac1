"""`intake ingest --workers 2` judges sample_mail/ exactly as one worker does: verdicts, codes, fields,
supersession and replies (the real CLI as a subprocess, a real SQLite file each)."""

from __future__ import annotations

import email
import json
import shutil
import subprocess
import sys
from email.policy import default
from pathlib import Path

import pytest

from helpers import REPO
from helpers.configfile import write_example_config

SAMPLES = REPO / "sample_mail"


def _intake(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "pipeline", *args], check=False, cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _outcome(folder: Path, workers: int) -> tuple[dict, dict]:
    """({message key: what was decided}, {In-Reply-To: the reply}) after one ingest with `workers`."""
    config = write_example_config(folder)
    _intake("ingest", "--config", str(config), "--workers", str(workers), str(SAMPLES))
    rows = json.loads(_intake("submissions", "--config", str(config), "--json"))
    key = {r["id"]: (r["message_id"], r["received_at"]) for r in rows}
    decided = {}
    for r in rows:
        fields = dict(r["fields"])
        superseded = fields.pop("superseded_by", None)
        decided[key[r["id"]]] = {"verdict": r["verdict"], "reasons": r["reasons"], "fields": fields,
                                 "superseded_by": key.get(superseded), "reply": r["reply"]}
    replies = {}
    for path in sorted((folder / "outbox").glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=default)
        replies[msg["In-Reply-To"]] = {"to": msg["To"], "subject": msg["Subject"], "kind": path.stem.split("-", 1)[1],
                                       "body": msg.get_body(("plain",)).get_content()}
    return decided, replies


def test_two_workers_decide_and_reply_as_one_does(tmp_path: Path) -> None:
    if not (shutil.which("unar") or shutil.which("bsdtar")):
        pytest.skip("unar/bsdtar not installed: the RAR samples cannot be read (CI installs them)")
    one_decided, one_replies = _outcome(tmp_path / "one", 1)
    two_decided, two_replies = _outcome(tmp_path / "two", 2)
    assert len(one_decided) == len(list(SAMPLES.glob("*.eml")))
    assert any(d["superseded_by"] for d in one_decided.values())  # the corpus has a resubmission
    assert two_decided == one_decided
    assert two_replies == one_replies
    assert len(one_replies) == sum(d["reply"]["status"] != "none" for d in one_decided.values())


@pytest.mark.parametrize("workers", [1, 2])
def test_recording_stays_a_few_files_ahead_of_judging(app, workers: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A backlog is not first copied whole into the raw store: when the k-th judgement starts, at most
    k + 2 x workers + 1 messages are recorded (the judgements are real sandbox children, the ledger real SQLite)."""
    from sqlalchemy import func, select

    from pipeline.intake import batch
    from storage.models import Message

    paths = sorted(SAMPLES.glob("*.eml"))[:10]
    seen: list[tuple[int, int]] = []
    real = batch.process_by_id

    def judge(app_, message_pk: int, **kw: object):  # type: ignore[no-untyped-def]
        with app_.sessions() as session:
            recorded = session.scalar(select(func.count()).select_from(Message))
        seen.append((len(seen), recorded))
        return real(app_, message_pk, **kw)

    monkeypatch.setattr(batch, "process_by_id", judge)
    results = batch.ingest_parallel(app, paths, workers)
    assert [r.status for r in results] == ["new"] * len(paths)
    assert len(seen) == len(paths)
    assert all(recorded <= k + 2 * workers + 1 for k, recorded in seen), seen
