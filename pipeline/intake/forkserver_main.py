"""Imported by the sandbox's forkserver only: load the parent's main script there, once.

multiprocessing means to do this itself when "__main__" is in the forkserver's preload list, but it
passes the main script under the key "main_path" while spawn.get_preparation_data names it
"init_main_from_path" (CPython 3.6–3.13), so it never happens. Every child then runs the main script
again on start: for `intake` that re-imports pipeline.cli.main and all it imports, ~0.2 s per message. With
the script loaded here as __mp_main__, a child sees the same __file__ and skips that.

It also does here, once, the set-up every child would otherwise repeat before its first query (see _warm),
and freezes what is loaded so that the children's garbage collector leaves it alone (see _freeze).

First of all it drops the environment it was started with for an allow-list (see _start_clean): every child
is forked from here and parses attacker files, so none may hold the mailbox and SMTP codes.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from collections.abc import Mapping
from contextlib import suppress
from multiprocessing import process, spawn

# What a child needs from the environment, by name and by prefix: to find programs (PATH), locale, time zone
# and temporary folder, the interpreter's own settings (PYTHON*, VIRTUAL_ENV), certificates and libpq's
# settings (PG*) for the database it opens itself, the journald marker for its log lines, and the main script
# to load (INTAKE_FORKSERVER_MAIN). Not passed: INTAKE_IMAP_PASSWORD, INTAKE_SMTP_PASSWORD, whatever
# [mailbox] / [smtp] password_env name (the child never logs in to a mail server: replies are queued in the
# database and sent by the parent), and the database password, which the parent hands to each child only
# when its database needs one (sandbox.storage_secret).
_KEEP = frozenset({"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "VIRTUAL_ENV",
                   "SSL_CERT_FILE", "SSL_CERT_DIR", "JOURNAL_STREAM", "INTAKE_FORKSERVER_MAIN"})
_KEEP_PREFIXES = ("LC_", "PYTHON", "PG")


def child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The part of `environ` a sandbox child may see."""
    return {k: v for k, v in environ.items() if k in _KEEP or k.startswith(_KEEP_PREFIXES)}


def _start_clean() -> None:
    """Run this forkserver again, same command line, with only child_environment() of what it was given.

    multiprocessing starts the forkserver with the parent's whole environment, secrets included, and cannot be
    told otherwise. Removing them from os.environ here would leave them in the process's memory (the initial
    environment block, which /proc/<pid>/environ shows) and so in every child forked from it; a new program
    image has only what it is given. Costs one interpreter start per forkserver; its two descriptors
    (listener, alive pipe) were passed to it as inheritable and survive the exec.
    """
    clean = child_environment(os.environ)
    if clean == dict(os.environ):
        return
    try:
        with open("/proc/self/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")[:-1]
    except OSError:  # no /proc: the variables at least leave os.environ and what children start
        for name in set(os.environ) - set(clean):
            del os.environ[name]
        return
    os.execve(sys.executable, argv, clean)


_start_clean()

from pipeline.intake.forkstart import FORKSERVER_MAIN_ENV, PRELOAD  # noqa: E402 - after the exec: loaded once


def _load_parent_main() -> None:
    path = os.environ.get(FORKSERVER_MAIN_ENV, "")
    if not path or not os.path.isfile(path) or getattr(sys.modules["__main__"], "__file__", None) == path:
        return
    current = process.current_process()
    current._inheriting = True  # type: ignore[attr-defined]  # as multiprocessing's own preload does
    try:
        spawn.import_main_path(path)
    except Exception:  # noqa: BLE001 - a main that fails here is run by each child, as without this module
        return
    finally:
        del current._inheriting  # type: ignore[attr-defined]


def _warm() -> None:
    """What each child paid for on its first query: SQLAlchemy configuring the mappers (30 ms a child, a
    third of the sandbox's cost per message in benchmarks/run.py) and the libc lookup for prctl."""
    from sqlalchemy.orm import configure_mappers

    import storage.forms
    import storage.mailbox_state
    import storage.models
    import storage.staff  # noqa: F401 - every mapped class is defined before configuring
    from pipeline.intake.sandbox import libc

    configure_mappers()
    with suppress(OSError):
        libc()


def _freeze() -> None:
    """Load the rest of the preload list now (the forkserver imports this module first) and move every
    object there is into the collector's permanent generation (gc.freeze, made for servers that fork).

    A child's collections otherwise walk all of those objects: time (1-2 % of a judgement) and a write to
    each object's header, which copies page after page the child shares with the forkserver.
    """
    for name in PRELOAD:
        with suppress(ImportError):  # the forkserver itself skips a module that fails, as before
            importlib.import_module(name)
    gc.collect()  # no garbage frozen with the rest
    gc.freeze()


_load_parent_main()
_warm()
_freeze()
