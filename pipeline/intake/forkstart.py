"""Starting the sandbox's forkserver (pipeline/intake/sandbox.py), kept light: the `intake` entry point
(pipeline/cli/entry.py) starts it before importing anything else, so that its imports of the judging code
(about 2 s of CPU) run on another core while this process imports its own (0.7 s), not after them.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from multiprocessing import forkserver
from multiprocessing.context import BaseContext

FORKSERVER_MAIN_ENV = "INTAKE_FORKSERVER_MAIN"  # the parent's main script, for pipeline.intake.forkserver_main
# Imported once by the forkserver, so each child starts with them loaded; pipeline.intake.forkserver_main loads
# the entry point (intake's CLI, pytest) there, which "__main__" in this list is meant to do but doesn't.
PRELOAD = ["pipeline.intake.forkserver_main", "pipeline.intake.sandbox", "pipeline.intake.judge", "parsers.pdf",
           "parsers.images", "parsers.sheets", "parsers.docx_text", "parsers.wordcount", "parsers.form_reader",
           "parsers.scan", "parsers.convert", "pipeline.rules.eligibility", "storage.forms", "storage.mailbox_state",
           "sqlalchemy.dialects.sqlite", "sqlite3", "sqlalchemy.dialects.postgresql", "PIL.JpegImagePlugin",
           "PIL.PngImagePlugin", "pdfminer.cmapdb",
           # imported lazily by pdfplumber (page rendering) and py7zr (extraction): once here, not per child
           "pypdfium2", "psutil",
           # Image.open's first call loads these; names in GBK and CP437 (zip) decode with these codecs
           "PIL.BmpImagePlugin", "PIL.GifImagePlugin", "PIL.PpmImagePlugin", "encodings.gb18030", "encodings.cp437",
           "email.generator"]


def start_forkserver() -> None:
    """Start the forkserver now rather than when the first message needs a child (multiprocessing starts it
    once per process either way)."""
    child_context()
    forkserver.ensure_running()


def child_context() -> BaseContext:
    main = sys.modules.get("__main__")
    # Only a main run as a script by path (`intake`, `pytest`) is re-run by children; one run with -m
    # (`python -m pipeline`) is imported by name, and a package's __main__ never (multiprocessing.spawn).
    if getattr(main, "__spec__", None) is None and getattr(main, "__file__", None):
        os.environ[FORKSERVER_MAIN_ENV] = os.path.abspath(main.__file__)  # read by pipeline.intake.forkserver_main
    else:
        os.environ.pop(FORKSERVER_MAIN_ENV, None)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)  # only read when the forkserver starts (once per parent)
    return ctx
