"""Who may receive an automatic reply (pure: addresses in, a reason or None out).

A reply goes only to a syntactically valid address that is not our own mailbox (a loop with ourselves) and
not a role address: nobody reads postmaster@ or noreply@, and answering mailer-daemon@ starts bounce loops
(RFC 3834 §2). A refused message is still judged and stored; only the reply is withheld, with the reason
kept for staff.
"""

from __future__ import annotations

import re
from email.utils import getaddresses

from pipeline.config import Config

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
