"""The committed hostile corpus (tests/hostile/): its files, its manifest, and the message that delivers each one.

    from helpers.hostile import MANIFEST, delivery

Regenerate the files with `python tests/hostile/make_corpus.py`.
"""

from __future__ import annotations

import json
from datetime import datetime

import samplegen as g

from helpers import REPO

HOSTILE = REPO / "tests" / "hostile"
FILES = HOSTILE / "files"
MANIFEST: dict[str, dict[str, object]] = json.loads((HOSTILE / "manifest.json").read_text(encoding="utf-8"))
SUBJECT = "正定县总工会张三创新工作室入库材料"


def delivery(name: str) -> bytes:
    """The raw message that carries corpus file `name`: the file itself for a whole message (.eml), else a
    submission with the file attached under the MIME name the manifest gives (which may itself be hostile)."""
    entry, data = MANIFEST[name], (FILES / name).read_bytes()
    if entry["as"] == "message":
        return data
    received = datetime(2025, 5, 26, 10, 0, tzinfo=g.CST)
    return g.eml(subject=SUBJECT, from_name="正定县总工会", from_addr="zdxzgh@126.com", date=received,
                 received=received, message_id=f"<{name}@example.cn>", body_text="附件为入库材料，请查收。",
                 attachments=[g.Attachment(str(entry["mime_name"]), data)])
