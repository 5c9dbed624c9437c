"""Notices by e-mail over SMTP (``smtplib``), one message per delivery.

Each message carries a ``Message-ID`` derived from its delivery's dedupe key, so that a
receiving system can recognise a repeat. What the SMTP dialogue means for a retry: a failure
before the DATA command finished (connection refused, a 4xx answer) certainly sent nothing
and is retried; a 5xx answer is a refusal for good; a connection lost or a time-out while
the message was being transferred may have delivered it, so it is not resent blindly.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import NoReturn

from openoms.contacts.customers import mask_email
from openoms.notify.channels import (
    ChannelOutcomeUnknownError,
    ChannelRejectedError,
    ChannelUnavailableError,
    OutgoingMessage,
    Receipt,
)
from openoms.outages.notices import NoticeChannel

__all__ = ["EmailChannel", "SmtpOptions", "message_id_of"]


@dataclass(frozen=True, slots=True)
class SmtpOptions:
    host: str
    port: int = 25
    sender: str = "openoms@localhost"
    starttls: bool = False
    username: str = ""
    password: str = ""
    timeout_s: float = 10.0


def message_id_of(key: str, domain: str) -> str:
    """A stable ``Message-ID`` for a delivery key: the same delivery always has the same id."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}.notice@{domain}>"


class EmailChannel:
    """Sends each notice e-mail in its own SMTP session."""

    def __init__(self, options: SmtpOptions) -> None:
        self._options = options

    @property
    def channel(self) -> NoticeChannel:
        return NoticeChannel.EMAIL

    def _message(self, message: OutgoingMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self._options.sender
        email["To"] = message.recipient
        email["Subject"] = message.title or ""
        email["Date"] = formatdate(localtime=False)
        domain = self._options.sender.rpartition("@")[2] or "localhost"
        email["Message-ID"] = message_id_of(message.key, domain) if message.key else make_msgid()
        email["Content-Language"] = message.lang
        email.set_content(message.body, charset="utf-8")
        return email

    def send(self, message: OutgoingMessage) -> Receipt:
        options = self._options
        email = self._message(message)
        who = mask_email(message.recipient)
        try:
            smtp = smtplib.SMTP(options.host, options.port, timeout=options.timeout_s)
        except OSError as exc:
            raise ChannelUnavailableError(f"SMTP {options.host}:{options.port}: {exc}") from exc
        with smtp:
            try:
                smtp.ehlo()
                if options.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if options.username:
                    smtp.login(options.username, options.password)
                code, answer = smtp.mail(options.sender)
                if code != 250:
                    raise smtplib.SMTPSenderRefused(code, answer, options.sender)
                code, answer = smtp.rcpt(message.recipient)
                if code not in (250, 251):
                    raise smtplib.SMTPRecipientsRefused({message.recipient: (code, answer)})
            except smtplib.SMTPRecipientsRefused as exc:
                code, answer = next(iter(exc.recipients.values()))
                _refused(code, answer, f"recipient {who}")
            except smtplib.SMTPResponseException as exc:
                _refused(exc.smtp_code, exc.smtp_error, "SMTP")
            except (smtplib.SMTPException, OSError) as exc:
                raise ChannelUnavailableError(f"SMTP before the message: {exc}") from exc
            try:
                code, answer = smtp.data(email.as_bytes())
            except smtplib.SMTPResponseException as exc:
                _refused(exc.smtp_code, exc.smtp_error, "SMTP DATA")
            except (smtplib.SMTPException, OSError) as exc:
                raise ChannelOutcomeUnknownError(
                    f"SMTP connection lost while the message was sent: {exc}"
                ) from exc
            if code != 250:
                _refused(code, answer, "SMTP DATA")
        text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
        return Receipt(f"250 {text}".strip()[:300])


def _refused(code: int, answer: bytes | str, what: str) -> NoReturn:
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else answer
    if 400 <= code < 500:
        raise ChannelUnavailableError(f"{what}: {code} {text}")
    raise ChannelRejectedError(f"{what}: {code} {text}")
