"""One studio's complete, correct submission as a raw message (its package zipped), for the intake tests.

    from helpers.submissions import STUDIO, submission
"""

from __future__ import annotations

from datetime import datetime

import samplegen as g
from samplegen import CST

STUDIO = g.Studio(unit="正定县总工会", leader="张三", gender="男", applicant="正定县某某机械厂", seed=7)


def submission(received: datetime | None = datetime(2025, 5, 26, 10, 0, tzinfo=CST), *, pkg: g.Package = g.Package(),
               message_id: str = "<a1@zdxzgh.126.com>", from_addr: str = "zdxzgh@126.com", **kw) -> bytes:
    """STUDIO's materials (as `pkg` says) zipped and sent by 正定县总工会; `kw` goes on to samplegen's eml."""
    archive = g.zip_bytes(g.materials(STUDIO, pkg))
    return g.eml(subject=kw.pop("subject", STUDIO.subject), from_name="正定县总工会", from_addr=from_addr,
                 date=received or datetime(2025, 5, 26, 10, 0, tzinfo=CST), received=received, message_id=message_id,
                 body_text="您好，附件为入库材料，请查收。",
                 attachments=[g.Attachment(STUDIO.subject + ".zip", archive)], **kw)
