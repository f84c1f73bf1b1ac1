"""Multi-volume archives sent as several attachments of one message: unpacked as the one archive they are."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import rars
import samplegen as g

from helpers.volumes import STUDIO, judged, message, split_7z
from pipeline.documents.volumes import VolumeSet, missing_detail, missing_parts, volume_sets

# --- grouping the names ----------------------------------------------------------------------------------

def test_parts_are_grouped_by_name_and_style_in_volume_order() -> None:
    names = ["材料.part2.rar", "说明.docx", "材料.PART1.rar", "照片.7z.002", "照片.7z.001", "旧.r00", "旧.rar", "单个.rar"]
    assert volume_sets(names) == [
        VolumeSet("材料.rar", "rar", ((1, 2), (2, 0)), ()),
        VolumeSet("照片.7z", "split", ((1, 4), (2, 3)), ()),
        VolumeSet("旧.rar", "old", ((1, 6), (2, 5)), ()),
    ]


def test_a_lone_archive_is_not_a_set_but_a_lone_part_is() -> None:
    assert volume_sets(["材料.rar"]) == []
    assert volume_sets(["材料.zip", "材料.7z"]) == []
    assert volume_sets(["材料.part1.rar"]) == [VolumeSet("材料.rar", "rar", ((1, 0),), ())]
    assert volume_sets(["材料.part2.rar"]) == [VolumeSet("材料.rar", "rar", ((2, 0),), (1,))]


def test_gaps_are_the_missing_parts_and_a_part_sent_twice_counts_once() -> None:
    (found,) = volume_sets(["a.7z.001", "a.7z.004", "a.7z.001", None])
    assert found.members == ((1, 0), (4, 1)) and found.missing == (2, 3) and found.kind == "7z"
    assert missing_parts(missing_detail(found.missing)) == [2, 3]
    assert missing_parts("cannot read the RAR listing") is None


# --- through the pipeline ---------------------------------------------------------------------------------

def rar_volumes(files: list[tuple[str, bytes]], fmt: str, tmp: Path) -> list[bytes]:
    if fmt == "rar50":
        return g.rar5_volumes(files, volume_size=30_000)
    # rars writes old-style volumes (材料.rar, 材料.r00 …) of one member only: the materials zipped first
    builder = rars.RarBuilder(format=fmt, volume_size=30_000)
    builder.add_bytes(g.zip_bytes(files), STUDIO.subject + ".zip", mtime=1_747_700_000)
    tmp.mkdir()
    parts = [Path(p).read_bytes() for p in builder.write_volumes(str(tmp / "v.rar"))]  # v.rar, v.r00 …
    shutil.rmtree(tmp)
    return parts


def _names(style: str, count: int) -> list[str]:
    stem = STUDIO.subject
    if style == "rar50":
        return [f"{stem}.part{n}.rar" for n in range(1, count + 1)]
    if style == "rar29":
        return [f"{stem}.rar", *(f"{stem}.r{n:02d}" for n in range(count - 1))]
    return [f"{stem}.7z.{n:03d}" for n in range(1, count + 1)]


def _parts(style: str, tmp_path: Path) -> list[bytes]:
    files = g.materials(STUDIO)
    return split_7z(files, 3) if style == "7z" else rar_volumes(files, style, tmp_path / "build")


@pytest.mark.parametrize("style", ["rar50", "rar29", "7z"], ids=["rar5-partN", "rar4-r00", "7z-001"])
def test_all_parts_in_one_message_are_unpacked_as_one_archive(app, tmp_path: Path, style: str) -> None:
    parts = _parts(style, tmp_path)
    assert len(parts) >= 3
    attachments = list(zip(_names(style, len(parts)), parts))
    verdict, findings, roles = judged(app, message(attachments[::-1]))  # in any order
    assert (verdict, findings) == ("accepted", [])
    assert {"form_word", "form_scan", "narrative", "evidence", "summary"} <= set(roles)


@pytest.mark.parametrize("style", ["rar50", "7z"], ids=["rar5-partN", "7z-001"])
def test_a_set_with_a_part_missing_is_one_finding_that_names_the_part(app, tmp_path: Path, style: str) -> None:
    parts = _parts(style, tmp_path)
    attachments = list(zip(_names(style, len(parts)), parts))
    del attachments[1]
    verdict, findings, _roles = judged(app, message(attachments))
    assert verdict == "rejected"
    ((code, text),) = findings  # not one "corrupt" and one "misnamed" per part
    assert code == "ARCHIVE_CORRUPT" and "分卷压缩包，缺少第2卷" in text


def test_a_first_part_alone_says_the_other_parts_are_not_in_the_message(app, tmp_path: Path) -> None:
    parts = _parts("rar50", tmp_path)
    verdict, findings, _roles = judged(app, message([(_names("rar50", 1)[0], parts[0])]))
    assert verdict == "rejected"
    ((code, text),) = findings
    assert code == "ARCHIVE_CORRUPT" and "其余分卷不在这封邮件中" in text
