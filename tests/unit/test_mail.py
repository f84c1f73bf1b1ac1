"""pipeline.mail.decode: every wire form docs/PITFALLS.md lists, built byte by byte."""

from __future__ import annotations

import base64
import email
import email.policy
import os
from datetime import datetime, timedelta, timezone

import pytest

from pipeline.mail.decode import (
    HEADER_BYTES,
    Attachment,
    DecodedMail,
    b64decode,
    decode_filename,
    decode_header_value,
    decode_message,
    header_block,
    html_to_text,
)

CST = timezone(timedelta(hours=8))
BOUNDARY = b"----=_NextPart_5E8F_0A31_2C9B"

HEAD = (
    b"Message-ID: <202505291002110316341@126.com>\r\n"
    b"From: =?GB2312?B?1cXI/Q==?= <ZhangSan_zd@126.com>\r\n"
    b"To: sjzjjb@126.com\r\n"
    b"Subject: submission\r\n"
    b"Date: Thu, 29 May 2025 10:02:11 +0800\r\n"
    b"MIME-Version: 1.0\r\n"
)


def part(headers: bytes, body: bytes) -> bytes:
    """One MIME part: header lines (CRLF-terminated) and body."""
    return headers + b"\r\n" + body


def multipart(*parts: bytes, head: bytes = HEAD, subtype: bytes = b"mixed", extra: bytes = b"") -> bytes:
    """A whole multipart message around `parts`."""
    out = head + b"Content-Type: multipart/" + subtype + b'; boundary="' + BOUNDARY + b'"' + extra + b"\r\n\r\n"
    out += b"This is a multi-part message in MIME format.\r\n\r\n"
    for p in parts:
        out += b"--" + BOUNDARY + b"\r\n" + p + b"\r\n"
    return out + b"--" + BOUNDARY + b"--\r\n"


def single(content_headers: bytes, body: bytes, head: bytes = HEAD) -> bytes:
    """A one-part message."""
    return head + content_headers + b"\r\n" + body


def attachment_named(disposition_line: bytes, ctype: bytes = b"application/octet-stream") -> Attachment:
    """Decode a message with one attachment whose Content-Disposition is given literally."""
    raw = multipart(
        part(b"Content-Type: text/plain; charset=utf-8\r\n", b"see attachment"),
        part(b"Content-Type: " + ctype + b"\r\n" + disposition_line
             + b"Content-Transfer-Encoding: base64\r\n", b"UEsDBA=="),
    )
    mail = decode_message(raw)
    assert len(mail.attachments) == 1
    return mail.attachments[0]


# ---------------------------------------------------------------- attachment names

# Each row: the Content-Disposition line exactly as that sender writes it, and the name we keep.
NAME_CASES = [
    # 堃 is not in GB2312; Foxmail/NetEase still label the GBK bytes "GB2312", inside quotes.
    pytest.param(b'filename="=?GB2312?B?zfWI0rS00MK5pNf3ytIuemlw?="', "王堃创新工作室.zip", id="foxmail-quoted-ew"),
    # compat32 get_filename() returns this raw; policy.default returns None.
    pytest.param(b"filename==?GB2312?B?zfWI0rS00MK5pNf3ytIuemlw?=", "王堃创新工作室.zip", id="unquoted-ew"),
    pytest.param(b"filename*=gb2312'zh-cn'%CD%F5%88%D2.zip", "王堃.zip", id="rfc2231-gb2312-label-gbk-bytes"),
    # %E6%AD%A3 = 正; the second continuation starts in the middle of 县 (E5 8E BF).
    pytest.param(b"\r\n filename*0*=utf-8''%E6%AD%A3%E5%AE%9A%E5;\r\n filename*1*=%8E%BF%E6%80%BB%E5%B7%A5%E4%BC%9A;"
                 b'\r\n filename*2="-2025.zip"', "正定县总工会-2025.zip", id="rfc2231-continuations-mid-char"),
    pytest.param(b'filename*0="=?UTF-8?B?5q2j5a6a5Y6/5g==?= =?UTF-8?B?gLvlt6Xk";\r\n'
                 b' filename*1="vJrlvKDkuInliJvmlrDlt6XkvZzlrqQuemlw?="', "正定县总工会张三创新工作室.zip",
                 id="plain-continuations-holding-ew"),
    pytest.param(b'filename="=?utf-8?B?bm90LXRoaXM=?="; filename*=UTF-8\'\'%E5%BC%A0%E4%B8%89.zip', "张三.zip",
                 id="rfc2231-wins-over-plain"),
    # First word ends with E6, the first byte of 总; the second word (folded) carries the rest.
    pytest.param(b'filename="=?UTF-8?B?5q2j5a6a5Y6/5g==?=\r\n'
                 b' =?UTF-8?B?gLvlt6XkvJrlvKDkuInliJvmlrDlt6XkvZzlrqQuemlw?="',
                 "正定县总工会张三创新工作室.zip", id="b-words-split-mid-char-folded"),
    # 晋州 in GBK is BD FA D6 DD; the split falls between D6 and DD.
    pytest.param(b'filename="=?GBK?Q?=BD=FA=D6?= =?GBK?Q?=DD=2Edocx?="', "晋州.docx", id="q-words-split-mid-gbk-char"),
    pytest.param(b'filename="\xbd\xfa\xd6\xdd\xca\xd0\xd7\xdc\xb9\xa4\xbb\xe1.docx"', "晋州市总工会.docx",
                 id="raw-8bit-gbk"),
    pytest.param(b'filename="' + "辛集市总工会材料.zip".encode() + b'"', "辛集市总工会材料.zip", id="raw-8bit-utf8"),
    # Outlook: an unescaped Windows path.
    pytest.param(b'filename="C:\\Users\\zhang\\Desktop\\\xb2\xc4\xc1\xcf.zip"', "材料.zip", id="windows-path"),
    pytest.param(b'filename="../../etc/cron.d/x.zip"', "x.zip", id="dot-dot-path"),
    pytest.param(b'filename="=?utf-8?B?' + base64.b64encode("目录/子目录/表.xlsx".encode()) + b'?="', "表.xlsx",
                 id="encoded-path"),
    pytest.param(b'filename="a\x07b\tc.pdf"', "abc.pdf", id="control-chars"),
    pytest.param(b'filename="=?utf-8?B?' + base64.b64encode("photo\u202egpj.exe".encode()) + b'?="', "photogpj.exe",
                 id="bidi-override"),
    # macOS sends decomposed (NFD) names.
    pytest.param(b'filename="=?utf-8?B?' + base64.b64encode("cafe\u0301.pdf".encode()) + b'?="', "caf\u00e9.pdf",
                 id="nfd-to-nfc"),
]


@pytest.mark.parametrize(("params", "kept"), NAME_CASES)
def test_attachment_names_in_every_wire_form(params: bytes, kept: str) -> None:
    att = attachment_named(b"Content-Disposition: attachment; " + params + b"\r\n")
    assert (att.filename, att.disposition) == (kept, "attachment")


def test_gbk_only_character_zhe_in_name_param_of_content_type_only() -> None:
    att = attachment_named(b"", ctype=b'application/x-rar-compressed; name="=?gb2312?B?wO6GtMnqsaiyxMHPLnJhcg==?="')
    assert att.filename == "李喆申报材料.rar"
    assert att.content_type == "application/x-rar-compressed"


def test_character_split_between_a_b_word_and_a_q_word() -> None:
    # 张 = E5 BC A0: "5bw=" carries E5 BC, the Q word carries A0.
    assert decode_header_value("=?utf-8?B?5bw=?= =?UTF-8?Q?=A0=E4=B8=89?=") == "张三"


def test_base64_text_split_across_words_off_the_quartet_boundary() -> None:
    assert decode_header_value("=?utf-8?B?5byg5?= =?utf-8?B?LiJ?=") == "张三"


def test_decode_filename_on_a_compat32_part() -> None:
    raw = b'Content-Type: application/pdf; name="=?GB2312?B?zfWI0rS00MK5pNf3ytIuemlw?="\r\n\r\nx'
    assert decode_filename(email.message_from_bytes(raw, policy=email.policy.compat32)) == "王堃创新工作室.zip"
    assert decode_filename(email.message_from_bytes(b"Content-Type: application/pdf\r\n\r\nx",
                                                    policy=email.policy.compat32)) == ""


# ---------------------------------------------------------------- which parts are attachments

def test_inline_part_with_a_name_is_an_attachment() -> None:
    raw = multipart(
        part(b"Content-Type: text/plain; charset=gbk\r\n", "材料见附件".encode("gbk")),
        part(b'Content-Type: application/zip; name="cl.zip"\r\nContent-Disposition: inline; filename="cl.zip"\r\n',
             b"PK\x03\x04"),
    )
    mail = decode_message(raw)
    assert mail.attachments == (Attachment("cl.zip", "application/zip", b"PK\x03\x04", "inline"),)
    assert mail.text_body == "材料见附件"


def test_text_parts_with_a_name_or_attachment_disposition_are_attachments() -> None:
    raw = multipart(
        part(b"Content-Type: text/plain; charset=utf-8\r\n", b"body"),
        part(b'Content-Type: text/plain; charset=gbk; name="readme.txt"\r\n', "说明".encode("gbk")),
        part(b"Content-Type: text/html\r\nContent-Disposition: attachment\r\n", b"<p>x</p>"),
    )
    mail = decode_message(raw)
    assert mail.text_body == "body" and mail.html_body == ""
    assert [(a.filename, a.content_type, a.data) for a in mail.attachments] == [
        ("readme.txt", "text/plain", "说明".encode("gbk")),
        ("", "text/html", b"<p>x</p>"),
    ]


def test_nameless_image_inside_related_is_an_attachment() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    raw = multipart(
        part(b"Content-Type: text/html; charset=utf-8\r\n", b'<p>logo</p><img src="cid:logo">'),
        part(b"Content-Type: image/png\r\nContent-ID: <logo>\r\nContent-Transfer-Encoding: base64\r\n",
             base64.encodebytes(png)),
        subtype=b"related",
    )
    mail = decode_message(raw)
    assert mail.attachments == (Attachment("", "image/png", png, ""),)
    assert mail.plain_text() == "logo"


@pytest.mark.parametrize("size", [0, 1, 2, 3, 57, 4096, 70001])
def test_base64_attachment_data_round_trips_exactly(size: int) -> None:
    data = os.urandom(size)
    raw = multipart(
        part(b"Content-Type: text/plain\r\n", b"x"),
        part(b'Content-Type: application/zip; name="a.zip"\r\nContent-Transfer-Encoding: base64\r\n',
             base64.encodebytes(data)),
    )
    assert decode_message(raw).attachments[0].data == data


def test_8bit_and_quoted_printable_attachments_round_trip() -> None:
    raw = multipart(
        part(b'Content-Type: application/octet-stream; name="b.bin"\r\nContent-Transfer-Encoding: 8bit\r\n',
             b"\x00\xff\xfe line\r\nsecond"),
        part(b'Content-Type: application/octet-stream; name="q.bin"\r\n'
             b"Content-Transfer-Encoding: quoted-printable\r\n", b"a=3Db=\r\nc=FF"),
    )
    assert [a.data for a in decode_message(raw).attachments] == [b"\x00\xff\xfe line\r\nsecond", b"a=bc\xff"]


def test_broken_base64_is_decoded_best_effort() -> None:
    raw = multipart(
        part(b'Content-Type: application/pdf; name="x.pdf"\r\nContent-Transfer-Encoding: base64\r\n',
             b"JVBERi0xLjQK\r\nJVBERi0x\r\nJVB"),  # truncated mid-quartet, no padding
    )
    assert decode_message(raw).attachments[0].data.startswith(b"%PDF-1.4\n%PDF-1")
    assert b64decode("5byg5L") == b"\xe5\xbc\xa0\xe4"  # padding added
    assert b64decode("5byg5") == "张".encode()  # lone sextet dropped


def test_attached_message_is_an_eml_attachment_not_our_body() -> None:
    inner = (b"From: someone@163.com\r\nSubject: =?UTF-8?B?5YWz5LqO55Sz5oql?= 2025/05\r\n"
             b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + "原邮件正文".encode())
    raw = multipart(
        part(b"Content-Type: text/plain; charset=utf-8\r\n", "转发".encode()),
        part(b"Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n", inner),
    )
    mail = decode_message(raw)
    assert mail.text_body == "转发"
    (att,) = mail.attachments
    assert (att.filename, att.content_type) == ("关于申报 2025_05.eml", "message/rfc822")
    assert "原邮件正文".encode() in att.data


# ---------------------------------------------------------------- bodies and charsets

def test_html_only_body_gives_plain_text() -> None:
    html = ("<html><head><style>p{color:red}</style><title>t</title></head><body>"
            "<div>尊敬的&nbsp;领导：</div><p>材料&amp;附件<br>请查收</p><script>alert(1)</script>"
            "<table><tr><td>单位</td><td>正定县</td></tr></table></body></html>")
    mail = decode_message(single(b"Content-Type: text/html; charset=utf-8\r\n", html.encode()))
    assert mail.text_body == ""
    assert mail.plain_text() == "尊敬的 领导：\n\n材料&附件\n请查收\n\n单位 正定县"


def test_body_labelled_gb2312_that_is_really_utf8() -> None:
    body = "附件为正定县总工会张三创新工作室申报材料，请查收。".encode()
    mail = decode_message(single(b"Content-Type: text/plain; charset=gb2312\r\n"
                                 b"Content-Transfer-Encoding: 8bit\r\n", body))
    assert mail.text_body == "附件为正定县总工会张三创新工作室申报材料，请查收。"
    assert any("read as utf-8" in d for d in mail.defects)


def test_body_labelled_utf8_that_is_really_gbk() -> None:
    body = "王堃创新工作室申报材料".encode("gbk")
    mail = decode_message(single(b"Content-Type: text/plain; charset=utf-8\r\n"
                                 b"Content-Transfer-Encoding: base64\r\n", base64.encodebytes(body)))
    assert mail.text_body == "王堃创新工作室申报材料"
    assert any("read as gb18030" in d for d in mail.defects)


def test_quoted_printable_gbk_body_with_gbk_only_character() -> None:
    qp = (b"=CA=C2=BC=A3=B2=C4=C1=CF=B2=BB=C9=D9=D3=DA=D2=BB=C7=A7=D7=D6=A3=AC=C7=EB=\r\n"
          b"=C9=F3=BA=CB=A1=A3=CD=F5=88=D2")
    mail = decode_message(single(b"Content-Type: text/plain;\r\n\tcharset=\"gb2312\"\r\n"
                                 b"Content-Transfer-Encoding: quoted-printable\r\n", qp))
    assert mail.text_body == "事迹材料不少于一千字，请审核。王堃"


def test_unknown_charset_label_falls_back_to_utf8_then_gb18030() -> None:
    mail = decode_message(single(b"Content-Type: text/plain; charset=x-unknown\r\n", "辛集".encode("gbk")))
    assert mail.text_body == "辛集"


def test_undecodable_text_uses_replacement_characters_never_drops_bytes() -> None:
    mail = decode_message(single(b"Content-Type: text/plain; charset=big5\r\n", b"ok \x81\x30\xff end"))
    assert mail.text_body.startswith("ok ") and mail.text_body.endswith(" end")
    assert "\ufffd" in mail.text_body or len(mail.text_body) > len("ok  end")


def test_8bit_junk_in_a_charset_label_is_no_label() -> None:
    assert decode_header_value(b"=?gb\xd5\xd4?B?1cXI/Q==?=") == "张三"


def test_hz_label_is_decoded_as_hz_not_read_as_ascii() -> None:
    mail = decode_message(single(b"Content-Type: text/plain; charset=hz-gb-2312\r\n", b"~{UEH}~}"))
    assert mail.text_body == "张三"


def test_alternative_keeps_both_bodies() -> None:
    raw = multipart(
        part(b"Content-Type: text/plain; charset=GBK\r\nContent-Transfer-Encoding: base64\r\n",
             base64.encodebytes("纯文本".encode("gbk"))),
        part(b"Content-Type: text/html; charset=GBK\r\n", "<b>网页</b>".encode("gbk")),
        subtype=b"alternative",
    )
    mail = decode_message(raw)
    assert (mail.text_body, mail.html_body, mail.attachments) == ("纯文本", "<b>网页</b>", ())


def test_non_mime_plain_message_with_raw_gbk_body() -> None:
    raw = (b"From: clerk@163.com\r\nTo: sjzjjb@126.com\r\nSubject: plain\r\n\r\n"
           + "这是没有MIME头的正文。".encode("gbk"))
    mail = decode_message(raw)
    assert mail.content_type == "text/plain"
    assert mail.text_body == "这是没有MIME头的正文。"
    assert mail.attachments == ()


# ---------------------------------------------------------------- headers

def test_folded_subject_with_mixed_charsets_and_plain_text() -> None:
    raw = single(b"Content-Type: text/plain\r\n", b"x", head=(
        b"Subject: =?UTF-8?B?5YWz5LqO55Sz5oql?=\r\n"
        b"\t=?GB2312?B?wM3Eo7S00MK5pNf3ytI=?=  (2025)\r\n"
        b"   second   line\r\n"))
    assert decode_message(raw).subject == "关于申报劳模创新工作室 (2025) second line"


@pytest.mark.parametrize("subject", ["正定县总工会申报".encode(), "正定县总工会申报".encode("gbk")])
def test_raw_8bit_subject_utf8_or_gbk(subject: bytes) -> None:
    mail = decode_message(single(b"Content-Type: text/plain\r\n", b"x", head=b"Subject: " + subject + b"\r\n"))
    assert mail.subject == "正定县总工会申报"


def test_decode_header_value_accepts_str_and_bytes() -> None:
    assert decode_header_value("=?gb2312?b?1cXI/Q==?= <a@b.cn>") == "张三 <a@b.cn>"
    assert decode_header_value(b"\xd5\xc5\xc8\xfd \r\n <a@b.cn>") == "张三 <a@b.cn>"
    assert decode_header_value("=?utf-8?q?=E5=BC=A0_=E4=B8=89?=") == "张 三"
    assert decode_header_value("=?utf-8?B?5byg5L?=") == "张\ufffd"  # bad padding, cut character
    assert decode_header_value("") == ""


def test_addresses_ids_and_headers() -> None:
    raw = single(b"Content-Type: text/plain\r\n", b"x", head=(
        b'From: "=?GB2312?B?1cXI/Q==?=" <ZhangSan_ZD@126.COM>\r\n'
        b"To: =?utf-8?B?5Yqz5Yqh?= <SJZJJB@126.com>, other@QQ.com\r\n"
        b"To: third@163.com\r\n"
        b"Message-ID:\r\n <20250529.ABC@smtp.126.com>\r\n"
        b"X-Mailer: Foxmail 7.2.25.254[cn]\r\n"))
    mail = decode_message(raw)
    assert (mail.from_addr, mail.from_name) == ("zhangsan_zd@126.com", "张三")
    assert mail.to_addrs == ("sjzjjb@126.com", "other@qq.com", "third@163.com")
    assert mail.message_id == "<20250529.ABC@smtp.126.com>"
    assert mail.header("X-MAILER") == "Foxmail 7.2.25.254[cn]"
    assert mail.header("missing") == ""
    assert [k for k, _ in mail.headers] == ["from", "to", "to", "message-id", "x-mailer", "content-type"]
    assert mail.headers[1] == ("to", "劳务 <SJZJJB@126.com>, other@QQ.com")


def test_missing_headers_give_empty_values() -> None:
    mail = decode_message(b"Content-Type: text/plain\r\n\r\nbody")
    assert (mail.message_id, mail.subject, mail.from_addr, mail.date, mail.received_at) == (None, "", "", None, None)


# ---------------------------------------------------------------- dates

def dated(date_line: bytes) -> DecodedMail:
    """A message with the given Date header line."""
    return decode_message(b"From: a@b.cn\r\n" + date_line + b"Content-Type: text/plain\r\n\r\nx")


def test_date_with_zone() -> None:
    assert dated(b"Date: Thu, 29 May 2025 10:02:11 +0800\r\n").date == datetime(2025, 5, 29, 10, 2, 11, tzinfo=CST)


def test_missing_date_is_none() -> None:
    assert dated(b"").date is None


def test_date_without_zone_is_taken_as_beijing_time_with_a_note() -> None:
    mail = dated(b"Date: Thu, 29 May 2025 10:02:11\r\n")
    assert mail.date == datetime(2025, 5, 29, 10, 2, 11, tzinfo=CST)
    assert mail.date.utcoffset() == timedelta(hours=8)
    assert any("no time zone" in d for d in mail.defects)


@pytest.mark.parametrize(("line", "expected"), [
    (b"Date: Thu, 29 May 2025 10:02:11 CST\r\n", datetime(2025, 5, 29, 10, 2, 11, tzinfo=CST)),
    (b"Date: Thu, 29 May 2025 10:02:11 GMT+0800\r\n", datetime(2025, 5, 29, 10, 2, 11, tzinfo=CST)),
    (b"Date: Thu, 29 May 2025 02:02:11 -0000\r\n", datetime(2025, 5, 29, 2, 2, 11, tzinfo=timezone.utc)),
])
def test_chinese_and_unknown_zone_spellings(line: bytes, expected: datetime) -> None:
    assert dated(line).date == expected


def test_unparseable_date_is_none_with_a_note() -> None:
    mail = dated(b"Date: 2025\xc4\xea5\xd4\xc229\xc8\xd5\r\n")  # "2025年5月29日" in GBK
    assert mail.date is None and any("unparseable Date" in d for d in mail.defects)


def test_topmost_received_header_wins() -> None:
    mail = dated(
        b"Received: from m16.mail.126.com (unknown [220.181.15.1])\r\n"
        b"\tby mx.126.com with ESMTP id 1A2B; Thu, 29 May 2025 10:02:13 +0800 (CST)\r\n"
        b"Received: from [192.168.1.5] (unknown [1.2.3.4]) by smtp.126.com;\r\n"
        b" Thu, 29 May 2025 09:59:00 +0800\r\n")
    assert mail.received_at == datetime(2025, 5, 29, 10, 2, 13, tzinfo=CST)


def test_received_falls_through_to_the_next_parseable_one() -> None:
    mail = dated(b"Received: by localhost with garbage\r\n"
                 b"Received: from a by b; Wed, 28 May 2025 23:59:59 +0000\r\n")
    assert mail.received_at == datetime(2025, 5, 29, 7, 59, 59, tzinfo=CST)
    assert dated(b"").received_at is None


# ---------------------------------------------------------------- broken input

def test_truncated_message_boundary_never_closed() -> None:
    data = os.urandom(300)
    raw = multipart(
        part(b"Content-Type: text/plain; charset=utf-8\r\n", "正文".encode()),
        part(b'Content-Type: application/zip; name="a.zip"\r\nContent-Transfer-Encoding: base64\r\n',
             base64.encodebytes(data)),
    ).rsplit(b"--" + BOUNDARY + b"--", 1)[0]
    mail = decode_message(raw)
    assert mail.text_body == "正文"
    assert mail.attachments[0].data == data
    assert any("CloseBoundaryNotFound" in d for d in mail.defects)


def test_cut_off_in_the_middle_never_raises() -> None:
    raw = multipart(
        part(b"Content-Type: text/plain; charset=gb2312\r\n", "正文".encode("gbk")),
        part(b'Content-Type: application/zip; name="=?GB2312?B?zfWI0rS00MK5pNf3ytIuemlw?="\r\n'
             b"Content-Transfer-Encoding: base64\r\n", base64.encodebytes(os.urandom(200))),
    )
    for cut in range(0, len(raw), 7):
        assert isinstance(decode_message(raw[:cut]), DecodedMail)


def test_empty_input() -> None:
    mail = decode_message(b"")
    assert (mail.subject, mail.text_body, mail.attachments, mail.headers) == ("", "", (), ())
    assert mail.defects == ("empty input",)


def test_garbage_bytes_give_an_almost_empty_mail_with_defects() -> None:
    mail = decode_message(bytes(range(256)) * 3)
    assert (mail.subject, mail.from_addr, mail.attachments, mail.headers) == ("", "", (), ())
    assert "no header lines found" in mail.defects


def test_multipart_without_boundary_keeps_its_text() -> None:
    mail = decode_message(single(b"Content-Type: multipart/mixed\r\n", b"some text"))
    assert mail.text_body == "some text"
    assert mail.defects


def test_report_type_and_content_type() -> None:
    raw = multipart(
        part(b"Content-Type: text/plain\r\n", b"failed"),
        part(b"Content-Type: message/delivery-status\r\n",
             b"Reporting-MTA: dns; mx.126.com\r\n\r\nFinal-Recipient: rfc822; x@y.cn\r\nAction: failed\r\n"),
        subtype=b"report", extra=b"; report-type=Delivery-Status",
    )
    mail = decode_message(raw)
    assert (mail.content_type, mail.report_type) == ("multipart/report", "delivery-status")
    assert mail.attachments[0].content_type == "message/delivery-status"
    assert b"Action: failed" in mail.attachments[0].data


def test_html_to_text_with_links_places_href_after_anchor() -> None:
    text = html_to_text('<p>下载 <a href="https://x.cn/a?b=1&amp;c=2">材料.zip</a> 到期</p>', with_links=True)
    assert text == "下载 材料.zip https://x.cn/a?b=1&c=2 到期"


@pytest.mark.parametrize("label", [b"utf-8", b"gb2312"])
def test_utf8_body_cut_mid_character_stays_utf8(label: bytes) -> None:
    body = "正定县总工会张三创新工作室".encode()[:-1]
    mail = decode_message(single(b"Content-Type: text/plain; charset=" + label + b"\r\n", body))
    assert mail.text_body == "正定县总工会张三创新工作\ufffd"


def test_junk_charset_label_on_an_8bit_body_does_not_lose_the_part() -> None:
    mail = decode_message(single(b'Content-Type: text/plain; charset="\x00utf-8"\r\n', "正文".encode()))
    assert mail.text_body == "正文"


def test_multipart_nested_deeper_than_the_stack_keeps_its_headers() -> None:
    """Regression (hypothesis/hostile corpus): 1000 nested multiparts made compat32's parser hit the recursion
    limit and the whole message came back empty, so a submission was ignored as unrelated."""
    opening = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(1000))
    raw = (b"From: a@b.cn\r\nSubject: =?utf-8?B?5Y+X55CG?=\r\nMessage-ID: <deep@b.cn>\r\nMIME-Version: 1.0\r\n"
           + opening + b"Content-Type: text/plain\r\n\r\ndeep\r\n")
    mail = decode_message(raw)
    assert (mail.subject, mail.from_addr, mail.message_id) == ("受理", "a@b.cn", "<deep@b.cn>")
    assert any("nested too deeply" in d for d in mail.defects)


def _first_blank_line_reference(raw: bytes) -> bytes:
    """header_block as specified: both kinds of blank line looked for in the first HEADER_BYTES; without one
    there, the whole lines within them (a hostile header section is never read whole)."""
    window = raw[:HEADER_BYTES]
    ends = [i for i in (window.find(b"\r\n\r\n"), window.find(b"\n\n")) if i >= 0]
    if ends or len(raw) <= HEADER_BYTES:
        return raw[: min(ends, default=len(raw))] + b"\r\n\r\n"
    return window[: window.rfind(b"\n")] + b"\r\n\r\n"


@pytest.mark.parametrize("ending", [b"\r\n\r\n", b"\n\n", b"\r\n\n", b"\n\r\n\n", b""])
@pytest.mark.parametrize("at", [0, 100, 2**16 - 5, 2**16 - 4, 2**16 - 3, 2**16 - 2, 2**16 - 1, 2**16, 2**16 + 7,
                                300_000])
def test_the_header_block_ends_at_the_first_blank_line_wherever_it_is(ending: bytes, at: int) -> None:
    head = (b"X: " + b"a" * 70 + b"\r\n") * (at // 75 + 1)
    raw = head[:at] + ending + b"body\r\n\r\nmore\n\nend" if ending else head[:at] + b"AAAA\r\n" * 50_000
    assert header_block(raw) == _first_blank_line_reference(raw)
