"""A submission sent as a multi-volume archive: the parts, the message that carries them, and the verdict on it.

    from helpers.volumes import STUDIO, judged, message, split_7z
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import py7zr
import samplegen as g

from pipeline.intake.ledger import ingest_bytes
from storage import repo

CST = timezone(timedelta(hours=8))
STUDIO = g.Studio(unit="正定县总工会", leader="李娜", gender="女", applicant="正定县某某机械厂", seed=11)


def split_7z(files: list[tuple[str, bytes]], pieces: int) -> list[bytes]:
    """`files` as one 7z cut into `pieces` plain pieces (what 7-Zip's 材料.7z.001, .002 … hold)."""
    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w") as archive:
        for name, data in files:
            archive.writestr(data, name)
    whole = buffer.getvalue()
    step = -(-len(whole) // pieces)
    return [whole[i:i + step] for i in range(0, len(whole), step)]


def message(attachments: list[tuple[str, bytes]]) -> bytes:
    """STUDIO's message with these (name, bytes) attachments."""
    received = datetime(2025, 5, 28, 9, 30, tzinfo=CST)
    return g.eml(subject=STUDIO.subject, from_name="正定县总工会", from_addr="zdxzgh@126.com", date=received,
                 received=received, message_id="<volumes@zdxzgh.126.com>", body_text="附件为分卷压缩的入库材料，请查收。",
                 attachments=[g.Attachment(name, data) for name, data in attachments])


def judged(app, raw: bytes) -> tuple[str, list[tuple[str, str]], list[str]]:  # type: ignore[no-untyped-def]
    """(verdict, [(code, message)], [document roles])."""
    assert ingest_bytes(app, raw, "file:/volumes.eml").status == "new"
    with app.sessions() as session:
        (sub,) = repo.submissions(session)
        return sub.verdict, [(f.code, f.message) for f in sub.findings], sorted(d.role for d in sub.documents)
