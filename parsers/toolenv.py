"""The environment of the programs started on attacker files (7zz, unar, bsdtar, soffice): an allow-list.

Those programs parse hostile input, and one with a bug a sender can steer could read, or send out, whatever
its environment holds; under systemd the service's environment holds the mailbox and SMTP codes and the
database password (secrets.env). None of them needs any of that, so they get only what running needs: where
programs are (PATH), where temporary files go (TMPDIR), the time zone, a UTF-8 locale (they write and print
UTF-8 file names), and what the caller adds (soffice: a private HOME). Nothing else of ours is passed on.
"""

from __future__ import annotations

import os

PASSED = ("PATH", "TMPDIR", "TZ")  # taken from our environment when set
UTF8_LOCALE = "C.UTF-8"


def tool_env(**extra: str) -> dict[str, str]:
    """The whole environment for one external tool: the allow-listed variables, a UTF-8 locale, then `extra`."""
    env = {name: os.environ[name] for name in PASSED if name in os.environ}
    env.setdefault("PATH", os.defpath)
    env["LANG"] = env["LC_ALL"] = UTF8_LOCALE
    env.update(extra)
    return env
