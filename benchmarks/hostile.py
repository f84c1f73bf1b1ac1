"""What hostile input costs the process that records and routes it: figures and ratios, never asserted.

    python benchmarks/hostile.py

- a subject of 200 / 30,000 / 90,000 characters: CPU of everything that parses it for one message
  (decoding, studio identity, the rules with their quoted findings) against a real subject;
- a header block of 20 MB: CPU and peak Python memory of reading the headers the ledger needs, against an
  ordinary message's;
- a Date past datetime.max: that it is read at all (it overflowed before).
Issue 14 measured on 4caada0: a 30,000-character subject took 15 s of CPU, 90,000 took 112 s; 20 MB of
headers took 3 s and 408 MB RSS in the unsandboxed parent.
"""

from __future__ import annotations

import base64
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "scripts")]

from helpers.configfile import write_example_config  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.intake.judge import studio_identity  # noqa: E402
from pipeline.mail.decode import decode_headers, decode_message  # noqa: E402
from pipeline.rules import subject as subject_module
from pipeline.rules.checks import SubmissionFacts, evaluate  # noqa: E402

REAL = "正定县总工会张三创新工作室入库材料"


def cpu(fn: Callable[[], object], repeat: int = 3) -> float:
    """Least CPU seconds of `repeat` calls (the parse cache is emptied before each)."""
    best = float("inf")
    for _ in range(repeat):
        subject_module._parsed.clear()  # noqa: SLF001 - each call must parse afresh
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def peak(fn: Callable[[], object]) -> tuple[float, float]:
    """(CPU seconds, peak MiB allocated by Python) of one call."""
    tracemalloc.start()
    start = time.process_time()
    fn()
    seconds = time.process_time() - start
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, top / 2**20


def message(subject: str, extra_headers: bytes = b"") -> bytes:
    """A message with `subject` as an RFC 2047 word, as mail programs send it."""
    encoded = b"=?utf-8?B?" + base64.b64encode(subject.encode()) + b"?="
    return (b"From: zdxzgh@126.com\r\nTo: sjzjjb@126.com\r\nDate: Mon, 26 May 2025 10:00:00 +0800\r\n"
            b"Message-ID: <b@126.com>\r\n" + extra_headers + b"Subject: " + encoded + b"\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        campaign = load_config(write_example_config(Path(tmp))).campaigns[0]

    def judge(subject: str) -> Callable[[], object]:
        mail = decode_message(message(subject))  # as the child judging it reads it: the whole message
        facts = SubmissionFacts(subject=mail.subject, received_at=mail.date, attachment_names=(), archives=(),
                                files=())
        return lambda: (decode_message(message(subject)), subject_module.parse_subject(facts.subject, campaign),
                        studio_identity(facts, campaign), evaluate(facts, campaign))

    base = cpu(judge(REAL))
    print(f"{'subject of':<28}{'CPU s':>10}{'x real':>10}")
    for n in (len(REAL), 200, 30_000, 90_000):
        text = REAL if n == len(REAL) else "正定县总工会" + "张" * n + "创新工作室入库材料"
        seconds = cpu(judge(text))
        print(f"{len(text):>10,} characters{'':<8}{seconds:>10.4f}{seconds / base:>10.1f}")

    filler = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 990) for i in range(20_000))
    ordinary, huge = message(REAL), message(REAL, filler)  # built before measuring: only the reading counts
    ordinary_s, ordinary_mb = peak(lambda: decode_headers(ordinary))
    huge_s, huge_mb = peak(lambda: decode_headers(huge))
    print(f"\n{'headers read for the ledger':<28}{'CPU s':>10}{'peak MiB':>10}")
    print(f"{'ordinary message':<28}{ordinary_s:>10.4f}{ordinary_mb:>10.1f}")
    print(f"{'20 MB header block':<28}{huge_s:>10.4f}{huge_mb:>10.1f}"
          f"   ({huge_s / max(ordinary_s, 1e-6):.0f}x the CPU)")

    far = message(REAL).replace(b"Mon, 26 May 2025 10:00:00 +0800", b"Fri, 31 Dec 9999 23:59:59 -1200")
    mail = decode_headers(far)
    print(f"\nDate 9999-12-31 -1200: date={mail.date}, noted: {[d for d in mail.defects if 'Date' in d]}")


if __name__ == "__main__":
    main()
