"""Decode a large stored message without holding it, or its attachments, in memory.

`split_file` reads the raw .eml file once, in chunks, and splits it as pipeline/mail/base64runs.py explains:
every long run of clean base64 lines (a big attachment's body) is decoded in chunks straight into a file of
its own, the skeleton left goes through the whole-message decoder, and each attachment whose bytes are a
marker gets its spilled file instead (`Attachment.path`). A run that does not come back as exactly one
attachment is read again from the file and put back: the result is always the one decode_message gives for
the whole message, only with big attachments on disk.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from pipeline.mail.base64runs import RunSplitter, decode_skeleton
from pipeline.mail.decode import DecodedMail, decode_unsplit

STREAM_THRESHOLD = 2**20        # messages above this many bytes are split on disk (pipeline/intake/judge.py)
MIN_SPILL = 32 * 2**10         # base64 runs shorter than this (in encoded bytes) stay in the skeleton
_CHUNK = 4 * 2**20             # bytes read at once


class _Files:
    """Spills written to numbered files in a folder (made when the first is)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def open(self, index: int) -> BinaryIO:
        self.folder.mkdir(parents=True, exist_ok=True)
        return open(self.folder / f"{index:04d}.bin", "wb")  # noqa: SIM115 - closed by close()

    def close(self, out: BinaryIO) -> Path:
        out.close()
        return Path(out.name)


def _scan(path: Path, spill_dir: Path, min_spill: int) -> RunSplitter[Path]:
    splitter = RunSplitter(_Files(spill_dir), min_spill)
    try:
        with path.open("rb") as fh:
            carry, base = b"", 0
            while chunk := fh.read(_CHUNK):
                buf = carry + chunk
                cut = buf.rfind(b"\n") + 1
                splitter.feed(buf[:cut], base)
                base += cut
                carry = buf[cut:]
        splitter.end_run(base)
        splitter.skeleton += carry  # a last line without an ending is never part of a spilled run
    finally:
        splitter.close()
    return splitter


def _put_back(skeleton: bytes, source: Path, placed: tuple[bytes, int, int]) -> bytes:
    """The skeleton with one placeholder replaced by the run it stands for, read again from the file."""
    placeholder, start, end = placed
    with source.open("rb") as fh:
        fh.seek(start)
        return skeleton.replace(placeholder, fh.read(end - start), 1)


def split_file(path: Path, spill_dir: Path, *, min_spill: int = MIN_SPILL) -> DecodedMail:
    """decode_message of the file at `path`, with large base64 attachments decoded into files under `spill_dir`.

    Attachments backed by a file have `path` set and empty `data`; the caller owns `spill_dir` (and removes it).
    A run whose marker does not come back as exactly one attachment's bytes (a base64 text body, a part that
    was not base64 at all) is put back as it was and the skeleton decoded again.
    """
    splitter = _scan(path, spill_dir, min_spill)

    def put_back(skeleton: bytes, placed: tuple[bytes, int, int]) -> bytes:
        return _put_back(skeleton, path, placed)

    mail, spilled = decode_skeleton(splitter, decode_unsplit, put_back, Path.unlink)
    if not spilled:
        shutil.rmtree(spill_dir, ignore_errors=True)
        return mail
    attachments = tuple(replace(a, data=b"", path=spilled[a.data]) if a.data in spilled else a
                        for a in mail.attachments)
    return replace(mail, attachments=attachments)
