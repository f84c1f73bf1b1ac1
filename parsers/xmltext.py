"""What an XML document can hold as text: the edge where the parsers hand text read from a file onwards.

It lives here, in the lowest package, because the parsers apply it to every value they read (openpyxl and
python-docx refuse a whole file for one control character) and pipeline.textsafe builds its other media on it.
"""

from __future__ import annotations

import re

# Characters XML 1.0 cannot hold (C0 controls but tab, LF and CR; the non-characters U+FFFE and U+FFFF),
# plus DEL and the C1 controls: legal XML, but never text in a form or a subject, and U+009B is CSI to a
# terminal that reads 8-bit controls.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
# Half of a UTF-16 pair on its own: what surrogateescape makes of bytes that were not UTF-8.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def xml_text(text: str) -> str:
    """Only what XML 1.0 holds as text: controls (but tab, LF, CR) and U+FFFE/U+FFFF dropped, a lone
    surrogate replaced by U+FFFD (something was there that was not text)."""
    return _LONE_SURROGATE.sub("\ufffd", _NOT_TEXT.sub("", text))
