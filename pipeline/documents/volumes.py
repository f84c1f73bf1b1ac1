"""Multi-volume archives: several attachments of one message that together make one archive.

Senders split big packages with WinRAR (材料.part1.rar, 材料.part2.rar …; older versions 材料.rar, 材料.r00 …)
or 7-Zip / Bandizip (材料.7z.001, 材料.7z.002 …, the archive's bytes cut in pieces). Judged one attachment at
a time, every part looked broken and misnamed; grouped, they are unpacked as the one archive they are, and a
set with parts missing gets one finding that says which.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_RAR_PART = re.compile(r"^(?P<base>.+)\.part(?P<n>\d{1,4})\.rar$", re.IGNORECASE)
_RAR_OLD = re.compile(r"^(?P<base>.+)\.(?:rar|r(?P<n>\d{2}))$", re.IGNORECASE)  # 材料.rar is part 1, .r00 part 2
_SPLIT = re.compile(r"^(?P<base>.+\.(?:zip|7z|rar))\.(?P<n>\d{3})$", re.IGNORECASE)

MISSING = "multi-volume archive, parts not in this message: "  # ArchiveFacts.detail, then the numbers
ONE_VOLUME = "one part of a multi-volume RAR: the other parts are not in this message"  # what a reader says


@dataclass(frozen=True)
class VolumeSet:
    """The attachments that make one archive, and what is known of the set from their names."""

    name: str                            # the archive they make, as its sender named it: 材料.rar, 材料.7z
    style: str                           # "rar" (.partN.rar), "old" (.rar .r00 …) or "split" (.7z.001 …)
    members: tuple[tuple[int, int], ...]  # (volume number from 1, attachment index), in volume order
    missing: tuple[int, ...]             # volume numbers below the highest one sent that were not sent

    @property
    def kind(self) -> str:
        """zip, 7z or rar, by the set's name."""
        return self.name.rsplit(".", 1)[-1].lower()


def _part(name: str) -> tuple[str, str, int, str] | None:
    """(style, base, volume number, set name) when `name` is a part of a multi-volume archive."""
    if found := _RAR_PART.match(name):
        return "rar", found["base"], int(found["n"]), found["base"] + ".rar"
    if found := _SPLIT.match(name):
        return "split", found["base"], int(found["n"]), found["base"]
    if found := _RAR_OLD.match(name):
        number = 1 if found["n"] is None else int(found["n"]) + 2
        return "old", found["base"], number, found["base"] + ".rar"
    return None


def volume_sets(names: Sequence[str | None]) -> list[VolumeSet]:
    """The multi-volume archives among a message's attachment names (indexes into `names`).

    A name alone in its set counts only when it says it is a part (材料.part1.rar, 材料.7z.001): a lone
    材料.rar is an ordinary archive. The same part sent twice counts once.
    """
    groups: dict[tuple[str, str], dict[int, int]] = {}
    titles: dict[tuple[str, str], str] = {}
    for index, name in enumerate(names):
        part = _part(name or "")
        if part is None:
            continue
        style, base, number, title = part
        key = (style, base.casefold())
        groups.setdefault(key, {}).setdefault(number, index)
        titles.setdefault(key, title)
    sets = []
    for key, numbers in groups.items():
        if key[0] == "old" and set(numbers) == {1}:
            continue  # 材料.rar without any 材料.r00: an ordinary archive
        missing = tuple(n for n in range(1, max(numbers) + 1) if n not in numbers)
        sets.append(VolumeSet(titles[key], key[0], tuple(sorted(numbers.items())), missing))
    return sets


def missing_detail(missing: Sequence[int]) -> str:
    return MISSING + ", ".join(str(n) for n in missing)


def missing_parts(detail: str) -> list[int] | None:
    """The volume numbers a `missing_detail` names; None for any other detail."""
    if not detail.startswith(MISSING):
        return None
    return [int(n) for n in detail[len(MISSING):].split(",") if n.strip().isdigit()]


def assemble(volumes: VolumeSet, paths: Sequence[Path], folder: Path) -> Path:
    """The set's parts (`paths`, in volume order) laid out in `folder` the way unpackers look for them; returns
    the file to unpack.

    RAR volumes are linked under the names WinRAR gives them (the readers find the next part by its name);
    pieces of a split file are joined into the one file they were cut from.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if volumes.style == "split":
        joined = folder / f"joined.{volumes.kind}"
        with joined.open("wb") as out:
            for path in paths:
                with path.open("rb") as piece:
                    shutil.copyfileobj(piece, out, 2**20)
        return joined
    width = len(str(len(paths)))
    names = [f"v.part{n:0{width}d}.rar" for n in range(1, len(paths) + 1)] if volumes.style == "rar" \
        else ["v.rar", *(f"v.r{n:02d}" for n in range(len(paths) - 1))]
    for path, name in zip(paths, names):
        _link_or_copy(path, folder / name)
    return folder / names[0]


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or one without hard links
        shutil.copyfile(source, target)
