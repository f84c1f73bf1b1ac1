"""Safe unpacking of e-mailed zip / 7z / rar archives: names decoded, limits enforced, nothing escapes dest."""
from __future__ import annotations

import lzma
import os
import re
import resource
import select
import shutil
import signal
import stat
import struct
import subprocess
import tempfile
import threading
import time
import unicodedata
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import py7zr
import rarfile

from parsers.toolenv import tool_env
from pipeline.config import ArchiveLimits
from pipeline.documents.volumes import ONE_VOLUME

ARCHIVE_KINDS = ("zip", "7z", "rar")

_MIB = 1024 * 1024
_CHUNK = 1024 * 1024
_RAR4 = b"Rar!\x1a\x07\x00"
_RAR5 = b"Rar!\x1a\x07\x01\x00"
_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_JUNK_FILES = {".ds_store", "thumbs.db", "desktop.ini"}
# Zip-based document formats (OOXML, ODF, the Chinese e-document OFD, EPUB) are files, not nested archives.
_DOC_SUFFIXES = {".docx", ".docm", ".xlsx", ".xlsm", ".pptx", ".pptm", ".odt", ".ods", ".odp", ".ofd", ".epub"}
# 7zz prompts on the terminal when an archive wants a password; a dummy one makes it fail instead.
_NO_PASSWORD = "-pSTUDIO-INTAKE-NO-PASSWORD"
# RAR4 names without the Unicode flag are in the sender's ANSI code page (GBK on Chinese Windows, UTF-8 from
# macOS/Linux tools); rarfile's default tries UTF-16LE second, which "succeeds" on GBK bytes and garbles them.
rarfile.TRY_ENCODINGS = ("utf8", "gb18030")


@dataclass(frozen=True)
class UnpackedFile:
    """One regular file taken out of an archive."""

    name: str
    path: Path
    size: int


@dataclass(frozen=True)
class UnpackResult:
    """Outcome of unpack(): the files, or the problem that stopped it."""

    kind: str
    files: tuple[UnpackedFile, ...]
    problem: str | None
    detail: str
    nested: tuple[str, ...] = ()


class _Problem(Exception):
    """Stops the whole unpack with a problem code and a detail for staff."""

    def __init__(self, problem: str, detail: str) -> None:
        super().__init__(detail)
        self.problem, self.detail = problem, detail


class _ToolFailed(Exception):
    """An external extractor could not do it; another one may."""


@dataclass
class _Entry:
    name: str
    size: int
    packed: int | None
    crc: int | None
    is_dir: bool = False
    ref: object = None


@dataclass
class _Job:
    """One archive being unpacked: where its files go, their name prefix, its size for the ratio check."""

    out: Path
    prefix: str
    size: int
    written: int = 0


def sniff_archive(head: bytes) -> str | None:
    """Return "zip", "7z" or "rar" from the first bytes of a file, or None."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "zip"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith((_RAR4, _RAR5)):
        return "rar"
    return None


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(8)


def is_rar5(path: Path) -> bool:
    """A RAR5 archive (bsdtar reads these better than unar; RAR4 the other way round)."""
    return _head(path).startswith(_RAR5)


def _unsafe(detail: str) -> _Problem:
    return _Problem("unsafe", detail)


def _amount(n: int) -> str:
    return f"{n / _MIB:.0f} MiB" if n >= 10 * _MIB else f"{n} bytes"


def _check_ratio(unpacked: int, packed: int, limits: ArchiveLimits, what: str) -> None:
    # Small files of blank pixels or spaces legitimately compress > 200:1; a bomb needs volume too.
    if unpacked > _MIB and unpacked > limits.max_ratio * max(packed, 1):
        ratio = unpacked / max(packed, 1)
        raise _unsafe(f"compression ratio of {what} is {ratio:.0f}:1 (> {limits.max_ratio:.0f}:1)")


@dataclass
class _State:
    """Counters shared by all nesting levels, and every path created so that a problem can undo them."""

    limits: ArchiveLimits
    packed: int  # the outermost archive's size as it arrived: what the whole tree's ratio is measured against
    files: int = 0
    bytes: int = 0
    seq: int = 0
    nesting: bool = False  # an archive inside it is being unpacked: the tree is more than one archive
    created: list[Path] = field(default_factory=list)
    nested: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)  # py7zr writes members from several threads

    def check(self, files: int, size: int) -> None:
        """Raise if `files` more files or `size` more bytes would break the limits."""
        lim = self.limits
        if self.files + files > lim.max_files:
            raise _unsafe(f"too many files ({self.files + files} > {lim.max_files})")
        if self.bytes + size > lim.max_total_bytes:
            raise _unsafe(f"too much data ({_amount(self.bytes + size)} > {_amount(lim.max_total_bytes)})")
        # Each level of a zip in a zip can stay under the ratio while together they multiply (158:1 x 91:1:
        # 201 MB from a 20 KB message): everything written at every level counts against what arrived.
        what = "the archive and the archives inside it" if self.nesting else "the archive"
        _check_ratio(self.bytes + size, self.packed, lim, what)

    def charge(self, job: _Job, size: int, files: int = 0) -> None:
        """Count bytes/files actually written and re-check the limits (headers may lie)."""
        with self.lock:
            self.check(files, size)
            self.bytes += size
            self.files += files
            job.written += size
        _check_ratio(job.written, job.size, self.limits, "the archive")

    def new_file(self, out: Path, name: str) -> tuple[Path, BinaryIO]:
        """Create a fresh file with a safe generated name that keeps the extension."""
        base = name.rsplit("/", 1)[-1]
        stem, dot, ext = base.rpartition(".")
        if not dot or not stem or not (len(ext) <= 10 and ext.isascii() and ext.isalnum()):
            stem, ext = base, ""
        stem = re.sub(r"[^\w\-() （）.]", "_", stem).strip(" .")[:40] or "file"
        with self.lock:
            while True:
                self.seq += 1
                path = out / (f"{self.seq:04d}_{stem}" + (f".{ext}" if ext else ""))
                try:
                    handle = open(path, "xb")
                except FileExistsError:
                    continue
                self.created.append(path)
                return path, handle

    def new_dir(self, out: Path, base: str) -> Path:
        """Create a fresh folder under out."""
        path = out / base
        try:
            path.mkdir()
        except FileExistsError:
            path = Path(tempfile.mkdtemp(prefix=base + "-", dir=out))
        self.created.append(path)
        return path

    def mark(self) -> tuple[int, int, int, int]:
        return len(self.created), self.files, self.bytes, self.seq

    def rollback(self, mark: tuple[int, int, int, int]) -> None:
        """Remove everything created after mark and restore the counters."""
        while len(self.created) > mark[0]:
            path = self.created.pop()
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        self.files, self.bytes, self.seq = mark[1:]


def _clean_name(raw: str) -> str:
    """Normalise a member name ('\\' -> '/', NFC) and reject ones that would leave the folder."""
    name = unicodedata.normalize("NFC", raw.replace("\\", "/"))
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        raise _unsafe(f"member '{raw}' has an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _unsafe(f"member '{raw}' escapes the folder")
    return "/".join(parts)


def _first_encoding(raw: list[bytes], candidates: tuple[str, ...]) -> str:
    """The first candidate that decodes every name (strictly), else the last candidate."""
    for encoding in candidates:
        try:
            for name in raw:
                name.decode(encoding)
            return encoding
        except UnicodeDecodeError:
            continue
    return candidates[-1]


def _is_junk(name: str) -> bool:
    parts = name.split("/")
    return "__MACOSX" in parts or parts[-1].lower() in _JUNK_FILES or parts[-1].startswith("._")


def _plan(entries: list[_Entry], archive: Path, st: _State) -> list[_Entry]:
    """Check the listing against the limits before anything is written; return the files to keep."""
    data = [e for e in entries if not e.is_dir and e.name]
    keep = [e for e in data if not _is_junk(e.name)]
    total = sum(e.size for e in data)
    st.check(len(keep), total)
    _check_ratio(total, archive.stat().st_size, st.limits, "the archive")
    for e in data:
        if e.packed is not None:
            _check_ratio(e.size, e.packed, st.limits, f"'{e.name}'")
    return keep


class _Sink(py7zr.Py7zIO):
    """A new output file that counts every byte written against the limits (headers may lie)."""

    def __init__(self, entry: _Entry, job: _Job, st: _State) -> None:
        self.entry, self.job, self.st = entry, job, st
        self.path, self.handle = st.new_file(job.out, entry.name)
        self.written = 0

    def write(self, s: bytes | bytearray) -> int:
        self.written += len(s)
        self.st.charge(self.job, len(s))
        if self.entry.packed is not None:
            _check_ratio(self.written, self.entry.packed, self.st.limits, f"'{self.entry.name}'")
        return self.handle.write(s)

    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.handle.tell()

    def seekable(self) -> bool:
        return False  # py7zr then never rewinds us

    def flush(self) -> None:
        self.handle.flush()

    def size(self) -> int:
        return self.written

    def close(self) -> None:
        self.handle.close()

    def done(self) -> UnpackedFile:
        """Close and count the finished file."""
        self.handle.close()
        self.st.charge(self.job, 0, files=1)
        return UnpackedFile(self.job.prefix + self.entry.name, self.path, self.written)


# --- zip -------------------------------------------------------------------------------------------------


def _unicode_path_field(info: zipfile.ZipInfo) -> str | None:
    """The Info-ZIP Unicode Path extra field (0x7075), which Python's zipfile ignores."""
    extra, pos = info.extra, 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + size]
        pos += 4 + size
        if tag == 0x7075 and len(body) > 5 and body[0] == 1:
            raw = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
            # APPNOTE: a field whose CRC does not match the header name is stale (renamed by another tool).
            if struct.unpack_from("<I", body, 1)[0] == zlib.crc32(raw):
                try:
                    return body[5:].decode("utf-8")
                except UnicodeDecodeError:
                    return None
    return None


def _zip_names(infos: list[zipfile.ZipInfo]) -> list[str]:
    """Decode names once per archive: 0x7075 field, flag bit 11, then UTF-8 / GB18030 / cp437 for the rest."""
    fixed: list[str | None] = []
    raw: list[bytes] = []
    for info in infos:
        name = _unicode_path_field(info)
        if name is None and info.flag_bits & 0x800:
            name = info.orig_filename
        fixed.append(name)
        if name is None:
            # zipfile decoded the unflagged bytes as cp437, which round-trips exactly.
            raw.append(info.orig_filename.encode("cp437"))
    # macOS writes UTF-8 without the flag, Chinese Windows GBK; any byte string is valid cp437.
    encoding = _first_encoding(raw, ("utf-8", "gb18030", "cp437"))
    undecided = iter(raw)
    return [n if n is not None else next(undecided).decode(encoding) for n in fixed]


def _zip(path: Path, job: _Job, st: _State) -> list[UnpackedFile]:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if not infos and _head(path).startswith(b"PK\x03\x04"):  # only an empty zip may list nothing
            raise _Problem("corrupt", "the zip lists no files (damaged central directory?)")
        if any(i.flag_bits & 0x1 for i in infos):
            raise _Problem("encrypted", "the zip is password-protected")
        entries = []
        for info, raw_name in zip(infos, _zip_names(infos)):
            name = _clean_name(raw_name)
            kind = stat.S_IFMT(info.external_attr >> 16)  # Unix mode, written by Info-ZIP and macOS
            if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                raise _unsafe(f"member '{name}' is a link or special file")
            is_dir = raw_name.endswith(("/", "\\"))
            entries.append(_Entry(name, info.file_size, info.compress_size, info.CRC, is_dir, info))
        keep = _plan(entries, path, st)
        if {i.compress_type for i in infos} - _ZIP_METHODS:
            # zipfile has no Deflate64, PPMd, ...; 7-Zip has.
            return _seven_zip_cli(path, job, st, entries)
        files = []
        for entry in keep:
            sink = _Sink(entry, job, st)
            try:
                with zf.open(entry.ref) as src:  # type: ignore[call-overload]
                    while chunk := src.read(_CHUNK):
                        sink.write(chunk)
            except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError) as exc:
                what = "CRC error" if "CRC" in str(exc) else f"damaged data ({type(exc).__name__})"
                raise _Problem("corrupt", f"{what} in {entry.name}") from None
            finally:
                sink.close()
            files.append(sink.done())
        return files


# --- 7z --------------------------------------------------------------------------------------------------


class _SevenZipFactory(py7zr.WriterFactory):
    """Hands py7zr a sink per kept member (by the path it would have written) and a null one for junk."""

    def __init__(self, keep: list[_Entry], job: _Job, st: _State) -> None:
        self.by_name = {e.name: e for e in keep}
        self.job, self.st = job, st
        self.sinks: list[_Sink] = []

    def create(self, filename: str) -> py7zr.Py7zIO:
        entry = self.by_name.pop(_clean_name(os.path.relpath(filename, self.job.out)), None)
        if entry is None:
            return py7zr.io.NullIO()
        self.sinks.append(_Sink(entry, self.job, self.st))
        return self.sinks[-1]


def prefer_7zz() -> bool:
    """Whether 7z members are extracted by the 7zz CLI (when installed) rather than py7zr."""
    return shutil.which("7zz") is not None


def _7z(path: Path, job: _Job, st: _State) -> list[UnpackedFile]:
    mark = st.mark()
    try:
        with py7zr.SevenZipFile(path, mode="r") as archive:
            if archive.needs_password():
                raise _Problem("encrypted", "the 7z archive is password-protected")
            entries = []
            for f in archive.files:
                name = _clean_name(f.filename)
                special = f.st_fmt not in (None, 0, stat.S_IFREG, stat.S_IFDIR)
                if f.is_symlink or f.is_junction or f.is_socket or special:
                    raise _unsafe(f"member '{name}' is a link or special file")
                entries.append(_Entry(name, f.uncompressed or 0, f.compressed, f.crc32, f.is_directory))
            keep = _plan(entries, path, st)
            if prefer_7zz():
                # 7-Zip's own decoder is 1.3x py7zr on LZMA2 (benchmarks/README.md): with 7z archives the
                # largest part of deadline-day unpacking, use it when installed; the listing above stays
                # py7zr's (links, encryption, the limits), the sizes 7zz writes are checked again on disk.
                return _seven_zip_cli(path, job, st, entries)
            factory = _SevenZipFactory(keep, job, st)
            try:
                archive.extractall(path=job.out, factory=factory)  # nothing lands there: the factory writes
            finally:
                for sink in factory.sinks:
                    sink.close()
            order = {e.name: i for i, e in enumerate(keep)}
            return [s.done() for s in sorted(factory.sinks, key=lambda s: order[s.entry.name])]
    except py7zr.PasswordRequired:
        raise _Problem("encrypted", "the 7z archive is password-protected") from None
    except py7zr.UnsupportedCompressionMethodError:
        # BCJ2 and friends: py7zr may have written some members already; start over with 7-Zip itself.
        st.rollback(mark)
        return _seven_zip_cli(path, job, st, None)


def _parse_7zz_listing(text: str) -> list[_Entry]:
    """Entries from `7zz l -slt -ba` output (blocks of 'Key = value' lines)."""
    entries = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(" = ", 1) for line in block.splitlines() if " = " in line)
        if "Path" not in fields:
            continue
        name = _clean_name(fields["Path"])
        attrs = fields.get("Attributes", "")
        unix = re.search(r"(?:^|\s)([-dlcbps])[-rwxsStT]{9}", attrs)
        if (unix and unix.group(1) not in "-d") or fields.get("Symbolic Link") or fields.get("Hard Link"):
            raise _unsafe(f"member '{name}' is a link or special file")
        if fields.get("Encrypted") == "+":
            raise _Problem("encrypted", "the archive is password-protected")
        is_dir = fields.get("Folder") == "+" or "D" in attrs.split(" ")[0] or bool(unix and unix.group(1) == "d")
        packed = fields.get("Packed Size") or None
        entries.append(_Entry(name, int(fields.get("Size") or 0), packed and int(packed),
                              int(fields["CRC"], 16) if fields.get("CRC") else None, is_dir))
    return entries


def _seven_zip_cli(path: Path, job: _Job, st: _State, listing: list[_Entry] | None) -> list[UnpackedFile]:
    """Extract with the 7zz CLI (formats/methods the Python readers lack), listing it first for the limits."""
    if shutil.which("7zz") is None:
        raise _Problem("corrupt", "compression method needs 7zz (Debian 7zip), which is not installed")
    try:
        if listing is None:
            rc, text = _run(["7zz", "l", "-slt", "-ba", _NO_PASSWORD, "--", str(path)], None, st)
            if rc != 0 and ("password" in text.lower() or "encrypted" in text.lower()):
                raise _Problem("encrypted", "the archive is password-protected")
            if rc != 0:
                raise _ToolFailed(f"7zz cannot list it: {_last_line(text)}")
            listing = _parse_7zz_listing(text)
            _plan(listing, path, st)
        tool = _Tool("7zz", lambda tmp: ["7zz", "x", "-y", "-bd", _NO_PASSWORD, f"-o{tmp}", "--", str(path)],
                     ["7zz", "x", "-so", "-bd", _NO_PASSWORD, "--", str(path)])
        return _external(tool, job, st, listing)
    except _ToolFailed as exc:
        raise _Problem("corrupt", str(exc)) from None


# --- rar -------------------------------------------------------------------------------------------------


def _rar_listing(path: Path, st: _State) -> tuple[list[_Entry], str]:
    """rarfile's listing (checked against the limits) and the code page for names without the Unicode flag."""
    try:
        # errors="strict": by default rarfile stops quietly at a truncated header and lists what it saw.
        rf = rarfile.RarFile(str(path), errors="strict")
    except rarfile.PasswordRequired:
        raise _Problem("encrypted", "the RAR archive is password-protected") from None
    except rarfile.NeedFirstVolume:  # a later part; also a first part with a volume number (rars writes 0)
        raise _Problem("corrupt", ONE_VOLUME) from None
    except rarfile.Error as exc:
        # "Cannot open next volume: …" (a first part whose next part is missing), "Cannot construct volume
        # name: …" (the same, under a name without a number to count on from)
        if "next volume" in str(exc) or "volume name" in str(exc):
            raise _Problem("corrupt", ONE_VOLUME) from None
        raise _Problem("corrupt", f"cannot read the RAR listing ({exc})") from None
    with rf:
        infos = rf.infolist()
        if rf.needs_password() or any(i.needs_password() for i in infos):
            raise _Problem("encrypted", "the RAR archive is password-protected")
        if not infos:
            raise _Problem("corrupt", "the RAR lists no files (truncated?)")
        entries = []
        for info in infos:
            name = _clean_name(info.filename)
            mode = stat.S_IFMT(info.mode or 0) if info.host_os == rarfile.RAR_OS_UNIX else 0
            if info.is_symlink() or info.file_redir or mode not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise _unsafe(f"member '{name}' is a link or special file")
            entries.append(_Entry(name, info.file_size, info.compress_size, info.CRC, info.is_dir()))
    _plan(entries, path, st)
    is_rar4 = _head(path).startswith(_RAR4)
    raw = [i.orig_filename for i in infos if is_rar4 and not i.flags & rarfile.RAR_FILE_UNICODE]
    return entries, _first_encoding([r for r in raw if isinstance(r, bytes)], ("UTF-8", "GB18030"))


def _rar(path: Path, job: _Job, st: _State) -> list[UnpackedFile]:
    listing, encoding = _rar_listing(path, st)
    # unar reads RAR2-RAR5 but not all RAR5 (solid); bsdtar reads RAR5 but not RAR4 solid. Try both in turn.
    unar = ["unar", "-q", "-nr", "-k", "skip", "-e", encoding, "-o"]
    commands = {
        "unar": _Tool("unar", lambda tmp: [*unar[:1], "-f", "-D", *unar[1:], str(tmp), str(path)],
                      [*unar, "-", str(path)]),
        "bsdtar": _Tool("bsdtar", lambda tmp: ["bsdtar", "-x", "--no-same-owner", "-f", str(path), "-C", str(tmp)],
                        ["bsdtar", "-x", "-O", "-f", str(path)]),
    }
    # bsdtar first for RAR5: about twice as fast as unar there (benchmarks/README.md) and it reads what unar
    # cannot; unar first for RAR4, whose solid archives bsdtar cannot read.
    order = ("bsdtar", "unar") if is_rar5(path) else ("unar", "bsdtar")
    tools = [t for t in order if shutil.which(t)]
    if not tools:
        raise _Problem("corrupt", "no RAR reader installed (unar/bsdtar)")
    failures = []
    for tool in tools:
        try:
            return _external(commands[tool], job, st, listing)
        except _ToolFailed as exc:
            failures.append(str(exc))
    raise _Problem("corrupt", "; ".join(failures))


# --- external extractors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tool:
    """An extractor's two command lines: everything into a folder, or every member's data to stdout in turn."""

    name: str
    to_folder: Callable[[Path], list[str]]
    to_stdout: list[str]


# A file name component longer than this (bytes of UTF-8, Linux's NAME_MAX) cannot be created, and a whole path
# longer than _PATH_MAX cannot be opened: a tool writing such a member fails. The folder the tools write into
# takes up to ~200 bytes of the path; what is left for the member's own name is kept below that.
_NAME_MAX = 255
_PATH_MAX = 3800


def _fits_on_disk(name: str) -> bool:
    """Whether a tool can write member `name` under its own name (the UTF-8 name; GBK ones are shorter)."""
    raw = [part.encode("utf-8", "surrogateescape") for part in name.split("/")]
    return all(len(part) <= _NAME_MAX for part in raw) and sum(len(p) + 1 for p in raw) <= _PATH_MAX


def _last_line(text: str) -> str:
    # unar (GNUstep) chatters about NSCalendarDate for DOS timestamps of 0; bsdtar ends with a generic line.
    noise = ("NSCalendarDate", "Error exit delayed")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not any(n in ln for n in noise)]
    return lines[-1][:200] if lines else "no output"


def _usage(root: Path) -> tuple[int, int]:
    files = size = 0
    for folder, _dirs, names in os.walk(root):
        for name in names:
            try:
                size += os.lstat(os.path.join(folder, name)).st_size
                files += 1
            except OSError:
                pass
    return files, size


_WATCH_EVERY = 0.05  # seconds between two looks at what a tool has written


@contextmanager
def _exit_watch(proc: subprocess.Popen[bytes]) -> Iterator[Callable[[float], bool]]:
    """A function that waits up to its argument (seconds) for `proc` to end and says whether it has.

    Through a pidfd where Linux has one, so the wait ends the moment the tool does; Popen.wait(timeout)
    sleeps in steps of up to 50 ms instead, idle time after every tool, one per archive."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # not Linux 5.3+: Popen's own polling
        fd = -1

    def exited(timeout: float) -> bool:
        if fd >= 0 and not select.select([fd], [], [], timeout)[0]:
            return False
        try:
            proc.wait(timeout=None if fd >= 0 else timeout)  # readable pidfd: the tool has ended, no wait
        except subprocess.TimeoutExpired:
            return False
        return True

    try:
        yield exited
    finally:
        if fd >= 0:
            os.close(fd)


def _run(cmd: list[str], watch: Path | None, st: _State) -> tuple[int, str]:
    """Run a tool with a timeout, killing its process group; watch its output folder against the limits."""
    lim = st.limits
    room = max(lim.max_total_bytes - st.bytes, 0) + 1
    # RLIMIT_FSIZE caps any single file the tool writes, even between two polls.
    cap = (lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (room, room))) if watch else None
    env = tool_env()  # UTF-8 names on disk, and none of our secrets (parsers/toolenv.py)
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True, preexec_fn=cap)
        try:
            deadline = time.monotonic() + lim.timeout_seconds
            with _exit_watch(proc) as exited:
                while True:
                    # Checked before waiting: a tool that is quick enough (bsdtar) must not beat a timeout of 0.
                    if time.monotonic() >= deadline:
                        raise _ToolFailed(f"{cmd[0]} timed out after {lim.timeout_seconds:g} s")
                    if exited(min(_WATCH_EVERY, max(deadline - time.monotonic(), 0))):
                        break
                    if watch is not None:
                        st.check(*_usage(watch))
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # Killed by the RLIMIT_FSIZE cap (a shell would report it as 128 + n).
        if proc.returncode in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ):
            raise _unsafe(f"too much data (> {_amount(lim.max_total_bytes)})")
        log.seek(0)
        return proc.returncode, log.read().decode("utf-8", "replace")


def _walk(root: Path, top: Path) -> Iterator[tuple[str, Path]]:
    """Yield (relative name, path) of regular files; links, devices and hard links make the archive unsafe."""
    for item in sorted(os.scandir(root), key=lambda d: d.name):
        info = item.stat(follow_symlinks=False)
        rel = os.path.relpath(item.path, top)
        if stat.S_ISDIR(info.st_mode):
            os.chmod(item.path, 0o700)  # archives can carry mode 000 folders
            yield from _walk(Path(item.path), top)
        elif stat.S_ISREG(info.st_mode) and info.st_nlink == 1:
            os.chmod(item.path, 0o600)
            yield rel, Path(item.path)
        else:
            raise _unsafe(f"member '{_disk_name(rel)}' is a link or special file")


def _disk_name(rel: str) -> str:
    """Display name of a path a tool wrote (undecodable bytes are GBK)."""
    raw = os.fsencode(rel)
    return unicodedata.normalize("NFC", raw.decode(_first_encoding([raw], ("utf-8", "gb18030", "latin-1"))))


def _size_crc(path: Path) -> tuple[int, int]:
    size, crc = 0, 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            size += len(chunk)
            crc = zlib.crc32(chunk, crc)
    return size, crc


def _match(found: list[tuple[str, Path]], listing: list[_Entry]) -> list[tuple[str, Path]]:
    """Pair extracted files with listing entries: same name first, else same size and CRC.

    Tools decode names their own way (and unar turns '/' in DOS-host RAR names into '_'), so the listing
    decides the display name; the CRC check also catches a tool that silently wrote wrong data.
    """
    pending = {e.name: e for e in listing if not e.is_dir and e.name}  # last wins: tools overwrite duplicates
    order = {name: i for i, name in enumerate(pending)}
    pairs: list[tuple[_Entry, Path]] = []
    rest = []
    for rel, path in found:
        size, crc = _size_crc(path)
        name = _disk_name(rel)
        entry = pending.get(name)
        if entry is not None and entry.size == size and entry.crc in (None, crc):
            pairs.append((pending.pop(name), path))
        else:
            rest.append((name, path, size, crc))
    for name, path, size, crc in rest:
        entry = next((e for e in pending.values() if e.size == size and e.crc in (None, crc)), None)
        if entry is None:
            raise _ToolFailed(f"extracted '{name}' does not match the archive listing")
        pairs.append((pending.pop(entry.name), path))
    if pending:
        raise _ToolFailed(f"'{next(iter(pending))}' was not extracted")
    pairs.sort(key=lambda pair: order[pair[0].name])
    return [(entry.name, path) for entry, path in pairs]


def _external(tool: _Tool, job: _Job, st: _State, listing: list[_Entry]) -> list[UnpackedFile]:
    """Extract with a CLI tool: into a private folder, or through a pipe when a name cannot be written as it is."""
    if all(_fits_on_disk(e.name) for e in listing if not e.is_dir):
        return _to_folder(tool, job, st, listing)
    mark = st.mark()
    try:
        return _through_pipe(tool, job, st, listing)
    except _ToolFailed:
        st.rollback(mark)
        raise


def _to_folder(tool: _Tool, job: _Job, st: _State, listing: list[_Entry]) -> list[UnpackedFile]:
    """Extract with a CLI tool into a private folder, validate what it wrote, then move files into place."""
    mark = st.mark()
    tmp = st.new_dir(job.out, ".extract")
    try:
        rc, text = _run(tool.to_folder(tmp), tmp, st)
        if rc != 0:
            raise _ToolFailed(f"{tool.name} failed: {_last_line(text.replace(str(tmp), '.'))}")
        found = list(_walk(tmp, tmp))
        files = []
        for name, src in _match(found, listing):
            if _is_junk(name):
                continue
            size = src.stat().st_size
            st.charge(job, size, files=1)
            target, handle = st.new_file(job.out, name)
            handle.close()
            os.replace(src, target)
            files.append(UnpackedFile(job.prefix + name, target, size))
        return files
    except _ToolFailed:
        st.rollback(mark)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _failure(tool: str, log: BinaryIO) -> str:
    log.seek(0)
    return f"{tool} failed: {_last_line(log.read().decode('utf-8', 'replace'))}"


class _Pipe:
    """The read end of a tool's stdout, read with the tool's deadline."""

    def __init__(self, proc: subprocess.Popen[bytes], tool: str, st: _State) -> None:
        assert proc.stdout is not None
        self.fd, self.tool, self.timeout = proc.stdout.fileno(), tool, st.limits.timeout_seconds
        self.deadline = time.monotonic() + self.timeout
        self.at_end = False

    def read(self, size: int) -> bytes:
        """Up to `size` bytes, b"" at the end of the output."""
        left = self.deadline - time.monotonic()
        # Checked before waiting: a tool that is quick enough must not beat a timeout of 0.
        if left <= 0 or not select.select([self.fd], [], [], left)[0]:
            raise _ToolFailed(f"{self.tool} timed out after {self.timeout:g} s")
        data = os.read(self.fd, size)
        self.at_end = not data
        return data

    def wait(self, proc: subprocess.Popen[bytes]) -> int:
        try:
            return proc.wait(timeout=max(self.deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            raise _ToolFailed(f"{self.tool} timed out after {self.timeout:g} s") from None


def _cut(pipe: _Pipe, entry: _Entry, job: _Job, st: _State) -> UnpackedFile | None:
    """The next `entry.size` bytes of the pipe as the member's file (junk is read and dropped); CRC checked."""
    sink = None if _is_junk(entry.name) else _Sink(entry, job, st)
    left, crc = entry.size, 0
    try:
        while left:
            chunk = pipe.read(min(left, _CHUNK))
            if not chunk:
                raise _ToolFailed(f"{pipe.tool} ended before the end of '{entry.name}'")
            left -= len(chunk)
            crc = zlib.crc32(chunk, crc)
            if sink is not None:
                sink.write(chunk)
    finally:
        if sink is not None:
            sink.close()
    if entry.crc not in (None, crc):
        raise _ToolFailed(f"extracted '{entry.name}' does not match the archive listing")
    return None if sink is None else sink.done()


def _through_pipe(tool: _Tool, job: _Job, st: _State, listing: list[_Entry]) -> list[UnpackedFile]:
    """Extract with the tool writing every member to stdout, one after another in the listing's order, and cut
    that into files by the listed sizes: the files get our names (as zip members do), so a member name too long
    for the file system (86 CJK characters, a folder named like a sentence) extracts like any other. Every
    byte goes through the limits as it arrives, and each file's CRC must match the listing's."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(tool.to_stdout, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                                env=tool_env(), start_new_session=True)
        try:
            pipe = _Pipe(proc, tool.name, st)
            try:
                files = [f for e in listing if not e.is_dir and e.name and (f := _cut(pipe, e, job, st))]
                if pipe.read(1):
                    raise _ToolFailed(f"{tool.name} wrote more than the archive lists")
            except _ToolFailed:
                if pipe.at_end and pipe.wait(proc) != 0:  # it stopped on an error: its words say more than ours
                    raise _ToolFailed(_failure(tool.name, log)) from None
                raise
            if pipe.wait(proc) != 0:
                raise _ToolFailed(_failure(tool.name, log))
            return files
        finally:
            assert proc.stdout is not None
            proc.stdout.close()
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


# --- entry point -----------------------------------------------------------------------------------------


def _nested_kind(path: Path, name: str) -> str | None:
    """Archive kind of an extracted member that should be unpacked too (documents are zips but stay files)."""
    if Path(name).suffix.lower() in _DOC_SUFFIXES:
        return None
    kind = sniff_archive(_head(path))
    if kind == "zip":
        try:
            with zipfile.ZipFile(path) as zf:
                if "[Content_Types].xml" in zf.NameToInfo:  # OOXML whatever its extension
                    return None
        except Exception:
            pass
    return kind


def _as_problem(exc: Exception) -> _Problem:
    if isinstance(exc, _Problem):
        return exc
    return _Problem("corrupt", f"cannot read it ({type(exc).__name__}: {exc})"[:300])


def _unpack_into(path: Path, kind: str, job: _Job, st: _State, depth: int) -> list[UnpackedFile]:
    files = {"zip": _zip, "7z": _7z, "rar": _rar}[kind](path, job, st)
    if depth >= st.limits.max_depth:
        return files
    result = []
    for f in files:
        inner = _nested_kind(f.path, f.name)
        if inner is None:
            result.append(f)
            continue
        sub = _Job(st.new_dir(job.out, f.path.name.rsplit(".", 1)[0]), f.name + "/", f.size)
        st.nesting = True
        try:
            result.extend(_unpack_into(f.path, inner, sub, st, depth + 1))
        except Exception as exc:
            problem = _as_problem(exc)
            raise _Problem(problem.problem, f"nested archive '{f.name}': {problem.detail}") from None
        st.nested.append(f.name)
        f.path.unlink()
    return result


def unpack(path: Path, dest: Path, limits: ArchiveLimits = ArchiveLimits(),
           packed_bytes: int | None = None) -> UnpackResult:
    """Unpack a zip/7z/rar archive (and archives inside it, one level) into dest; never raises for bad input.

    `packed_bytes`: the archive's size for the ratio limit when `path` is the first of several volumes.
    """
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise NotADirectoryError(f"{dest} is not a directory")
    dest.mkdir(parents=True, exist_ok=True)
    dest = Path(os.path.abspath(dest))
    path = Path(os.path.abspath(path))  # tools must never see a name that starts with "-"
    suffix = path.suffix.lower().lstrip(".")
    kind = suffix if suffix in ARCHIVE_KINDS else ""
    st = _State(limits, packed=0)
    try:
        st.packed = packed_bytes or path.stat().st_size
        sniffed = sniff_archive(_head(path))
        if sniffed is None:
            raise _Problem("corrupt", "not a zip, 7z or rar archive (unknown magic bytes)")
        kind = sniffed
        files = _unpack_into(path, kind, _Job(dest, "", st.packed), st, 0)
        return UnpackResult(kind, tuple(files), None, "", tuple(st.nested))
    except BaseException as exc:
        st.rollback((0, 0, 0, 0))
        if isinstance(exc, MemoryError) or not isinstance(exc, Exception):
            raise
        problem = _as_problem(exc)
        return UnpackResult(kind, (), problem.problem, problem.detail)
