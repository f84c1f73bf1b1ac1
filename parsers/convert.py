"""Legacy Word (.doc, WPS .wps) to DOCX with headless LibreOffice, one conversion at a time per machine.

LibreOffice is optional: without `soffice` every legacy file stays unreadable (staff look at it by hand).
Each conversion copies the input under a plain ASCII name into a private temporary folder (names from
strangers may hold anything, and LibreOffice reads some characters in names as options or URLs), runs
`soffice --convert-to docx` in a session of its own with a timeout (on timeout the whole process group
is killed), and checks that a DOCX of sane size came out.

soffice runs with the caller's rlimits: in the sandbox's child that is `memory_mb` of address space
(measured: a conversion of the sample narrative and form needs ~210 MB resident and works under a
512 MB RLIMIT_AS, so the default 1024 MB is enough), 256 open files and the CPU limit.

Concurrency: two soffice processes on one profile hand work to each other and one may exit early, and
a conversion is CPU-heavy on a small machine; a machine-wide `flock` on a lock file makes them take
turns, which also lets every process share one profile folder (created once, owned by this user, 0700),
never the user's ~/.config.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from parsers.errors import DocumentUnreadable
from parsers.sniff import sniff_file
from parsers.toolenv import tool_env

MAX_INPUT = 100 * 1024 * 1024     # a .doc larger than this is not an application form
MAX_OUTPUT = 200 * 1024 * 1024
_FILTER = "MS Word 97"            # forced: otherwise a damaged file is "converted" as plain-text garbage
_KILL_WAIT = 5.0


def soffice_path() -> str | None:
    """The LibreOffice executable on PATH (`soffice`, else `libreoffice`), or None when not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_to_docx(path: Path, out_dir: Path, timeout: float = 60) -> Path:
    """Convert the Word 97-2003 / WPS file `path` to a DOCX in `out_dir` and return its path.

    The result is named after the input (`<name>.converted.docx`) and replaces an earlier one.
    Raises DocumentUnreadable ("legacy word: ...") when LibreOffice is missing, times out or fails.
    """
    exe = soffice_path()
    if exe is None:
        raise DocumentUnreadable("legacy word: LibreOffice not installed")
    try:
        size = path.stat().st_size
        kind = sniff_file(path)
    except OSError as exc:
        raise DocumentUnreadable(f"legacy word: conversion failed: {exc}") from exc
    if kind != "doc":
        raise DocumentUnreadable(f"legacy word: conversion failed: not a Word 97-2003 file (looks like {kind})")
    if size > MAX_INPUT:
        raise DocumentUnreadable(f"legacy word: conversion failed: file larger than {MAX_INPUT // 2**20} MB")
    base = _base_dir()
    deadline = time.monotonic() + 3 * timeout + 30  # earlier conversions are bounded by their own timeouts
    with _machine_lock(base / "lock", deadline), tempfile.TemporaryDirectory(prefix="work-", dir=base) as tmp:
        work = Path(tmp)
        source = work / "input.doc"
        shutil.copyfile(path, source)
        (work / "out").mkdir()
        _run(exe, base, source, work / "out", timeout)
        produced = work / "out" / "input.docx"
        _check_output(produced)
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / _output_name(path.name)
        shutil.move(str(produced), target)
    return target


def _output_name(name: str) -> str:
    wanted = f"{name}.converted.docx"
    if len(wanted.encode("utf-8", "surrogateescape")) <= 255:
        return wanted
    return hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:16] + ".converted.docx"


def _base_dir() -> Path:
    """A folder only this user can enter, shared by all of this user's processes (lock, profile, work)."""
    base = Path(tempfile.gettempdir()) / f"studio-intake-soffice-{os.getuid()}"
    with suppress(FileExistsError):
        base.mkdir(mode=0o700)
    st = os.lstat(base)
    # Someone else's folder (or a symlink) under a shared /tmp: fall back to one of our own.
    if not base.is_dir() or base.is_symlink() or st.st_uid != os.getuid() or st.st_mode & 0o077:
        base = Path(tempfile.mkdtemp(prefix="studio-intake-soffice-"))
    return base


@contextmanager
def _machine_lock(path: Path, deadline: float) -> Iterator[None]:
    """Hold an exclusive flock on `path` (other processes and threads wait), or give up at `deadline`."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    raise DocumentUnreadable("legacy word: conversion timed out (LibreOffice busy)") from exc
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # releases the lock


def _kill_strays(profile: Path) -> None:
    """SIGKILL LibreOffice processes of ours still on `profile` (their converter died): the lock is ours.

    A stray instance keeps the profile's pipe, and every later soffice would hand its work to it and wait.
    """
    marker = f"-env:UserInstallation={profile.as_uri()}\0".encode()
    for entry in Path("/proc").glob("[0-9]*"):
        with suppress(OSError, ValueError):
            if entry.stat().st_uid == os.getuid() and marker in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)


def _run(exe: str, base: Path, source: Path, out: Path, timeout: float) -> None:
    profile = base / "profile"
    _kill_strays(profile)
    cmd = [exe, "--headless", "--norestore", "--nologo", "--nolockcheck", "--nodefault",
           f"-env:UserInstallation={profile.as_uri()}", f"--infilter={_FILTER}",
           "--convert-to", "docx", "--outdir", str(out), str(source)]
    # Only the allow-listed variables (parsers/toolenv.py): soffice parses the sender's file and must not hold
    # our passwords. HOME is private: fontconfig and Java would otherwise write into the user's home.
    env = tool_env(HOME=str(base), SAL_USE_VCLPLUGIN="svp")
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=env, cwd=out, start_new_session=True)
    except OSError as exc:
        raise DocumentUnreadable(f"legacy word: conversion failed: cannot start LibreOffice: {exc}") from exc
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        # A profile left half-written by a killed instance may make the next start fail: start afresh.
        shutil.rmtree(profile, ignore_errors=True)
        raise DocumentUnreadable(f"legacy word: conversion timed out after {timeout:g} s") from None
    finally:
        _kill_group(proc)  # nothing of it may outlive the conversion
    if proc.returncode != 0 or not (out / "input.docx").is_file():
        lines = [line for line in output.decode("utf-8", "replace").splitlines() if "javaldx" not in line]
        detail = "; ".join(lines).strip() or f"exit status {proc.returncode}"
        raise DocumentUnreadable(f"legacy word: conversion failed: {detail}"[:300])


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=_KILL_WAIT)


def _check_output(produced: Path) -> None:
    try:
        size = produced.stat().st_size
    except OSError as exc:
        raise DocumentUnreadable("legacy word: conversion failed: no output") from exc
    if size == 0 or size > MAX_OUTPUT:
        raise DocumentUnreadable(f"legacy word: conversion failed: output of {size} bytes")
    if sniff_file(produced) != "docx":
        raise DocumentUnreadable("legacy word: conversion failed: output is not a DOCX")
