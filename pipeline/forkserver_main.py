"""Imported by the sandbox's forkserver only: load the parent's main script there, once.

multiprocessing means to do this itself when "__main__" is in the forkserver's preload list, but it
passes the main script under the key "main_path" while spawn.get_preparation_data names it
"init_main_from_path" (CPython 3.6–3.13), so it never happens. Every child then runs the main script
again on start: for `intake` that re-imports pipeline.cli and all it imports, ~0.2 s per message. With
the script loaded here as __mp_main__, a child sees the same __file__ and skips that.

It also does here, once, the set-up every child would otherwise repeat before its first query (see _warm),
and freezes what is loaded so that the children's garbage collector leaves it alone (see _freeze).
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from contextlib import suppress
from multiprocessing import process, spawn

from pipeline.sandbox import FORKSERVER_MAIN_ENV, PRELOAD


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
    from pipeline.sandbox import libc

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
