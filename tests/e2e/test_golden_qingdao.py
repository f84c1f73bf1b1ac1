"""The second notice as configuration alone: sample_mail_qingdao/ through the real CLI with config.qingdao.toml
(paths changed only), and one mailbox serving both campaigns, routed by subject convention, the materials' words
and date window. The Qingdao samples follow the notice as published (issue 15 §2): any subject, no 汇总表 or a
five-column one, a small team, either branch of 三(一)1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from helpers import REPO
from helpers.configfile import write_example_config
from pipeline.cli.main import main

QINGDAO = REPO / "sample_mail_qingdao"
SJZ = REPO / "sample_mail"
EXPECTED_Q = json.loads((QINGDAO / "expected.json").read_text(encoding="utf-8"))
EXPECTED_SJZ = json.loads((SJZ / "expected.json").read_text(encoding="utf-8"))


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _config(tmp_path: Path, source: str, storage_settings: dict[str, str], *, extra_campaigns: bool = False) -> Path:
    path = write_example_config(tmp_path, source=REPO / source, storage=storage_settings)
    text = path.read_text(encoding="utf-8")
    campaign_file = REPO / "campaigns" / "qingdao-wjw-2022.toml"
    text = text.replace('campaign_files = ["campaigns/qingdao-wjw-2022.toml"]', f'campaign_files = ["{campaign_file}"]')
    if extra_campaigns:
        text = f'campaign_files = ["{campaign_file}"]\n' + text
    path.write_text(text, encoding="utf-8")
    return path


def _by_name(rows: list[dict], folder: Path) -> dict[str, dict]:
    """JSON rows keyed by sample file, matched on Message-ID (every sample here has its own)."""
    from pipeline.mail.decode import decode_message

    ids = {decode_message(p.read_bytes()).message_id: p.name for p in folder.glob("*.eml")}
    return {ids[r["message_id"]]: r for r in rows if r["message_id"] in ids}


@pytest.fixture
def rar_tools() -> None:
    if not (shutil.which("unar") or shutil.which("bsdtar")):
        pytest.skip("unar/bsdtar not installed: the RAR samples cannot be read (CI installs them)")


@pytest.mark.both_databases
def test_qingdao_samples_get_their_verdicts(tmp_path: Path, storage_settings: dict[str, str]) -> None:
    config = _config(tmp_path, "config.qingdao.toml", storage_settings)
    _run("config", "check", "--config", str(config))
    _run("ingest", "--config", str(config), str(QINGDAO))
    rows = _by_name(json.loads(_run("submissions", "--config", str(config), "--json")), QINGDAO)
    got = {name: {"verdict": r["verdict"], "codes": sorted({x["code"] for x in r["reasons"]})}
           for name, r in rows.items()}
    assert got == EXPECTED_Q
    assert len(EXPECTED_Q) >= 17
    judged = {name: r for name, r in rows.items() if r["verdict"] != "ignored"}
    assert {r["campaign"] for r in judged.values()} == {"qingdao-wjw-2022"}
    assert {name for name, r in rows.items() if r["campaign"] is None} == {"q16-question-unrelated.eml",
                                                                          "q17-auto-reply.eml"}
    # A subject of the sender's own choosing: the studio and its type are read from the form.
    assert rows["q11-any-subject-accepted.eml"]["fields"]["studio_name"] == "刘芳劳模创新工作室"
    assert rows["q12-plain-subject-no-summary.eml"]["fields"]["category"] == "服务创新型"
    # 附件2 on the notice's Word template: five columns, the studio and its 领衔人 in one.
    assert rows["q13-five-column-word-summary.eml"]["fields"]["summary_rows"][0]["studio_name"] == "高洁管理创新工作室\n高洁"
    # The studio type comes from the form's ticked box, or from the subject when no Word form was sent.
    assert rows["q01-accepted-technical-zip.eml"]["fields"]["category"] == "技术创新型"
    assert rows["q01-accepted-technical-zip.eml"]["fields"]["studio_type"] == "技术创新型"
    assert rows["q02-accepted-service-loose-files.eml"]["fields"]["category"] == "服务创新型"
    assert rows["q03-accepted-management-7z.eml"]["fields"]["category"] == "管理创新型"
    assert len(rows["q05-too-many-honours.eml"]["fields"]["leader_honours"]) == 6
    # Its own 汇总表 layout, from config: the five columns of 附件2, the accepted studios only.
    out = tmp_path / "汇总表.xlsx"
    _run("export", "summary", "--config", str(config), "--out", str(out))
    sheet = load_workbook(out).active
    assert sheet["A1"].value == "劳动模范（领军人才）创新工作室汇总表"
    assert [c.value for c in sheet[2]] == ["创新工作室所在单位", "创新工作室领衔人", "职称技术等级", "主要创新成果",
                                          "领衔人主要荣誉（限5项以内）"]
    body = {row[1]: row for row in sheet.iter_rows(min_row=3, values_only=True)}
    accepted = {r["fields"]["studio_name"]: r for r in rows.values() if r["verdict"] == "accepted"}
    assert set(body) == set(accepted)
    zhang = body["张伟劳模创新工作室"]
    assert zhang[0] == "青岛市市立医院" and zhang[2] == "主任医师"
    assert "2021年获青岛市科技进步二等奖" in zhang[3] and zhang[4] == "青岛市劳动模范；青岛市拔尖人才"
    replies = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(replies) == len(judged)   # the question and the auto-reply are never answered
    assert any("青岛市医务工会" in p.read_bytes().decode("utf-8", "replace") or p.stat().st_size for p in replies)


def test_one_mailbox_serves_both_campaigns(tmp_path: Path, storage_settings: dict[str, str], rar_tools) -> None:
    """config.example.toml plus the Qingdao campaign file: every message lands in its own campaign with the
    verdict it gets alone; mail for neither is UNRELATED."""
    config = _config(tmp_path, "config.example.toml", storage_settings, extra_campaigns=True)
    _run("ingest", "--config", str(config), str(SJZ), str(QINGDAO))
    rows = json.loads(_run("submissions", "--config", str(config), "--json"))
    qingdao = _by_name(rows, QINGDAO)
    assert {n: r["verdict"] for n, r in qingdao.items()} == {n: e["verdict"] for n, e in EXPECTED_Q.items()}
    assert {r["campaign"] for r in qingdao.values() if r["verdict"] != "ignored"} == {"qingdao-wjw-2022"}
    sjz = [r for r in rows if r["campaign"] == "sjz-2025"]
    others = [(r["subject"], r["campaign"], r["verdict"]) for r in rows
              if r["campaign"] not in ("sjz-2025", "qingdao-wjw-2022", None)]
    assert others == []
    misrouted = [(r["subject"], r["verdict"]) for r in rows if r["campaign"] == "qingdao-wjw-2022"
                 and r["message_id"] not in {q["message_id"] for q in qingdao.values()}]
    assert misrouted == []
    counts = {v: sum(1 for r in rows if r["verdict"] == v) for v in ("accepted", "rejected", "review", "ignored")}
    expected_counts = {v: sum(1 for e in [*EXPECTED_SJZ.values(), *EXPECTED_Q.values()] if e["verdict"] == v)
                       for v in counts}
    assert counts == expected_counts
    in_qingdao = [r for r in rows if r["campaign"] == "qingdao-wjw-2022"]
    assert len(in_qingdao) == sum(1 for e in EXPECTED_Q.values() if e["verdict"] != "ignored")
    assert len(sjz) + len(in_qingdao) + sum(1 for r in rows if r["campaign"] is None) == len(rows)
    assert all(r["verdict"] == "ignored" for r in rows if r["campaign"] is None)
