"""The command line end to end: Maildir ingest, listings and filters, outbox, clear errors."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import REPO
from pipeline.cli.main import main

SAMPLES = REPO / "sample_mail"


def _run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result.output


def _maildir(root: Path, names: list[str]) -> Path:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    for i, name in enumerate(names):
        target = root / ("new" if i % 2 else "cur") / f"1716700000.{i}.host:2,S"
        shutil.copy(SAMPLES / name, target)
    (root / "tmp" / "half-written").write_bytes(b"Subject: x\r\n")  # never read: still being delivered
    return root


def test_ingest_a_maildir(config, tmp_path: Path) -> None:
    box = _maildir(tmp_path / "Maildir", ["01-accepted-zip-gbk.eml", "15-no-attachment.eml", "26-unrelated.eml"])
    out = _run("ingest", "--config", str(config.path), str(box))
    assert "处理 3 封新邮件" in out and "生成回复 2 封" in out
    rows = json.loads(_run("submissions", "--config", str(config.path), "--json"))
    assert sorted(r["verdict"] for r in rows) == ["accepted", "ignored", "rejected"]
    assert all(r["uid"] is None for r in rows)



def test_ingest_by_smtp_says_how_many_replies_wait_to_be_sent(config) -> None:
    """Without outbox_dir replies wait for `intake run`: the summary says so instead of "0 replies"."""
    text = config.path.read_text(encoding="utf-8")
    config.path.write_text(text.replace(f'outbox_dir = "{config.smtp.outbox_dir}"', '# outbox_dir = "outbox"'),
                           encoding="utf-8")
    out = _run("ingest", "--config", str(config.path), str(SAMPLES / "01-accepted-zip-gbk.eml"),
               str(SAMPLES / "15-no-attachment.eml"), str(SAMPLES / "26-unrelated.eml"))
    assert "处理 3 封新邮件" in out and "待发送回复 2 封" in out and "intake run" in out
    assert out.count("pending") == 0 and _run("outbox", "--config", str(config.path)).count("pending") == 2

@pytest.mark.both_databases
def test_listing_filters_and_outbox(config) -> None:
    _run("ingest", "--config", str(config.path), str(SAMPLES / "15-no-attachment.eml"),
         str(SAMPLES / "26-unrelated.eml"))
    table = _run("submissions", "--config", str(config.path), "--verdict", "rejected")
    assert "赞皇县总工会蒋涛创新工作室入库材料" in table and "NO_ATTACHMENT" in table and "代开发票" not in table
    assert json.loads(_run("submissions", "--config", str(config.path), "--json",
                           "--unit", "赞皇县"))[0]["verdict"] == "rejected"
    assert json.loads(_run("submissions", "--config", str(config.path), "--json", "--unit", "正定县")) == []
    listing = _run("outbox", "--config", str(config.path))
    # a rejection's Subject is the campaign's wording, not the sender's subject (issue 14, items 8-10)
    assert "sent" in listing and "zhxzgh@126.com" in listing and "材料未能受理" in listing


def test_missing_config_is_a_clear_error(tmp_path: Path) -> None:
    out = _run("submissions", "--config", str(tmp_path / "nope.toml"), code=1)
    assert "file not found" in out


def test_reprocess_reports_what_it_did(config) -> None:
    _run("ingest", "--config", str(config.path), str(SAMPLES / "06-narrative-too-short.eml"))
    assert "重新核对 1 封邮件，0 封出错" in _run("reprocess", "--config", str(config.path))


def test_ingest_takes_files_in_receipt_order_so_the_later_copy_is_the_duplicate(config, tmp_path: Path) -> None:
    # Named so that the later delivery sorts first: the verdict must not depend on file names.
    shutil.copy(SAMPLES / "25-duplicate.eml", tmp_path / "a.eml")
    shutil.copy(SAMPLES / "01-accepted-zip-gbk.eml", tmp_path / "b.eml")
    _run("ingest", "--config", str(config.path), str(tmp_path / "a.eml"), str(tmp_path / "b.eml"))
    rows = json.loads(_run("submissions", "--config", str(config.path), "--json"))
    assert [(r["received_at"], r["verdict"]) for r in rows] == [
        ("2025-05-26T10:02:11+08:00", "accepted"), ("2025-05-26T10:31:48+08:00", "ignored")]


def test_demo_replies_read_as_on_the_day_each_message_came(tmp_path: Path) -> None:
    """The demo replays May 2025's mail: a rejection received before the deadline invites a corrected package
    (not "本次申报已于…截止"), and each reply is dated a few minutes after its message's receipt."""
    import email
    from email import policy
    from email.utils import parsedate_to_datetime

    mail = tmp_path / "mail"
    mail.mkdir()
    for name in ("15-no-attachment.eml", "01-accepted-zip-gbk.eml"):
        shutil.copy(SAMPLES / name, mail / name)
    _run("demo", "--workdir", str(tmp_path / "demo"), "--mail", str(mail))
    replies = {}
    for path in (tmp_path / "demo" / "outbox").glob("*.eml"):
        reply = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        replies[reply["In-Reply-To"]] = reply
    assert len(replies) == 2
    for name in ("15-no-attachment.eml", "01-accepted-zip-gbk.eml"):
        sent = email.message_from_bytes((mail / name).read_bytes(), policy=policy.default)
        received = parsedate_to_datetime(sent["Received"].rsplit(";", 1)[1].strip())
        reply = replies[sent["Message-ID"]]
        assert parsedate_to_datetime(reply["Date"]) - received == timedelta(minutes=3)
        body = reply.get_body(("plain",)).get_content()
        day = f"{received.astimezone(timezone(timedelta(hours=8))):%Y年%m月%d日}".replace("年0", "年").replace("月0", "月")
        assert body.rstrip().endswith(day)
        assert "截止，逾期材料不再受理" not in body
    rejection = replies[email.message_from_bytes((mail / "15-no-attachment.eml").read_bytes(),
                                                 policy=policy.default)["Message-ID"]]
    assert "目前仍可修改后重新发送" in rejection.get_body(("plain",)).get_content()


def test_ingest_judges_by_the_real_clock(config, tmp_path: Path) -> None:
    """Only the demo replays mail as of its day: `ingest` of the same old message says the call has closed."""
    import email
    from email import policy

    _run("ingest", "--config", str(config.path), str(SAMPLES / "15-no-attachment.eml"))
    [path] = config.smtp.outbox_dir.glob("*.eml")
    body = email.message_from_bytes(path.read_bytes(), policy=policy.default).get_body(("plain",)).get_content()
    assert "截止，逾期材料不再受理" in body
