"""The console's rules that need no browser, through Flask's test client on a real office (staff_site: sample
mail ingested by the real CLI, replies to a real SMTP relay): a reply whose delivery state is unknown is resent
only after confirmation, a disabled account's session ends, the login never sends anyone to another site,
accounts refuse weak passwords and taken names, and the [web] keys."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select, update

from helpers.console_site import PASSWORD, add_account
from helpers.smtp_server import toml_set
from helpers.staff_site import SAMPLES, Site, office
from pipeline.bootstrap import build_app
from pipeline.cli.main import main
from pipeline.config import load_config
from pipeline.errors import ConfigError
from pipeline.intake.app import App
from pipeline.intake.folders import message_workdir
from pipeline.transport.delivery import UNKNOWN_STATE, settle_interrupted
from pipeline.web.app import create_app
from storage.models import Document, OutboxItem, ReplyState, Submission


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    for site in office(tmp_path_factory):  # staff_site's office, with two console accounts
        add_account(site.config, "审核员", "reviewer")
        add_account(site.config, "临时工", "reviewer")
        yield site


@pytest.fixture(scope="module")
def app(site: Site) -> App:
    return build_app(load_config(site.config))


def _client(app: App, name: str, password: str = PASSWORD) -> FlaskClient:
    client = create_app(app, secret_key="k" * 64).test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"name": name, "password": password, "csrf_token": token})
    return client


def _token(client: FlaskClient, path: str = "/outbox") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_a_reply_in_unknown_state_is_resent_only_after_confirmation(site: Site, app: App) -> None:
    failed = [int(line.split()[0]) for line in site.cli("outbox").splitlines() if " failed " in f" {line} "]
    sent = [int(line.split()[0]) for line in site.cli("outbox").splitlines() if " sent " in f" {line} "]
    reply_id = sent[0]
    # What a kill between the server's 250 and our commit leaves behind: `sending`, its sender gone (a row
    # without a claim is free to settle).
    with app.sessions() as session:
        session.execute(update(OutboxItem).where(OutboxItem.id == reply_id)
                        .values(status=ReplyState.SENDING, last_error=None, claimed_by=None, claimed_at=None))
        session.commit()
    assert settle_interrupted(app) == 1  # no sent folder to ask: failed, "delivery state unknown"
    with app.sessions() as session:
        item = session.get(OutboxItem, reply_id)
        to, before = item.to_addr, item.last_error
    assert before.startswith(UNKNOWN_STATE) and reply_id not in failed
    client = _client(app, "审核员")
    page = client.get("/outbox").text
    assert "投递状态不明" in page and 'name="confirm"' in page
    received = len(site.server.messages_to(to))
    client.post(f"/outbox/{reply_id}/retry", data={"csrf_token": _token(client)})
    assert "请先在邮箱“已发送”中核对" in client.get("/outbox").text
    assert len(site.server.messages_to(to)) == received  # refused: nothing sent
    client.post(f"/outbox/{reply_id}/retry", data={"csrf_token": _token(client), "confirm": "1"})
    assert len(site.server.messages_to(to)) == received + 1
    with app.sessions() as session:
        assert session.get(OutboxItem, reply_id).status == ReplyState.SENT


def test_disabling_an_account_ends_its_session(site: Site, app: App) -> None:
    client = _client(app, "临时工")
    assert client.get("/").status_code == 200
    site.cli("staff", "disable", "临时工")
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert _client(app, "临时工").get("/").status_code == 302  # and it cannot log in again
    site.cli("staff", "enable", "临时工")
    assert _client(app, "临时工").get("/").status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)"])
def test_after_login_nobody_is_sent_to_another_site(app: App, target: str) -> None:
    client = create_app(app, secret_key="k" * 64).test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    response = client.post("/login", query_string={"next": target},
                           data={"name": "审核员", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_accounts_refuse_weak_passwords_taken_names_and_unknown_roles(site: Site) -> None:
    def add(name: str, role: str, password: str) -> str:
        result = CliRunner().invoke(main, ["staff", "add", name, "--role", role, "--password-stdin",
                                           "--config", str(site.config)], input=password + "\n")
        assert result.exit_code != 0
        return result.output

    assert "至少 10 个字符" in add("新人", "viewer", "short")
    assert "已存在" in add("审核员", "viewer", PASSWORD)
    assert "Invalid value" in add("新人", "owner", PASSWORD)
    assert "用户名只能" in add("a b", "viewer", PASSWORD)
    listing = site.cli("staff", "list")
    assert "审核员" in listing and "$argon2" not in listing


def test_the_web_keys_and_their_defaults(tmp_path: Path, site: Site) -> None:
    text = site.config.read_text(encoding="utf-8")
    assert load_config(site.config).web.bind == "127.0.0.1" and load_config(site.config).web.port == 8080
    good = tmp_path / "good.toml"
    good.write_text(toml_set(text, "web", bind="0.0.0.0", port=8443, base_url="https://intake.example.cn/"),
                    encoding="utf-8")
    config = load_config(good)
    assert (config.web.bind, config.web.port) == ("0.0.0.0", 8443)
    assert create_app(build_app(config), secret_key="k" * 64).config["SESSION_COOKIE_SECURE"] is True
    bad = tmp_path / "bad.toml"
    bad.write_text(toml_set(text, "web", port=0, base_url="intake.example.cn", colour="blue"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    problems = "\n".join(caught.value.problems)
    assert "web.port" in problems and "web.base_url" in problems and "web.colour" in problems


def test_files_dropped_from_the_cache_are_made_again_for_the_console(tmp_path: Path) -> None:
    """With derived_cache_mb = 0 nothing unpacked outlives its judgement; opening the submission re-makes the
    folder from the raw message (staff.review.submission_folder), and the scan preview and download work."""
    from helpers.configfile import write_example_config

    config_path = write_example_config(tmp_path)
    config_path.write_text(toml_set(config_path.read_text(encoding="utf-8"), "storage", derived_cache_mb=0),
                           encoding="utf-8")
    mail = tmp_path / "mail"
    mail.mkdir()
    (mail / "01.eml").write_bytes((SAMPLES / "01-accepted-zip-gbk.eml").read_bytes())
    assert CliRunner().invoke(main, ["ingest", str(mail), "--config", str(config_path)]).exit_code == 0
    add_account(config_path, "审核员", "reviewer")
    app = build_app(load_config(config_path))
    with app.sessions() as session:
        doc = session.scalars(select(Document).where(Document.role == "form_scan")).one()
        sub_id, path = doc.submission_id, Path(doc.path)
        folder = message_workdir(app, session.get(Submission, sub_id).message)
    assert not path.exists()
    client = _client(app, "审核员")
    page = client.get(f"/submissions/{sub_id}").text
    assert 'id="scan-preview"' in page and path.is_file()
    shutil.rmtree(folder)  # evicted again, between the page and its pictures
    preview = client.get(f"/submissions/{sub_id}/files/{doc.id}/preview")
    assert preview.status_code == 200 and preview.mimetype == "image/png" and preview.data[:4] == b"\x89PNG"


def test_the_exports_download_as_the_cli_writes_them(site: Site, app: App, tmp_path: Path) -> None:
    import docx

    client = _client(app, "审核员")
    word = client.get("/exports/summary.docx")
    assert word.status_code == 200 and word.headers["Content-Disposition"].startswith("attachment")
    (tmp_path / "web.docx").write_bytes(word.data)
    site.cli("export", "summary", "--format", "docx", "--out", str(tmp_path / "cli.docx"))
    cells = [[[c.text for c in row.cells] for row in docx.Document(str(tmp_path / name)).tables[0].rows]
             for name in ("web.docx", "cli.docx")]
    assert cells[0] == cells[1] and len(cells[0]) > 1
    book = client.get("/exports/report.xlsx")
    assert book.status_code == 200 and book.data[:2] == b"PK"
    assert "filename*=UTF-8''" in book.headers["Content-Disposition"]  # the Chinese name, RFC 5987
    assert client.get("/exports/summary.pdf").status_code == 404


def test_a_file_named_with_a_newline_downloads_under_a_safe_name(site: Site, app: App) -> None:
    """A stranger's archive member named "a\\x01b\\x7f\\nc\\r.txt" (tests/hostile): the console offers it, as an
    attachment, under a name no header can be split by (werkzeug refused the raw name with a 500)."""
    from helpers.hostile import delivery
    from pipeline.intake.ledger import ingest_bytes

    result = ingest_bytes(app, delivery("zip-names-control.zip"), "file:/hostile/zip-names-control.eml")
    reviewer = _client(app, "审核员")
    page = reviewer.get(f"/submissions/{result.submission_id}").text
    links = re.findall(rf'href="(/submissions/{result.submission_id}/files/\d+)"', page)
    assert links, "the page lists the archive's files"
    for link in links:
        answer = reviewer.get(link)
        assert answer.status_code == 200
        disposition = answer.headers["Content-Disposition"]
        assert disposition.startswith("attachment") and not any(c in disposition for c in "\r\n\x01\x7f")


def test_the_preview_cache_keeps_within_the_bound_least_recently_used_first(tmp_path: Path) -> None:
    import os

    from pipeline.web.previews import trim

    folder = tmp_path / "previews"
    folder.mkdir()
    for i, name in enumerate(["old.png", "used.png", "new.png"]):
        (folder / name).write_bytes(b"x" * 2**20)          # 1 MiB each
        os.utime(folder / name, ns=(10**18 + i * 10**9, 10**18 + i * 10**9))
    (folder / "busy.png.1.part").write_bytes(b"x" * 2**20)   # being written: never removed
    os.utime(folder / "used.png")                            # read just now: the most recently used
    assert trim(folder, 2) == [folder / "old.png"]
    assert sorted(p.name for p in folder.iterdir()) == ["busy.png.1.part", "new.png", "used.png"]
    assert trim(folder, 0) == [folder / "new.png", folder / "used.png"]


def test_a_new_password_ends_the_sessions_made_with_the_old_one(site: Site, app: App) -> None:
    def set_password(password: str) -> None:
        result = CliRunner().invoke(main, ["staff", "password", "临时工", "--password-stdin", "--config",
                                           str(site.config)], input=password + "\n")
        assert result.exit_code == 0, result.output

    client = _client(app, "临时工")
    assert client.get("/").status_code == 200
    short = CliRunner().invoke(main, ["staff", "password", "临时工", "--password-stdin", "--config",
                                      str(site.config)], input="short\n")
    assert short.exit_code != 0 and "至少" in short.output
    set_password("Another-Passphrase-7")
    assert client.get("/").status_code == 302                    # the old session is over
    assert _client(app, "临时工").get("/").status_code == 302     # the old password no longer opens
    assert _client(app, "临时工", "Another-Passphrase-7").get("/").status_code == 200
    set_password(PASSWORD)


@pytest.mark.parametrize("hops", [0, 1])
def test_behind_a_proxy_the_throttle_counts_each_client_only_when_the_proxy_is_trusted(app: App, hops: int) -> None:
    """[web] proxy_hops = 1: X-Forwarded-For names the client, so one client's wrong passwords lock that client
    only; with 0 (no proxy declared) the header is a stranger's word, and every request is the connection's."""
    import dataclasses

    web = dataclasses.replace(app.config.web, proxy_hops=hops)
    console = create_app(dataclasses.replace(app, config=dataclasses.replace(app.config, web=web)),
                         secret_key="k" * 64)

    def attempt(client_address: str, password: str) -> int:
        client = console.test_client()
        via_proxy = {"environ_base": {"REMOTE_ADDR": "127.0.0.1"},
                     "headers": {"X-Forwarded-For": client_address}}
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login", **via_proxy).text).group(1)
        return client.post("/login", data={"name": "审核员", "password": password, "csrf_token": token},
                           **via_proxy).status_code

    assert [attempt("203.0.113.7", "wrong password") for _ in range(5)] == [401] * 5
    assert attempt("203.0.113.7", PASSWORD) == 429                    # that client is locked out
    assert attempt("203.0.113.8", PASSWORD) == (302 if hops else 429)  # another client behind the same proxy
