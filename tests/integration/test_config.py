"""The configuration: the example loads, the demo defaults match it, and every problem is listed at once."""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from helpers import REPO
from pipeline.config import demo_config, load_config, parse_config
from pipeline.errors import ConfigError


def test_example_config_loads_the_shijiazhuang_campaign(example_config_path: Path) -> None:
    config = load_config(example_config_path)
    (campaign,) = config.campaigns
    assert campaign.id == "sjz-2025"
    assert campaign.deadline == datetime(2025, 5, 30, 15, 59, 59, tzinfo=timezone.utc)
    assert campaign.narrative_min_chars == 1000
    assert {d.role for d in campaign.documents} == {"form_word", "form_scan", "narrative", "summary"}
    assert campaign.categories == ("劳模和工匠人才", "名师", "名医")


def test_relative_paths_are_relative_to_the_config_file(example_config_path: Path) -> None:
    config = load_config(example_config_path)
    assert config.storage.url == f"sqlite:///{REPO / 'data' / 'intake.db'}"
    assert config.storage.data_dir == REPO / "data"


def test_the_demo_is_the_example_with_its_storage_and_replies_under_the_workdir(tmp_path: Path,
                                                                                example_config_path: Path) -> None:
    demo = demo_config(tmp_path)
    example = load_config(example_config_path)
    assert demo.smtp.outbox_dir == tmp_path.resolve() / "outbox"
    assert demo.storage.url == f"sqlite:///{tmp_path.resolve() / 'intake.db'}"
    assert demo.storage.data_dir == tmp_path.resolve() / "data"
    assert dataclasses.replace(demo, path=None, storage=example.storage, run=example.run,
                               smtp=dataclasses.replace(demo.smtp, outbox_dir=None)) == \
        dataclasses.replace(example, path=None)


def test_the_package_ships_the_example_configuration_itself() -> None:
    """pipeline/config.example.toml is a link to the file at the top, not a copy that could drift."""
    link = REPO / "pipeline" / "config.example.toml"
    assert link.is_symlink() and link.resolve() == (REPO / "config.example.toml").resolve()


def test_deadline_is_inclusive_to_the_last_second(campaign) -> None:
    assert not campaign.is_late(campaign.deadline)
    assert campaign.is_late(campaign.deadline + timedelta(seconds=1))



def _campaign_with(example_config_path: Path, **deadline: object):  # type: ignore[no-untyped-def]
    data = tomllib.loads(example_config_path.read_text(encoding="utf-8"))
    data["campaigns"]["sjz-2025"].update(deadline)
    return parse_config(data, Path("/tmp")).campaigns[0]


def test_a_bare_date_deadline_means_the_whole_day_in_the_campaigns_zone(example_config_path: Path) -> None:
    from datetime import date

    camp = _campaign_with(example_config_path, deadline=date(2025, 5, 30))
    cst = timezone(timedelta(hours=8))
    assert camp.deadline == datetime(2025, 5, 30, 23, 59, 59, tzinfo=cst)
    assert not camp.is_late(datetime(2025, 5, 30, 23, 59, 59, tzinfo=cst))
    assert camp.is_late(datetime(2025, 5, 31, 0, 0, 0, tzinfo=cst))
    assert not camp.is_late(datetime(2025, 5, 30, 15, 59, 59, tzinfo=timezone.utc))  # 23:59:59 in Shanghai


def test_an_exclusive_deadline_makes_its_own_second_late(example_config_path: Path) -> None:
    cst = timezone(timedelta(hours=8))
    midnight = datetime(2025, 5, 31, 0, 0, 0, tzinfo=cst)
    camp = _campaign_with(example_config_path, deadline=midnight, deadline_inclusive=False)
    assert camp.is_late(midnight) and not camp.is_late(midnight - timedelta(seconds=1))

def test_every_problem_is_reported_at_once(example_config_path: Path) -> None:
    data = tomllib.loads(example_config_path.read_text(encoding="utf-8"))
    data["mailbox"]["port"] = "993"
    data["report"]["at"] = "25:00"
    data["bogus"] = {}
    camp = data["campaigns"]["sjz-2025"]
    camp["timezone"] = "Mars/Olympus"
    camp["subject"]["pattern"] = "(unclosed"
    camp["documents"]["form_scan"]["formats"] = ["jpeg", "tif"]
    camp["severity"]["NOT_A_CODE"] = "reject"
    camp["severity"]["LATE"] = "fatal"
    del camp["deadline"]
    with pytest.raises(ConfigError) as err:
        parse_config(data, Path("/tmp"))
    text = "\n".join(err.value.problems)
    for fragment in ("mailbox.port", "report.at", "bogus", "timezone", "subject.pattern", "'tif'",
                     "NOT_A_CODE", "severity.LATE", "deadline"):
        assert fragment in text
    assert len(err.value.problems) >= 9


def test_config_check_command_lists_problems(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from pipeline.cli.main import main

    bad = tmp_path / "bad.toml"
    bad.write_text('[storage]\nurl = 5\n[limits]\nmax_files = -1\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["config", "check", "--config", str(bad)])
    assert result.exit_code == 1
    assert "storage.url" in result.output and "limits.max_files" in result.output and "campaigns" in result.output
    good = CliRunner().invoke(main, ["config", "check", "--config", str(REPO / "config.example.toml")])
    assert good.exit_code == 0, good.output
    assert "sjz-2025" in good.output


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text("[storage\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")


def test_misspelt_and_misplaced_keys_are_reported(example_config_path: Path) -> None:
    data = tomllib.loads(example_config_path.read_text(encoding="utf-8"))
    data["smtp"]["outbox"] = "x"
    data["campaigns"]["sjz-2025"]["subject"]["unit_exclude"] = []
    data["campaigns"]["sjz-2025"]["narative_min_chars"] = 1000
    with pytest.raises(ConfigError) as err:
        parse_config(data, Path("/tmp"))
    assert sorted(err.value.problems) == sorted([
        "smtp.outbox: unknown key (misspelt, or in the wrong table?)",
        "campaigns.sjz-2025.subject.unit_exclude: unknown key (misspelt, or in the wrong table?)",
        "campaigns.sjz-2025.narative_min_chars: unknown key (misspelt, or in the wrong table?)",
    ])


def test_the_reply_caps_load_with_their_defaults_and_refuse_negatives(example_config_path: Path) -> None:
    data = tomllib.loads(example_config_path.read_text(encoding="utf-8"))
    smtp = parse_config(data, Path("/tmp")).smtp
    assert (smtp.daily_cap_per_recipient, smtp.daily_cap_per_domain, smtp.daily_cap_total) == (20, 40, 300)
    assert {"126.com", "163.com", "qq.com"} <= smtp.shared_domains
    for key in ("daily_cap_per_domain", "daily_cap_total", "shared_domains"):
        del data["smtp"][key]
    assert parse_config(data, Path("/tmp")).smtp == smtp  # the file says what the defaults are
    data["smtp"].update(daily_cap_per_domain=-1, daily_cap_total=-5, shared_domains="126.com")
    with pytest.raises(ConfigError) as err:
        parse_config(data, Path("/tmp"))
    text = "\n".join(err.value.problems)
    assert "smtp.daily_cap_per_domain" in text and "smtp.daily_cap_total" in text and "smtp.shared_domains" in text
