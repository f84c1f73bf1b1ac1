"""Ordinary mail: a deterministic set of the submissions a normal day brings (issue 18), and its floor.

    python benchmarks/ordinary.py --out /tmp/intake-bench            # OUT/ordinary/: 70 messages, ~1 min

Each message is one studio's submission of 0.1–3 MB built with scripts/samplegen.py: the DOCX form, the
stamped scan, the DOCX narrative, the summary table and 0–6 evidence photos, sent the way clerks send them
(mostly one zip, some RAR or 7z, some files attached loose). Unlike the deadline-day batch the scans are
what offices really send: a copier's 200 dpi A4 page (1654×2339) as a 1–3 page image PDF, or a phone's
photo of the stamped page as a JPEG (1836×2448 or 1654×2339); photos are 0.2–2 MP. A few are wrong the
ordinary ways (no seal on the scan, a short narrative, no summary table) so that the set is judged as a
day's mail is, not only accepted.

Writes OUT/ordinary/mail/NNN.eml and OUT/ordinary/manifest.json (per message: the .eml, how its files
were attached, its sizes). `floor_one` is the floor of one message as run.py measures it: the MIME
message parsed and its attachments decoded (the standard library's email parser), archives unpacked with
the tool the pipeline picks, each DOCX opened with python-docx and each JPEG's header read with Pillow.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "scripts"), str(REPO / "benchmarks")]

import samplegen as g

COUNT = 70
SEND = ("zip",) * 12 + ("rar",) * 4 + ("7z",) * 2 + ("loose",) * 2   # how often each way, out of 20
A4_200DPI = (1654, 2339)
PHONE = (1836, 2448)


def _scan_jpeg(image, size: tuple[int, int], seed: str, quality: int) -> bytes:  # type: ignore[no-untyped-def]
    """`image` (samplegen's 620×877 page) at a real scan's resolution, with the scanner's grain."""
    from PIL import Image, ImageFilter

    big = image.resize(size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(0.8))
    grain = g._noise(random.Random(seed), size, grain=1)
    big = Image.blend(big, grain, 0.05)
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _scan_pdf(pages: list, seed: str) -> bytes:  # type: ignore[type-arg]
    """Pages as a copier writes them: one 200 dpi JPEG image per page (DCTDecode), nothing else."""
    from PIL import Image

    big = [Image.open(io.BytesIO(_scan_jpeg(p, A4_200DPI, f"{seed}-{k}", 60))) for k, p in enumerate(pages)]
    stamp = g.FIXED_DT.timetuple()
    buf = io.BytesIO()
    big[0].save(buf, "PDF", resolution=200, save_all=True, append_images=big[1:], quality=60, title="",
                producer="", creator="", creationDate=stamp, modDate=stamp)
    return buf.getvalue()


def _photo(label: str, seed: int, rng: random.Random) -> bytes:
    """An evidence photo of 0.2–2 MP, as a phone writes it (some grain: it does not compress away)."""
    from PIL import Image

    w = rng.choice((640, 800, 1024, 1280, 1600))
    size = (w, w * 3 // 4)
    base = Image.open(io.BytesIO(g.photo_jpeg(label, seed, size)))
    grain = g._noise(random.Random(f"grain-{label}-{seed}"), size, grain=1)
    buf = io.BytesIO()
    Image.blend(base, grain, 0.08).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _studio(i: int) -> g.Studio:
    from generate import GIVEN, SURNAMES, UNITS  # the batch's units: all on the roster

    rng = random.Random(f"ordinary-studio-{i}")
    leader = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    unit = UNITS[(i * 5) % len(UNITS)]
    return g.Studio(unit=unit, leader=leader, gender=rng.choice("男女"), applicant=f"{unit[:-3]}第{i % 9 + 1}中学",
                    seed=5000 + i)


def _files(i: int) -> tuple[list[tuple[str, bytes]], dict[str, object]]:
    rng = random.Random(f"ordinary-files-{i}")
    studio = _studio(i)
    scan_kind = "pdf" if i % 5 in (0, 2, 3) else "jpg"       # 3 in 5 as PDF
    pages = rng.choice((1, 1, 2, 3)) if scan_kind == "pdf" else 1
    seal = i % 17 != 5                                         # now and then a scan without the seal
    narrative = rng.randint(1600, 3200) if i % 23 != 7 else 600  # now and then too short
    summary = None if i % 19 == 11 else ("docx" if i % 7 == 3 else "xlsx")
    pkg = g.Package(narrative_chars=narrative, evidence=0, scan=None, summary=summary)  # type: ignore[arg-type]
    files = g.materials(studio, pkg)
    title = studio.name
    if scan_kind == "pdf":
        scan = _scan_pdf(g._scan_pages(title, studio.seed, pages, seal), f"scan-{i}")
    else:
        size = (1240, 1754) if i % 13 == 0 else PHONE if i % 2 else A4_200DPI  # 150 dpi: a small one now and then
        scan = _scan_jpeg(g._scan_pages(title, studio.seed, 1, seal)[0], size, f"scan-{i}", rng.choice((70, 80)))
    files.insert(1, (f"{g.FORM_FILE}（盖章扫描件）.{scan_kind}", scan))
    photos = 0 if i % 29 == 3 else rng.choice((1, 1, 2, 2, 3, 4, 6, 9))
    titles = g.EVIDENCE[studio.category]
    for j in range(1, photos + 1):
        name = f"3-{j} {titles[(j - 1) % len(titles)]}{j}.jpg"
        files.append((f"{g.EVIDENCE_DIR}/{name}", _photo(name, studio.seed + j, rng)))
    return files, {"studio": studio.name, "subject": studio.subject, "unit": studio.unit, "scan": scan_kind,
                   "scan_pages": pages, "seal": seal, "photos": photos}


def make_one(i: int, out: str) -> dict[str, object]:
    from generate import DAY, _rar, _sevenz

    files, facts = _files(i)
    send = SEND[i % len(SEND)]
    subject = str(facts["subject"])
    if send == "loose":
        attachments = [g.Attachment(name.rsplit("/", 1)[-1], data) for name, data in files]
    else:
        archive = {"zip": g.zip_bytes, "7z": _sevenz, "rar": _rar}[send](files)
        attachments = [g.Attachment(f"{subject}.{send}", archive)]
    received = DAY + timedelta(seconds=i * 45000 // COUNT + i % 11)
    sender = f"clerk{i:03d}@126.com" if i % 3 else f"gh{i:03d}@163.com"
    raw = g.eml(subject=subject, from_name=str(facts["unit"]), from_addr=sender,
                date=received - timedelta(minutes=2), received=received,
                message_id=f"<ordinary.{i:03d}.{received:%Y%m%d%H%M%S}@126.com>",
                body_text=f"您好：\n附件为{facts['studio']}入库材料，请查收。\n{facts['unit']}",
                style=("foxmail", "outlook", "netease", "qq")[i % 4], attachments=attachments)
    eml = Path(out) / "mail" / f"{i:03d}.eml"
    eml.write_bytes(raw)
    return {"index": i, "eml": str(eml), "send": send, "eml_bytes": len(raw),
            "files": len(files), "file_bytes": sum(len(d) for _n, d in files), **facts}


def build(out: Path, count: int = COUNT, jobs: int = 1) -> dict:
    folder = out / "ordinary"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "mail").mkdir(parents=True)
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        entries = list(pool.map(make_one, range(count), [str(folder)] * count))
    manifest = {"count": count, "messages": entries}
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    sizes = sorted(int(e["eml_bytes"]) / 2**20 for e in entries)  # type: ignore[call-overload]
    print(f"{count} ordinary messages, {sum(sizes):.1f} MiB ({sizes[0]:.2f}-{sizes[-1]:.2f} MiB each), "
          f"in {time.monotonic() - started:.0f} s -> {folder}")
    return manifest


def load(out: Path) -> dict:
    """The set's manifest, built first if it is not there (or is from another COUNT)."""
    path = out / "ordinary" / "manifest.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return build(out, jobs=os.cpu_count() or 1)


# --- the floor of one message --------------------------------------------------------------------------


def floor_one(eml: str) -> int:
    """MIME parsed and decoded, archives unpacked, each DOCX opened, each JPEG's header read: files seen."""
    import email
    import email.policy

    import docx
    from PIL import Image
    from run import _unpack

    with open(eml, "rb") as fh:
        msg = email.message_from_binary_file(fh, policy=email.policy.default)
    seen = 0
    with tempfile.TemporaryDirectory(prefix="bench-ordinary-") as tmp:
        root = Path(tmp)
        loose: list[Path] = []
        for k, part in enumerate(msg.iter_attachments()):
            name = part.get_filename() or f"part{k}"
            path = root / f"{k:03d}{Path(name).suffix}"
            path.write_bytes(part.get_payload(decode=True) or b"")
            kind = path.suffix.lower().lstrip(".")
            if kind in ("zip", "rar", "7z"):
                dest = root / f"u{k:03d}"
                dest.mkdir()
                _unpack(path, kind, dest)
                loose += [p for p in dest.rglob("*") if p.is_file()]
            else:
                loose.append(path)
        for path in loose:
            seen += 1
            suffix = path.suffix.lower()
            if suffix == ".docx":
                docx.Document(str(path))
            elif suffix in (".jpg", ".jpeg"):
                with Image.open(path) as im:
                    im.size  # noqa: B018 - the header is read by open()
    return seen


def floor(emls: list[str], procs: int) -> int:
    """floor_one over `emls` in `procs` processes (this one when 1), as a whole process is timed by run.py."""
    if procs <= 1:
        return sum(map(floor_one, emls))
    with ProcessPoolExecutor(max_workers=procs) as pool:
        return sum(pool.map(floor_one, emls))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/intake-bench"))
    parser.add_argument("--count", type=int, default=COUNT)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--floor", type=int, metavar="PROCS", help="run the floor over EML files (for run.py)")
    parser.add_argument("emls", nargs="*")
    args = parser.parse_args()
    if args.floor:
        print(floor(args.emls, args.floor))
        return
    build(args.out.resolve(), args.count, args.jobs)


if __name__ == "__main__":
    main()
