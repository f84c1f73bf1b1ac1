"""Decode a large stored message without holding it, or its attachments, in memory.

`split_file` reads the raw .eml file once, in chunks. Every long run of clean base64 lines (a big
attachment's body) is decoded in chunks straight into a file of its own and replaced, in a small *skeleton*
copy of the message, by one base64 line that decodes to a unique marker. The skeleton then goes through
`pipeline.mail.decode.decode_message` unchanged, so headers, names, charsets and every repair for broken MIME stay
exactly those of the in-memory path; each attachment whose bytes are a marker gets the spilled file instead
(`Attachment.path`). When a marker does not come back as exactly one attachment's bytes (a long base64 run
that was not a base64 attachment: a mislabelled part, a text body, an attached message) that run is put back
as it was, read again from the file, and the skeleton decoded again: the result is always the one
decode_message gives for the whole message, only with big attachments on disk.

Decoding a base64 run in pieces equals decoding it whole: a run holds base64 characters and line ends only
(padding on its last line alone), each piece is decoded in whole quads with the rest carried to the next,
and the last piece goes through mail.b64decode, which repairs a broken end as it does for the whole body.
"""

from __future__ import annotations

import binascii
import re
import secrets
import shutil
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

import pybase64

from pipeline.mail.decode import DecodedMail, b64decode, decode_message

STREAM_THRESHOLD = 2**20        # messages above this many bytes are split on disk (pipeline/intake/judge.py)
MIN_SPILL = 256 * 2**10        # base64 runs shorter than this (in encoded bytes) stay in the skeleton
_CHUNK = 4 * 2**20             # bytes read at once
_START = re.compile(rb"^[A-Za-z0-9+/]+\r?\n", re.MULTILINE)         # a line that may start a base64 run
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_PADDED = re.compile(rb"[A-Za-z0-9+/]*={1,2}\r?\n")                # the last line of a base64 body
_LINE_ENDS = b"\r\n"
_MARK = b"\x00intake-spill\x00"


class _Splitter:
    """The skeleton being built, the files spilled so far, and the base64 run being read.

    A run is decoded in pieces of whole quads (the 1-3 characters left over wait for the next piece), which
    is what decoding it whole does; its last piece, with any padding, goes through mail.b64decode itself.
    """

    def __init__(self, spill_dir: Path, min_spill: int) -> None:
        self.spill_dir, self.min_spill = spill_dir, min_spill
        self.skeleton = bytearray()
        # 14 + 13 + 3 = 30 bytes: a placeholder of 40 characters without padding. A padded one would end the
        # decoding of its part, so a part with more base64 after the run (past a blank or a bad line) would
        # still decode to the bare marker and the attachment would silently lose the rest.
        self.nonce = secrets.token_bytes(13)
        self.spilled: dict[bytes, Path] = {}
        self.placed: dict[bytes, tuple[bytes, int, int]] = {}  # marker → (its skeleton line, start, end offset)
        self._reset()

    def _reset(self) -> None:
        self.in_run = False
        self.pending: list[bytes] = []  # the run as read, until it is spilled
        self.length = 0                 # bytes in the run so far
        self.carry = b""                # base64 characters not yet decoded (fewer than four)
        self.out: BinaryIO | None = None
        self.path: Path | None = None
        self.start = 0                  # file offset of the run's first line
        self.ending = b"\n"

    def feed(self, region: bytes, base: int) -> None:
        """Whole lines of the file, `region` starting at file offset `base`."""
        pos, size = 0, len(region)
        while pos < size:
            if not self.in_run:
                found = _START.search(region, pos)
                if found is None:
                    self.skeleton += region[pos:]
                    return
                self.skeleton += region[pos:found.start()]
                self.in_run, self.start, pos = True, base + found.start(), found.start()
            pos = self._extend(region, pos)
            if pos >= size:
                return  # the run may go on in the next region
            padded = _PADDED.match(region, pos)
            if padded is not None:
                self._add(region[pos:padded.end()])
                pos = padded.end()
            self.end_run(base + pos)

    def _extend(self, region: bytes, pos: int) -> int:
        """Add the lines from `pos` that hold base64 characters only; returns where they stop.

        Lines of one length are taken a block at a time (a base64 body is hundreds of thousands of them).
        """
        size = len(region)
        while pos < size:
            line = region[pos:region.index(b"\n", pos) + 1]
            text = line.rstrip(_LINE_ENDS)
            if not text or text.translate(None, _ALPHABET):
                return pos  # a blank line, or one that is not base64 (a boundary, padding, anything else)
            count, decoded = _uniform(region, pos, len(line))
            self._add(region[pos:pos + count * len(line)], decoded)
            pos += count * len(line)
        return pos

    def _add(self, lines: bytes, decoded: bytes | None = None) -> None:
        """Add whole lines of the run; `decoded` is their bytes when _uniform decoded them already."""
        self.length += len(lines)
        self.ending = b"\r\n" if lines.endswith(b"\r\n") else b"\n"
        if self.out is None:
            self.pending.append(lines)
            if self.length < self.min_spill:
                return
            self.spill_dir.mkdir(parents=True, exist_ok=True)
            self.path = self.spill_dir / f"{len(self.spilled):04d}.bin"
            self.out = open(self.path, "wb")  # noqa: SIM115 - closed by end_run or _scan
            lines, decoded = b"".join(self.pending), None
            self.pending.clear()
        if decoded is not None and not self.carry:
            self.out.write(decoded)
            return
        text = self.carry + lines.translate(None, _LINE_ENDS)
        whole = len(text) - len(text) % 4
        if b"=" in text:  # the padded last line: decoded with the rest at the end
            whole = 0
        self.out.write(_decode_clean(text[:whole]))
        self.carry = text[whole:]

    def end_run(self, end: int) -> None:
        """The run ended before file offset `end`: back into the skeleton as read, or a marker for its file."""
        if not self.in_run:
            return
        if self.out is None:
            self.skeleton += b"".join(self.pending)
        else:
            if self.carry:
                self.out.write(b64decode(self.carry))
            self.out.close()
            marker = _MARK + self.nonce + len(self.spilled).to_bytes(3, "big")
            assert self.path is not None
            self.spilled[marker] = self.path
            placeholder = binascii.b2a_base64(marker, newline=False) + self.ending
            self.placed[marker] = (placeholder, self.start, end)
            self.skeleton += placeholder
        self._reset()


def _decode_clean(text: bytes) -> bytes:
    """Base64 of alphabet characters only, a multiple of 4 long, no padding (what _add hands over).

    pybase64 decodes with SIMD, about 8× binascii: for a 25 MB attachment 15 ms instead of 120 ms, which
    is most of what splitting a message costs. binascii stays the fallback for anything pybase64 refuses.
    """
    try:
        return pybase64.b64decode(text, validate=True)
    except ValueError:
        return binascii.a2b_base64(text)


def _uniform(region: bytes, pos: int, length: int) -> tuple[int, bytes | None]:
    """How many lines of `length` bytes holding base64 characters only follow from `pos` (at least one), and
    what they decode to when every line holds whole quads (76 characters, as every mail program writes).

    Checking the lines is most of what splitting costs, so the usual case is checked by decoding: line ends
    where each line ends, then pybase64 (SIMD), which skips anything outside the alphabet: the block is clean
    exactly when nothing was skipped, i.e. when it decodes to 3 bytes for every 4 characters of its lines.
    """
    ending = b"\r\n" if region[pos + length - 2:pos + length] == b"\r\n" else b"\n"
    width = length - len(ending)  # base64 characters per line

    def clean(n: int) -> tuple[bool, bytes | None]:
        block = region[pos:pos + n * length]
        if block[length - 1::length] != b"\n" * n or (len(ending) == 2 and block[length - 2::length] != b"\r" * n):
            return False, None
        if width % 4:  # quads span lines: check only, _add decodes with the characters carried over
            return not block.translate(None, _ALPHABET + _LINE_ENDS), None
        try:
            data = pybase64.b64decode(block, validate=False)
        except ValueError:  # a character count that is not whole quads: something was skipped
            return False, None
        return (True, data) if len(data) == n * width // 4 * 3 else (False, None)

    # No more lines can be clean than those whose last byte is a line end where a line of `length` ends: the
    # run's short last line (or the boundary after it) breaks that pattern, so checking that many lines first
    # decodes the run once instead of once for each halving step of the search below.
    ends = region[pos + length - 1::length]
    good, bad = 1, len(ends) - len(ends.lstrip(b"\n"))
    if bad > good:
        ok, data = clean(bad)
        if ok:
            return bad, data
    found: bytes | None = None  # what `good` lines decode to, once a step of the search has checked them
    while bad - good > 1:
        mid = (good + bad) // 2
        ok, data = clean(mid)
        good, bad, found = (mid, bad, data) if ok else (good, mid, found)
    if good == 1:  # never checked: the first line, which _extend let through (None: _add decodes it)
        found = clean(1)[1]
    return good, found


def _scan(path: Path, spill_dir: Path, min_spill: int) -> _Splitter:
    splitter = _Splitter(spill_dir, min_spill)
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
        if splitter.out is not None:
            splitter.out.close()
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
    skeleton, spilled = bytes(splitter.skeleton), dict(splitter.spilled)
    while True:
        mail = decode_message(skeleton)
        found = [a.data for a in mail.attachments if a.data in spilled]
        wrong = [m for m in spilled if found.count(m) != 1]
        if not wrong:
            break
        for marker in wrong:
            skeleton = _put_back(skeleton, path, splitter.placed[marker])
            spilled.pop(marker).unlink()
    if not spilled:
        shutil.rmtree(spill_dir, ignore_errors=True)
        return mail
    attachments = tuple(replace(a, data=b"", path=spilled[a.data]) if a.data in spilled else a
                        for a in mail.attachments)
    return replace(mail, attachments=attachments)
