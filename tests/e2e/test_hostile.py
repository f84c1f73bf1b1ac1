"""The committed hostile corpus (tests/hostile/) through the real pipeline: a stored verdict, nothing outside data.

Each file is delivered as the attachment of a submission (under the MIME name the manifest gives, which may
itself be hostile) or, for .eml files, as the whole message; intake's ingest judges it on a real SQLite app.
Regenerate the files with `python tests/hostile/make_corpus.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO
from helpers.hostile import FILES, MANIFEST, delivery
from parsers.errors import DocumentUnreadable
from parsers.images import image_info
from parsers.pdf import pdf_info
from pipeline.intake.ledger import ingest_bytes
from storage import repo

CANARY = "intake-hostile-canary"


def _all_files(root: Path) -> set[Path]:
    return {Path(d, n) for d, _dirs, names in os.walk(root) for n in names}


def _canaries() -> list[str]:
    """Files named after the canary in the places a zip slip would reach from a temp folder."""
    found = []
    for folder in ("/tmp", "/var/tmp", str(Path.home()), "/etc"):
        try:
            found += [os.path.join(folder, n) for n in os.listdir(folder) if CANARY in n]
        except OSError:
            pass
    return found


def test_corpus_is_large_enough_and_matches_the_manifest() -> None:
    assert len(MANIFEST) >= 30
    assert {p.name for p in FILES.iterdir()} == set(MANIFEST)
    assert max(p.stat().st_size for p in FILES.iterdir()) < 512 * 1024  # small files only


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_hostile_file_gets_a_stored_verdict_and_stays_inside_data(name: str, app, tmp_path: Path) -> None:
    before = _canaries()
    result = ingest_bytes(app, delivery(name), f"file:/hostile/{name}")
    assert result.status == "new", f"{name}: processing failed"
    with app.sessions() as session:
        (sub,) = repo.submissions(session)
        codes = {f.code for f in sub.findings}
        assert sub.verdict in ("accepted", "rejected", "review", "ignored")
        assert "INTERNAL_ERROR" not in codes
        assert set(MANIFEST[name]["codes"]) <= codes, f"{name}: {sorted(codes)}"  # type: ignore[arg-type]
        documents = [Path(d.path) for d in sub.documents]
    data = Path(app.config.storage.data_dir).resolve()
    assert all(p.resolve().is_relative_to(data) for p in documents)
    outside = {p for p in _all_files(tmp_path) if not p.resolve().is_relative_to(data)}
    allowed = {"intake.db", "intake.db-wal", "intake.db-shm", "config.toml"}
    assert {p.name for p in outside} <= allowed, outside
    assert not any(CANARY in p.name for p in _all_files(tmp_path))
    assert _canaries() == before


def test_image_and_pdf_readers_refuse_or_bound_hostile_files() -> None:
    for name in ("png-huge-dimensions.png", "jpeg-huge-dimensions.jpg"):
        with pytest.raises(DocumentUnreadable):
            image_info(FILES / name)
    info = pdf_info(FILES / "pdf-3000-pages.pdf")
    assert info.pages == 3000 and info.image_count == 0


_BOMBS = ["zipbomb-ratio.zip", "zipbomb-lying-size.zip", "zipbomb-overlap.zip", "zipbomb-nested-ratio.zip",
          "7z-bomb.7z", "docx-inflating-document.docx", "docx-billion-laughs.docx", "xlsx-billion-laughs.xlsx",
          "pdf-3000-pages.pdf"]
_PEAK_SCRIPT = """
import resource, sys, pathlib
sys.path[:0] = sys.argv[3:]
from helpers.hostile import delivery
from pipeline.bootstrap import build_app
from pipeline.config import load_config
from pipeline.intake.ledger import ingest_bytes
from dataclasses import replace
config = load_config(pathlib.Path(sys.argv[1]))
# In this process, without the sandbox's address-space cap: the figure is what the readers themselves need.
app = build_app(replace(config, sandbox=replace(config.sandbox, isolate=False)))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for name in sys.argv[2].split(","):
    ingest_bytes(app, delivery(name), "file:/bomb/" + name)
print(base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def test_peak_memory_of_the_bombs_stays_modest(config) -> None:
    """All the bombs judged in one process, unsandboxed: peak RSS (ours and the extractors') well under 512 MB."""
    paths = [str(REPO / "tests"), str(REPO / "scripts"), str(REPO)]
    proc = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(config.path), ",".join(_BOMBS), *paths],
                          capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    base_kb, peak_kb, children_kb = map(int, proc.stdout.split()[-3:])
    print(f"peak RSS: baseline {base_kb // 1024} MiB, after the bombs {peak_kb // 1024} MiB, "
          f"largest child {children_kb // 1024} MiB")
    assert peak_kb < 512 * 1024 and children_kb < 512 * 1024


_MESSAGES = sorted(name for name, entry in MANIFEST.items() if entry["as"] == "message")


@pytest.mark.parametrize("name", _MESSAGES)
def test_hostile_message_is_answered_only_at_its_sender_briefly_and_stored_as_text(name: str, app) -> None:
    """Whatever a whole hostile message holds: a reply goes to its From or nowhere, is at most 8 KB, never
    answers one of our own replies; every header value stored is text a database and a terminal can hold."""
    ingest_bytes(app, delivery(name), f"file:/hostile/{name}")
    with app.sessions() as session:
        (sub,) = repo.submissions(session)
        message = sub.message
        for value in (message.message_id or "", message.subject, message.from_addr):
            value.encode("utf-8")  # no lone surrogate
            assert not any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in value), (name, value)
        for reply in sub.replies:
            assert reply.to_addr == message.from_addr, (name, reply.to_addr)
            assert len(reply.raw) <= 8 * 1024, (name, len(reply.raw))
            assert b"evil" not in reply.raw and b"\x1b" not in reply.raw
        if name == "msg-answers-our-reply.eml":
            assert not sub.replies and "reply_withheld" in (sub.fields or {})
