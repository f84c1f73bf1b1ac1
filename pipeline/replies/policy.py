"""Who may receive an automatic reply, how many may go, and which mail answers ours (pure: addresses and
headers in, an address or a reason or None out; pipeline/replies/outbox.py applies them).

A reply goes only to a syntactically valid address that is not our own mailbox (a loop with ourselves) and
not a role address: nobody reads postmaster@ or noreply@, and answering mailer-daemon@ starts bounce loops
(RFC 3834 §2). A refused message is still judged and stored; only the reply is withheld, with the reason
kept for staff.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.utils import getaddresses

from pipeline.config import Config, SmtpConfig

# Dot-atom local part (RFC 5322 §3.4.1) @ a dotted host name of LDH labels; no quoted local parts, no IP
# literals, no non-ASCII (126 SMTP has no SMTPUTF8): all legitimate senders here fit, and nothing else is
# worth a reply.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,63}}")
# Local parts that are robots or shared role boxes (RFC 2142 and what bounce software uses).
ROLE_LOCAL_PARTS = frozenset({
    "postmaster", "mailer-daemon", "mailerdaemon", "daemon", "noreply", "no-reply", "no_reply", "donotreply",
    "do-not-reply", "do_not_reply", "dontreply", "root", "abuse", "hostmaster", "webmaster", "bounce", "bounces",
    "nobody", "listserv", "majordomo", "security",
})


def is_valid_address(addr: str) -> bool:
    """A plain ASCII addr-spec with a dotted domain, at most 254 characters (RFC 5321 path limit)."""
    return len(addr) <= 254 and len(addr.partition("@")[0]) <= 64 and _ADDRESS.fullmatch(addr) is not None


def is_role_address(addr: str) -> bool:
    """postmaster@, noreply@, mailer-daemon@ … (also with a +tag, and owner-*/*-request list robots)."""
    local = addr.partition("@")[0].lower().split("+", 1)[0]
    return local in ROLE_LOCAL_PARTS or local.startswith("owner-") or local.endswith("-request")


def own_addresses(config: Config) -> frozenset[str]:
    """Every address that is us: campaign mailboxes, the SMTP sender and the logins."""
    found = {c.mailbox for c in config.campaigns} | {config.smtp.username, config.mailbox.username}
    found |= {addr for _name, addr in getaddresses([config.smtp.sender])}
    return frozenset(a.strip().lower() for a in found if a and a.strip())


def reply_refusal(addr: str, own: frozenset[str]) -> str | None:
    """Why no automatic reply may go to `addr`, or None when one may."""
    if not addr:
        return "no sender address"
    if not is_valid_address(addr):
        return f"sender address {addr[:100]!r} is not a valid address"
    if addr.lower() in own:
        return f"sender address {addr} is our own"
    if is_role_address(addr):
        return f"sender address {addr} is a role address (never answered)"
    return None


# --- where a reply goes, and how many may go ----------------------------------------------------------------
#
# Policy (README, threat model): a reply goes to the From address. Reply-To is honoured only when it names a
# mailbox in the sender's own organisational domain (the county union's own mail server, a clerk asking for
# answers at the office's shared box); on a public provider (126.com, qq.com …) "the same domain" is millions
# of strangers, so there Reply-To is ignored. Nobody checks Reply-To, whereas 126 checks a From of its own
# domains (SPF/DMARC) on the way in: aiming a rejection at a third party then takes forging a sender the
# provider itself refuses, not one header line.

# Gmail documents that dots in the local part are ignored; no Chinese provider does (NetEase allows no dots
# at all, QQ treats them as characters), so nobody else's dots are dropped: two real mailboxes never merge.
_DOTLESS_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
# Second-level labels under a two-letter country code that are registries, not organisations (gov.cn, com.cn).
_REGISTRY_LABELS = frozenset({"com", "net", "org", "gov", "edu", "ac", "co", "mil"})


def normalised_address(addr: str) -> str:
    """The mailbox `addr` reaches, for counting: lower case, without a +tag (victim+1@, victim+2@ … are one
    inbox wherever tags work, and merging them where they don't only caps sooner), Gmail's dots dropped."""
    local, _, domain = addr.strip().lower().rpartition("@")
    if not local:
        return addr.strip().lower()
    local = local.split("+", 1)[0] or local
    if domain in _DOTLESS_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def organisation_domain(addr: str) -> str:
    """The registrable domain of an address (mail.zdx.gov.cn → zdx.gov.cn, vip.163.com → 163.com): an
    organisation's hosts are one domain for the per-domain cap and the Reply-To rule."""
    labels = addr.strip().lower().rpartition("@")[2].rstrip(".").split(".")
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _REGISTRY_LABELS else 2
    return ".".join(labels[-keep:])


def reply_address(from_addr: str, reply_to: str, shared_domains: frozenset[str]) -> tuple[str, str | None]:
    """(where a reply goes, why Reply-To was not used or None), by the policy above.

    `reply_to` is the raw Reply-To header value; only its first address is considered.
    """
    parsed = getaddresses([reply_to]) if reply_to.strip() else []
    wanted = parsed[0][1].strip().lower() if parsed and "@" in parsed[0][1] else ""
    sender = from_addr.strip().lower()
    if not wanted or not sender or normalised_address(wanted) == normalised_address(sender):
        return sender, None  # without a From nobody is answered: a lone Reply-To is exactly the forgery
    domain = organisation_domain(sender)
    if organisation_domain(wanted) != domain:
        return sender, f"Reply-To {wanted[:100]} is outside the sender's domain {domain}: answered at From"
    if domain in shared_domains:
        return sender, f"Reply-To {wanted[:100]} is another mailbox on the public provider {domain}: answered at From"
    return wanted, None


# Every cap's reason starts so: staff read it in the outbox, and a held-back row is told from one that went.
CAP_PREFIX = "daily cap of "


def cap_refusal(addr: str, recent: Sequence[str], caps: SmtpConfig) -> str | None:
    """Why one more reply to `addr` would be over a cap, given the addresses of the replies queued in the
    last 24 hours that were not themselves held back; None when it may go.

    The per-domain cap leaves out the public providers (`shared_domains`): every county union of the city may
    write from 126.com or qq.com, and one busy deadline day there is not an attack. Those are bounded per
    mailbox and by the global cap."""
    if caps.daily_cap_total and len(recent) >= caps.daily_cap_total:
        return f"{CAP_PREFIX}{caps.daily_cap_total} replies in all reached"
    mailbox = normalised_address(addr)
    per_address = caps.daily_cap_per_recipient
    if per_address and sum(normalised_address(a) == mailbox for a in recent) >= per_address:
        return f"{CAP_PREFIX}{per_address} replies to this address reached"
    domain, per_domain = organisation_domain(addr), caps.daily_cap_per_domain
    if per_domain and domain not in caps.shared_domains \
            and sum(organisation_domain(a) == domain for a in recent) >= per_domain:
        return f"{CAP_PREFIX}{per_domain} replies to the domain {domain} reached"
    return None


# --- mail that answers us -----------------------------------------------------------------------------------

MSG_ID = re.compile(r"<[^<>\s]{1,250}>")  # a msg-id as we accept and repeat one (RFC 5322 §3.6.4, bounded)
MAX_REFERENCED_IDS = 200  # a real thread is a few dozen; past this nobody is counting on us to look


def referenced_ids(in_reply_to: str, references: str) -> list[str]:
    """The Message-IDs (with brackets) that In-Reply-To and References name, In-Reply-To first, bounded."""
    found = MSG_ID.findall(f"{in_reply_to} {references}")
    return list(dict.fromkeys(found))[:MAX_REFERENCED_IDS]


def message_id_domain(sender: str) -> str:
    """The domain our Message-IDs (replies and reports) end in: the sender's, else "localhost" (a notice that
    names no mailbox, and no smtp.sender: config.qingdao.toml)."""
    return next((addr for _name, addr in getaddresses([sender])), "").partition("@")[2] or "localhost"


def own_domains(config: Config) -> frozenset[str]:
    """The domains our own Message-IDs end in (the sender's, the mailboxes', the logins')."""
    return frozenset(a.rpartition("@")[2] for a in own_addresses(config) if "@" in a)


def looks_like_ours(msg_id: str, domains: frozenset[str]) -> bool:
    """A Message-ID of the form we give replies (<intake.…@our domain>) or nightly reports (make_msgid's
    <….report@our domain>)."""
    local, _, domain = msg_id.strip("<>").lower().rpartition("@")
    return domain in domains and (local.startswith("intake.") or local.endswith(".report"))
