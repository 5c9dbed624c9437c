"""Notices to WeChat Work (企业微信), DingTalk (钉钉) and Feishu (飞书) group robots.

Each robot is a webhook URL (and, for DingTalk and Feishu, an optional signing secret);
one notice is one message to each configured group, not one per customer. The bodies are
the robots' documented JSON formats:

- WeChat Work: ``{"msgtype": "markdown", "markdown": {"content": ...}}``;
- DingTalk: ``{"msgtype": "markdown", "markdown": {"title": ..., "text": ...}}``; with a
  secret, ``timestamp`` (ms) and ``sign`` = Base64(HMAC-SHA256(secret,
  ``"{timestamp}\\n{secret}"``)) are added to the query;
- Feishu: ``{"msg_type": "text", "content": {"text": ...}}``; with a secret, ``timestamp``
  (s) and ``sign`` = Base64(HMAC-SHA256(key ``"{timestamp}\\n{secret}"``, empty message))
  are added to the body.

All three answer HTTP 200 with an error code in the body (``errcode`` / ``code``; 0 is
success). A rate-limit code, HTTP 429 or 5xx, or a failed connection is retried; any other
code is a refusal; a time-out after the request left may have posted it (not resent).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import httpx

from openoms.notify.channels import (
    ChannelOutcomeUnknownError,
    ChannelRejectedError,
    ChannelUnavailableError,
    OutgoingMessage,
    Receipt,
)
from openoms.outages.notices import NoticeChannel

__all__ = ["RobotTarget", "WebhookChannel", "dingtalk_sign", "feishu_sign", "robot_payload"]

# Answers that mean "too fast, try later" (WeCom 45009, DingTalk 130101, Feishu 9499 / 11232).
_RATE_LIMITED: Final = frozenset({45009, 130101, 9499, 11232})


@dataclass(frozen=True, slots=True, repr=False)
class RobotTarget:
    """One group robot: its webhook URL (a secret in itself) and optional signing secret."""

    name: str
    kind: NoticeChannel  # wecom | dingtalk | feishu
    url: str
    secret: str = ""
    lang: str = "zh-CN"

    def __repr__(self) -> str:
        return f"RobotTarget({self.name!r}, {self.kind})"


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature of a request at ``timestamp_ms``, Base64 (URL-encode it)."""
    text = f"{timestamp_ms}\n{secret}".encode()
    return base64.b64encode(hmac.new(secret.encode(), text, hashlib.sha256).digest()).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's signature of a request at ``timestamp_s`` (the key is the string to sign)."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def robot_payload(
    target: RobotTarget, message: OutgoingMessage, *, at: datetime
) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON body and the extra query parameters of one robot message."""
    if target.kind is NoticeChannel.WECOM:
        return {"msgtype": "markdown", "markdown": {"content": message.body}}, {}
    if target.kind is NoticeChannel.DINGTALK:
        body = {
            "msgtype": "markdown",
            "markdown": {"title": message.title or "", "text": message.body},
        }
        if not target.secret:
            return body, {}
        ms = int(at.timestamp() * 1000)
        return body, {"timestamp": str(ms), "sign": dingtalk_sign(target.secret, ms)}
    if target.kind is NoticeChannel.FEISHU:
        payload: dict[str, Any] = {"msg_type": "text", "content": {"text": message.body}}
        if target.secret:
            seconds = int(at.timestamp())
            payload = {
                "timestamp": str(seconds),
                "sign": feishu_sign(target.secret, seconds),
                **payload,
            }
        return payload, {}
    raise ValueError(f"{target.kind} is not a group robot")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class WebhookChannel:
    """Posts notices to the group robots of one kind; the delivery's recipient names the
    robot (``targets`` by name)."""

    def __init__(
        self,
        kind: NoticeChannel,
        targets: Mapping[str, RobotTarget],
        *,
        client: httpx.Client | None = None,
        timeout_s: float = 10.0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._kind = kind
        self._targets = dict(targets)
        self._client = client or httpx.Client(timeout=timeout_s)
        self._clock = clock

    @property
    def channel(self) -> NoticeChannel:
        return self._kind

    def close(self) -> None:
        self._client.close()

    def send(self, message: OutgoingMessage) -> Receipt:
        target = self._targets.get(message.recipient)
        if target is None:
            raise ChannelRejectedError(f"no {self._kind} robot named {message.recipient!r}")
        body, query = robot_payload(target, message, at=self._clock())
        url = httpx.URL(target.url)
        if query:  # added to the URL's own (access_token=…), not replacing it
            url = url.copy_merge_params(query)
        try:
            response = self._client.post(url, json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise ChannelUnavailableError(f"{target.name}: {exc!r}") from exc
        except httpx.HTTPError as exc:  # the request left: it may have been posted
            raise ChannelOutcomeUnknownError(f"{target.name}: {exc!r}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise ChannelUnavailableError(f"{target.name}: HTTP {response.status_code}")
        if response.status_code != 200:
            raise ChannelRejectedError(f"{target.name}: HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError as exc:
            raise ChannelOutcomeUnknownError(f"{target.name}: not a JSON answer") from exc
        code = answer.get("errcode", answer.get("code", answer.get("StatusCode")))
        text = answer.get("errmsg", answer.get("msg", ""))
        if code == 0:
            return Receipt(f"{target.name}: ok")
        if isinstance(code, int) and code in _RATE_LIMITED:
            raise ChannelUnavailableError(f"{target.name}: rate limited ({code} {text})")
        raise ChannelRejectedError(f"{target.name}: refused ({code} {text})")
