"""The notice channels against real local servers: SMTP (aiosmtpd), a webhook receiver on
loopback standing in for the WeChat Work / DingTalk / Feishu robots, and the SMS outbox;
failures retried without duplicates, and nothing sent twice across a restart."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from openoms.notify.channels import (
    ChannelAdapter,
    ChannelOutcomeUnknownError,
    ChannelRejectedError,
    ChannelUnavailableError,
    OutgoingMessage,
)
from openoms.notify.email import EmailChannel, SmtpOptions, message_id_of
from openoms.notify.notice_sms import OutboxSmsChannel
from openoms.notify.webhooks import RobotTarget, WebhookChannel, dingtalk_sign, feishu_sign
from openoms.outages.notices import NoticeChannel
from openoms.service.context import ServiceContext
from openoms.service.notices import NoticeWorker, build_adapters, deliver_due, publish_notice
from openoms.store import notices as notice_store
from openoms.store.tables import OutboxMessage
from tests.notify.notice_helpers import Clock, import_customers, live, make_context, planned


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- SMTP ---------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """An aiosmtpd handler: answers the first ``fail_first`` DATA commands with ``code``."""

    fail_first: int = 0
    code: str = "451 4.3.0 try again later"
    received: list[Any] = field(default_factory=list)
    attempts: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.attempts += 1
        if self.attempts <= self.fail_first:
            return self.code
        self.received.append(envelope)
        return "250 2.0.0 queued as A1"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def message(key: str = "email:1001:a:b", recipient: str = "wang@example.cn") -> OutgoingMessage:
    return OutgoingMessage(
        key=key,
        channel=NoticeChannel.EMAIL,
        recipient=recipient,
        name="1001",
        title="停电通知：12月11日08:00至18:00",
        body="尊敬的客户（户号1001）：\n\n因线路检修……",
        lang="zh-CN",
    )


class TestEmail:
    def test_a_message_reaches_the_server_with_its_subject_in_chinese(
        self, mailbox: tuple[Mailbox, int]
    ) -> None:
        box, port = mailbox
        channel = EmailChannel(SmtpOptions("127.0.0.1", port, sender="notice@grid.example.cn"))
        receipt = channel.send(message())
        assert receipt.result.startswith("250")
        (envelope,) = box.received
        assert envelope.rcpt_tos == ["wang@example.cn"]
        assert envelope.mail_from == "notice@grid.example.cn"
        parsed = message_from_bytes(envelope.original_content)
        assert (
            str(make_header(decode_header(parsed["Subject"]))) == "停电通知：12月11日08:00至18:00"
        )
        assert parsed["Message-ID"] == message_id_of("email:1001:a:b", "grid.example.cn")
        body = parsed.get_payload(decode=True)
        assert isinstance(body, bytes)
        assert "因线路检修" in body.decode("utf-8")

    def test_a_temporary_refusal_is_retryable_and_a_permanent_one_is_not(
        self, mailbox: tuple[Mailbox, int]
    ) -> None:
        box, port = mailbox
        channel = EmailChannel(SmtpOptions("127.0.0.1", port))
        box.fail_first = 1
        with pytest.raises(ChannelUnavailableError, match="451"):
            channel.send(message())
        box.fail_first, box.attempts, box.code = 1, 0, "550 5.1.1 no such user"
        with pytest.raises(ChannelRejectedError, match="550"):
            channel.send(message())

    def test_no_server_is_retryable(self) -> None:
        channel = EmailChannel(SmtpOptions("127.0.0.1", free_port(), timeout_s=2.0))
        with pytest.raises(ChannelUnavailableError, match=r"SMTP 127\.0\.0\.1"):
            channel.send(message())


# --- webhook receiver -------------------------------------------------------------------------


@dataclass
class Receiver:
    """A robot endpoint on loopback: answers with ``script`` in turn (then the last entry),
    records every request (path, query, JSON body)."""

    script: list[tuple[int, dict[str, Any]]] = field(
        default_factory=lambda: [(200, {"errcode": 0, "errmsg": "ok"})]
    )
    delay_s: float = 0.0
    requests: list[tuple[str, dict[str, list[str]], dict[str, Any]]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/robot/send?access_token=abc"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            body = json.loads(self.rfile.read(length))
            parts = urlsplit(self.path)
            state.requests.append((parts.path, parse_qs(parts.query), body))
            n = len(state.requests)
            status, answer = state.script[min(n, len(state.script)) - 1]
            if state.delay_s:
                time.sleep(state.delay_s)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            return  # a client that gave up waiting (the time-out test)

    server = Server(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def robot(kind: NoticeChannel, url: str, secret: str = "") -> WebhookChannel:
    return WebhookChannel(kind, {"县调群": RobotTarget("县调群", kind, url, secret)}, timeout_s=2.0)


def robot_message(kind: NoticeChannel) -> OutgoingMessage:
    return OutgoingMessage(
        key=f"{kind}:县调群:x:y",
        channel=kind,
        recipient="县调群",
        name="县调群",
        title="停电通知：12月11日08:00至18:00",
        body="### 停电通知\n因线路检修……",
        lang="zh-CN",
    )


class TestRobots:
    def test_wecom_body(self, receiver: Receiver) -> None:
        robot(NoticeChannel.WECOM, receiver.url).send(robot_message(NoticeChannel.WECOM))
        ((_, query, body),) = receiver.requests
        assert body == {
            "msgtype": "markdown",
            "markdown": {"content": "### 停电通知\n因线路检修……"},
        }
        assert query == {"access_token": ["abc"]}

    def test_dingtalk_body_and_signature(self, receiver: Receiver) -> None:
        channel = robot(NoticeChannel.DINGTALK, receiver.url, secret="SECabc")
        channel.send(robot_message(NoticeChannel.DINGTALK))
        ((_, query, body),) = receiver.requests
        assert body == {
            "msgtype": "markdown",
            "markdown": {
                "title": "停电通知：12月11日08:00至18:00",
                "text": "### 停电通知\n因线路检修……",
            },
        }
        # The receiver checks the signature as DingTalk does: HMAC-SHA256 with the secret as
        # key over "timestamp\nsecret", Base64 (the query is URL-decoded by parse_qs).
        timestamp = query["timestamp"][0]
        expected = base64.b64encode(
            hmac.new(b"SECabc", f"{timestamp}\nSECabc".encode(), hashlib.sha256).digest()
        ).decode()
        assert query["sign"] == [expected]
        assert dingtalk_sign("SECabc", int(timestamp)) == expected
        assert query["access_token"] == ["abc"]

    def test_feishu_body_and_signature(self, receiver: Receiver) -> None:
        receiver.script = [(200, {"code": 0, "msg": "success", "data": {}})]
        channel = robot(NoticeChannel.FEISHU, receiver.url, secret="fs-secret")
        channel.send(robot_message(NoticeChannel.FEISHU))
        ((_, _, body),) = receiver.requests
        assert body["msg_type"] == "text"
        assert body["content"] == {"text": "### 停电通知\n因线路检修……"}
        # Feishu: the key is "timestamp\nsecret" and the message empty.
        key = f"{body['timestamp']}\nfs-secret".encode()
        expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        assert body["sign"] == expected == feishu_sign("fs-secret", int(body["timestamp"]))

    def test_answers_map_to_retry_refusal_or_unknown(self, receiver: Receiver) -> None:
        channel = robot(NoticeChannel.DINGTALK, receiver.url)
        receiver.script = [(503, {}), (200, {"errcode": 130101, "errmsg": "send too fast"})]
        with pytest.raises(ChannelUnavailableError, match="HTTP 503"):
            channel.send(robot_message(NoticeChannel.DINGTALK))
        with pytest.raises(ChannelUnavailableError, match="rate limited"):
            channel.send(robot_message(NoticeChannel.DINGTALK))
        receiver.script = [(200, {"errcode": 310000, "errmsg": "keywords not in content"})]
        receiver.requests.clear()
        with pytest.raises(ChannelRejectedError, match="310000"):
            channel.send(robot_message(NoticeChannel.DINGTALK))
        receiver.delay_s = 3.0  # longer than the client's 2 s: it may have been posted
        with pytest.raises(ChannelOutcomeUnknownError):
            channel.send(robot_message(NoticeChannel.DINGTALK))


# --- the whole path: publish, deliver, fail, retry, restart -----------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock()


def robot_context(
    engine: Engine,
    sessions: sessionmaker[Session],
    clock: Clock,
    receiver: Receiver,
    smtp_port: int,
) -> ServiceContext:
    import_customers(sessions)
    return make_context(
        engine,
        sessions,
        clock,
        notice_hold_s=0.0,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        notice_robots=[
            {"name": "县调群", "kind": "wecom", "url": receiver.url},
            {"name": "抢修群", "kind": "feishu", "url": receiver.url, "secret": "s"},
        ],
    )


def test_failures_are_retried_after_a_back_off_and_nothing_goes_twice(
    engine: Engine,
    sessions: sessionmaker[Session],
    clock: Clock,
    receiver: Receiver,
    mailbox: tuple[Mailbox, int],
) -> None:
    box, port = mailbox
    context = robot_context(engine, sessions, clock, receiver, port)
    adapters: dict[NoticeChannel, ChannelAdapter] = build_adapters(context)
    with sessions.begin() as session:
        publish_notice(context, session, planned("planned:1", 0, 10, ("TA1",)), now=clock.now)
    receiver.script = [(503, {}), (200, {"errcode": 0, "errmsg": "ok"})]
    box.fail_first = 1  # the first e-mail is refused with 451
    first = deliver_due(context, adapters)
    # Robots in turn: Feishu's post is answered 503 → retry; WeCom's ok. E-mail to
    # 1001: 451 → retry; to 1003: accepted. SMS ×2 into the outbox, media ×2.
    assert first.retried == 2
    again = deliver_due(context, adapters)  # the back-off (30 s) has not passed: nothing
    assert again.sent == 0
    clock.advance(seconds=31)
    second = deliver_due(context, adapters)
    assert second.sent == 2
    assert second.retried == 0
    clock.advance(minutes=10)
    assert deliver_due(context, adapters).sent == 0
    # Every recipient got exactly one message.
    wecom_posts = [r for r in receiver.requests if "msgtype" in r[2]]
    feishu_posts = [r for r in receiver.requests if "msg_type" in r[2]]
    assert len(feishu_posts) == 2  # the 503, then the one that went through
    assert len(wecom_posts) == 1
    assert sorted(e.rcpt_tos[0] for e in box.received) == ["anna@example.com", "wang@example.cn"]
    with sessions() as session:
        states = {
            (d.channel, d.account or d.recipient): (d.state, d.attempts) for d in live(session)
        }
        outbox_rows = session.scalar(select(func.count()).select_from(OutboxMessage))
    assert states[("feishu", "抢修群")] == ("sent", 2)
    assert states[("wecom", "县调群")] == ("sent", 1)
    assert states[("email", "1001")] == ("sent", 2)
    assert states[("email", "1003")] == ("sent", 1)
    assert outbox_rows == 2  # 1001 and 1002 by SMS, once each


def test_a_restart_never_sends_twice(
    engine: Engine,
    sessions: sessionmaker[Session],
    clock: Clock,
    receiver: Receiver,
    mailbox: tuple[Mailbox, int],
) -> None:
    box, port = mailbox
    context = robot_context(engine, sessions, clock, receiver, port)
    subject = planned("planned:1", 0, 10, ("TA1",))
    with sessions.begin() as session:
        publish_notice(context, session, subject, now=clock.now)
    # A process claims the e-mail deliveries (committing "sending") and dies before sending.
    with sessions.begin() as session:
        claimed = notice_store.claim_due(session, now=clock.now, limit=10, channels=["email"])
    assert len(claimed) == 2
    # The next process starts: those may have gone out, so they are unconfirmed, not resent.
    worker = NoticeWorker(context, build_adapters(context), poll_s=0.05)
    worker.start()
    try:
        assert sorted(worker.recovered) == sorted(d.id for d in claimed)
        # It publishes the same subject again (the planner's retry) and delivers.
        with sessions.begin() as session:
            again = publish_notice(context, session, subject, now=clock.now)
        assert again.deliveries == 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with sessions() as session:
                if all(d.state != "pending" for d in live(session)):
                    break
            time.sleep(0.05)
    finally:
        worker.stop()
    assert box.received == []  # the interrupted e-mails were not resent blindly
    with sessions() as session:
        states = sorted((d.channel, d.state) for d in live(session))
    assert states == [
        ("broadcast", "sent"),
        ("email", "unconfirmed"),
        ("email", "unconfirmed"),
        ("feishu", "sent"),
        ("sms", "sent"),
        ("sms", "sent"),
        ("wecom", "sent"),
        ("weibo", "sent"),
    ]
    assert len(receiver.requests) == 2  # one per robot


def test_an_sms_handed_over_twice_is_queued_once(
    engine: Engine, sessions: sessionmaker[Session], clock: Clock
) -> None:
    # A crash after the enqueue and before the delivery's "sent": the retry finds the row.
    channel = OutboxSmsChannel(sessions, clock=clock)
    sms = OutgoingMessage(
        "sms:1001:a:b", NoticeChannel.SMS, "13800001001", "1001", None, "【供电公司】…", "zh-CN"
    )
    first = channel.send(sms)
    second = channel.send(sms)
    assert first.outbox_id == second.outbox_id
    assert second.result.startswith("already in the SMS outbox")
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
