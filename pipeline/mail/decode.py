"""Decode raw e-mail bytes into plain values (pure: bytes in, values out).

Chinese senders break MIME in every way docs/PITFALLS.md lists, so nothing here
trusts ``email.policy.default``: the message is parsed with ``compat32`` and
every header, parameter and body is decoded by this module, with GB labels
widened to GB18030, raw 8-bit bytes recovered through surrogateescape and
adjacent encoded words joined before their bytes are decoded.
"""

from __future__ import annotations

import binascii
import codecs
import email
import email.parser
import email.policy
import re
import threading
import unicodedata
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

from pipeline.mail.base64runs import InMemory, RunSplitter, b64decode, decode_skeleton
from pipeline.textsafe import xml_text

CHINA_TZ = timezone(timedelta(hours=8), "+08:00")

# Every label Chinese clients use for "GB2312"; senders write GBK-only
# characters (堃, 喆) under all of them, so they are all read as GB18030.
_GB_LABELS = frozenset({
    "gb2312", "gb_2312", "gb_2312-80", "gbk", "x-gbk", "cp936", "ms936",
    "windows-936", "euc-cn", "x-euc-cn", "csgb2312", "csgbk", "cn-gb",
    "chinese", "iso-ir-58", "x-cp20936", "gb18030",
})
# Codecs whose bytes are not "ASCII plus high bytes": the UTF-8 sniff below
# must not override them (HZ and ISO-2022 are 7-bit, so even pure ASCII
# bytes mean something else).
_NOT_ASCII_BASED = ("hz", "iso2022", "utf-7", "utf-16", "utf-32")
_FALLBACKS = ("utf-8", "gb18030")

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_EXTENDED_KEY = re.compile(r"^(?P<name>[^*]+)\*(?:(?P<index>\d+)\*?|)$")
_EXTENDED_FLAG = re.compile(r"^[^*]+\*(?:\d+\*)?$")
# Bidi overrides are not Cc but make "gpj.exe" display as "exe.jpg".
_INVISIBLE = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# How much of a message is read for its headers. A real header block is a few KB; a hostile one of 20 MB
# must not be decoded whole in the (unsandboxed) process that records the delivery.
HEADER_BYTES = 256 * 1024
MAX_HEADER_CHARS = 8192      # a decoded header value is cut here (References of a long thread fit)
MAX_MESSAGE_ID_CHARS = 998   # RFC 5322's line limit, and the ledger column's width
# Dates a mail server could really have written. Outside them (Date: 31 Dec 9999 -1200 is past datetime.max
# in UTC) the value is noted as implausible and not used, instead of overflowing later.
PLAUSIBLE_YEARS = range(1990, 2200)


@dataclass(frozen=True)
class Attachment:
    """One attached (or named inline) part: its bytes in `data`, or (a large one) in the file `path`."""

    filename: str
    content_type: str
    data: bytes
    disposition: str
    path: Path | None = None  # set by pipeline/mail/mimestream.py: the decoded bytes are on disk, `data` is empty

    @property
    def size(self) -> int:
        return self.path.stat().st_size if self.path is not None else len(self.data)

    def head(self, n: int) -> bytes:
        """The first `n` decoded bytes."""
        if self.path is None:
            return self.data[:n]
        with self.path.open("rb") as fh:
            return fh.read(n)


@dataclass(frozen=True)
class DecodedMail:
    """Everything later stages need from one message, already decoded."""

    message_id: str | None
    subject: str
    from_addr: str
    from_name: str
    to_addrs: tuple[str, ...]
    date: datetime | None
    received_at: datetime | None
    text_body: str
    html_body: str
    attachments: tuple[Attachment, ...]
    headers: tuple[tuple[str, str], ...]
    content_type: str
    report_type: str
    defects: tuple[str, ...]

    def header(self, name: str) -> str:
        """First decoded value of header `name` (case-insensitive), or ""."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), "")

    def plain_text(self) -> str:
        """The text body, or the HTML body converted to text when there is none."""
        return self.text_body if self.text_body.strip() else html_to_text(self.html_body)


# ---------------------------------------------------------------- charsets

def charset_codec(label: str | None) -> str | None:
    """Python codec for a MIME charset label (GB family → gb18030), None if unknown."""
    name = (label or "").strip().strip("\"'").lower()
    if not re.fullmatch(r"[a-z0-9._:+-]+", name):  # junk (8-bit, NUL) in a label is no label
        return None
    if name in _GB_LABELS:
        return "gb18030"
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    return "gb18030" if codec in ("gb2312", "gbk") else codec


def _cut_utf8(exc: UnicodeDecodeError) -> bool:
    """Valid UTF-8 up to a character cut off at the very end."""
    return exc.reason == "unexpected end of data" and exc.end == len(exc.object)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _cut_utf8(exc)
    return True


def _candidates(data: bytes, codec: str | None) -> tuple[str, ...]:
    if codec is None:
        return ("utf-8", "gb18030", "latin-1")
    # UTF-8 under a GB (or Latin) label: GB18030 decodes most UTF-8 byte
    # runs "successfully" into mojibake, so a strict-first rule cannot catch
    # it. Valid non-ASCII UTF-8 is almost never an accident, so it wins.
    sniff = not data.isascii() and not codec.startswith(_NOT_ASCII_BASED)
    if codec != "utf-8" and sniff and _is_utf8(data):
        return ("utf-8", codec, "gb18030")
    return tuple(dict.fromkeys((codec, *_FALLBACKS)))


def decode_text(data: bytes, label: str | None, notes: list[str] | None = None) -> str:
    """Decode bytes declared as `label`, repairing mislabels; never drops bytes silently."""
    codec = charset_codec(label)
    for candidate in _candidates(data, codec):
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError as exc:
            if candidate != "utf-8" or not _cut_utf8(exc):
                continue
            # Valid UTF-8 cut off mid-character (truncated mail): GB18030 would
            # turn all of it into mojibake, so keep UTF-8 and mark the cut.
            text = data.decode("utf-8", "replace")
            if notes is not None:
                notes.append("UTF-8 text cut off mid-character")
        except LookupError:
            continue
        if notes is not None and candidate != (codec or "utf-8") and not data.isascii():
            declared = f"text labelled {label!r}" if label else "unlabelled 8-bit text"
            notes.append(f"{declared} read as {candidate}")
        return text
    if notes is not None:
        notes.append(f"text labelled {label!r} is not decodable; replacement characters used")
    return data.decode(codec or "utf-8", "replace")


def _raw_bytes(text: str) -> bytes:
    """Original bytes of a compat32 string (8-bit bytes arrive as surrogateescapes)."""
    return text.encode("utf-8", "surrogateescape")


def _decode_raw(text: str, notes: list[str]) -> str:
    """Text that may carry raw 8-bit bytes (UTF-8 or GBK straight in a header)."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return decode_text(_raw_bytes(text), None, notes)


# ---------------------------------------------------------------- RFC 2047

def _word_bytes(words: list[tuple[str, str, str]]) -> bytes:
    """Bytes of adjacent same-charset encoded words, joined before charset decoding."""
    out, pending = [], ""
    for _, encoding, payload in words:
        if encoding == "b":
            # Some encoders split the base64 text itself, not the bytes, across
            # words: carry a misaligned piece over to the next word.
            pending += payload
            if len(pending) % 4 == 0:
                out.append(b64decode(pending))
                pending = ""
            continue
        if pending:
            out.append(b64decode(pending))
            pending = ""
        out.append(binascii.a2b_qp(payload.encode("ascii", "replace"), header=True))
    return b"".join(out) + (b64decode(pending) if pending else b"")


def _split_words(text: str) -> list[tuple[str, str, str] | str]:
    """Plain runs as str, encoded words as (charset, encoding, payload); blanks between words dropped."""
    pieces: list[tuple[str, str, str] | str] = []
    pos = 0
    for match in _ENCODED_WORD.finditer(text):
        gap = text[pos:match.start()]
        if gap and not (gap.isspace() and pieces and isinstance(pieces[-1], tuple)):
            pieces.append(gap)
        charset = match.group(1).split("*")[0]  # RFC 2231 language suffix: utf-8*zh
        pieces.append((charset, match.group(2).lower(), match.group(3)))
        pos = match.end()
    if text[pos:]:
        pieces.append(text[pos:])
    return pieces


def _decode_words(text: str, notes: list[str]) -> str:
    """Decode encoded words anywhere in `text` (also inside quotes), joining adjacent ones."""
    out: list[str] = []
    run: list[tuple[str, str, str]] = []

    def flush() -> None:
        if run:
            out.append(decode_text(_word_bytes(run), run[0][0], notes))
            run.clear()

    for piece in _split_words(text):
        if isinstance(piece, str):
            flush()
            out.append(_decode_raw(piece, notes))
            continue
        if run and charset_codec(run[0][0]) != charset_codec(piece[0]):
            flush()
        run.append(piece)
    flush()
    return "".join(out)


def _unfold(value: str) -> str:
    return _FOLD.sub("", value).replace("\r", "").replace("\n", "")


def valid_text(text: str, limit: int) -> str:
    """A header value as it may be stored and logged: what XML holds (no control characters: whitespace is
    folded before this; a lone surrogate, which UTF-7 can decode to, as U+FFFD), cut at `limit` characters."""
    return xml_text(text[:limit])


def _header_text(value: str | bytes, notes: list[str]) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "surrogateescape")
    # Cut before decoding too: encoded words at most quadruple the length of what they decode to.
    text = _decode_words(_unfold(str(value)[: 4 * MAX_HEADER_CHARS]), notes)
    return valid_text(_SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip(), MAX_HEADER_CHARS)


def decode_header_value(value: str | bytes) -> str:
    """Fully decode one header value: encoded words, raw 8-bit bytes, folding, NFC."""
    return _header_text(value, [])


# ---------------------------------------------------------------- parameters

def _raw_header(part: Message, name: str) -> str | None:
    """The header as received (compat32's get() turns 8-bit values into lossy Header objects)."""
    wanted = name.lower()
    return next((str(v) for k, v in part.raw_items() if k.lower() == wanted), None)


def _split_params(value: str) -> list[str]:
    """Split a structured header on ';' outside quoted strings."""
    items, current, quoted, escaped = [], [], False, False
    for ch in value:
        if ch == ";" and not quoted:
            items.append("".join(current))
            current = []
            continue
        if ch == '"' and not escaped:
            quoted = not quoted
        escaped = ch == "\\" and not escaped
        current.append(ch)
    items.append("".join(current))
    return [item.strip() for item in items]


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        # Only \" and \\ are unescaped: Outlook sends C:\dir\a.zip unescaped.
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def _params(part: Message, header: str) -> tuple[str, dict[str, str]]:
    """(lower-case main value, {lower-case key: raw value}) of a structured header."""
    raw = _raw_header(part, header)
    if raw is None:
        return "", {}
    first, *rest = _split_params(_unfold(raw))
    params: dict[str, str] = {}
    for item in rest:
        key, sep, value = item.partition("=")
        if sep:
            params.setdefault(key.strip().lower(), _unquote(value))
    return first.strip().lower(), params


def _extended_value(pieces: list[tuple[str, str]], notes: list[str]) -> str:
    """Join RFC 2231 pieces (key, value) in order: percent-decode starred ones, then decode."""
    if not any(_EXTENDED_FLAG.match(key) for key, _ in pieces):
        # Plain continuations (name*0="=?utf-8?B?...", name*1=...) may hold encoded words.
        return _decode_words("".join(value for _, value in pieces), notes)
    charset, chunks = None, []
    for index, (key, value) in enumerate(pieces):
        if not _EXTENDED_FLAG.match(key):
            chunks.append(_raw_bytes(value))
            continue
        if index == 0 and value.count("'") >= 2:
            charset, _lang, value = value.split("'", 2)
        chunks.append(urllib.parse.unquote_to_bytes(_raw_bytes(value)))
    return decode_text(b"".join(chunks), charset or None, notes)


def _param(params: dict[str, str], name: str, notes: list[str]) -> str | None:
    """Decoded parameter `name`: RFC 2231 forms first, then the plain (maybe encoded-word) form."""
    pieces = []
    for key, value in params.items():
        match = _EXTENDED_KEY.match(key)
        if match and match.group("name") == name:
            pieces.append((int(match.group("index") or 0), key, value))
    if pieces:
        return _extended_value([(k, v) for _, k, v in sorted(pieces)], notes)
    if name in params:
        return _decode_words(params[name], notes)
    return None


def clean_filename(name: str) -> str:
    """NFC, control characters removed, path parts (/ and \\) stripped."""
    name = unicodedata.normalize("NFC", name)
    name = "".join(
        ch for ch in name if unicodedata.category(ch) != "Cc" and ch not in _INVISIBLE
    )
    parts = [p for p in re.split(r"[/\\]", name) if p.strip()]
    name = parts[-1].strip() if parts else ""
    return "" if name in (".", "..") else name


def _filename(part: Message, notes: list[str]) -> str:
    _, disposition = _params(part, "content-disposition")
    _, content_type = _params(part, "content-type")
    # Some clients send only Content-Type name= (no Content-Disposition filename).
    for params, key in ((disposition, "filename"), (content_type, "name"),
                        (content_type, "filename"), (disposition, "name")):
        value = _param(params, key, notes)
        if value and value.strip():
            return clean_filename(value)
    return ""


def decode_filename(part: Message) -> str:
    """Decoded, NFC, path-stripped attachment name of a compat32 part; "" if it has none."""
    return _filename(part, [])


def _disposition(part: Message) -> str:
    value, _ = _params(part, "content-disposition")
    if value in ("", "inline"):
        return value
    return "attachment"  # RFC 2183: an unknown disposition is treated as attachment


# ---------------------------------------------------------------- HTML

class _TextExtractor(HTMLParser):
    _SKIP = frozenset({"script", "style", "title", "noscript", "template"})
    _BLOCK = frozenset({
        "p", "div", "tr", "li", "table", "blockquote", "pre", "section", "article",
        "header", "footer", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "dt", "dd",
    })

    def __init__(self, with_links: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.with_links = with_links
        self.out: list[str] = []
        self.skip = 0
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skip += 1
        elif tag in ("br", "hr") or tag in self._BLOCK:
            self.out.append("\n")
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in self._BLOCK:
            self.out.append("\n")
        elif tag == "a" and self.hrefs:
            href = self.hrefs.pop()
            if self.with_links and href:
                self.out.append(f" {href} ")  # keeps the link where it stood in the text

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(data)


def html_to_text(html: str, *, with_links: bool = False) -> str:
    """Readable text of an HTML body; with_links puts each <a href> after its anchor text."""
    if not html:
        return ""
    parser = _TextExtractor(with_links)
    try:
        parser.feed(html)
        parser.close()
        text = "".join(parser.out)
    except Exception:  # a broken body must still give staff something to read
        text = re.sub(r"<[^>]*>", " ", html)
    lines = (_SPACES.sub(" ", line.replace("\xa0", " ")).strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# ---------------------------------------------------------------- dates and addresses

def _normalise_zone(value: str) -> str:
    # Chinese clients write "GMT+0800"/"UTC+08:00" (Python reads them as naive)
    # and bare "CST", which here means China Standard Time, not US Central.
    value = re.sub(r"\b(?:GMT|UTC)\s*([+-])(\d{1,2}):?(\d{2})\b",
                   lambda m: f"{m.group(1)}{int(m.group(2)):02d}{m.group(3)}", value)
    return re.sub(r"(\d:\d\d(?::\d\d)?)\s+CST\b", r"\1 +0800", value)


def _parse_date(value: str, what: str, notes: list[str]) -> datetime | None:
    """Aware datetime of an RFC 5322 date; zone-less dates are taken as +08:00."""
    if not value.strip():
        return None
    try:
        parsed = parsedate_to_datetime(_normalise_zone(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        notes.append(f"unparseable {what}: {value[:80]!r}")
        return None
    if parsed.year not in PLAUSIBLE_YEARS:
        notes.append(f"implausible {what} ignored: {value[:80]!r}")
        return None
    if parsed.tzinfo is not None:
        return parsed
    if re.search(r"-0000\b", value):  # RFC 5322: UTC, local zone unknown
        return parsed.replace(tzinfo=timezone.utc)
    notes.append(f"{what} has no time zone; assumed +08:00")
    return parsed.replace(tzinfo=CHINA_TZ)


def _received_at(values: list[str], notes: list[str]) -> datetime | None:
    """Date of the topmost Received: header whose date (after the last ';') parses."""
    for value in values:
        if ";" not in value:
            continue
        scratch: list[str] = []  # only the header actually used may add notes
        parsed = _parse_date(_header_text(value.rpartition(";")[2], scratch), "Received date", scratch)
        if parsed is not None:
            notes.extend(scratch)
            return parsed
    return None


def earliest_received_at(mail: DecodedMail) -> datetime | None:
    """Date of the bottommost Received: header whose date parses: when the first server took the message (a
    line the sender could have written, like Date, so it only ever supports a claim for staff to check)."""
    return _received_at([value for key, value in reversed(mail.headers) if key == "received"], [])


def _clean_addr(addr: str, notes: list[str]) -> str:
    addr = _decode_raw(addr, notes).strip().lower()
    # Keep bare local parts such as <MAILER-DAEMON>; drop names mistaken for addresses.
    if "@" in addr and not any(ch.isspace() for ch in addr):
        return addr
    return addr if re.fullmatch(r"[a-z0-9._+-]+", addr) else ""


# ---------------------------------------------------------------- parts

@dataclass
class _Parts:
    """Mutable accumulator for the walk over the MIME tree."""

    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _wire_payload(part: Message) -> str | list[Message]:
    """The payload as stored, before any decoding."""
    try:
        return part.get_payload()
    except (ValueError, LookupError):
        # compat32 decodes an 8-bit payload with the declared charset even when
        # not asked to, and a junk label (NUL inside) raises: read what it stored.
        return part._payload  # noqa: SLF001


def _payload(part: Message, notes: list[str]) -> bytes:
    """Transfer-decoded payload; base64 done here so broken padding is repaired, not fatal."""
    payload = _wire_payload(part)
    if not isinstance(payload, str):
        return b""
    cte = str(part.get("content-transfer-encoding", "")).strip().strip('"').lower()
    if cte == "base64":
        return b64decode(_raw_bytes(payload))
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:  # compat32 raises on some uuencode garbage
        notes.append(f"undecodable {cte} payload: {type(exc).__name__}")
        data = None
    return data if isinstance(data, bytes) else _raw_bytes(payload)


def _message_name(inner: Message | None, notes: list[str]) -> str:
    """Name for an attached message: its subject + .eml (slashes kept as words, not paths)."""
    raw = _raw_header(inner, "subject") if inner is not None else None
    subject = _header_text(raw, notes) if raw else ""
    subject = subject.replace("/", "_").replace("\\", "_")
    return clean_filename(f"{subject}.eml") if subject else "message.eml"


def _message_part(part: Message, acc: _Parts) -> None:
    """An attached message/* part: kept whole as an attachment, never read as our body."""
    payload = _wire_payload(part)
    blocks = payload if isinstance(payload, list) else []
    try:
        data = b"".join(block.as_bytes() for block in blocks) if blocks else _payload(part, acc.notes)
    except Exception as exc:  # re-serialising a broken inner message
        acc.notes.append(f"attached message not serialisable: {type(exc).__name__}")
        data = b""
    ctype = part.get_content_type()
    name = _filename(part, acc.notes)
    if not name and ctype in ("message/rfc822", "message/global"):
        name = _message_name(blocks[0] if blocks else None, acc.notes)
    acc.attachments.append(Attachment(name, ctype, data, _disposition(part)))


def _leaf(part: Message, acc: _Parts) -> None:
    ctype = part.get_content_type()
    name = _filename(part, acc.notes)
    disposition = _disposition(part)
    data = _payload(part, acc.notes)
    if ctype.startswith("multipart/"):  # boundary missing: keep what there is as text
        acc.notes.append(f"{ctype} without parsable parts; read as text")
        ctype = "text/plain"
    if ctype in ("text/plain", "text/html") and not name and disposition != "attachment":
        _, params = _params(part, "content-type")
        text = decode_text(data, _param(params, "charset", acc.notes), acc.notes)
        (acc.texts if ctype == "text/plain" else acc.htmls).append(text)
        return
    acc.attachments.append(Attachment(name, ctype, data, disposition))


def _walk(part: Message, acc: _Parts, depth: int = 0) -> None:
    if depth > 40:
        acc.notes.append("MIME tree nested too deeply; rest skipped")
        return
    acc.notes.extend(f"mime: {type(defect).__name__}" for defect in part.defects)
    if part.is_multipart() and part.get_content_maintype() != "message":
        for sub in part.get_payload():
            _walk(sub, acc, depth + 1)
        return
    try:
        if part.get_content_maintype() == "message":
            _message_part(part, acc)
        else:
            _leaf(part, acc)
    except Exception as exc:  # one unreadable part must not cost the others
        acc.notes.append(f"{part.get_content_type()} part skipped: {type(exc).__name__}: {exc}")


# ---------------------------------------------------------------- the message

def _addresses(raw: list[str], notes: list[str]) -> tuple[str, ...]:
    found = (_clean_addr(addr, notes) for _, addr in getaddresses([_unfold(v) for v in raw]))
    return tuple(dict.fromkeys(a for a in found if a))


def _sender(raw: str | None, notes: list[str]) -> tuple[str, str]:
    """(bare lower-case address, decoded display name) of a From: value."""
    if raw is None:
        return "", ""
    name, addr = parseaddr(_unfold(raw))
    return _clean_addr(addr, notes), _header_text(name, notes)


def _message_id(raw: str | None, notes: list[str]) -> str | None:
    """The Message-ID as valid text: raw 8-bit bytes (RFC 6532 UTF-8, or junk) decoded, never stored as such."""
    value = _SPACES.sub("", _decode_raw(_unfold(raw[: 4 * MAX_MESSAGE_ID_CHARS]), notes)) if raw else ""
    return valid_text(value, MAX_MESSAGE_ID_CHARS) or None


def _decode(msg: Message, notes: list[str]) -> DecodedMail:
    raw = [(k.lower(), str(v)) for k, v in msg.raw_items()]
    values: dict[str, list[str]] = {}
    for key, value in raw:
        values.setdefault(key, []).append(value)
    first = {key: found[0] for key, found in values.items()}
    acc = _Parts()
    _walk(msg, acc)
    from_addr, from_name = _sender(first.get("from"), notes)
    _, top_params = _params(msg, "content-type")
    return DecodedMail(
        message_id=_message_id(first.get("message-id"), notes),
        subject=_header_text(first.get("subject", ""), notes),
        from_addr=from_addr,
        from_name=from_name,
        to_addrs=_addresses(values.get("to", []), notes),
        date=_parse_date(_header_text(first.get("date", ""), notes), "Date", notes),
        received_at=_received_at(values.get("received", []), notes),
        text_body="\n".join(acc.texts),
        html_body="\n".join(acc.htmls),
        attachments=tuple(acc.attachments),
        headers=tuple((key, _header_text(value, notes)) for key, value in raw),
        content_type=msg.get_content_type(),
        report_type=(_param(top_params, "report-type", notes) or "").strip().lower(),
        defects=tuple(dict.fromkeys(notes + acc.notes)),
    )


UNDECODABLE = "could not decode"  # the defect of a message decode_message gave up on


def _empty(defects: tuple[str, ...]) -> DecodedMail:
    return DecodedMail(None, "", "", "", (), None, None, "", "", (), (), "text/plain", "", defects)


def _parse(raw: bytes, notes: list[str]) -> Message:
    """compat32 parse; a multipart nested deeper than the stack allows keeps its headers and loses its body."""
    try:
        return email.message_from_bytes(raw, policy=email.policy.compat32)
    except RecursionError:
        # The feed parser recurses once per multipart level, so ~1000 nested parts exhaust the stack. Without
        # this the whole message (subject, sender) was lost and a submission was ignored as unrelated.
        notes.append("MIME tree nested too deeply to parse; body skipped")
        msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw, headersonly=True)
        msg.set_payload("")
        return msg


def header_block(raw: bytes) -> bytes:
    """The header section of a raw message (up to the first blank line), ready to parse on its own.

    Looked for in the first 64 KB before the first HEADER_BYTES: a CRLF message has no b"\\n\\n", and
    looking for it through a 25 MB attachment took 60 ms. (An end found in the window is the first in the
    message: a blank line of either kind that starts earlier cannot run past the window's end.) A header
    section longer than HEADER_BYTES is cut at its last whole line within them: what a hostile sender puts
    after that is not read here (the sandboxed child reads the whole message when it judges it).
    """
    for window in (min(len(raw), 2**16), min(len(raw), HEADER_BYTES)):
        ends = [i for i in (raw.find(b"\r\n\r\n", 0, window), raw.find(b"\n\n", 0, window)) if i >= 0]
        if ends:
            return raw[: min(ends)] + b"\r\n\r\n"
    if len(raw) <= HEADER_BYTES:
        return raw + b"\r\n\r\n"
    cut = raw.rfind(b"\n", 0, HEADER_BYTES)
    return raw[: cut if cut > 0 else HEADER_BYTES] + b"\r\n\r\n"


# `intake ingest` reads each file's headers to sort the files by receipt, then records each one from its
# headers: the same header block, decoded once. The last _HEADERS_KEPT blocks of ordinary size are kept.
_HEADERS_KEPT = 1024
_HEADERS_KEPT_BYTES = 64 * 1024
_decoded_headers: OrderedDict[bytes, DecodedMail] = OrderedDict()
_decoded_headers_lock = threading.Lock()


def decode_headers(raw: bytes) -> DecodedMail:
    """Decode only the headers (subject, sender, Message-ID, dates): cheap for a 40 MB message, bounded for
    a hostile one (at most HEADER_BYTES are read)."""
    block = header_block(raw)
    if len(block) > _HEADERS_KEPT_BYTES:
        return decode_message(block)
    with _decoded_headers_lock:
        kept = _decoded_headers.get(block)
        if kept is not None:
            _decoded_headers.move_to_end(block)
            return kept
    mail = decode_message(block)
    with _decoded_headers_lock:
        _decoded_headers[block] = mail
        while len(_decoded_headers) > _HEADERS_KEPT:
            _decoded_headers.popitem(last=False)
    return mail


# A message longer than this has its long base64 runs (attachments) decoded in bulk first, the email package
# reading only the skeleton left (pipeline/mail/base64runs.py): 5 × less CPU for the ordinary set's messages of
# 0.3-1 MB, the same result. (Above mimestream.STREAM_THRESHOLD the judge splits the stored file instead.)
_SPLIT_ABOVE = 128 * 1024
_SPLIT_RUNS = 32 * 1024   # runs shorter than this stay in the skeleton


def decode_message(raw: bytes) -> DecodedMail:
    """Decode one raw message; never raises, garbage gives an almost empty result with defects."""
    if len(raw) <= _SPLIT_ABOVE:
        return decode_unsplit(raw)
    try:
        return _decode_split(bytes(raw))
    except Exception:  # a MemoryError in the limited child: decoded whole, the message says what it can
        return decode_unsplit(raw)


def decode_unsplit(raw: bytes) -> DecodedMail:
    """decode_message parsing the whole message line by line, whatever its size."""
    if not raw:
        return _empty(("empty input",))
    notes: list[str] = []
    try:
        msg = _parse(bytes(raw), notes)
        if not msg.keys():
            notes.append("no header lines found")
        return _decode(msg, notes)
    except Exception as exc:  # one broken mail must not block the inbox (a MemoryError in the limited child too)
        return _empty((*dict.fromkeys(notes), f"{UNDECODABLE}: {type(exc).__name__}: {exc}"[:500]))


def _decode_split(raw: bytes) -> DecodedMail:
    """decode_unsplit's result, its long base64 runs decoded in bulk and only the skeleton parsed."""
    splitter = RunSplitter(InMemory(), _SPLIT_RUNS)
    whole_lines = raw.rfind(b"\n") + 1
    splitter.feed(raw[:whole_lines], 0)
    splitter.end_run(whole_lines)
    splitter.skeleton += raw[whole_lines:]  # a last line without an ending is never part of a run

    def put_back(skeleton: bytes, placed: tuple[bytes, int, int]) -> bytes:
        placeholder, start, end = placed
        return skeleton.replace(placeholder, raw[start:end], 1)

    mail, spilled = decode_skeleton(splitter, decode_unsplit, put_back, lambda _data: None)
    if not spilled:
        return mail
    return replace(mail, attachments=tuple(replace(a, data=spilled[a.data]) if a.data in spilled else a
                                           for a in mail.attachments))


def decoding_failed(mail: DecodedMail) -> bool:
    """Whether `mail` is the empty stand-in for a message that could not be decoded at all."""
    return any(d.startswith(UNDECODABLE) for d in mail.defects)
