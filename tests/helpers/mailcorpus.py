"""Many small, distinct messages for the crash and fault tests, built with scripts/samplegen.py.

    from helpers.mailcorpus import corpus, Mail

Each message has its own Message-ID, sender and bytes (so none is a DUPLICATE of
another), an expected verdict, and is kept small: each accepted one is a small
complete package of a studio of its own, the rejected ones carry no attachment
(NO_ATTACHMENT) and the ignored ones are out-of-office answers or advertising.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import samplegen
from samplegen import CST, Attachment, Package, Studio, eml

START = datetime(2025, 5, 20, 9, 0, tzinfo=CST)   # every message arrives before the sjz-2025 deadline
KINDS = ("accepted", "rejected", "ignored", "ignored-auto")


@dataclass(frozen=True)
class Mail:
    """One test message and what the pipeline must decide about it."""

    name: str
    raw: bytes
    verdict: str          # accepted | rejected | ignored
    received: datetime
    answered: bool        # whether a reply must be queued (and sent) for it
    message_id: str


_SURNAMES = "张王李赵刘陈杨黄周吴"
_GIVEN = "伟芳娜敏静丽强磊军洋"


@cache
def _studio_attachment(i: int) -> tuple[str, Attachment]:
    """A complete, small submission (subject, archive) of studio `i`: each accepted mail has a studio of its
    own, since every mail comes from another sender and only the same sender may replace a studio's package."""
    leader = _SURNAMES[i // 10 % 10] + _GIVEN[i % 10] + ("" if i < 100 else str(i // 100))
    studio = Studio("正定县总工会", leader, "男", "河北正恒精密机械有限公司", seed=1)
    package = Package(narrative_chars=1100, evidence=2)
    files = samplegen.materials(studio, package)
    archive = samplegen.zip_bytes(samplegen.with_dirs(files), "gbk")
    return studio.subject, Attachment(f"{studio.subject}.zip", archive)


def _mail(kind: str, i: int) -> Mail:
    received = START + timedelta(minutes=7 * i)
    addr = f"clerk{i:03d}@zdxzgh-{i:03d}.126.com"
    mid = f"<crash.{i:04d}.{kind}@zdxzgh-{i:03d}.126.com>"
    common = {"from_name": "正定县总工会", "from_addr": addr, "date": received - timedelta(seconds=40),
              "received": received, "message_id": mid}
    if kind == "accepted":
        subject, archive = _studio_attachment(i)
        raw = eml(subject=subject, body_text=f"附件为申报材料，请查收。（第 {i} 封）", attachments=[archive], **common)
        return Mail(f"{i:03d}-accepted.eml", raw, "accepted", received, True, mid)
    if kind == "rejected":
        raw = eml(subject="正定县总工会张三创新工作室入库材料", body_text=f"材料见后（第 {i} 封，忘了附件）", **common)
        return Mail(f"{i:03d}-rejected.eml", raw, "rejected", received, True, mid)
    if kind == "ignored-auto":
        raw = eml(subject="自动回复: 关于报送创新工作室材料的提醒", body_text=f"我外出学习，期间不能及时回复（{i}）。",
                  extra_headers=[("Auto-Submitted", "auto-replied")], style="outlook", **common)
        return Mail(f"{i:03d}-auto-reply.eml", raw, "ignored", received, False, mid)
    raw = eml(subject=f"代开发票（各行业）可验证后付款 {i}", body_text="本公司长期代开各类发票。", style="plain",
              **common)
    return Mail(f"{i:03d}-unrelated.eml", raw, "ignored", received, False, mid)


def corpus(count: int, *, accepted_every: int = 5) -> list[Mail]:
    """`count` messages: every `accepted_every`-th accepted, the rest rejected / ignored in turn."""
    mails = []
    for i in range(count):
        if i % accepted_every == 0:
            kind = "accepted"
        else:
            kind = KINDS[1 + i % 3]
        mails.append(_mail(kind, i))
    return mails
