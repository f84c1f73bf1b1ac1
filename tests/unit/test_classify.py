"""pipeline.mail.classify: automatic mail and 超大附件 links, on messages shaped like the real ones."""

from __future__ import annotations

import base64
import quopri

import pytest

from pipeline.mail.classify import AutoKind, detect_automatic, find_large_attachment_links
from pipeline.mail.decode import decode_message
from pipeline.rules.facts import LargeAttachmentLink


def kind(raw: bytes) -> AutoKind | None:
    """detect_automatic on raw bytes."""
    return detect_automatic(decode_message(raw))


def encoded_word(text: str) -> bytes:
    """`text` as one UTF-8 B encoded word, the way webmail writes subjects."""
    return b"=?utf-8?B?" + base64.b64encode(text.encode()) + b"?="


def text_mail(text: str, sender: bytes = b"clerk@163.com") -> bytes:
    """A plain UTF-8 text message."""
    return b"From: " + sender + b"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text.encode()


def b64(text: str, charset: str = "utf-8") -> bytes:
    """Base64 body bytes of `text`, line-wrapped as mailers send them."""
    return base64.encodebytes(text.encode(charset))


# ---------------------------------------------------------------- real-looking automatic mail

OUTLOOK_OOF = (
    b"Received: from HK0PR02MB2987.apcprd02.prod.outlook.com (2603:1096:203:9e::12)\r\n"
    b" by mx.126.com with ESMTPS id 4F2C; Thu, 29 May 2025 10:02:14 +0800\r\n"
    b"From: Wang Lei <wanglei@hbgh.partner.onmschina.cn>\r\n"
    b"To: \"sjzjjb@126.com\" <sjzjjb@126.com>\r\n"
    b"Subject: =?utf-8?B?QXV0b21hdGljIHJlcGx5OiDnlLPmiqXmnZDmlpk=?=\r\n"
    b"Thread-Topic: =?utf-8?B?55Sz5oql5p2Q5paZ?=\r\n"
    b"Date: Thu, 29 May 2025 02:02:12 +0000\r\n"
    b"Message-ID: <HK0PR02MB29871A0D3E7@HK0PR02MB2987.apcprd02.prod.outlook.com>\r\n"
    b"Auto-Submitted: auto-generated\r\n"
    b"X-Auto-Response-Suppress: All\r\n"
    b"X-MS-Exchange-Inbox-Rules-Loop: wanglei@hbgh.partner.onmschina.cn\r\n"
    b"Content-Type: text/plain; charset=\"utf-8\"\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"MIME-Version: 1.0\r\n\r\n"
) + b64("我6月3日前休假，邮件将延迟处理。\r\nI am out of the office until 3 June.")

NETEASE_126_AUTO_REPLY = (
    b"Received: from wanglei$126.com ( [111.224.1.2] ) by ajax-webmail-wmsvr40 (Coremail) ;\r\n"
    b" Thu, 29 May 2025 10:03:01 +0800 (CST)\r\n"
    b"Date: Thu, 29 May 2025 10:03:01 +0800 (CST)\r\n"
    b"From: =?GBK?B?1f22qM/Y19y5pLvh?= <zdxzgh@126.com>\r\n"
    b"To: sjzjjb@126.com\r\n"
    b"Subject: =?GBK?B?19S2r7vYuLSjutX9tqjP2NfcuaS74dXFyP20tNDCuaTX98rSyeqxqLLEwc8=?=\r\n"
    b"X-Priority: 3\r\n"
    b"X-Mailer: Coremail Webmail Server Version XT5.0.14 build 20230109(dcb5de15)\r\n"
    b"Content-Type: text/html; charset=GBK\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Message-ID: <4d1b2c3a.5e6f.18f1a2b3c4d.Coremail.zdxzgh@126.com>\r\n"
    b"X-Coremail-Locale: zh_CN\r\n\r\n"
) + "<div>您好，您的来信已收到，我会尽快处理。</div>".encode("gbk")

QQ_AUTO_REPLY = (
    b"Received: from qq.com (unknown [183.3.255.59]) by mx.126.com; Thu, 29 May 2025 10:04:00 +0800\r\n"
    b"X-QQ-mid: bizesmtp12t1748484240tabc\r\n"
    b"From: \"=?utf-8?B?5p2O5ZaG?=\" <1234567@qq.com>\r\n"
    b"To: \"sjzjjb\" <sjzjjb@126.com>\r\n"
    b"Subject: =?utf-8?B?6Ieq5Yqo5Zue5aSNOiDnlLPmiqXmnZDmlpk=?=\r\n"
    b"Mime-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=\"utf-8\"\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"Date: Thu, 29 May 2025 10:04:00 +0800\r\n"
    b"X-QQ-MIME: TCMime 1.0 by Tencent\r\n"
    b"X-Mailer: QQMail 2.x\r\n"
    b"X-QQ-Mailer: QQMail 2.x\r\n\r\n"
) + b64("这是来自QQ邮箱的假期自动回复邮件。\r\n您好，我最近正在休假中，无法亲自回复您的邮件。")

POSTFIX_DSN = (
    b"Return-Path: <>\r\n"
    b"Received: by mail.zdxzgh.cn (Postfix) id 3F1A2C0123; Thu, 29 May 2025 10:05:00 +0800 (CST)\r\n"
    b"Date: Thu, 29 May 2025 10:05:00 +0800 (CST)\r\n"
    b"From: MAILER-DAEMON@mail.zdxzgh.cn (Mail Delivery System)\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\n"
    b"To: sjzjjb@126.com\r\n"
    b"Auto-Submitted: auto-replied\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/report; report-type=delivery-status;\r\n"
    b"\tboundary=\"3F1A2C0123.1748484300/mail.zdxzgh.cn\"\r\n"
    b"Message-Id: <20250529020500.3F1A2C0123@mail.zdxzgh.cn>\r\n\r\n"
    b"This is a MIME-encapsulated message.\r\n\r\n"
    b"--3F1A2C0123.1748484300/mail.zdxzgh.cn\r\n"
    b"Content-Description: Notification\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
    b"This is the mail system at host mail.zdxzgh.cn.\r\n\r\n"
    b"I'm sorry to have to inform you that your message could not\r\n"
    b"be delivered to one or more recipients.\r\n\r\n"
    b"<nobody@zdxzgh.cn>: unknown user: \"nobody\"\r\n\r\n"
    b"--3F1A2C0123.1748484300/mail.zdxzgh.cn\r\n"
    b"Content-Description: Delivery report\r\n"
    b"Content-Type: message/delivery-status\r\n\r\n"
    b"Reporting-MTA: dns; mail.zdxzgh.cn\r\n"
    b"X-Postfix-Queue-ID: 3F1A2C0123\r\n"
    b"Arrival-Date: Thu, 29 May 2025 10:04:59 +0800 (CST)\r\n\r\n"
    b"Final-Recipient: rfc822; nobody@zdxzgh.cn\r\n"
    b"Action: failed\r\n"
    b"Status: 5.1.1\r\n"
    b"Diagnostic-Code: X-Postfix; unknown user: \"nobody\"\r\n\r\n"
    b"--3F1A2C0123.1748484300/mail.zdxzgh.cn\r\n"
    b"Content-Description: Undelivered Message Headers\r\n"
    b"Content-Type: text/rfc822-headers\r\n\r\n"
    b"From: sjzjjb@126.com\r\nTo: nobody@zdxzgh.cn\r\nSubject: receipt\r\n\r\n"
    b"--3F1A2C0123.1748484300/mail.zdxzgh.cn--\r\n"
)

NETEASE_BOUNCE = (
    b"Received: from mx.163.com by 126.com; Thu, 29 May 2025 10:06:00 +0800\r\n"
    b"Date: Thu, 29 May 2025 10:06:00 +0800 (CST)\r\n"
    b"From: postmaster@163.com\r\n"
    b"To: sjzjjb@126.com\r\n"
    b"Subject: =?GBK?B?z7XNs83L0MU=?=\r\n"
    b"Content-Type: multipart/mixed; boundary=\"----=_Part_3126_1748484360\"\r\n"
    b"MIME-Version: 1.0\r\n\r\n"
    b"------=_Part_3126_1748484360\r\n"
    b"Content-Type: text/html; charset=GBK\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\n"
) + b64("<p>很抱歉您发送的邮件被退回，以下是该邮件的相关信息：</p><p>收件人：nobody@163.com 不存在</p>",
        "gbk") + (
    b"------=_Part_3126_1748484360--\r\n"
)

EXCHANGE_NDR = (
    b"From: Microsoft Outlook\r\n"
    b"\t<MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@hbgh.partner.onmschina.cn>\r\n"
    b"To: <sjzjjb@126.com>\r\n"
    b"Date: Thu, 29 May 2025 02:07:00 +0000\r\n"
    b"Content-Type: multipart/report; report-type=delivery-status;\r\n"
    b"\tboundary=\"8ffa1ef6-3f2b-4a9c-9bde-5a1c7e6d2f10\"\r\n"
    b"X-MS-Exchange-Message-Is-Ndr:\r\n"
    b"Subject: =?utf-8?B?5peg5rOV6YCB6L6+OiDnlLPmiqXmnZDmlpk=?=\r\n"
    b"Auto-Submitted: auto-replied\r\n"
    b"MIME-Version: 1.0\r\n\r\n"
    b"--8ffa1ef6-3f2b-4a9c-9bde-5a1c7e6d2f10\r\n"
    b"Content-Type: text/plain; charset=\"utf-8\"\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\n"
) + b64("无法将邮件传递到以下收件人或组：\r\nwangkun@hbgh.partner.onmschina.cn") + (
    b"\r\n--8ffa1ef6-3f2b-4a9c-9bde-5a1c7e6d2f10\r\n"
    b"Content-Type: message/delivery-status\r\n\r\n"
    b"Reporting-MTA: dns;HK0PR02MB2987.apcprd02.prod.outlook.com\r\n"
    b"Received-From-MTA: dns;mx.126.com\r\n\r\n"
    b"Final-Recipient: rfc822;wangkun@hbgh.partner.onmschina.cn\r\n"
    b"Action: failed\r\nStatus: 5.1.10\r\n\r\n"
    b"--8ffa1ef6-3f2b-4a9c-9bde-5a1c7e6d2f10\r\n"
    b"Content-Type: message/rfc822\r\n\r\n"
    b"From: sjzjjb@126.com\r\nSubject: =?utf-8?B?55Sz5oql5p2Q5paZ?=\r\n\r\n"
    b"--8ffa1ef6-3f2b-4a9c-9bde-5a1c7e6d2f10--\r\n"
)

OUTLOOK_READ_RECEIPT = (
    b"From: =?utf-8?B?546L5Z2D?= <wangkun@hbgh.partner.onmschina.cn>\r\n"
    b"To: <sjzjjb@126.com>\r\n"
    b"Subject: =?utf-8?B?5bey6K+7OiDnlLPmiqXmnZDmlpk=?=\r\n"
    b"Date: Thu, 29 May 2025 02:08:00 +0000\r\n"
    b"Content-Type: multipart/report; report-type=disposition-notification;\r\n"
    b"\tboundary=\"_000_mdn_\"\r\n"
    b"MIME-Version: 1.0\r\n\r\n"
    b"--_000_mdn_\r\n"
    b"Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
) + b64("您的邮件\r\n主题: 申报材料\r\n已于 2025/5/29 10:08 被读取。") + (
    b"\r\n--_000_mdn_\r\n"
    b"Content-Type: message/disposition-notification\r\n\r\n"
    b"Reporting-UA: HK0PR02MB2987.apcprd02.prod.outlook.com; Microsoft Exchange Server\r\n"
    b"Final-Recipient: rfc822;wangkun@hbgh.partner.onmschina.cn\r\n"
    b"Disposition: manual-action/MDN-sent-manually; displayed\r\n\r\n"
    b"--_000_mdn_--\r\n"
)

NEWSLETTER = (
    b"From: =?utf-8?B?5Lit5Zu95bel5Lya5paw6Ze75ZGo5YiK?= <news@edm.workercn.cn>\r\n"
    b"To: sjzjjb@126.com\r\n"
    b"Subject: =?utf-8?B?5Lit5Zu95bel5Lya5paw6Ze75ZGo5YiK?= 2025-22\r\n"
    b"Date: Thu, 29 May 2025 08:00:00 +0800\r\n"
    b"List-Unsubscribe: <mailto:unsubscribe@edm.workercn.cn?subject=u-8812>,\r\n"
    b" <https://edm.workercn.cn/u/8812>\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n\r\n"
) + "<p>本周要闻……</p>".encode()

SUBMISSION = (
    b"Received: from zdxzgh$126.com ( [111.224.1.2] ) by ajax-webmail-wmsvr40 (Coremail) ;\r\n"
    b" Thu, 29 May 2025 10:02:11 +0800 (CST)\r\n"
    b"Date: Thu, 29 May 2025 10:02:11 +0800\r\n"
    b"From: \"=?GB2312?B?1f22qM/Y19y5pLvh?=\" <zdxzgh@126.com>\r\n"
    b"To: \"sjzjjb\" <sjzjjb@126.com>\r\n"
    b"Subject: =?GB2312?B?1f22qM/Y19y5pLvhK9XFyP20tNDCuaTX98rSyOu/4rLEwc+jqMnPtM7Ny9DFo6zW?=\r\n"
    b" =?GB2312?B?2NDCt6LLzaOp?=\r\n"
    b"X-Mailer: Foxmail 7.2.25.254[cn]\r\n"
    b"Disposition-Notification-To: zdxzgh@126.com\r\n"
    b"Mime-Version: 1.0\r\n"
    b"Message-ID: <202505291002110316341@126.com>\r\n"
    b"Content-Type: multipart/mixed; boundary=\"----=_001_NextPart4071_=----\"\r\n\r\n"
    b"------=_001_NextPart4071_=----\r\n"
    b"Content-Type: text/plain; charset=\"GB2312\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
) + b64("领导好，附件是我单位申报材料，请查收。", "gbk") + (
    b"\r\n------=_001_NextPart4071_=----\r\n"
    b"Content-Type: application/octet-stream; name=\"=?GB2312?B?1f22qM/Y19y5pLvh?=.zip\"\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"Content-Disposition: attachment; filename=\"=?GB2312?B?1f22qM/Y19y5pLvh?=.zip\"\r\n\r\n"
    b"UEsDBBQAAAAIAA==\r\n"
    b"------=_001_NextPart4071_=------\r\n"
)


@pytest.mark.parametrize(("raw", "expected"), [
    pytest.param(OUTLOOK_OOF, AutoKind.AUTO_REPLY, id="outlook-out-of-office"),
    pytest.param(NETEASE_126_AUTO_REPLY, AutoKind.AUTO_REPLY, id="126-自动回复-subject-only"),
    pytest.param(QQ_AUTO_REPLY, AutoKind.AUTO_REPLY, id="qq-自动回复-subject-only"),
    pytest.param(POSTFIX_DSN, AutoKind.BOUNCE, id="postfix-dsn-with-return-path-empty"),
    pytest.param(NETEASE_BOUNCE, AutoKind.BOUNCE, id="163-系统退信"),
    pytest.param(EXCHANGE_NDR, AutoKind.BOUNCE, id="exchange-ndr"),
    pytest.param(OUTLOOK_READ_RECEIPT, AutoKind.AUTO_REPLY, id="read-receipt"),
    pytest.param(NEWSLETTER, AutoKind.AUTO_REPLY, id="newsletter-list-unsubscribe"),
    pytest.param(SUBMISSION, None, id="normal-submission"),
])
def test_real_looking_messages(raw: bytes, expected: AutoKind | None) -> None:
    assert kind(raw) == expected


def test_the_submission_fixture_decodes_as_a_submission() -> None:
    mail = decode_message(SUBMISSION)
    assert mail.subject == "正定县总工会+张三创新工作室入库材料（上次退信，重新发送）"
    assert [a.filename for a in mail.attachments] == ["正定县总工会.zip"]


# ---------------------------------------------------------------- one rule at a time

def with_header(line: bytes, sender: bytes = b"clerk@163.com", subject: bytes = b"materials") -> bytes:
    """An otherwise ordinary message with one extra header line."""
    return (b"From: " + sender + b"\r\nTo: sjzjjb@126.com\r\nSubject: " + subject + b"\r\n" + line
            + b"Content-Type: text/plain; charset=utf-8\r\n\r\nbody")


@pytest.mark.parametrize("line", [
    b"Auto-Submitted: auto-replied\r\n",
    b"Auto-Submitted: auto-generated\r\n",
    b"Auto-Submitted: Auto-Notified; owner-email=\"a@b.cn\"\r\n",
    b"Precedence: bulk\r\n",
    b"Precedence: list\r\n",
    b"Precedence: junk\r\n",
    b"Precedence: auto_reply\r\n",
    b"X-Auto-Response-Suppress: DR, OOF, AutoReply\r\n",
    b"X-Autoreply: yes\r\n",
    b"X-Autorespond: Vacation\r\n",
    b"X-Loop: sjzjjb@126.com\r\n",
    b"List-Id: <gh.lists.example.cn>\r\n",
    b"List-Unsubscribe: <mailto:u@x.cn>\r\n",
    b"Return-Path: <>\r\n",
    b"Return-Path: < >\r\n",
])
def test_auto_reply_headers(line: bytes) -> None:
    assert kind(with_header(line)) == AutoKind.AUTO_REPLY


@pytest.mark.parametrize("line", [
    b"Auto-Submitted: no\r\n",
    b"Precedence: normal\r\n",
    b"X-Autoreply: no\r\n",
    b"Return-Path: <clerk@163.com>\r\n",
    b"Disposition-Notification-To: clerk@163.com\r\n",
    b"X-Priority: 1\r\n",
])
def test_ordinary_headers_are_not_automatic(line: bytes) -> None:
    assert kind(with_header(line)) is None


@pytest.mark.parametrize("sender", [
    b"noreply@qq.com", b"no-reply@notice.163.com", b"donotreply@gov.cn", b"do-not-reply@x.cn",
    b"\"Notice\" <NoReply+abc@x.cn>",
])
def test_noreply_senders_are_auto_replies(sender: bytes) -> None:
    assert kind(with_header(b"", sender=sender)) == AutoKind.AUTO_REPLY


@pytest.mark.parametrize("sender", [
    b"MAILER-DAEMON@126.com", b"postmaster@qq.com", b"Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
    b"Mail Delivery System <MAILER-DAEMON>",
])
def test_daemon_senders_are_bounces(sender: bytes) -> None:
    assert kind(with_header(b"", sender=sender)) == AutoKind.BOUNCE


def test_exim_failed_recipients_header_is_a_bounce() -> None:
    assert kind(with_header(b"X-Failed-Recipients: nobody@x.cn\r\n")) == AutoKind.BOUNCE


def test_bounce_wins_over_auto_reply_headers() -> None:
    line = b"Return-Path: <>\r\nAuto-Submitted: auto-replied\r\nPrecedence: bulk\r\n"
    assert kind(with_header(line, sender=b"MAILER-DAEMON@126.com")) == AutoKind.BOUNCE


def test_delivery_status_nested_in_mixed_is_a_bounce() -> None:
    raw = (b"From: gateway@x.cn\r\nSubject: notice\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
           b"--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
           b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n"
           b"Final-Recipient: rfc822; a@b\r\nAction: failed\r\n--b--\r\n")
    assert kind(raw) == AutoKind.BOUNCE


@pytest.mark.parametrize("subject", [
    "Undeliverable: 申报材料", "Undelivered Mail Returned to Sender",
    "Delivery Status Notification (Failure)", "Mail delivery failed: returning message to sender",
    "Returned mail: see transcript for details", "failure notice", "退信", "系统退信", "【系统退信】申报材料",
    "邮件投递失败", "无法投递: 申报材料", "无法送达: 申报材料",
])
def test_bounce_subjects(subject: str) -> None:
    assert kind(with_header(b"", subject=encoded_word(subject))) == AutoKind.BOUNCE


@pytest.mark.parametrize("subject", [
    "自动回复: 申报材料", "自动回复：申报材料", "Re: 自动回复", "自动答复: 申报材料", "Auto Reply: x",
    "Automatic reply: x", "AutoReply", "Out of Office: x", "Out of Office AutoReply: x", "休假中",
    "外出通知", "已读回执", "已读: 申报材料", "已读：申报材料", "Read: 申报材料",
])
def test_auto_reply_subjects(subject: str) -> None:
    assert kind(with_header(b"", subject=encoded_word(subject))) == AutoKind.AUTO_REPLY


@pytest.mark.parametrize("subject", [
    "正定县总工会+张三创新工作室入库材料（上次退信，重新发送）",
    "外出务工人员服务站创新工作室申报材料",
    "Re: 回执",
    "Reading group studio application",
    "关于已读回复的说明请查收申报材料",
])
def test_submission_subjects_that_merely_mention_the_words(subject: str) -> None:
    assert kind(with_header(b"", subject=encoded_word(subject))) is None


# ---------------------------------------------------------------- 超大附件 links

NETEASE_URL_1 = ("https://mail.163.com/large-attachment-download/index.html?p=X-NETEASE-HUGE-ATTACHMENT"
                 "&file=uR5hDXyj9cYxPvTfAfWx3FJbPjeMd2Qk")
NETEASE_URL_2 = ("https://mail.163.com/large-attachment-download/index.html?p=X-NETEASE-HUGE-ATTACHMENT"
                 "&file=Zk2mPq8sLr5aBcDeFgHiJkLmNoPqRsTu")
NETEASE_HTML = f"""<div style="line-height:1.7;color:#000000;font-size:14px;font-family:Arial">
<div>各位领导好：</div><div>附件是正定县总工会张三创新工作室入库材料，文件较大，用超大附件发送，请查收。另附简介.docx 见后。</div>
</div><br><br>
<div id="divNeteaseBigAttach" style="width:670px;border:1px solid #c8cfda;margin:10px 0;font-size:12px;">
<div style="padding:6px 10px;background:#f2f6fb;"><b>从网易163邮箱发来的超大附件</b></div>
<div style="padding:2px 10px;">
 <div style="clear:both;height:36px;padding:6px 4px;">
  <div style="float:left;"><a href="{NETEASE_URL_1.replace('&', '&amp;')}" target="_blank">
   <img src="https://mail.163.com/js6/images/big_attach/zip.png" width="32" height="32" border="0"></a></div>
  <div style="padding:0 0 0 40px;">
   <div><a href="{NETEASE_URL_1.replace('&', '&amp;')}" target="_blank" style="color:#000;">正定县总工会张三创新工作室入库材料.zip</a>
    <span style="color:#bbb;">(56.3M, 2025年6月12日 10:22 到期)</span></div>
   <div><a href="{NETEASE_URL_1.replace('&', '&amp;')}" target="_blank">下载</a></div>
  </div></div>
 <div style="clear:both;height:36px;padding:6px 4px;">
  <div style="float:left;"><a href="{NETEASE_URL_2.replace('&', '&amp;')}" target="_blank">
   <img src="https://mail.163.com/js6/images/big_attach/video.png" width="32" height="32" border="0"></a></div>
  <div style="padding:0 0 0 40px;">
   <div><a href="{NETEASE_URL_2.replace('&', '&amp;')}" target="_blank" style="color:#000;">张三创新工作室宣传片.mp4</a>
    <span style="color:#bbb;">(812.0M, 2025年6月13日 09:00 到期)</span></div>
   <div><a href="{NETEASE_URL_2.replace('&', '&amp;')}" target="_blank">下载</a></div>
  </div></div>
</div></div>"""
NETEASE_TEXT = f"""各位领导好：
附件是正定县总工会张三创新工作室入库材料，文件较大，用超大附件发送，请查收。

从网易163邮箱发来的超大附件

正定县总工会张三创新工作室入库材料.zip (56.3M, 2025年6月12日 10:22 到期)
下载: {NETEASE_URL_1}
张三创新工作室宣传片.mp4 (812.0M, 2025年6月13日 09:00 到期)
下载: {NETEASE_URL_2}
"""


def alternative(text: str, html: str, charset: str = "utf-8") -> bytes:
    """multipart/alternative with quoted-printable text and HTML, as NetEase webmail sends it."""
    def qp(body: str) -> bytes:
        return quopri.encodestring(body.replace("\n", "\r\n").encode(charset))
    head = (b"From: zdxzgh@163.com\r\nTo: sjzjjb@126.com\r\nSubject: materials\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/alternative; boundary=\"----=_Part_88_1748\"\r\n\r\n")
    parts = b""
    for subtype, body in ((b"plain", text), (b"html", html)):
        parts += (b"------=_Part_88_1748\r\nContent-Type: text/" + subtype + b"; charset=" + charset.encode()
                  + b"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qp(body) + b"\r\n")
    return head + parts + b"------=_Part_88_1748--\r\n"


def links(raw: bytes) -> tuple[LargeAttachmentLink, ...]:
    """find_large_attachment_links on raw bytes."""
    return find_large_attachment_links(decode_message(raw))


EXPECTED_NETEASE = (
    LargeAttachmentLink("正定县总工会张三创新工作室入库材料.zip", NETEASE_URL_1, "2025年6月12日 10:22"),
    LargeAttachmentLink("张三创新工作室宣传片.mp4", NETEASE_URL_2, "2025年6月13日 09:00"),
)


def test_netease_163_huge_attachment_html_and_text_quoted_printable_gbk() -> None:
    assert links(alternative(NETEASE_TEXT, NETEASE_HTML, "gbk")) == EXPECTED_NETEASE


def test_netease_html_only_and_text_only_give_the_same_links() -> None:
    html_only = (b"From: zdxzgh@163.com\r\nContent-Type: text/html; charset=utf-8\r\n"
                 b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(NETEASE_HTML))
    text_only = text_mail(NETEASE_TEXT, b"zdxzgh@163.com")
    assert links(html_only) == links(text_only) == EXPECTED_NETEASE


QQ_URL = ("https://wx.mail.qq.com/ftn/download?func=3&k=8c3a6b65d7e0f1e3a0a8b8f5a1b2c3d4"
          "&key=8c3a6b65d7e0f1e3a0a8b8f5&code=1f2e3d4c&fweb=1&cl=1")
QQ_HTML = f"""<div>领导您好，材料较大，已通过QQ邮箱发送。</div><div><br></div>
<div id="QQMailBigAttach" style="padding:2px;margin-bottom:15px;background-color:#e8f1f9;width:auto;">
<div style="padding:4px 10px 3px 10px;line-height:16px;"><b style="font-size:14px;">从QQ邮箱发来的超大附件</b></div>
<div style="background:#fff;padding:2px 8px;">
 <div style="clear:both;height:36px;padding:6px 4px;">
  <div style="float:left;"><a href="{QQ_URL.replace('&', '&amp;')}" target="_blank">
   <img src="https://rescdn.qqmail.com/zh_CN/htmledition/images/xdisk/ico_mid/fu_zip.gif" border="0"></a></div>
  <div><div style="padding:0 2px;">\
<a style="color:#000;" href="{QQ_URL.replace('&', '&amp;')}">藁城区总工会李喆创新工作室.zip</a></div>
   <div style="color:#a0a0a0;">1.2G, 2025年06月15日 18:30 到期</div>
   <a href="{QQ_URL.replace('&', '&amp;')}" target="_blank" style="color:#1d5494;">进入下载页面</a></div>
 </div></div></div>"""


def test_qq_mail_ftn_huge_attachment_html() -> None:
    raw = (b"From: 1234567@qq.com\r\nContent-Type: text/html; charset=\"gb18030\"\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(QQ_HTML, "gb18030"))
    assert links(raw) == (LargeAttachmentLink("藁城区总工会李喆创新工作室.zip", QQ_URL, "2025年06月15日 18:30"),)


def test_old_qq_ftnexs_link_in_plain_text() -> None:
    url = "http://mail.qq.com/cgi-bin/ftnExs_download?k=0e3d3c6a1b2&t=exs_ftn_download&code=7f8e9d0c"
    text = (f"从QQ邮箱发来的超大附件\n\n鹿泉区总工会材料.rar (356.20M, 2025年06月15日 18:30 到期)"
            f"进入下载页面：{url}）。")
    assert links(text_mail(text, b"7654321@qq.com")) == (LargeAttachmentLink("鹿泉区总工会材料.rar", url, "2025年06月15日 18:30"),)


def test_outlook_onedrive_and_sharepoint_links() -> None:
    one = "https://1drv.ms/u/s!AkzbC7Dv0pGfgQXqfz3kN9PEkcXh?e=Ab12Cd"
    sp = "https://hbgh-my.sharepoint.com/:u:/g/personal/wangkun_hbgh_onmicrosoft_com/EQx7abcDEF?e=4fGh"
    html = (f'<div class="elementToProof">材料较大，已上传 OneDrive，请下载：</div>'
            f'<div><a href="{one}" id="LPlnk581296" data-auth="NotApplicable">鹿泉区总工会王堃创新工作室材料.zip</a></div>'
            f'<div>视频：<a href="{sp}">{sp}</a> 链接30天内有效</div>'
            f'<div>本通知见 <a href="https://www.sjzgh.org.cn/notice/2025.html">市总工会网站</a></div>')
    raw = (b"From: wangkun@hbgh.partner.onmschina.cn\r\nContent-Type: text/html; charset=\"utf-8\"\r\n"
           b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + quopri.encodestring(html.encode()))
    assert links(raw) == (
        LargeAttachmentLink("鹿泉区总工会王堃创新工作室材料.zip", one, ""),
        LargeAttachmentLink("", sp, "30天"),
    )


def test_baidu_pan_share_in_text() -> None:
    text = "材料太大，用百度网盘发送：\n链接: https://pan.baidu.com/s/1AbCdEfGhIj?pwd=ab12 提取码: ab12\n--来自百度网盘超级会员v5的分享"
    assert links(text_mail(text)) == (LargeAttachmentLink("", "https://pan.baidu.com/s/1AbCdEfGhIj?pwd=ab12", ""),)


def test_marker_with_an_unknown_host_still_counts_that_link() -> None:
    text = ("从网易126邮箱发来的云附件\n辛集市总工会.7z (1.1G, 有效期至 2025-06-20)\n"
            "https://dl.new-host.126.net/d?id=abc")
    assert (links(text_mail(text, b"clerk@126.com"))
            == (LargeAttachmentLink("辛集市总工会.7z", "https://dl.new-host.126.net/d?id=abc", "2025-06-20"),))


def test_marker_without_any_link_still_reports_the_file() -> None:
    text = "从网易163邮箱发来的超大附件\n晋州市总工会材料.zip (88M, 2025年6月1日 08:00 到期)\n（转发时链接丢失）"
    assert links(text_mail(text)) == (LargeAttachmentLink("晋州市总工会材料.zip", "", "2025年6月1日 08:00"),)


def test_ordinary_mail_and_ordinary_links_give_nothing() -> None:
    html = '<p>通知见 <a href="https://www.sjzgh.org.cn/notice/2025.html">网站</a>，附件为材料.zip</p>'
    raw = b"From: clerk@163.com\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html.encode()
    assert links(raw) == ()
    assert links(SUBMISSION) == ()


@pytest.mark.parametrize("url", [
    "http://fs.163.com/fs/display/?p=X-NETEASE-HUGE-ATTACHMENT&file=Abc123",  # old 126/163 link
    "https://mail.126.com/large-attachment-download/index.html?p=X-NETEASE-HUGE-ATTACHMENT&file=x",
    "https://mail.126.com/cloud-attachment-download/?fid=abc&title=x",
    "https://mail.qq.com/cgi-bin/ftnExs_download?k=abc&t=exs_ftn_download&code=1",
    "https://wx.mail.qq.com/ftn/download?func=3&k=abc&key=def",
    "https://1drv.ms/f/s!AkzbC7Dv0pGf",
    "https://contoso-my.sharepoint.com/:f:/g/personal/a_b/Eabc?e=1",
    "https://pan.baidu.com/s/1AbC?pwd=x1y2",
])
def test_each_link_marker_is_recognised_without_any_heading(url: str) -> None:
    assert links(text_mail(f"材料在这里 {url} 请下载")) == (LargeAttachmentLink("", url, ""),)


def test_file_name_from_the_link_itself_when_the_text_has_none() -> None:
    url = "https://mail.126.com/cloud-attachment-download/?fid=abc&title=%E8%BE%9B%E9%9B%86.zip"
    assert links(text_mail(url)) == (LargeAttachmentLink("辛集.zip", url, ""),)
