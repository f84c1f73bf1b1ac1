"""Load the TOML configuration into frozen dataclasses, reporting every problem at once.

Campaign rules are data: everything a notice decides (deadline, subject convention,
recommending units, materials, thresholds, severities) comes from a
`[campaigns.<id>]` table; nothing campaign-specific lives in code.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from parsers.form_reader import KINDS, LIST_KIND, FieldSpec, FormSchema, TableSpec
from pipeline.errors import ConfigError
from pipeline.rules.findings import Code, Severity

DEFAULT_TIMEZONE = "Asia/Shanghai"
DOCUMENT_FORMATS = frozenset(
    {"docx", "doc", "pdf", "jpeg", "png", "xlsx", "xls", "odt", "ods", "rtf", "text", "gif", "bmp", "tiff", "webp",
     "heic"}
)


@dataclass(frozen=True)
class StorageConfig:
    """Where the database and the raw mail live."""

    url: str = "sqlite:///data/intake.db"   # a relative SQLite path is relative to the config file's folder
    data_dir: Path = Path("data")
    # SQLite: how long a write waits for another connection's lock before "database is locked";
    # PostgreSQL: the connect timeout and lock_timeout.
    busy_timeout_seconds: float = 30.0
    password_env: str = ""  # the environment variable holding the database password ("" = none needed)
    # Derived files (decoded attachments, unpacked members) kept under data_dir/files, in MiB; past it the least
    # recently used message folders are removed, to be re-made from the raw message when opened (0: none kept).
    derived_cache_mb: int = 2048
    # Judge each message in a private folder on /dev/shm when it has room for the worst case (nothing derived
    # then reaches the disk: pipeline/documents/scratch.py); false: in its folder under data_dir/files.
    judge_in_memory: bool = True


@dataclass(frozen=True)
class ServerConfig:
    """What the IMAP and the SMTP settings share: the server, how to reach it, and whose password."""

    host: str = ""
    port: int = 0
    ssl: bool = True                 # TLS from the first byte (993, 465)
    starttls: bool = False           # or upgrade a plain connection (143, 587)
    username: str = ""
    password_env: str = ""           # the environment variable holding the password (never the file)
    timeout_seconds: float = 60.0


@dataclass(frozen=True)
class MailboxConfig(ServerConfig):
    """The IMAP source (used by `intake run`)."""

    port: int = 993
    password_env: str = "INTAKE_IMAP_PASSWORD"
    # Folder specs: a name ("INBOX", "垃圾邮件") or a SPECIAL-USE flag ("\\Junk"); resolved against LIST.
    folders: tuple[str, ...] = ("INBOX", "\\Junk", "垃圾邮件", "广告邮件", "订阅邮件")
    poll_minutes: float = 5.0        # a float, so tests can poll every few seconds
    batch_size: int = 50
    max_attempts: int = 3
    move_processed_to: str = ""       # off by default: nothing on the server changes
    login_retry_minutes: int = 5      # repeated failed logins earn a temporary ban on 126
    # `intake run` keeps its connection between polls (fewer LOGINs, cheap idle polls); one idle longer is
    # replaced, since NAT and firewalls drop idle TCP silently. 0 = log out after every poll.
    keep_connection_minutes: float = 20.0


# Public mail providers: one domain, millions of unrelated mailboxes (the county unions' among them).
SHARED_DOMAINS = frozenset({
    "126.com", "163.com", "yeah.net", "188.com", "qq.com", "foxmail.com", "sina.com", "sina.cn", "sohu.com",
    "139.com", "189.cn", "wo.cn", "aliyun.com", "tom.com", "21cn.com", "gmail.com", "outlook.com", "hotmail.com",
    "live.com", "yahoo.com", "icloud.com",
})


@dataclass(frozen=True)
class SmtpConfig(ServerConfig):
    """Where replies go: an SMTP server, or `outbox_dir` to write .eml files instead."""

    port: int = 465
    password_env: str = "INTAKE_SMTP_PASSWORD"
    sender: str = ""
    outbox_dir: Path | None = None
    # Replies allowed in any 24 hours (0 = no such cap): to one mailbox (case and +tag folded), to one
    # organisation's domain (not the public providers in shared_domains: many county unions write from
    # 126.com), and in all. Over a cap a reply is stored as failed with the reason, never sent.
    daily_cap_per_recipient: int = 20
    daily_cap_per_domain: int = 40
    daily_cap_total: int = 300
    shared_domains: frozenset[str] = SHARED_DOMAINS
    send_interval_seconds: float = 5.0
    max_attempts: int = 5
    retry_base_seconds: float = 60.0
    # Where the server keeps copies of what we sent ("已发送" on 126 with 客户端发信保存到已发送 on, or a
    # SPECIAL-USE flag such as "\\Sent"); "" = off. Used after a crash to tell "sent" from "never sent".
    sent_folder: str = ""


@dataclass(frozen=True)
class RunConfig:
    """The unattended runner: one process at a time, scheduler tolerance."""

    lock_file: Path = Path("intake.lock")   # relative: in storage.data_dir
    misfire_grace_seconds: int = 300
    workers: int = 0                 # messages judged at once by `intake ingest`; 0 = one per CPU


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of the child process that judges messages, each with its own CPU and wall time (`[limits]` too)."""

    isolate: bool = True             # false: judge in the calling process (debugging, platforms without fork)
    cpu_seconds: int = 120
    memory_mb: int = 1024            # address space, so it also caps what a decompressor can allocate
    wall_seconds: float = 300.0
    max_open_files: int = 256
    max_file_mb: int = 4096          # largest file the child may write (the SQLite file included)
    messages_per_child: int = 50     # judged one after the other by one child (1: a new child for each)


@dataclass(frozen=True)
class WebConfig:
    """The staff console (`intake serve`): where it listens, and the address staff reach it by."""

    bind: str = "127.0.0.1"          # loopback: the office network sees it only when the operator says so
    port: int = 8080
    base_url: str = ""               # behind a reverse proxy, e.g. "https://intake.zgh.local/"; https → Secure cookies
    # Reverse proxies in front of the console whose X-Forwarded-For / -Proto it may believe (0: none; the
    # client is the connection's address). Behind one proxy, 1: else every login counts as the proxy's.
    proxy_hops: int = 0


@dataclass(frozen=True)
class ReportConfig:
    """The nightly staff report."""

    at: str = "22:00"
    timezone: str = DEFAULT_TIMEZONE
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class UnitKind:
    """One kind of unit allowed to recommend (county federation, industry union …)."""

    kind: str
    label: str
    patterns: tuple[re.Pattern[str], ...]
    names: tuple[str, ...] = ()
    roster: tuple[str, ...] = ()  # the units of this kind expected to send (as written; the report lists the silent)
    # True: a unit of this kind that fits only a pattern goes to review (UNIT_NOT_ON_ROSTER) until staff put it
    # on the roster (石家庄's 市总直属企业工会: a company's union fits the pattern, but only the directly
    # affiliated ones may send).
    confirm_by_roster: bool = False

    def matches(self, unit: str) -> bool:
        """True when `unit` (already normalised) is on the roster or fits a pattern."""
        return unit in self.names or any(p.search(unit) for p in self.patterns)


@dataclass(frozen=True)
class SubjectRule:
    """The subject convention: `<recommending unit><studio name><suffix>`."""

    pattern: re.Pattern[str]
    studio_pattern: re.Pattern[str]
    example: str
    strip_prefixes: re.Pattern[str]
    organisation_markers: tuple[str, ...]
    attachment_same_as_subject: bool = True
    # False when the notice prescribes no subject: nothing is rejected for a subject (SUBJECT_FORMAT) or an
    # archive's name, and the pattern, if any, only helps to find the unit and the studio.
    enforced: bool = True


@dataclass(frozen=True)
class DocumentRole:
    """One kind of material the notice asks for, and how to recognise it."""

    role: str
    title: str
    formats: tuple[str, ...]
    name_keywords: tuple[str, ...] = ()
    exclude_keywords: tuple[str, ...] = ()
    content_keywords: tuple[str, ...] = ()
    required: bool = True
    missing_code: str = ""
    # The notice's numbering and name for this material's file (四.4: （1）《…申报表》, （2）XXX创新工作室事迹材料):
    # `order` 0 = the notice orders nothing; `file_name` may hold {studio}. MATERIAL_NAMING when a file lacks them.
    order: int = 0
    file_name: str = ""


@dataclass(frozen=True)
class EvidenceRule:
    """How evidence files are numbered (3-1, 3-2 …) and which formats they may have."""

    major: int = 3
    folder_keywords: tuple[str, ...] = ("佐证",)
    image_formats: tuple[str, ...] = ("jpeg",)
    other_formats: tuple[str, ...] = ("pdf",)
    require_sequence: bool = True
    require_numbering: bool = True                  # false: evidence may be named freely (no 3-1, 3-2 …)
    min_count: int = 0                              # MISSING_EVIDENCE below this many evidence files
    title: str = "佐证材料"                          # how findings name the evidence


@dataclass(frozen=True)
class ArchiveLimits:
    """Resource limits for one archive, nested archives included ([limits]; pipeline.documents.archives applies
    them)."""

    max_files: int = 500
    max_total_bytes: int = 2 * 1024**3
    max_ratio: float = 200.0
    max_depth: int = 1
    timeout_seconds: float = 120.0


@dataclass(frozen=True)
class ConditionGroup:
    """One branch of a condition the notice states as alternatives ("至少1项市级二等奖……或者……至少2项……"): met
    when at least `min_items` items of `field` contain one of `any_of`, none of `none_of`, and (with
    `within_years`) a year that recent."""

    field: str
    any_of: tuple[str, ...]
    none_of: tuple[str, ...] = ()
    within_years: int = 0
    min_items: int = 1


@dataclass(frozen=True)
class LeaderCondition:
    """A condition the notice sets for a category (its leader, its awards), checked on one form field (advisory)."""

    category: str
    field: str
    any_of: tuple[str, ...]     # the field must contain one of these (e.g. 正高 for 名医)
    none_of: tuple[str, ...]    # … and none of these (副主任医师 contains 主任医师)
    explain: str                # the notice's condition in its own words, for the finding
    within_years: int = 0       # an item of the field must name a year this recent (awards "申报前3年内")
    code: Code = Code.LEADER_CONDITION
    basis: str = ""             # the notice's clause for this condition ("" = the code's basis)
    # `any_of_groups`: the notice's alternatives, met when any one is; () = the one group above. A category
    # of "" applies to every category (二(二)'s 领衔 condition holds for all three Qingdao types).
    groups: tuple[ConditionGroup, ...] = ()

    def alternatives(self) -> tuple[ConditionGroup, ...]:
        """The branches, any one of which meets the condition."""
        return self.groups or (ConditionGroup(self.field, self.any_of, self.none_of, self.within_years),)


@dataclass(frozen=True)
class FormRules:
    """The application form: its schema (labels → fields) and the eligibility hints read from it."""

    schema: FormSchema
    min_members: int = 0          # TEAM_TOO_SMALL below this
    min_results: int = 0          # TOO_FEW_RESULTS below this
    min_months_running: int = 0   # TOO_RECENT: established less than this many months before the deadline
    category_field: str = ""      # a form field that names the studio's category (else the studio name does)
    conditions: tuple[LeaderCondition, ...] = ()   # leader_conditions, then conditions, from the config
    # category -> (form fields, words): a category is recognised from what the form says of the leader when the
    # studio's name does not say it (高级教师 or 教学名师 is a 名师 studio's leader, 主任医师 a 名医's).
    category_signs: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    named_after_leader: tuple[str, ...] = ()       # categories whose studio bears the leader's name (名师, 名医)
    min_results_by_category: dict[str, int] = field(default_factory=dict)   # a category's own minimum of results

    def results_minimum(self, category: str) -> int:
        """TOO_FEW_RESULTS's threshold for `category` (名师/名医: each year's results, 劳模: 2 a year)."""
        return self.min_results_by_category.get(category, self.min_results)


@dataclass(frozen=True)
class SummaryRules:
    """The summary table (汇总表): its columns, and which of them must agree with the form."""

    table: TableSpec
    compare: tuple[str, ...] = ()
    title: str = ""                  # the table's title as the notice prints it (the export's title row)


@dataclass(frozen=True)
class Wording:
    """What the campaign's notice calls things, for the sentences senders and staff read (messages.py)."""

    materials: str = "申报材料"        # a submission, as in "“正定县总工会张三创新工作室”的入库材料"
    subject_format: str = ""          # the subject convention in words ("推荐单位+工作室名称+入库材料")
    evidence: str = "佐证材料"         # the evidence, as a short noun
    leader: str = "带头人"             # the studio's leader (青岛: 领衔人)
    conditions: str = "申报条件"       # what staff check the form against (石家庄: 入库条件)
    # "CODE" or "CODE.variant" -> (message, fix) replacing the built-in templates; None keeps the built-in one
    overrides: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    def override(self, code: str, variant: str = "") -> tuple[str | None, str | None]:
        """The campaign's own (message, fix) templates for `code` in `variant`, (None, None) for the built-in."""
        return self.overrides.get(f"{code}.{variant}" if variant else code, (None, None))


@dataclass(frozen=True, kw_only=True)
class Campaign:
    """Everything one notice decides, as data. The defaults here are the campaign file's (a key left out)."""

    id: str
    title: str                  # the loader's default: the campaign's id
    deadline: datetime
    subject: SubjectRule
    units: tuple[UnitKind, ...]
    documents: tuple[DocumentRole, ...]
    evidence: EvidenceRule
    office: str = ""
    contact: str = ""
    mailbox: str = ""
    opens: datetime | None = None
    deadline_inclusive: bool = True
    timezone: str = DEFAULT_TIMEZONE
    keywords: tuple[str, ...] = ()
    submission_keywords: tuple[str, ...] = ()
    unit_exclude: tuple[re.Pattern[str], ...] = ()
    categories: tuple[str, ...] = ()
    default_category: str = ""  # when neither the form, the studio's name nor the subject names one ("": unknown)
    narrative_min_chars: int = 0
    archive_required: bool = True
    severities: dict[str, Severity] = field(default_factory=dict)
    form: FormRules | None = None
    summary_table: SummaryRules | None = None
    late_window_days: int = 60
    wording: Wording = Wording()
    basis: dict[str, str] = field(default_factory=dict)   # finding code -> the notice's clause, or "office"
    # A prefix a unit's name may carry or leave off ("石家庄市教科文卫工会" = "市教科文卫工会"), for matching
    # subjects against the roster; None: names are compared as normalised.
    unit_name_prefix: re.Pattern[str] | None = None
    # A receipt after the deadline whose own Date is before it, at most this many hours earlier and not before
    # the message's earliest Received hop (less `sent_skew_minutes`), is a server's delay: DELAYED_DELIVERY for
    # review instead of LATE. 0 = judged by the receipt alone.
    delayed_delivery_hours: float = 0.0
    sent_skew_minutes: float = 15.0
    # category -> the units that collect it (名师/名医: 市教科文卫工会); another unit: CATEGORY_CHANNEL for review
    category_units: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def unit_key(self, name: str) -> str:
        """A unit's name for comparing with lists: normalised, without the prefix it may carry or leave off."""
        from parsers.names import normalize_name

        key = normalize_name(name)
        return self.unit_name_prefix.sub("", key, count=1) if self.unit_name_prefix is not None else key

    def basis_of(self, code: Code | str | None, params: dict[str, str] | None = None) -> str:
        """The clause of the notice the rule behind `code` implements ("四.6"), "office" for the office's own
        addition, "" when the campaign does not say. A form condition may carry its own."""
        if code is None:
            return ""
        if self.form is not None and params and params.get("explain"):
            own = next((c.basis for c in self.form.conditions if c.code == code and c.explain == params["explain"]
                        and c.basis), "")
            if own:
                return own
        return self.basis.get(str(code), "")

    def severity(self, code: Code, default: Severity) -> Severity:
        """The severity this campaign gives `code` (config overrides the built-in default)."""
        return self.severities.get(str(code), default)

    def role(self, name: str) -> DocumentRole | None:
        """The document role called `name`, if the campaign asks for it."""
        return next((d for d in self.documents if d.role == name), None)

    def accepts_mail_at(self, received_at: datetime) -> bool:
        """Whether mail received then can belong to this call: from `opens` until `late_window_days` after the
        deadline (late mail still routes here and gets LATE; years later it is someone else's or nobody's)."""
        if self.opens is not None and received_at < self.opens:
            return False
        return received_at <= self.deadline + timedelta(days=self.late_window_days)

    def is_late(self, received_at: datetime) -> bool:
        """Whether a message received at `received_at` missed the deadline."""
        return received_at > self.deadline if self.deadline_inclusive else received_at >= self.deadline


@dataclass(frozen=True)
class Config:
    """The whole configuration file."""

    path: Path | None
    storage: StorageConfig
    mailbox: MailboxConfig
    smtp: SmtpConfig
    report: ReportConfig
    limits: ArchiveLimits
    campaigns: tuple[Campaign, ...]
    run: RunConfig
    sandbox: SandboxLimits = SandboxLimits()
    web: WebConfig = WebConfig()


class _Problems:
    """Collects every problem found while loading, so `config check` lists them all at once."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.tables: list[tuple[str, _Table]] = []

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")

    def watch(self, where: str, table: dict[str, Any]) -> _Table:
        """Track which keys of `table` the loader reads, so a misspelt key is reported, not ignored."""
        tracked = _Table(table)
        self.tables.append((where, tracked))
        return tracked

    def report_unread(self) -> None:
        for where, table in self.tables:
            for key in sorted(set(table) - table.read):
                self.add(f"{where}.{key}", "unknown key (misspelt, or in the wrong table?)")


class _Table(dict):  # type: ignore[type-arg]
    """A TOML table that remembers which keys were asked for."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.read: set[str] = set()

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


def _get(table: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any, where: str,
         problems: _Problems) -> Any:
    """Read `key` from `table`, checking its TOML type; a wrong type is a problem, the default is used."""
    if key not in table:  # (also marks the key as known, see _Table)
        return default
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
        problems.add(f"{where}.{key}", f"expected {getattr(kind, '__name__', kind)}, got {type(value).__name__}")
        return default
    return value


def _str_list(table: dict[str, Any], key: str, default: tuple[str, ...], where: str,
              problems: _Problems) -> tuple[str, ...]:
    """Read a list of strings (TOML arrays, never comma-joined strings)."""
    value = _get(table, key, list, list(default), where, problems)
    if not all(isinstance(v, str) for v in value):
        problems.add(f"{where}.{key}", "expected a list of strings")
        return default
    return tuple(value)


def _regex(source: str, where: str, problems: _Problems) -> re.Pattern[str] | None:
    try:
        return re.compile(source)
    except re.error as exc:
        problems.add(where, f"invalid regular expression: {exc}")
        return None


def _resolve(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path)


def _sqlite_url(url: str, base: Path) -> str:
    """Make a relative SQLite path relative to the config file, not to wherever cron starts us."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////") and url[len(prefix):] not in ("", ":memory:"):
        return prefix + str(_resolve(base, url[len(prefix):]))
    return url


_S = TypeVar("_S")


def _defaults(cls: type) -> dict[str, Any]:
    """The defaults a dataclass declares, by field name: what a key left out of the file means."""
    return {f.name: f.default for f in fields(cls) if f.default is not MISSING}


def _settings(t: dict[str, Any], cls: type[_S], where: str, p: _Problems, **given: Any) -> _S:
    """The settings dataclass `cls` read from the table `t`: each field's key is its name, its TOML type and its
    default those of the dataclass, so a default is written once, in the dataclass. `given` are the fields the
    caller reads itself (paths, lists, values that need more than a type check)."""
    values: dict[str, Any] = {}
    for name, default in _defaults(cls).items():
        if name in given:
            continue
        if isinstance(default, tuple):
            values[name] = _str_list(t, name, default, where, p)
        else:
            values[name] = _get(t, name, float if isinstance(default, float) else type(default), default, where, p)
    return cls(**values, **given)


def _positive(settings: Any, names: tuple[str, ...], where: str, p: _Problems, *, zero: str = "") -> None:
    """Each of `names` must be positive (or, with `zero` saying what 0 means, not negative)."""
    for name in names:
        value = getattr(settings, name)
        if zero and value < 0:
            p.add(f"{where}.{name}", f"must be 0 ({zero}) or more, got {value!r}")
        elif not zero and value <= 0:
            p.add(f"{where}.{name}", f"must be positive, got {value!r}")


def _storage(t: dict[str, Any], base: Path, p: _Problems) -> StorageConfig:
    d = StorageConfig()
    url = _get(t, "url", str, d.url, "storage", p)
    if urlsplit(url).password:
        p.add("storage.url", "holds a password: secrets never go in this file; name an environment variable "
                             "in storage.password_env and write the URL without the password")
    data_dir = _resolve(base, _get(t, "data_dir", str, str(d.data_dir), "storage", p))
    storage = _settings(t, StorageConfig, "storage", p, url=_sqlite_url(url, base), data_dir=data_dir)
    _positive(storage, ("busy_timeout_seconds",), "storage", p)
    _positive(storage, ("derived_cache_mb",), "storage", p, zero="no derived files kept after judging")
    return storage


DEFAULT_EXTRA_FOLDERS = ("\\Junk", "垃圾邮件", "广告邮件", "订阅邮件")


def _mailbox(t: dict[str, Any], p: _Problems) -> MailboxConfig:
    w = "mailbox"
    main = _get(t, "folder", str, "INBOX", w, p)
    extra = _str_list(t, "extra_folders", DEFAULT_EXTRA_FOLDERS, w, p)
    folders = _str_list(t, "folders", (), w, p) or tuple(dict.fromkeys((main, *extra)))
    mailbox = _settings(t, MailboxConfig, w, p, folders=folders)
    _positive(mailbox, ("poll_minutes", "batch_size", "timeout_seconds"), w, p)
    _positive(mailbox, ("keep_connection_minutes",), w, p, zero="log out after every poll")
    return mailbox


def _run(t: dict[str, Any], data_dir: Path, p: _Problems) -> RunConfig:
    lock = _get(t, "lock_file", str, str(RunConfig.lock_file), "run", p)
    run = _settings(t, RunConfig, "run", p, lock_file=_resolve(data_dir, lock))
    _positive(run, ("workers",), "run", p, zero="one per CPU")
    return run


def _smtp(t: dict[str, Any], base: Path, p: _Problems) -> SmtpConfig:
    w = "smtp"
    outbox = _get(t, "outbox_dir", str, "", w, p)
    shared = _str_list(t, "shared_domains", tuple(sorted(SmtpConfig.shared_domains)), w, p)
    smtp = _settings(t, SmtpConfig, w, p, outbox_dir=_resolve(base, outbox) if outbox else None,
                     shared_domains=frozenset(d.strip().lower() for d in shared))
    _positive(smtp, ("daily_cap_per_recipient", "daily_cap_per_domain", "daily_cap_total"), w, p, zero="no cap")
    return smtp


def _web(t: dict[str, Any], p: _Problems) -> WebConfig:
    web = _settings(t, WebConfig, "web", p)
    if not 1 <= web.port <= 65535:
        p.add("web.port", f"expected 1 to 65535, got {web.port}")
    _positive(web, ("proxy_hops",), "web", p, zero="no proxy in front")
    if web.base_url and not re.match(r"https?://[^/\s]+", web.base_url):
        p.add("web.base_url", f"expected an http:// or https:// address, got {web.base_url!r}")
    return web


def _report(t: dict[str, Any], p: _Problems) -> ReportConfig:
    report = _settings(t, ReportConfig, "report", p)
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", report.at):
        p.add("report.at", f"expected HH:MM, got {report.at!r}")
    _check_timezone(report.timezone, "report.timezone", p)
    return report


def _limits(t: dict[str, Any], p: _Problems) -> ArchiveLimits:
    """Archive limits; sizes are written in MB in the file, bytes in code."""
    w, d = "limits", ArchiveLimits()
    values = {
        "max_files": _get(t, "max_files", int, d.max_files, w, p),
        "max_total_mb": _get(t, "max_total_mb", int, d.max_total_bytes // 2**20, w, p),
        "max_ratio": _get(t, "max_ratio", float, d.max_ratio, w, p),
        "timeout_seconds": _get(t, "timeout_seconds", float, d.timeout_seconds, w, p),
    }
    for name, value in values.items():
        if value <= 0:
            p.add(f"limits.{name}", "must be positive")
    return ArchiveLimits(max_files=values["max_files"], max_total_bytes=values["max_total_mb"] * 2**20,
                         max_ratio=values["max_ratio"], max_depth=_get(t, "max_depth", int, d.max_depth, w, p),
                         timeout_seconds=values["timeout_seconds"])


def _sandbox(t: dict[str, Any], p: _Problems) -> SandboxLimits:
    """Per-message child process limits, from the same `[limits]` table."""
    sandbox = _settings(t, SandboxLimits, "limits", p)  # reads only its own keys of the shared table
    _positive(sandbox, ("cpu_seconds", "memory_mb", "wall_seconds", "max_open_files", "max_file_mb",
                        "messages_per_child"), "limits", p)
    return sandbox


def _check_timezone(name: str, where: str, p: _Problems) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        p.add(where, f"unknown time zone {name!r}")
        return None


def _moment(value: Any, tz: ZoneInfo | None, end_of_day: bool, where: str, p: _Problems) -> datetime | None:
    """A TOML date or datetime as an aware datetime; a bare date means that whole day in the campaign's zone."""
    zone = tz or ZoneInfo(DEFAULT_TIMEZONE)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    if isinstance(value, date):
        return datetime.combine(value, time(23, 59, 59) if end_of_day else time(0, 0), zone)
    p.add(where, "expected a TOML date or datetime, e.g. 2025-05-30T23:59:59+08:00")
    return None


def _units(c: dict[str, Any], where: str, p: _Problems) -> tuple[UnitKind, ...]:
    units: list[UnitKind] = []
    for i, u in enumerate(_get(c, "units", list, [], where, p)):
        w = f"{where}.units[{i}]"
        if not isinstance(u, dict):
            p.add(w, "expected a table")
            continue
        u = p.watch(w, u)
        patterns = tuple(r for s in _str_list(u, "patterns", (), w, p) if (r := _regex(s, f"{w}.patterns", p)))
        names = tuple(_norm(n) for n in _str_list(u, "names", (), w, p))
        if not patterns and not names:
            p.add(w, "needs `patterns` or `names`")
        units.append(_settings(u, UnitKind, w, p, kind=_get(u, "kind", str, f"kind{i}", w, p),
                               label=_get(u, "label", str, "", w, p), patterns=patterns, names=names))
    if not units:
        p.add(f"{where}.units", "at least one kind of recommending unit is required")
    return tuple(units)


def _norm(text: str) -> str:
    # Imported lazily: parsers.names is the single normaliser for names everywhere.
    from parsers.names import normalize_name

    return normalize_name(text)


def _named_tables(table: Any, where: str, p: _Problems, hint: str = "a table") -> Iterator[tuple[str, str, _Table]]:
    """(name, where, watched table) for each `[where.<name>]` (or `name = { … }`) entry; others are problems."""
    if not isinstance(table, dict):
        p.add(where, f"expected {hint}")
        return
    for name, value in table.items():
        w = f"{where}.{name}"
        if not isinstance(value, dict):
            p.add(w, f"expected {hint}")
            continue
        yield name, w, p.watch(w, value)


def _listed_tables(t: dict[str, Any], key: str, where: str, p: _Problems, hint: str) -> Iterator[tuple[str, _Table]]:
    """(where, watched table) for each entry of the array of tables `key`; an entry that is no table is a problem."""
    for i, value in enumerate(_get(t, key, list, [], where, p)):
        w = f"{where}.{key}[{i}]"
        if isinstance(value, dict):
            yield w, p.watch(w, value)
        else:
            p.add(w, f"expected {hint}")


def _documents(c: dict[str, Any], where: str, p: _Problems) -> tuple[DocumentRole, ...]:
    roles: list[DocumentRole] = []
    for name, w, d in _named_tables(_get(c, "documents", dict, {}, where, p), f"{where}.documents", p):
        formats = _str_list(d, "formats", (), w, p)
        for f in formats:
            if f not in DOCUMENT_FORMATS:
                p.add(f"{w}.formats", f"unknown format {f!r} (known: {', '.join(sorted(DOCUMENT_FORMATS))})")
        role = _settings(d, DocumentRole, w, p, role=name, title=_get(d, "title", str, name, w, p), formats=formats)
        if role.missing_code and role.missing_code not in Code.__members__:
            p.add(f"{w}.missing_code", f"unknown finding code {role.missing_code!r}")
        roles.append(replace(role, name_keywords=tuple(_norm(k) for k in role.name_keywords),
                             exclude_keywords=tuple(_norm(k) for k in role.exclude_keywords)))
    if not roles:
        p.add(f"{where}.documents", "the campaign must list the materials it asks for")
    return tuple(roles)


NO_SUBJECT = r"(?!)(?P<unit>)(?P<studio>)"   # matches nothing: a campaign without a subject convention


def _subject(c: dict[str, Any], where: str, p: _Problems) -> SubjectRule:
    w = f"{where}.subject"
    present = "subject" in c
    t = p.watch(w, _get(c, "subject", dict, {}, where, p))
    # `required = false` (or no [subject] table at all): the notice prescribes no subject, so none is rejected.
    enforced = present and _get(t, "required", bool, True, w, p)
    source = _get(t, "pattern", str, "", w, p)
    pattern = _regex(source, f"{w}.pattern", p) if source else None
    if source and pattern and not {"unit", "studio"} <= set(pattern.groupindex):
        p.add(f"{w}.pattern", "must have the named groups (?P<unit>…) and (?P<studio>…)")
    if not source and enforced:
        p.add(f"{w}.pattern", "is required (or `required = false` when the notice prescribes no subject)")
    prefixes = _get(t, "strip_prefixes", str, r"^(?:(?:re|fw|fwd|回复|答复|转发)\s*[:：]\s*)+", w, p)
    return SubjectRule(
        pattern=pattern or re.compile(NO_SUBJECT),
        studio_pattern=_regex(_get(t, "studio_pattern", str, ".+", w, p), f"{w}.studio_pattern", p) or re.compile(".+"),
        example=_get(t, "example", str, "", w, p),
        strip_prefixes=_regex(prefixes, f"{w}.strip_prefixes", p) or re.compile(r"(?!)"),
        organisation_markers=_str_list(t, "organisation_markers", (), w, p),
        attachment_same_as_subject=_get(t, "attachment_same_as_subject", bool, enforced, w, p) and enforced,
        enforced=enforced,
    )


_SAYS_NOTICE = "通知要求"


def _override_problems(code: str, variant: str, text: str, own: bool, where: str, p: _Problems) -> None:
    """A wording override may use only known placeholders, and an office rule's may not cite the notice."""
    from string import Formatter

    from pipeline.rules.wording import PARAM_NAMES, PHRASE_NAMES

    try:
        names = {name for _lit, name, _spec, _conv in Formatter().parse(text) if name is not None}
    except ValueError as exc:
        p.add(where, f"not a valid template: {exc}")
        return
    unknown = sorted(names - PHRASE_NAMES - PARAM_NAMES)
    if unknown:
        p.add(where, f"unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)}")
    if own and _SAYS_NOTICE in text:
        p.add(where, f"{code} is the office's own rule (basis = \"office\"): its wording may not cite the notice "
                     "(write {per_notice}, which cites it only for rules with a clause)")


def _basis(c: dict[str, Any], where: str, p: _Problems) -> dict[str, str]:
    """`[basis]`: finding code -> the notice's clause ("四.6") or "office" (the office's own addition)."""
    out: dict[str, str] = {}
    for code, clause in _get(c, "basis", dict, {}, where, p).items():
        w = f"{where}.basis.{code}"
        if code not in Code.__members__:
            p.add(w, "unknown finding code")
        elif not isinstance(clause, str) or not clause.strip():
            p.add(w, 'expected the clause of the notice ("四.6") or "office"')
        else:
            out[code] = clause.strip()
    return out


WORDING_PHRASES = ("materials", "subject_format", "evidence", "leader", "conditions")


def _wording(c: dict[str, Any], where: str, basis: dict[str, str], p: _Problems) -> Wording:
    """`[wording]`: the notice's own terms (WORDING_PHRASES) and, per `CODE` or `"CODE.variant"` table, a
    `message` and/or `fix` replacing the built-in wording."""
    from pipeline.rules.findings import is_office_basis
    from pipeline.rules.wording import variants

    w = f"{where}.wording"
    t = _get(c, "wording", dict, {}, where, p)
    known = {f"{code}.{variant}" if variant else str(code) for code, variant in variants()}
    phrases: dict[str, str] = {}
    overrides: dict[str, tuple[str | None, str | None]] = {}
    for key, value in t.items():
        if key in WORDING_PHRASES:
            if isinstance(value, str):
                phrases[key] = value
            else:
                p.add(f"{w}.{key}", f"expected str, got {type(value).__name__}")
            continue
        if key not in known or not isinstance(value, dict):
            p.add(f"{w}.{key}", f"expected one of {', '.join(WORDING_PHRASES)}, or a table named for a finding "
                                'code (or "CODE.variant") with message and/or fix')
            continue
        o = p.watch(f"{w}.{key}", value)
        message, fix = _get(o, "message", str, None, f"{w}.{key}", p), _get(o, "fix", str, None, f"{w}.{key}", p)
        code = key.partition(".")[0]
        for name, text in (("message", message), ("fix", fix)):
            if text is not None:
                _override_problems(code, key, text, is_office_basis(basis.get(code, "")), f"{w}.{key}.{name}", p)
        overrides[key] = (message, fix)
    return Wording(**phrases, overrides=overrides)


def _severities(c: dict[str, Any], where: str, p: _Problems) -> dict[str, Severity]:
    out: dict[str, Severity] = {}
    for code, sev in _get(c, "severity", dict, {}, where, p).items():
        if code not in Code.__members__:
            p.add(f"{where}.severity.{code}", "unknown finding code")
        elif sev not in {s.value for s in Severity}:
            p.add(f"{where}.severity.{code}", f"expected one of reject/review/warning/info, got {sev!r}")
        else:
            out[code] = Severity(sev)
    return out


def _evidence(c: dict[str, Any], where: str, p: _Problems) -> EvidenceRule:
    w = f"{where}.evidence"
    t = p.watch(w, _get(c, "evidence", dict, {}, where, p))
    rule = _settings(t, EvidenceRule, w, p)
    return replace(rule, folder_keywords=tuple(_norm(k) for k in rule.folder_keywords))


def _field_specs(table: Any, where: str, p: _Problems) -> list[tuple[FieldSpec, bool]]:
    """`name = { labels = [...], kind = "...", required = true, header = false }` entries."""
    specs: list[tuple[FieldSpec, bool]] = []
    for name, w, spec in _named_tables(table, where, p, 'a table like { labels = ["…"] }'):
        labels = _str_list(spec, "labels", (), w, p)
        if not labels:
            p.add(f"{w}.labels", "at least one label is required")
        kind = _get(spec, "kind", str, "text", w, p)
        if kind not in (*KINDS, LIST_KIND):
            p.add(f"{w}.kind", f"unknown kind {kind!r} (known: {', '.join((*KINDS, LIST_KIND))})")
        specs.append((FieldSpec(name, labels or (name,), kind, _get(spec, "required", bool, False, w, p),
                                _get(spec, "max_items", int, 0, w, p)),
                      _get(spec, "header", bool, False, w, p)))
    return specs


def _table_spec(t: dict[str, Any], where: str, p: _Problems) -> TableSpec:
    columns = tuple(spec for spec, _ in _field_specs(_get(t, "columns", dict, {}, where, p), f"{where}.columns", p))
    if not columns:
        p.add(f"{where}.columns", "the table needs its columns")
    return TableSpec(columns=columns, min_header_matches=_get(t, "min_header_matches", int, 3, where, p),
                     end_labels=_str_list(t, "end_labels", (), where, p))


def _form(c: dict[str, Any], where: str, p: _Problems) -> FormRules | None:
    if "form" not in c:
        return None
    w = f"{where}.form"
    t = p.watch(w, _get(c, "form", dict, {}, where, p))
    specs = _field_specs(_get(t, "fields", dict, {}, w, p), f"{w}.fields", p)
    members = _table_spec(p.watch(f"{w}.members", t["members"]), f"{w}.members", p) if "members" in t else None
    conditions = []
    for key, code in (("leader_conditions", Code.LEADER_CONDITION), ("conditions", Code.CATEGORY_CONDITION)):
        for i, cond in enumerate(_get(t, key, list, [], w, p)):
            cw = f"{w}.{key}[{i}]"
            cond = p.watch(cw, cond if isinstance(cond, dict) else {})
            conditions.append(LeaderCondition(
                category=_get(cond, "category", str, "", cw, p), field=_get(cond, "field", str, "", cw, p),
                any_of=_str_list(cond, "any_of", (), cw, p), none_of=_str_list(cond, "none_of", (), cw, p),
                explain=_get(cond, "explain", str, "", cw, p), within_years=_get(cond, "within_years", int, 0, cw, p),
                code=code, basis=_get(cond, "basis", str, "", cw, p).strip(), groups=_condition_groups(cond, cw, p)))
    names = {spec.name for spec, _ in specs}
    for cond in conditions:
        for field_name in {cond.field, *(g.field for g in cond.groups)}:
            if field_name not in names:
                p.add(f"{w}.conditions", f"field {field_name!r} is not a form field")
    schema = FormSchema(fields=tuple(s for s, header in specs if not header),
                        header_fields=tuple(s for s, header in specs if header), members=members,
                        section_labels=_str_list(t, "section_labels", (), w, p))
    signs = {}
    for category, sw, sign in _named_tables(_get(t, "category_signs", dict, {}, w, p), f"{w}.category_signs", p,
                                            'a table like { fields = ["leader_title"], words = ["…"] }'):
        sign_fields = _str_list(sign, "fields", (), sw, p)
        for name in sign_fields:
            if name not in names:
                p.add(f"{sw}.fields", f"{name!r} is not a form field")
        signs[category] = (sign_fields, _str_list(sign, "words", (), sw, p))
    by_category = _get(t, "min_results_by_category", dict, {}, w, p)
    for category, minimum in by_category.items():
        if not isinstance(minimum, int) or isinstance(minimum, bool) or minimum < 0:
            p.add(f"{w}.min_results_by_category.{category}", f"expected a count, got {minimum!r}")
    rules = _settings(t, FormRules, w, p, schema=schema, conditions=tuple(conditions), category_signs=signs,
                      min_results_by_category={k: v for k, v in by_category.items() if isinstance(v, int)})
    if rules.category_field and rules.category_field not in names:
        p.add(f"{w}.category_field", f"{rules.category_field!r} is not a form field")
    return rules


def _condition_groups(cond: dict[str, Any], where: str, p: _Problems) -> tuple[ConditionGroup, ...]:
    """`any_of_groups = [{ any_of = [...], min_items = 2, field = "...", none_of = [...], within_years = 3 }, …]`:
    alternatives, each defaulting to the condition's own field and within_years."""
    groups = []
    for gw, g in _listed_tables(cond, "any_of_groups", where, p, 'a table like { any_of = ["…"], min_items = 1 }'):
        any_of = _str_list(g, "any_of", (), gw, p)
        if not any_of:
            p.add(f"{gw}.any_of", "at least one word is required")
        minimum = _get(g, "min_items", int, 1, gw, p)
        if minimum < 1:
            p.add(f"{gw}.min_items", f"must be 1 or more, got {minimum!r}")
        groups.append(ConditionGroup(
            field=_get(g, "field", str, str(cond.get("field", "")), gw, p),
            any_of=any_of, none_of=_str_list(g, "none_of", (), gw, p),
            within_years=_get(g, "within_years", int, cond.get("within_years", 0), gw, p), min_items=minimum))
    return tuple(groups)


def _summary_table(c: dict[str, Any], where: str, p: _Problems) -> SummaryRules | None:
    if "summary_table" not in c:
        return None
    w = f"{where}.summary_table"
    t = p.watch(w, _get(c, "summary_table", dict, {}, where, p))
    table = _table_spec(t, w, p)
    rules = _settings(t, SummaryRules, w, p, table=table)
    for name in rules.compare:
        if name not in {col.name for col in table.columns}:
            p.add(f"{w}.compare", f"{name!r} is not one of the table's columns")
    return rules


def _campaign(cid: str, c: dict[str, Any], p: _Problems) -> Campaign | None:
    where = f"campaigns.{cid}"
    c = p.watch(where, c)
    d = _defaults(Campaign)
    tz_name = _get(c, "timezone", str, d["timezone"], where, p)
    tz = _check_timezone(tz_name, f"{where}.timezone", p)
    if "deadline" not in c:
        p.add(f"{where}.deadline", "is required")
    deadline = _moment(c.get("deadline"), tz, True, f"{where}.deadline", p) if "deadline" in c else None
    opens = _moment(c["opens"], tz, False, f"{where}.opens", p) if "opens" in c else d["opens"]
    basis = _basis(c, where, p)
    prefix = _get(c, "unit_name_prefix", str, "", where, p)
    plain = {key: _get(c, key, type(d[key]), d[key], where, p)
             for key in ("office", "contact", "deadline_inclusive", "default_category", "narrative_min_chars",
                         "archive_required", "late_window_days")}
    campaign = Campaign(
        id=cid, title=_get(c, "title", str, cid, where, p), **plain,
        mailbox=_get(c, "mailbox", str, d["mailbox"], where, p).lower(),
        opens=opens, deadline=deadline or datetime.max.replace(tzinfo=ZoneInfo(DEFAULT_TIMEZONE)), timezone=tz_name,
        keywords=tuple(_norm(k) for k in _str_list(c, "keywords", d["keywords"], where, p)),
        submission_keywords=tuple(_norm(k) for k in _str_list(c, "submission_keywords", d["submission_keywords"],
                                                              where, p)),
        subject=_subject(c, where, p), units=_units(c, where, p),
        unit_exclude=tuple(r for s in _str_list(c, "unit_exclude", (), where, p)
                           if (r := _regex(s, f"{where}.unit_exclude", p))),
        categories=_str_list(c, "categories", d["categories"], where, p), documents=_documents(c, where, p),
        evidence=_evidence(c, where, p), severities=_severities(c, where, p),
        form=_form(c, where, p), summary_table=_summary_table(c, where, p),
        wording=_wording(c, where, basis, p), basis=basis,
        unit_name_prefix=_regex(prefix, f"{where}.unit_name_prefix", p) if prefix else None,
        delayed_delivery_hours=_not_negative(c, "delayed_delivery_hours", d["delayed_delivery_hours"], where, p),
        sent_skew_minutes=_not_negative(c, "sent_skew_minutes", d["sent_skew_minutes"], where, p),
        category_units=_category_units(c, where, p),
    )
    return campaign if deadline else None


def _not_negative(c: dict[str, Any], key: str, default: float, where: str, p: _Problems) -> float:
    value = _get(c, key, float, default, where, p)
    if value < 0:
        p.add(f"{where}.{key}", f"must be 0 or more, got {value!r}")
    return value


def _category_units(c: dict[str, Any], where: str, p: _Problems) -> dict[str, tuple[str, ...]]:
    """`[category_units]`: category -> the units that collect its studios (a list of names)."""
    t = _get(c, "category_units", dict, {}, where, p)
    return {category: _str_list(t, category, (), f"{where}.category_units", p) for category in list(t)}


def parse_config(data: dict[str, Any], base: Path, path: Path | None = None) -> Config:
    """Build a Config from parsed TOML; raise ConfigError listing every problem."""
    p = _Problems()
    known = {"storage", "mailbox", "smtp", "report", "limits", "campaigns", "run", "web"}
    for key in data:
        if key not in known and key != "campaign_files":
            p.add(key, f"unknown section (known: {', '.join(sorted(known))}, campaign_files)")
    # Campaign ids and document roles are the user's names, so only fixed-key tables are watched.
    section = {k: _get(data, k, dict, {}, "config", p) for k in known}
    section["campaigns"] = {**section["campaigns"], **_included_campaigns(data, section["campaigns"], base, p)}
    section.update({k: p.watch(k, v) for k, v in section.items() if k != "campaigns"})
    campaigns = [_campaign(cid, c, p) if isinstance(c, dict) else p.add(f"campaigns.{cid}", "expected a table")
                 for cid, c in section["campaigns"].items()]
    if not section["campaigns"]:
        p.add("campaigns", "at least one campaign table ([campaigns.<id>]) is required")
    storage = _storage(section["storage"], base, p)
    config = Config(
        path=path, storage=storage, mailbox=_mailbox(section["mailbox"], p),
        run=_run(section["run"], storage.data_dir, p), smtp=_smtp(section["smtp"], base, p),
        report=_report(section["report"], p), limits=_limits(section["limits"], p),
        campaigns=tuple(c for c in campaigns if c is not None), sandbox=_sandbox(section["limits"], p),
        web=_web(section["web"], p),
    )
    p.report_unread()
    if p.items:
        raise ConfigError(p.items)
    return config


def _included_campaigns(data: dict[str, Any], own: dict[str, Any], base: Path, p: _Problems) -> dict[str, Any]:
    """`campaign_files = ["campaigns/x.toml"]`: campaign tables kept in files of their own (one per notice),
    so one mailbox's config can serve several campaigns without copying their rules."""
    files = data.get("campaign_files", [])
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        p.add("campaign_files", "expected a list of file names")
        return {}
    found: dict[str, Any] = {}
    for name in files:
        path = _resolve(base, name)
        try:
            included = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            p.add("campaign_files", f"{path}: file not found")
            continue
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            p.add("campaign_files", f"{path}: not valid TOML: {exc}")
            continue
        if set(included) - {"campaigns"}:
            p.add("campaign_files", f"{path}: may hold only [campaigns.<id>] tables")
        for cid, table in included.get("campaigns", {}).items():
            if cid in own or cid in found:
                p.add("campaign_files", f"{path}: campaign {cid!r} is defined twice")
            found[cid] = table
    return found


def load_config(path: Path) -> Config:
    """Read and check a TOML config file; relative paths in it are relative to the file's folder."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    return parse_config(data, path.resolve().parent, path)


# What the demo changes in the example configuration: everything under its --workdir, replies as .eml files.
DEMO_OVERRIDES = {"storage": {"url": "sqlite:///intake.db", "data_dir": "data"}, "smtp": {"outbox_dir": "outbox"}}


def example_config_text() -> str:
    """config.example.toml, shipped inside the package (pipeline/config.example.toml links to it)."""
    return resources.files("pipeline").joinpath("config.example.toml").read_text(encoding="utf-8")


def demo_config(workdir: Path) -> Config:
    """The example configuration (the Shijiazhuang 2025 campaign) with storage and outbox under `workdir`."""
    data = tomllib.loads(example_config_text())
    for section, values in DEMO_OVERRIDES.items():
        data.setdefault(section, {}).update(values)
    return parse_config(data, workdir.resolve(), None)
