"""Deadline-day benchmarks: figures and ratios, printed as a table (and saved as OUT/results.json).

    python benchmarks/generate.py --out /tmp/intake-bench --count 300            # the batch, once
    python benchmarks/run.py --out /tmp/intake-bench                             # everything below
    python benchmarks/run.py --out /tmp/intake-bench throughput floor tools      # or some of it

throughput  `intake ingest --workers N` (a subprocess, config.example.toml with a fresh SQLite file) on the
            batch for N = 1 and 2: submissions/s, MB/s, peak memory of the whole process tree (PSS, sampled from
            /proc every 50 ms: the parent, the forkserver, every sandbox child and the unpackers they start)
            and of the largest single process (wait4's ru_maxrss), and the speed-up from 1 to 2 workers.
floor       the same archives unpacked with the tool the pipeline picks for each (zipfile; 7zz, else py7zr;
            bsdtar for RAR5, else unar), each DOCX opened with python-docx and each JPEG's header read with
            Pillow, 1 and 2 processes; pipeline ÷ floor.
mailfloor   the floor plus the mail work no intake can leave out, done with the pipeline's own functions: each
            message stored durably (RawStore.put_file: sha256, copy, fsync) and its attachment decoded to a
            file (mimestream.split_file); pipeline ÷ (floor + mail) shows what the rest of the pipeline costs.
tools       py7zr against 7zz on the batch's 7z archives, unar against bsdtar on its RAR archives.
poll        an idle poll (nothing new) against Dovecot holding 100, 1,000 and 10,000 messages: time and bytes
            both ways through a counting TCP proxy, and whether any body was fetched.
large       peak RSS of `intake ingest` on one message with a 500 MB archive (generate.py large), and of
            decoding that message in memory (decode_message) against splitting it on disk (mimestream).
ordinary    the ordinary-mail set (benchmarks/ordinary.py, built under OUT/ordinary on first use: ~70
            submissions of 0.1-3 MB): `intake ingest` as a whole process with the default workers against its
            floor run the same way (a whole process, as many processes: MIME + unpack + open each DOCX + read
            each JPEG header); target <= 2.0x. Also the bytes it writes per byte of mail.
latency     `intake run` polling a real Dovecot and sending through a real aiosmtpd: 20 submissions APPENDed
            at moments spread over a few polls, the seconds from each APPEND to its reply accepted by the
            SMTP server (median, max), for each --latency-polls interval with Dovecot advertising what 126
            does (no IDLE), then with IDLE (the default 5-minute poll; arrivals over a minute).

Bytes written, per byte of mail received (target <= 1.1): this process is the subreaper of every measured
command, so /proc/self/io counts the whole tree's writes once it is reaped: "to disk" is write_bytes minus
cancelled_write_bytes (what was not deleted before writeback), "dirtied" write_bytes (every copy into the
page cache, temporary files included); "left on disk" sums the files of the data folder, database, outbox.

--quick: the first 30 submissions of the batch, polls at 100 and 1,000 messages, 8 arrivals for latency.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]
INTAKE = [sys.executable, "-m", "pipeline"]
MIB = 2**20
PARTS = ("ordinary", "throughput", "floor", "mailfloor", "tools", "poll", "large", "latency")
PAGE = os.sysconf("SC_PAGE_SIZE")


# --- measuring a process tree -------------------------------------------------------------------------


def _tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as fh:
                    ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [root], [root]
    while todo:
        kids = parents.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _pss(pid: int) -> int:
    """Proportional set size: pages shared between processes (the forkserver's preloaded modules, which every
    sandbox child shares) counted once over the tree, not once per process as RSS counts them."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:  # no smaps_rollup (Linux < 4.14): RSS, which overcounts shared pages
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


@dataclass
class Measured:
    seconds: float
    tree_peak: int      # bytes: the largest sum of PSS over the whole tree at one sample
    single_peak: int    # bytes: wait4's ru_maxrss (the largest process of the tree)
    status: int
    stdout: str
    written: int = 0    # bytes the tree dirtied in the page cache (write_bytes), deleted files too
    to_disk: int = 0    # of those, what was not deleted before writeback (write_bytes - cancelled_write_bytes)
    cpu: float = 0.0    # user + system seconds of the whole tree (less sensitive than `seconds` to a busy machine)


def measure(cmd: list[str], *, env: dict[str, str] | None = None) -> Measured:
    """Run `cmd`, sampling the PSS of its process tree every 50 ms."""
    started = time.monotonic()
    before, cpu_before = _io(), _cpu()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, cwd=REPO, env=env)
        peak = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, sum(_pss(p) for p in _tree(proc.pid)))
                stop.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        _reap_orphans()
        stop.set()
        sampler.join()
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    after = _io()
    written = after["write_bytes"] - before["write_bytes"]
    cancelled = after["cancelled_write_bytes"] - before["cancelled_write_bytes"]
    return Measured(seconds, peak, usage.ru_maxrss * 1024, proc.returncode, text, written, written - cancelled,
                    _cpu() - cpu_before)


def _cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime


def _io() -> dict[str, int]:
    """This process's I/O counters, which include those of every descendant it has reaped (as subreaper: all
    of a measured command's tree): write_bytes is what was dirtied in the page cache, cancelled_write_bytes
    what was deleted again before it reached the disk."""
    with open("/proc/self/io", encoding="ascii") as fh:
        return {k: int(v) for k, v in (line.split(": ") for line in fh if ": " in line)}


def _subreaper() -> None:
    """Become the child subreaper: descendants orphaned by their parent (the forkserver, when `intake ingest`
    exits) are reparented here, so that reaping them adds their I/O counters to this process's."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def _reap_orphans(seconds: float = 15.0) -> None:
    """Wait for the orphaned descendants of a measured command (at most `seconds`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.02)


def footprint(*paths: Path) -> int:
    """Bytes of the files under `paths` (what a run left on disk)."""
    total = 0
    for path in paths:
        if path.is_file():
            total += path.stat().st_size
        for folder, _dirs, names in os.walk(path):
            total += sum(os.path.getsize(os.path.join(folder, n)) for n in names
                         if os.path.isfile(os.path.join(folder, n)))
    return total


# --- the pipeline --------------------------------------------------------------------------------------


def write_config(folder: Path, *, derived_cache_mb: int | None = None) -> Path:
    """config.example.toml with storage, data and outbox under `folder` (as the tests do); `derived_cache_mb`
    instead of the example's bound on derived files, when given."""
    from helpers.configfile import write_example_config
    from helpers.smtp_server import toml_set

    path = write_example_config(folder)
    if derived_cache_mb is not None:
        path.write_text(toml_set(path.read_text(encoding="utf-8"), "storage", derived_cache_mb=derived_cache_mb),
                        encoding="utf-8")
    return path


def verdicts(config: Path) -> dict[str, int]:
    rows = json.loads(subprocess.run([*INTAKE, "submissions", "--config", str(config), "--json"], cwd=REPO,
                                     check=True, capture_output=True, text=True).stdout)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    return counts


def throughput(out: Path, manifest: dict, workers: list[int]) -> dict:
    count = len(manifest["submissions"])
    eml_bytes = sum(e["eml_bytes"] for e in manifest["submissions"])
    eml_mb = eml_bytes / MIB
    archive_mb = sum(e["archive_bytes"] for e in manifest["submissions"]) / MIB
    runs = {}
    for n in workers:
        work = out / f"run-workers-{n}"
        shutil.rmtree(work, ignore_errors=True)
        config = write_config(work)
        subprocess.run([*INTAKE, "db", "upgrade", "--config", str(config)], cwd=REPO, check=True, capture_output=True)
        m = measure([*INTAKE, "ingest", "--config", str(config), "--workers", str(n),
                     *(e["eml"] for e in manifest["submissions"])])
        runs[n] = {"seconds": m.seconds, "per_second": count / m.seconds, "eml_mb_s": eml_mb / m.seconds,
                   "archive_mb_s": archive_mb / m.seconds, "tree_peak_mb": m.tree_peak / MIB,
                   "single_peak_mb": m.single_peak / MIB, "status": m.status, "verdicts": verdicts(config),
                   "summary": m.stdout.strip(), "written_per_byte": m.written / eml_bytes,
                   "to_disk_per_byte": m.to_disk / eml_bytes, "cpu": m.cpu,
                   "left_per_byte": footprint(work / "data", work / "outbox") / eml_bytes}
        shutil.rmtree(work / "data", ignore_errors=True)  # GBs of raw mail and unpacked files
        print(f"  ingest --workers {n}: {m.seconds:.1f} s, {runs[n]['verdicts']}", flush=True)
    return {"count": count, "eml_mb": eml_mb, "archive_mb": archive_mb, "runs": runs}


# --- the floor -----------------------------------------------------------------------------------------


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# Each unpacker as the floor and the tools comparison both call it: (archive, destination folder).
def with_zipfile(archive: str, dest: str) -> None:
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(dest)


def with_py7zr(archive: str, dest: str) -> None:
    import py7zr

    with py7zr.SevenZipFile(archive) as sz:
        sz.extractall(dest)


def with_7zz(archive: str, dest: str) -> None:
    _run("7zz", "x", "-y", "-bd", f"-o{dest}", "--", archive)


def with_bsdtar(archive: str, dest: str) -> None:
    _run("bsdtar", "-x", "--no-same-owner", "-f", archive, "-C", dest)


def with_unar(archive: str, dest: str) -> None:
    _run("unar", "-q", "-f", "-D", "-o", dest, archive)


def _unpack(archive: Path, kind: str, dest: Path) -> None:
    """With the tool the pipeline uses first for this archive (pipeline/documents/archives.py), nothing else."""
    from pipeline.documents.archives import is_rar5, prefer_7zz

    if kind == "zip":
        unpacker = with_zipfile
    elif kind == "7z":
        unpacker = with_7zz if prefer_7zz() else with_py7zr
    elif is_rar5(archive) and shutil.which("bsdtar"):
        unpacker = with_bsdtar
    else:
        unpacker = with_unar
    unpacker(str(archive), str(dest))


def floor_one(archive: str, kind: str) -> int:
    """Unpack one archive, open its DOCX files and read its JPEG headers; returns the files touched."""
    import docx
    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        _unpack(Path(archive), kind, Path(tmp))
        touched = 0
        for folder, _dirs, names in os.walk(tmp):
            for name in names:
                path = os.path.join(folder, name)
                if name.lower().endswith(".docx"):
                    docx.Document(path)
                    touched += 1
                elif name.lower().endswith((".jpg", ".jpeg")):
                    with Image.open(path) as img:
                        img.size  # noqa: B018 - the header is read
                    touched += 1
        return touched


def mail_floor_one(eml: str, archive: str, kind: str) -> int:
    """floor_one after storing the message durably and decoding its attachment to a file, as intake does."""
    from pipeline.mail.mimestream import split_file
    from storage.rawstore import RawStore

    with tempfile.TemporaryDirectory(prefix="bench-mail-") as tmp:
        RawStore(Path(tmp) / "raw").put_file(Path(eml))
        split_file(Path(eml), Path(tmp) / "spill")
    return floor_one(archive, kind)


def floor(manifest: dict, procs: int, *, mail: bool = False) -> float:
    """Seconds for floor_one over the batch in `procs` processes; with `mail`, mail_floor_one."""
    entries = manifest["submissions"]
    columns = [[e["archive"] for e in entries], [e["kind"] for e in entries]]
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=procs) as pool:
        if mail:
            list(pool.map(mail_floor_one, [e["eml"] for e in entries], *columns))
        else:
            list(pool.map(floor_one, *columns))
    return time.monotonic() - started


# --- unpacking tools -----------------------------------------------------------------------------------


def _timed(fn, archives: list[str]) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    for archive in archives:
        with tempfile.TemporaryDirectory(prefix="bench-tool-") as tmp:
            fn(archive, tmp)
    return time.monotonic() - started


def tools(manifest: dict) -> dict:
    by_kind = {k: [e["archive"] for e in manifest["submissions"] if e["kind"] == k] for k in ("7z", "rar", "zip")}
    mb = {k: sum(os.path.getsize(a) for a in v) / MIB for k, v in by_kind.items()}
    result = {"7z_mb": mb["7z"], "rar_mb": mb["rar"], "zip_mb": mb["zip"]}
    for kind, timed in (("7z", {"py7zr": with_py7zr, "7zz": with_7zz}),
                        ("rar", {"unar": with_unar, "bsdtar": with_bsdtar}),
                        ("zip", {"zipfile": with_zipfile, "7zz_zip": with_7zz})):
        if by_kind[kind]:
            result.update({name: _timed(fn, by_kind[kind]) for name, fn in timed.items()})
    return result


# --- idle polling --------------------------------------------------------------------------------------


class CountingProxy:
    """A loopback TCP relay that counts the bytes each way and keeps what the client sent."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.up = self.down = 0
        self.sent = bytearray()
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.up = self.down = 0
            self.sent.clear()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            for s in (client, server):  # relay each piece at once: Nagle + delayed ACK would add 40 ms a command
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        try:
            while data := src.recv(65536):
                with self.lock:
                    if upstream:
                        self.up += len(data)
                        self.sent += data
                    else:
                        self.down += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


def _fill_maildir(server, count: int) -> None:  # type: ignore[no-untyped-def]
    """Write `count` small messages straight into the user's Maildir, then let Dovecot index them."""
    import pwd

    from helpers.dovecot_server import USER

    maildir = server.root / "mail" / USER
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    start = datetime(2025, 5, 20, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    base = int(start.timestamp())
    for i in range(count):
        when = start + timedelta(seconds=37 * i)
        raw = (f"Received: from mx.126.com; {when:%a, %d %b %Y %H:%M:%S %z}\r\nFrom: a{i}@126.com\r\n"
               f"To: sjzjjb@126.com\r\nSubject: message {i}\r\nMessage-ID: <idle.{i}@126.com>\r\n"
               f"Date: {when:%a, %d %b %Y %H:%M:%S %z}\r\n\r\n{'body line ' * 40}\r\n").encode()
        path = maildir / "cur" / f"{base + i}.M{i}P1.bench,S={len(raw)}:2,S"
        path.write_bytes(raw)
        os.utime(path, (base + 37 * i, base + 37 * i))
    if os.geteuid() == 0:  # Dovecot runs the mail processes as nobody when started by root
        nobody = pwd.getpwnam("nobody")
        for folder, _dirs, names in os.walk(server.root / "mail"):
            os.chown(folder, nobody.pw_uid, nobody.pw_gid)
            for name in names:
                os.chown(os.path.join(folder, name), nobody.pw_uid, nobody.pw_gid)
    with server.client() as c:
        c.select_folder("INBOX", readonly=True)  # the first SELECT builds the index
        assert len(c.search()) == count


def poll(out: Path, sizes: list[int], repeats: int = 21) -> dict:
    """Idle polls (nothing new) at each size: a fresh connection per poll (`intake run --once`, cron), and the
    connection `intake run` keeps between polls (a MailboxLink, measured after one warm-up poll)."""
    from dataclasses import replace as dc_replace

    from helpers.dovecot_server import DovecotServer
    from pipeline.bootstrap import build_app
    from pipeline.config import load_config
    from pipeline.transport.poller import MailboxLink, poll_once
    from storage import mailbox_state as state

    def idle_polls(app, proxy: CountingProxy, password: str,  # type: ignore[no-untyped-def]
                   link: MailboxLink | None) -> dict:
        timings, ups, downs, bodies = [], [], [], 0
        for _ in range(repeats):
            proxy.reset()
            started = time.monotonic()
            result = poll_once(app, password=password, link=link)
            timings.append(time.monotonic() - started)
            ups.append(proxy.up)
            downs.append(proxy.down)
            bodies += proxy.sent.upper().count(b"BODY.PEEK[]") + proxy.sent.upper().count(b"RFC822)")
            assert result.fetched == 0 and result.processed == 0 and not result.errors, result
        timings.sort()
        return {"seconds": timings[len(timings) // 2], "up": max(ups), "down": max(downs), "bodies_fetched": bodies,
                "known": result.known}

    results: dict = {"fresh": {}, "kept": {}}
    for count in sizes:
        server = DovecotServer.start()
        proxy = CountingProxy(server.port)
        link = MailboxLink()
        try:
            _fill_maildir(server, count)
            work = out / f"poll-{count}"
            shutil.rmtree(work, ignore_errors=True)
            config = load_config(write_config(work))
            config = dc_replace(config, mailbox=server.mailbox_config(port=proxy.port))
            app = build_app(config)
            uidvalidity = server.uidvalidity("INBOX")
            with app.sessions() as session:  # every message dealt with already: the state after earlier polls
                state.note_folder(session, "INBOX", uidvalidity, app.clock())
                state.advance(session, "INBOX", uidvalidity, count)
                session.commit()
            poll_once(app, password=server.password)  # the junk folder's state, the login record
            results["fresh"][count] = idle_polls(app, proxy, server.password, None)
            poll_once(app, password=server.password, link=link)  # warm-up: the LOGIN, INBOX left EXAMINEd
            results["kept"][count] = idle_polls(app, proxy, server.password, link)
            for how in ("fresh", "kept"):
                print(f"  idle poll, {count} messages, {how} connection: {results[how][count]}", flush=True)
        finally:
            link.close()
            proxy.close()
            server.stop()
    return results


# --- one large message ---------------------------------------------------------------------------------

_DECODE = """
import resource, sys, time
from pathlib import Path
started = time.monotonic()
if sys.argv[1] == "memory":
    from pipeline.mail.decode import decode_message
    mail = decode_message(Path(sys.argv[2]).read_bytes())
    size = sum(len(a.data) for a in mail.attachments)
else:
    from pipeline.mail.mimestream import split_file
    mail = split_file(Path(sys.argv[2]), Path(sys.argv[3]))
    size = sum(a.size for a in mail.attachments)
print(size, time.monotonic() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def large(out: Path) -> dict:
    eml = out / "large" / "large.eml"
    if not eml.is_file():
        subprocess.run([sys.executable, str(REPO / "benchmarks" / "generate.py"), "--out", str(out), "large"],
                       check=True)
    result: dict = {"eml_mb": eml.stat().st_size / MIB}
    for how in ("memory", "split"):
        spill = out / "large" / "spill"
        shutil.rmtree(spill, ignore_errors=True)
        m = measure([sys.executable, "-c", _DECODE, how, str(eml), str(spill)])
        size, seconds, _maxrss = m.stdout.split()
        result[f"decode_{how}"] = {"seconds": float(seconds), "peak_mb": m.single_peak / MIB,
                                   "attachment_mb": int(size) / MIB}
        shutil.rmtree(spill, ignore_errors=True)
    work = out / "run-large"
    shutil.rmtree(work, ignore_errors=True)
    config = write_config(work)
    subprocess.run([*INTAKE, "db", "upgrade", "--config", str(config)], cwd=REPO, check=True, capture_output=True)
    m = measure([*INTAKE, "ingest", "--config", str(config), "--workers", "1", str(eml)])
    result["ingest"] = {"seconds": m.seconds, "tree_peak_mb": m.tree_peak / MIB, "single_peak_mb": m.single_peak / MIB,
                        "status": m.status, "verdicts": verdicts(config), "summary": m.stdout.strip()}
    shutil.rmtree(work / "data", ignore_errors=True)
    return result


# --- ordinary mail -------------------------------------------------------------------------------------


def ordinary(out: Path, repeats: int = 3) -> dict:
    """The ordinary-mail set: `intake ingest` (default workers) and its floor, each a whole process, the
    median of `repeats` runs each, taken in turn so that both see the same machine; then one more run with
    `[storage] derived_cache_mb = 0` (no derived file kept after judging) for the bytes written."""
    from ordinary import load

    manifest = load(out)
    emls = [e["eml"] for e in manifest["messages"]]
    eml_bytes = sum(e["eml_bytes"] for e in manifest["messages"])
    procs = os.cpu_count() or 1
    pipeline, floors, cpu, floor_cpu = [], [], [], []
    result: dict = {"count": len(emls), "eml_mb": eml_bytes / MIB, "procs": procs}
    for k in range(repeats + 1):
        cache = None if k < repeats else 0
        if cache is None:
            f = measure([sys.executable, str(REPO / "benchmarks" / "ordinary.py"), "--floor", str(procs), *emls])
            assert f.status == 0, f.stdout
            floors.append(f.seconds)
            floor_cpu.append(f.cpu)
        work = out / "run-ordinary"
        shutil.rmtree(work, ignore_errors=True)
        config = write_config(work, derived_cache_mb=cache)
        subprocess.run([*INTAKE, "db", "upgrade", "--config", str(config)], cwd=REPO, check=True, capture_output=True)
        m = measure([*INTAKE, "ingest", "--config", str(config), *emls])
        bytes_ = {"written_per_byte": m.written / eml_bytes, "to_disk_per_byte": m.to_disk / eml_bytes,
                  "left_per_byte": footprint(work / "data", work / "outbox") / eml_bytes}
        if cache is None:
            pipeline.append(m.seconds)
            cpu.append(m.cpu)
            result.setdefault("bytes", []).append(bytes_)
            result.update(verdicts=verdicts(config), tree_peak_mb=m.tree_peak / MIB, status=m.status)
            print(f"  ordinary: ingest {m.seconds:.2f} s ({m.cpu:.1f} s CPU), floor {f.seconds:.2f} s "
                  f"({f.cpu:.1f} s CPU), {result['verdicts']}", flush=True)
        else:
            result["no_cache"] = {"seconds": m.seconds, "verdicts": verdicts(config), **bytes_}
            print(f"  ordinary, derived_cache_mb = 0: ingest {m.seconds:.2f} s, {bytes_}", flush=True)
    result.update(seconds=sorted(pipeline)[len(pipeline) // 2], floor_seconds=sorted(floors)[len(floors) // 2],
                  runs=pipeline, floor_runs=floors, cpu=sorted(cpu)[len(cpu) // 2],
                  floor_cpu=sorted(floor_cpu)[len(floor_cpu) // 2], **result["bytes"][-1])
    return result


# --- latency: APPEND to the reply accepted ------------------------------------------------------------


def latency(out: Path, poll_minutes: float, arrivals: int = 20, polls: int = 4, *, idle: bool = False) -> dict:
    """`intake run` against Dovecot and aiosmtpd; `arrivals` submissions APPENDed at moments spread evenly
    (with a deterministic jitter) over `polls` poll intervals; seconds from APPEND to the reply's DATA.
    Without `idle` Dovecot advertises what 126 does (no IDLE: polling only); with it, IDLE, and the arrivals
    are spread over a minute whatever the interval."""
    import random
    from email.parser import BytesHeaderParser

    from ordinary import load

    from helpers.dovecot_server import DovecotServer
    from helpers.smtp_server import SmtpServer, toml_set

    manifest = load(out)
    emls = [Path(e["eml"]) for e in manifest["messages"]][:arrivals]
    parser = BytesHeaderParser()
    ids = [str(parser.parsebytes(p.read_bytes())["Message-ID"]).strip() for p in emls]
    office, code = "sjzjjb@126.com", "smtp-auth-code"
    from helpers.dovecot_server import CAPABILITY_126

    imap = DovecotServer.start(imap_capability=None if idle else CAPABILITY_126)
    smtp = SmtpServer(username=office, password=code)
    replied: dict[str, float] = {}
    smtp.on_data = lambda r: replied.setdefault(str(r.message["In-Reply-To"]).strip(), time.monotonic())
    smtp.start()
    work = out / f"run-latency-{poll_minutes:g}{'-idle' if idle else ''}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    proc = None
    try:
        text = (REPO / "config.example.toml").read_text(encoding="utf-8")
        text = toml_set(text, "storage", url=f"sqlite:///{work}/intake.db", data_dir=str(work / "data"))
        text = toml_set(text, "mailbox", host=imap.host, port=imap.port, ssl=False, username=imap.user,
                        timeout_seconds=10, poll_minutes=poll_minutes)
        text = toml_set(text, "smtp", host="127.0.0.1", port=smtp.port, ssl=False, send_interval_seconds=0,
                        timeout_seconds=10)
        config = work / "config.toml"
        config.write_text(text, encoding="utf-8")
        env = {**os.environ, "INTAKE_IMAP_PASSWORD": imap.password, "INTAKE_SMTP_PASSWORD": code}
        env.pop("JOURNAL_STREAM", None)
        subprocess.run([*INTAKE, "db", "upgrade", "--config", str(config)], cwd=REPO, env=env, check=True,
                       capture_output=True)
        with (work / "stderr.log").open("wb") as err:
            proc = subprocess.Popen([*INTAKE, "run", "--config", str(config)], cwd=REPO, env=env,
                                    stdout=subprocess.DEVNULL, stderr=err)
        time.sleep(3)  # the first pass (an empty inbox) is over
        interval = poll_minutes * 60
        rng = random.Random(f"latency-{poll_minutes}")
        span = 60.0 if idle else interval * polls
        moments = sorted(rng.uniform(0, span) for _ in range(arrivals))
        appended: dict[str, float] = {}
        start = time.monotonic()
        when = datetime(2025, 5, 29, 10, 0, tzinfo=timezone(timedelta(hours=8)))
        for path, mid, at in zip(emls, ids, moments):
            time.sleep(max(0.0, start + at - time.monotonic()))
            appended[mid] = time.monotonic()
            imap.append("INBOX", path.read_bytes(), when)
        deadline = time.monotonic() + interval + 120
        while len(replied.keys() & appended.keys()) < len(appended) and time.monotonic() < deadline:
            time.sleep(0.1)
        waits = sorted(replied[m] - appended[m] for m in appended if m in replied)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        smtp.stop()
        imap.stop()
    result = {"poll_seconds": poll_minutes * 60, "idle": idle, "arrivals": arrivals, "answered": len(waits),
              "median": waits[len(waits) // 2] if waits else None, "max": waits[-1] if waits else None,
              "waits": waits}
    how = f"poll every {poll_minutes * 60:g} s{', IDLE' if idle else ''}"
    print(f"  latency, {how}: {result['answered']}/{arrivals} answered, median "
          f"{result['median']}, max {result['max']}", flush=True)
    return result


# --- report --------------------------------------------------------------------------------------------


def report(results: dict) -> str:
    lines = []
    t = results.get("throughput")
    o = results.get("ordinary")
    if t:
        lines.append(f"Batch: {t['count']} submissions, {t['eml_mb']:.0f} MiB of mail, {t['archive_mb']:.0f} MiB "
                     "of archives")
        lines.append(f"{'':28}{'s':>8}{'subm/s':>9}{'MiB/s':>8}{'tree PSS':>10}{'max proc':>10}")
        for n, r in sorted(t["runs"].items(), key=lambda kv: int(kv[0])):
            lines.append(f"{'intake ingest --workers ' + str(n):28}{r['seconds']:8.1f}{r['per_second']:9.2f}"
                         f"{r['eml_mb_s']:8.1f}{r['tree_peak_mb']:8.0f}MB{r['single_peak_mb']:8.0f}MB")
        runs = {int(k): v for k, v in t["runs"].items()}
        if 1 in runs and 2 in runs:
            lines.append(f"speed-up 1 -> 2 workers: {runs[1]['seconds'] / runs[2]['seconds']:.2f}x")
        lines += _against("floor", {int(k): v for k, v in results.get("floor", {}).items()}, runs, {})
        lines += _against("floor + mail", {int(k): v for k, v in results.get("mailfloor", {}).items()}, runs,
                          {1: " (target <= 1.1x)", 2: " (target <= 1.15x)"})
        mail_cpu = {int(k): v for k, v in results.get("mailfloor_cpu", {}).items()}
        lines += [f"CPU, pipeline / (floor + mail), {n} worker(s): {runs[n]['cpu']:.1f} s / {mail_cpu[n]:.1f} s = "
                  f"{runs[n]['cpu'] / mail_cpu[n]:.2f}x" for n in sorted(set(mail_cpu) & set(runs)) if "cpu" in runs[n]]
        lines += [f"bytes per byte of mail, {n} worker(s): {_bytes_text(r)}" for n, r in sorted(runs.items())
                  if "written_per_byte" in r]
    sections = [_ordinary_lines(o), lines, _latency_lines(results.get("latency")), _tools_lines(results.get("tools")),
                _poll_lines(results.get("poll")), _large_lines(results.get("large"))]
    return "\n\n".join("\n".join(section) for section in sections if section)


def _against(name: str, floors: dict[int, float], runs: dict[int, dict], targets: dict[int, str]) -> list[str]:
    """A floor's seconds per process count, and the pipeline's time over it for each worker count."""
    lines = [f"{name + ', ' + str(n) + ' process(es)':28}{seconds:8.1f}" for n, seconds in sorted(floors.items())]
    over = name if name == "floor" else f"({name})"
    return lines + [f"pipeline / {over}, {n} worker(s): {runs[n]['seconds'] / floors[n]:.2f}x{targets.get(n, '')}"
                    for n in sorted(set(floors) & set(runs))]


def _ordinary_lines(o: dict | None) -> list[str]:
    if not o:
        return []
    runs = " / ".join(f"{x:.2f}" for x in o["runs"])
    floors = " / ".join(f"{x:.2f}" for x in o["floor_runs"])
    return [f"Ordinary mail: {o['count']} submissions, {o['eml_mb']:.1f} MiB; {o['verdicts']}",
            (f"  intake ingest (default workers)   {o['seconds']:6.2f} s  (runs {runs}), "
            f"tree PSS {o['tree_peak_mb']:.0f} MB"),
            f"  floor, {o['procs']} processes, whole process {o['floor_seconds']:6.2f} s  (runs {floors})",
            f"  pipeline / floor: {o['seconds'] / o['floor_seconds']:.2f}x (target <= 2.0x)"
            + (f"; CPU {o['cpu']:.1f} s / {o['floor_cpu']:.1f} s = {o['cpu'] / o['floor_cpu']:.2f}x"
               if "cpu" in o else ""),
            f"  bytes per byte of mail: {_bytes_text(o)}",
            *([f"  with derived_cache_mb = 0: ingest {o['no_cache']['seconds']:.2f} s, {_bytes_text(o['no_cache'])}"]
              if o.get("no_cache") else [])]


def _bytes_text(r: dict) -> str:
    disk = f"{r['to_disk_per_byte']:.2f} to disk (target <= 1.1), " if "to_disk_per_byte" in r else ""
    return f"{disk}{r['written_per_byte']:.2f} dirtied in the page cache, {r['left_per_byte']:.2f} left on disk"


def _latency_lines(lt: dict | None) -> list[str]:
    if not lt:
        return []
    lines = ["latency, APPEND -> reply accepted by SMTP (intake run)"]
    for _key, r in sorted(lt.items(), key=lambda kv: (bool(kv[1].get("idle")), -kv[1]["poll_seconds"])):
        poll_s = r["poll_seconds"]
        med = f"{r['median']:.1f}" if r["median"] is not None else "-"
        top = f"{r['max']:.1f}" if r["max"] is not None else "-"
        if r.get("idle"):
            how, target = f"IDLE (poll {poll_s / 60:g} min)", "under 10 s"
        else:
            how = f"poll every {poll_s:g} s"
            target = f"within {poll_s + 5:g} s" + ("; under 10 s when sub-minute" if poll_s < 60 else "")
        lines.append(f"  {how:20}: {r['answered']}/{r['arrivals']} answered, median {med} s, max {top} s "
                     f"(target: {target})")
    return lines


def _tools_lines(tl: dict | None) -> list[str]:
    lines = []
    for kind, lib, cli in (("7z", "py7zr", "7zz"), ("rar", "unar", "bsdtar"), ("zip", "zipfile", "7zz_zip")):
        if tl and lib in tl:
            name = cli.split("_")[0]
            lines.append(f"{kind:3} ({tl[kind + '_mb']:.0f} MiB): {lib} {tl[lib]:.1f} s, {name} {tl[cli]:.1f} s "
                         f"-> {lib} / {name} = {tl[lib] / tl[cli]:.2f}x")
    return lines


def _poll_lines(p: dict | None) -> list[str]:
    if not p:
        return []
    runs = p if "kept" in p or "fresh" in p else {"fresh": p}  # results.json from before the kept connection
    lines = [f"{'idle poll (nothing new)':28}{'ms':>8}{'bytes up':>10}{'bytes down':>12}{'bodies':>8}"]
    titles = {"fresh": "fresh connection per poll", "kept": "kept connection (intake run)"}
    for how in (h for h in ("fresh", "kept") if runs.get(h)):
        lines.append(f"{titles[how]}:")
        lines += [f"{'  ' + str(count) + ' messages':28}{r['seconds'] * 1000:8.1f}{r['up']:10d}{r['down']:12d}"
                  f"{r['bodies_fetched']:8d}" for count, r in sorted(runs[how].items(), key=lambda kv: int(kv[0]))]
    for how in (h for h in ("fresh", "kept") if runs.get(h)):
        counts = sorted(runs[how], key=int)
        lo, hi = runs[how][counts[0]], runs[how][counts[-1]]
        target = " (target: within 1.2x)" if how == "kept" else ""
        lines.append(f"{how}, {counts[-1]} vs {counts[0]}: time {hi['seconds'] / lo['seconds']:.2f}x, "
                     f"bytes {(hi['up'] + hi['down']) / (lo['up'] + lo['down']):.2f}x{target}")
    return lines


def _large_lines(lg: dict | None) -> list[str]:
    if not lg:
        return []
    lines = [f"one {lg['eml_mb']:.0f} MiB message ({lg['decode_split']['attachment_mb']:.0f} MiB archive):"]
    for how, what in (("memory", "decode_message (in memory)"), ("split", "mimestream.split_file")):
        r = lg[f"decode_{how}"]
        lines.append(f"  {what:30} {r['seconds']:6.1f} s, peak RSS {r['peak_mb']:6.0f} MB")
    r = lg["ingest"]
    lines.append(f"  intake ingest                  {r['seconds']:6.1f} s, "
                 f"peak PSS of the tree {r['tree_peak_mb']:.0f} MB, largest process {r['single_peak_mb']:.0f} MB "
                 f"(target <= 300 MB); {r['verdicts']}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/intake-bench"), help="generate.py's folder")
    parser.add_argument("--workers", default="1,2", help="worker counts for the throughput runs")
    parser.add_argument("--poll-sizes", default="100,1000,10000")
    parser.add_argument("--latency-polls", default="0.5,0.1", help="poll_minutes for the latency runs")
    parser.add_argument("--arrivals", type=int, default=20, help="submissions APPENDed per latency run")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the ordinary set (the median counts)")
    parser.add_argument("--quick", action="store_true",
                        help="for development: the batch's first 30 submissions, polls up to 1,000, 8 arrivals")
    parser.add_argument("parts", nargs="*", choices=[*PARTS, []], help=f"default: all of {', '.join(PARTS)}")
    args = parser.parse_args()
    args.parts = args.parts or list(PARTS)
    out = args.out.resolve()
    results_file = out / "results.json"
    results = json.loads(results_file.read_text()) if results_file.is_file() else {}
    manifest = json.loads((out / "manifest.json").read_text()) if (out / "manifest.json").is_file() else None
    workers = [int(n) for n in args.workers.split(",")]
    if manifest is None and {"throughput", "floor", "mailfloor", "tools"} & set(args.parts):
        parser.error(f"no batch in {out}: run benchmarks/generate.py first")
    if args.quick:
        if manifest is not None:
            manifest["submissions"] = manifest["submissions"][:30]
        args.poll_sizes, args.arrivals = "100,1000", 8
    if "ordinary" in args.parts:
        print("ordinary mail ...", flush=True)
        results["ordinary"] = ordinary(out, args.repeats)
    results["machine"] = {"cpus": os.cpu_count(), "when": datetime.now(UTC).isoformat(timespec="seconds")}
    if "throughput" in args.parts:
        print("throughput ...", flush=True)
        results["throughput"] = throughput(out, manifest, workers)
    for part, mail in (("floor", False), ("mailfloor", True)):
        if part in args.parts:
            print(f"{part} ...", flush=True)
            results[part], results[part + "_cpu"] = {}, {}
            for n in workers:
                cpu_before = _cpu()
                results[part][n] = floor(manifest, n, mail=mail)
                results[part + "_cpu"][n] = _cpu() - cpu_before
    if "tools" in args.parts:
        print("tools ...", flush=True)
        results["tools"] = tools(manifest)
    if "poll" in args.parts:
        print("idle polls ...", flush=True)
        results["poll"] = poll(out, [int(n) for n in args.poll_sizes.split(",")])
    if "large" in args.parts:
        print("large message ...", flush=True)
        results["large"] = large(out)
    if "latency" in args.parts:
        print("latency ...", flush=True)
        results["latency"] = {m: latency(out, float(m), args.arrivals) for m in args.latency_polls.split(",")}
        results["latency"]["idle"] = latency(out, 5.0, args.arrivals, idle=True)
    results_file.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str))
    print()
    print(report(json.loads(results_file.read_text())))


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _subreaper()
    main()
