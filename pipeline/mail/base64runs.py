"""Long runs of base64 lines in a raw message, decoded in bulk and replaced by markers: the *skeleton* split.

Every long run of clean base64 lines (a big attachment's body) is decoded straight into a spill of its own
(a file: pipeline/mail/mimestream.py; bytes: decode.decode_message for a message of a few hundred KB) and
replaced, in a small skeleton copy of the message, by one base64 line that decodes to a unique marker. The
skeleton then goes through the whole-message decoder unchanged, so headers, names, charsets and every repair
for broken MIME stay exactly those of the plain path; each attachment whose bytes are a marker gets the spill
instead. When a marker does not come back as exactly one attachment's bytes (a long base64 run that was not a
base64 attachment: a mislabelled part, a text body, an attached message) that run is put back as it was and
the skeleton decoded again: the result is always the one the whole message gives. The email package reads a
message line by line in Python; a skeleton has a few hundred lines where the message had tens of thousands.

Decoding a base64 run in pieces equals decoding it whole: a run holds base64 characters and line ends only
(padding on its last line alone), each piece is decoded in whole quads with the rest carried to the next,
and the last piece goes through b64decode, which repairs a broken end as it does for the whole body.
"""

from __future__ import annotations

import binascii
import io
import re
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO, Generic, Protocol, TypeVar

import pybase64

if TYPE_CHECKING:
    from pipeline.mail.decode import DecodedMail

Spilled = TypeVar("Spilled")   # what stands for a spilled run: its file's path, or its bytes


def b64decode(data: bytes | str) -> bytes:
    """Base64 that never raises: stray characters dropped, broken padding repaired."""
    if isinstance(data, str):
        data = data.encode("ascii", "ignore")
    data = data.translate(bytes.maketrans(b"-_", b"+/"))  # URL-safe alphabet from some webmail
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        clean = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
        if len(clean) % 4 == 1:
            clean = clean[:-1]  # a lone sextet carries no whole byte
        return binascii.a2b_base64(clean + b"=" * (-len(clean) % 4))


_START = re.compile(rb"^[A-Za-z0-9+/]+\r?\n", re.MULTILINE)         # a line that may start a base64 run
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_PADDED = re.compile(rb"[A-Za-z0-9+/]*={1,2}\r?\n")                # the last line of a base64 body
_LINE_ENDS = b"\r\n"
_MARK = b"\x00intake-spill\x00"


class Spills(Protocol[Spilled]):
    """Where the decoded runs go: `open` a writer for the `index`-th run, `close` it into what stands for it."""

    def open(self, index: int) -> BinaryIO: ...

    def close(self, out: BinaryIO) -> Spilled: ...


class InMemory:
    """Spills kept as bytes."""

    def open(self, index: int) -> BinaryIO:
        return io.BytesIO()

    def close(self, out: BinaryIO) -> bytes:
        assert isinstance(out, io.BytesIO)
        return out.getvalue()


class RunSplitter(Generic[Spilled]):
    """The skeleton being built, the runs spilled so far, and the base64 run being read.

    A run is decoded in pieces of whole quads (the 1-3 characters left over wait for the next piece), which
    is what decoding it whole does; its last piece, with any padding, goes through b64decode itself.
    """

    def __init__(self, spills: Spills[Spilled], min_spill: int) -> None:
        self.spills, self.min_spill = spills, min_spill
        self.skeleton = bytearray()
        # 14 + 13 + 3 = 30 bytes: a placeholder of 40 characters without padding. A padded one would end the
        # decoding of its part, so a part with more base64 after the run (past a blank or a bad line) would
        # still decode to the bare marker and the attachment would silently lose the rest.
        self.nonce = secrets.token_bytes(13)
        self.spilled: dict[bytes, Spilled] = {}
        self.placed: dict[bytes, tuple[bytes, int, int]] = {}  # marker → (its skeleton line, start, end offset)
        self._reset()

    def _reset(self) -> None:
        self.in_run = False
        self.pending: list[tuple[bytes, bytes | None]] = []  # the run as read (and decoded), until it is spilled
        self.length = 0                 # bytes in the run so far
        self.carry = b""                # base64 characters not yet decoded (fewer than four)
        self.out: BinaryIO | None = None
        self.start = 0                  # file offset of the run's first line
        self.ending = b"\n"

    def feed(self, region: bytes, base: int) -> None:
        """Whole lines of the message, `region` starting at its offset `base`."""
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
        if self.out is not None:
            self._write(lines, decoded)
            return
        self.pending.append((lines, decoded))
        if self.length < self.min_spill:
            return
        self.out = self.spills.open(len(self.spilled))  # closed by end_run, or by close() when reading fails
        for piece, piece_decoded in self.pending:  # as decoded, the way the rest of the run will be
            self._write(piece, piece_decoded)
        self.pending.clear()

    def _write(self, lines: bytes, decoded: bytes | None) -> None:
        """Decode lines into the spill: in whole quads, the 1-3 characters left over carried to the next lines."""
        assert self.out is not None
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
        """The run ended before offset `end`: back into the skeleton as read, or a marker for its spill."""
        if not self.in_run:
            return
        if self.out is None:
            self.skeleton += b"".join(lines for lines, _decoded in self.pending)
        else:
            if self.carry:
                self.out.write(b64decode(self.carry))
            spilled = self.spills.close(self.out)
            marker = _MARK + self.nonce + len(self.spilled).to_bytes(3, "big")
            self.spilled[marker] = spilled
            placeholder = binascii.b2a_base64(marker, newline=False) + self.ending
            self.placed[marker] = (placeholder, self.start, end)
            self.skeleton += placeholder
        self._reset()

    def close(self) -> None:
        """Close the spill being written, if any (reading the message failed)."""
        if self.out is not None:
            self.out.close()


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


def decode_skeleton(splitter: RunSplitter[Spilled], decode: Callable[[bytes], DecodedMail],
                    put_back: Callable[[bytes, tuple[bytes, int, int]], bytes],
                    discard: Callable[[Spilled], None]) -> tuple[DecodedMail, dict[bytes, Spilled]]:
    """`decode` of the skeleton, with every run whose marker does not come back as exactly one attachment's
    bytes `put_back` (given the skeleton and where the run was) and its spill `discard`ed; with the spills
    that stand for attachments, by marker."""
    skeleton, spilled = bytes(splitter.skeleton), dict(splitter.spilled)
    while True:
        mail = decode(skeleton)
        found = [a.data for a in mail.attachments if a.data in spilled]
        wrong = [m for m in spilled if found.count(m) != 1]
        if not wrong:
            return mail, spilled
        for marker in wrong:
            skeleton = put_back(skeleton, splitter.placed[marker])
            discard(spilled.pop(marker))
