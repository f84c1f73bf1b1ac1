"""Deterministic deadline-day batch for the benchmarks (written outside the repository).

    python benchmarks/generate.py --out /tmp/intake-bench --count 300 --scale 1.0
    python benchmarks/generate.py --out /tmp/intake-bench large --mb 500

`batch`: COUNT submissions received on 29 May 2025 (the day before the Shijiazhuang deadline), one archive each,
zip / 7z / rar in turn, holding the notice's documents built by scripts/samplegen.py (the filled DOCX form,
the stamped scan PDF, the DOCX narrative, the XLSX summary table) and 5-30 evidence photos: JPEGs of
1-1.4 MB (times --scale) with sensor noise, so they do not compress away. Photos are drawn without repetition
from a pool of distinct images made once (cached under OUT/pool) and each copy gets a comment segment of its
own, so no two files in one archive are alike (7z would otherwise store a repeated photo once). An archive
is 5-40 MB at scale 1. Writes OUT/mail/NNN.eml, OUT/archives/NNN.<kind> (the same archive, for the floor
measurement) and OUT/manifest.json.

`large`: one message carrying a single zip of about --mb MiB (OUT/large/large.eml), written in chunks: the
notice's documents, up to 300 photos for half of it and a video (noise) for the rest.

zip archives come from samplegen.zip_bytes (GBK names, deflate). 7z archives are written by `7zz a -mx=1`
and RAR5 archives by samplegen's `rars` builder in store mode: the same formats the pipeline reads, made
quickly (LZMA2 and RAR keep noisy JPEGs about as large as they are, whatever the level).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import samplegen as g

POOL_SIZE = 40
DAY = datetime(2025, 5, 29, 8, 0, tzinfo=g.CST)
UNITS = ("正定县总工会", "藁城区总工会", "鹿泉区总工会", "栾城区总工会", "井陉县总工会", "行唐县总工会",
         "灵寿县总工会", "高邑县总工会", "深泽县总工会", "赞皇县总工会", "无极县总工会", "平山县总工会")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉梅海波春晓东"
KINDS = ("zip", "7z", "rar")


def _pool(out: Path, scale: float) -> list[Path]:
    """POOL_SIZE distinct noisy photos, made once per scale."""
    from PIL import Image

    folder = out / "pool" / f"scale-{scale:g}"
    paths = [folder / f"{i:02d}.jpg" for i in range(POOL_SIZE)]
    if all(p.is_file() for p in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(paths):
        rng = random.Random(f"pool-{i}")
        w = int(rng.randint(1800, 2200) * scale ** 0.5)
        h = w * 3 // 4
        base = Image.open(io.BytesIO(g.photo_jpeg(f"3-{i} 活动照片.jpg", i, (w, h)))).convert("RGB")
        noise = Image.effect_noise((w, h), 30 + i % 20).convert("RGB")
        buf = io.BytesIO()
        Image.blend(base, noise, 0.22).save(buf, "JPEG", quality=85)
        path.write_bytes(buf.getvalue())
    return paths


def _tagged(jpeg: bytes, tag: str) -> bytes:
    """The JPEG with a COM segment of its own after SOI: same picture, different bytes."""
    text = tag.encode("utf-8")[:60000]
    return jpeg[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + jpeg[2:]


def _studio(i: int) -> g.Studio:
    rng = random.Random(f"studio-{i}")
    leader = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    unit = UNITS[i % len(UNITS)]
    return g.Studio(unit=unit, leader=leader, gender=rng.choice("男女"),
                    applicant=f"{unit[:-3]}第{i % 7 + 1}机械厂", seed=1000 + i)


def _files(i: int, pool: list[Path]) -> tuple[list[tuple[str, bytes]], g.Studio, int]:
    rng = random.Random(f"files-{i}")
    studio = _studio(i)
    files = g.materials(studio, g.Package(narrative_chars=rng.randint(1500, 3000), evidence=0))
    photos = rng.randint(5, 30)
    titles = g.EVIDENCE[studio.category]
    for j, pick in enumerate(rng.sample(range(len(pool)), photos), start=1):
        name = f"{g.EVIDENCE_DIR}/3-{j} {titles[j % len(titles)]}{j}.jpg"
        files.append((name, _tagged(pool[pick].read_bytes(), f"submission {i} photo {j}")))
    return files, studio, photos


def _sevenz(files: list[tuple[str, bytes]]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="bench-7z-") as tmp:
        root = Path(tmp) / "in"
        for name, data in files:
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            os.utime(path, (g.FIXED_UNIX, g.FIXED_UNIX))
        target = Path(tmp) / "a.7z"
        subprocess.run(["7zz", "a", "-bd", "-mx=1", "-mmt=1", "-mtc=off", "-mta=off", str(target), "."], cwd=root,
                       check=True, capture_output=True)
        return target.read_bytes()


def _rar(files: list[tuple[str, bytes]]) -> bytes:
    import rars

    builder = rars.RarBuilder(format=rars.RAR50, store=True)
    for name, data in files:
        builder.add_bytes(data, name, mtime=g.FIXED_UNIX)
    return g._rar5_clean(builder.to_bytes())


def make_one(i: int, out: str, scale: float) -> dict[str, object]:
    """Submission `i`: its archive and message on disk, and its manifest entry."""
    root = Path(out)
    pool = _pool(root, scale)
    files, studio, photos = _files(i, pool)
    kind = KINDS[i % len(KINDS)]
    archive = {"zip": g.zip_bytes, "7z": _sevenz, "rar": _rar}[kind](files)
    archive_path = root / "archives" / f"{i:03d}.{kind}"
    archive_path.write_bytes(archive)
    received = DAY + timedelta(seconds=i * 50400 // 300 + i % 7)
    sender = f"zgh{i:03d}@126.com"
    raw = g.eml(subject=studio.subject, from_name=studio.unit, from_addr=sender, date=received - timedelta(minutes=1),
                received=received, message_id=f"<bench.{i:03d}.{received:%Y%m%d%H%M%S}@126.com>",
                body_text=f"您好：\n附件为{studio.name}入库材料，请查收。\n{studio.unit}", style="foxmail",
                attachments=[g.Attachment(f"{studio.subject}.{kind}", archive)])
    eml_path = root / "mail" / f"{i:03d}.eml"
    eml_path.write_bytes(raw)
    return {"index": i, "kind": kind, "eml": str(eml_path), "archive": str(archive_path), "photos": photos,
            "archive_bytes": len(archive), "eml_bytes": len(raw), "studio": studio.name}


def batch(out: Path, count: int, scale: float, jobs: int) -> None:
    for sub in ("mail", "archives"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True)
    started = time.monotonic()
    _pool(out, scale)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        entries = list(pool.map(make_one, range(count), [str(out)] * count, [scale] * count))
    manifest = {"count": count, "scale": scale, "submissions": entries}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    total = sum(int(e["archive_bytes"]) for e in entries)  # type: ignore[call-overload]
    sizes = sorted(int(e["archive_bytes"]) / 2**20 for e in entries)  # type: ignore[call-overload]
    print(f"{count} submissions, archives {total / 2**20:.0f} MiB ({sizes[0]:.1f}-{sizes[-1]:.1f} MiB each), "
          f"in {time.monotonic() - started:.0f} s -> {out}")


def large(out: Path, mb: int) -> Path:
    """One message with a zip of about `mb` MiB, written in chunks (the zip through zipfile, stored JPEGs)."""
    import zipfile

    folder = out / "large"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    pool = _pool(out, 1.0)
    studio = _studio(9999)
    zpath = folder / "large.zip"
    with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in g.materials(studio, g.Package(evidence=0)):
            zf.writestr(name, data)
        j = 0
        while zpath.stat().st_size < mb * 2**20 // 2 and j < 300:  # half photos, at most 300 (limits.max_files)
            j += 1
            zf.writestr(f"{g.EVIDENCE_DIR}/3-{j} 工作室活动照片{j}.jpg",
                        _tagged(pool[j % len(pool)].read_bytes(), f"large photo {j}"))
            zf.fp.flush()  # type: ignore[union-attr]
        rest = mb * 2**20 - zpath.stat().st_size
        rng = random.Random("large video")
        with zf.open(f"{g.EVIDENCE_DIR}/工作室宣传片.mp4", "w", force_zip64=True) as video:  # noise: incompressible
            for _ in range(max(rest, 0) // 2**20):
                video.write(rng.randbytes(2**20))
    # The message around it: samplegen writes the headers and parts; the body of the zip is streamed in.
    marker = b"BENCHMARK-PLACEHOLDER"
    raw = g.eml(subject=studio.subject, from_name=studio.unit, from_addr="large@126.com", date=DAY, received=DAY,
                message_id="<bench.large@126.com>", body_text="附件为入库材料，请查收。",
                attachments=[g.Attachment(f"{studio.subject}.zip", marker)])
    head, tail = raw.split(base64.b64encode(marker) + b"\r\n")
    eml = folder / "large.eml"
    with eml.open("wb") as fh, zpath.open("rb") as src:
        fh.write(head)
        while chunk := src.read(57 * 20000):
            text = base64.b64encode(chunk)
            fh.write(b"".join(text[k:k + 76] + b"\r\n" for k in range(0, len(text), 76)))
        fh.write(tail)
    print(f"large message: {eml.stat().st_size / 2**20:.0f} MiB ({zpath.stat().st_size / 2**20:.0f} MiB zip, "
          f"{j} photos) -> {eml}")
    return eml


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/intake-bench"), help="output folder (outside the repo)")
    parser.add_argument("--count", type=int, default=300, help="submissions in the batch")
    parser.add_argument("--scale", type=float, default=1.0, help="photo size factor (1.0: 1-1.4 MB photos)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="generator processes")
    parser.add_argument("what", nargs="?", choices=("batch", "large"), default="batch")
    parser.add_argument("--mb", type=int, default=500, help="size of the large message's archive")
    args = parser.parse_args()
    out = args.out.resolve()
    if out == REPO or REPO in out.parents:
        parser.error("--out must be outside the repository")
    if args.what == "large":
        large(out, args.mb)
    else:
        batch(out, args.count, args.scale, args.jobs)


if __name__ == "__main__":
    main()
