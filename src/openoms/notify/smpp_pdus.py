"""The SMPP 3.4 PDUs OpenOMS sends and reads, built and parsed without any I/O.

The codec itself is hat-drivers' ``hat.drivers.smpp.transport``; here is what OpenOMS puts in
the PDUs and takes out of them, for the session of :mod:`.smpp`:

- ``bind_transceiver``: submits go out and receipts come in on one session; ``system_type``
  and the address TON / NPI come from :class:`SmppOptions`.
- Text coding (:func:`encode_text`): a text whose every character has a form in the GSM 03.38
  default alphabet goes as GSM 7-bit (``data_coding`` 0, one septet per octet, the SMSC
  packs them), with ``{ } [ ] ~ ^ | \\ €`` and form feed as two septets (escape ``0x1B``
  and the character's code in the extension table); any other text as UCS-2
  (``data_coding`` 8, UTF-16BE, a character outside the BMP as its surrogate pair).
- Long texts (more than 160 septets / 70 UCS-2 units) go, by :attr:`SmppOptions.long_message`:
  ``payload``: whole in the ``message_payload`` TLV of one ``submit_sm`` (SMPP 3.4 §5.3.2.32;
  one message id); ``udh8`` / ``udh16``: as concatenated segments, each a ``submit_sm`` whose
  ``short_message`` starts with a user data header (IEI 0x00 with an 8-bit reference, or
  IEI 0x08 with a 16-bit one; ``esm_class`` UDHI); ``sar``: segments without a header,
  numbered by the ``sar_msg_ref_num`` / ``sar_total_segments`` / ``sar_segment_seqnum`` TLVs.
  Segment sizes (:func:`split_segments`): 153 septets or 67 UCS-2 units with an 8-bit
  reference (and with ``sar``, where the SMSC adds the header), 152 / 66 with a 16-bit one;
  an escape sequence or a surrogate pair is never split between segments.
- ``deliver_sm``: each delivery receipt is parsed (the ``receipted_message_id`` /
  ``message_state`` TLVs, else the ``id:… stat:…`` text) into a :class:`DeliveryReceipt`.
  SMSCs write message ids in hex in one place and decimal in the other; the outbox matches
  both forms (:func:`openoms.store.outbox.id_keys`).
- Command statuses: those worth retrying (:data:`TRANSIENT_STATUSES`), those that say the
  SMSC does not take ``message_payload`` (:data:`PAYLOAD_REFUSED_STATUSES`); any other error
  is permanent for the message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from hat.drivers.smpp import transport  # type: ignore[import-untyped,unused-ignore]

from openoms.contacts.phone import mask_phone
from openoms.notify.gsm7 import GSM7_ALPHABET, GSM7_EXTENSION, gsm7_decode, gsm7_encode

__all__ = [
    "GSM7_ALPHABET",
    "GSM7_EXTENSION",
    "PAYLOAD_REFUSED_STATUSES",
    "TRANSIENT_STATUSES",
    "DeliveryReceipt",
    "EncodedText",
    "LongMessage",
    "Segment",
    "SmppOptions",
    "bind_request",
    "describe",
    "encode_text",
    "gsm7_decode",
    "gsm7_encode",
    "is_delivery_receipt",
    "parse_receipt_text",
    "receipt_of",
    "split_segments",
    "submit_request",
    "submit_requests",
    "udh",
]

TRANSIENT_STATUSES: Final = frozenset(
    {
        "ESME_RTHROTTLED",
        "ESME_RMSGQFUL",
        "ESME_RSYSERR",
        "ESME_RSUBMITFAIL",
        "ESME_RUNKNOWNERR",
        "ESME_RX_T_APPN",
        "ESME_RINVBNDSTS",
        "ESME_RDELIVERYFAILURE",
    }
)
"""Command statuses worth retrying; any other error status is permanent for the message."""

PAYLOAD_REFUSED_STATUSES: Final = frozenset(
    {
        "ESME_RINVOPTPARSTREAM",  # 0xC0, ESME_RINVTLVSTREAM in SMPP 5.0
        "ESME_ROPTPARNOTALLWD",  # 0xC1
        "ESME_RINVPARLEN",  # 0xC2, ESME_RINVTLVLEN
        "ESME_RMISSINGOPTPARAM",  # 0xC3
        "ESME_RINVOPTPARAMVAL",  # 0xC4, ESME_RINVTLVVAL
        "ESME_RINVMSGLEN",  # some SMSCs: an empty short_message
        "ESME_RINVCMDLEN",
    }
)
"""Answers (``submit_sm_resp`` or ``generic_nack``) to a ``message_payload`` submit that mean
the SMSC does not take the TLV: the text is sent again as concatenated segments."""


class LongMessage(StrEnum):
    """How a text longer than one SMS goes to the SMSC (the ``smpp_long_message`` setting)."""

    PAYLOAD = "payload"  # message_payload TLV; segments if the SMSC refuses it
    UDH8 = "udh8"  # concatenated, UDH IEI 0x00 (8-bit reference)
    UDH16 = "udh16"  # concatenated, UDH IEI 0x08 (16-bit reference)
    SAR = "sar"  # concatenated, sar_* TLVs


@dataclass(frozen=True, slots=True)
class SmppOptions:
    """What the carrier asks of the PDUs: ``system_type`` of the bind, ``service_type`` and
    the TON / NPI of the source and destination addresses (SMPP 3.4 §5.2.5-6), and how long
    texts go (:class:`LongMessage`)."""

    system_type: str = ""
    service_type: str = ""
    source_ton: int = 0
    source_npi: int = 0
    dest_ton: int = 0
    dest_npi: int = 0
    long_message: LongMessage = LongMessage.PAYLOAD


@dataclass(frozen=True, slots=True, repr=False)
class DeliveryReceipt:
    """A delivery receipt: the SMSC's message id, its final ``stat``, and the recipient."""

    message_id: str
    stat: str  # DELIVRD, UNDELIV, REJECTD, EXPIRED, DELETED, ACCEPTD, ENROUTE, UNKNOWN
    recipient: str
    received_at: datetime
    error: str = ""

    def __repr__(self) -> str:
        return (
            f"DeliveryReceipt({self.message_id!r}, {self.stat}, to {mask_phone(self.recipient)}, "
            f"err {self.error or '-'})"
        )


_STATE_NAMES: Final = {
    "DELIVERED": "DELIVRD",
    "EXPIRED": "EXPIRED",
    "DELETED": "DELETED",
    "UNDELIVERABLE": "UNDELIV",
    "ACCEPTED": "ACCEPTD",
    "UNKNOWN": "UNKNOWN",
    "REJECTED": "REJECTD",
    "ENROUTE": "ENROUTE",
}

_RECEIPT_FIELDS: Final = re.compile(r"(id|stat|err):(\S*)", re.IGNORECASE)


def parse_receipt_text(text: str) -> dict[str, str]:
    """The ``id``, ``stat`` and ``err`` fields of a receipt text (SMPP 3.4 appendix B).

    >>> parse_receipt_text("id:7F sub:001 dlvrd:001 submit date:2501150802 stat:DELIVRD err:000")
    {'id': '7F', 'stat': 'DELIVRD', 'err': '000'}
    """
    return {k.lower(): v for k, v in _RECEIPT_FIELDS.findall(text)}


# -- text coding --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EncodedText:
    """A text as the SMSC gets it: ``data_coding`` (0 GSM 7-bit, 8 UCS-2) and its characters
    each as the octets that carry it (one or two septets; one UTF-16 unit or a surrogate
    pair), so that segments are cut between characters."""

    data_coding: int
    chars: tuple[bytes, ...]

    @property
    def data(self) -> bytes:
        return b"".join(self.chars)

    @property
    def single_limit(self) -> int:
        """Octets in one SMS without a header: 160 septets or 70 UCS-2 units."""
        return 160 if self.data_coding == 0 else 140


def encode_text(text: str) -> EncodedText:
    """GSM 7-bit when every character has a GSM form, else UCS-2 (UTF-16BE)."""
    gsm = gsm7_encode(text)
    if gsm is not None:
        return EncodedText(0, gsm)
    return EncodedText(8, tuple(char.encode("utf-16-be") for char in text))


@dataclass(frozen=True, slots=True)
class Segment:
    """One ``submit_sm`` of a concatenated text: its part (1-based) of ``total``."""

    seq: int
    total: int
    data: bytes  # the text's octets, without a header


def _capacity(coding: int, mode: LongMessage) -> int:
    """Octets of text per segment (UDH of 6 octets with an 8-bit reference, 7 with 16)."""
    if coding == 0:
        return 152 if mode is LongMessage.UDH16 else 153
    return 132 if mode is LongMessage.UDH16 else 134


def split_segments(encoded: EncodedText, mode: LongMessage) -> list[Segment]:
    """``encoded`` cut into segments for ``mode`` (never inside a character); one segment
    when it fits one SMS.

    >>> [len(s.data) // 2 for s in split_segments(encode_text("停" * 140), LongMessage.UDH8)]
    [67, 67, 6]
    """
    if len(encoded.data) <= encoded.single_limit:
        return [Segment(1, 1, encoded.data)]
    capacity = _capacity(encoded.data_coding, mode)
    parts: list[bytes] = []
    current = bytearray()
    for char in encoded.chars:
        if len(current) + len(char) > capacity:
            parts.append(bytes(current))
            current = bytearray()
        current += char
    if current:
        parts.append(bytes(current))
    if len(parts) > 255:
        raise ValueError(f"a text of {len(parts)} segments cannot be concatenated (255 at most)")
    return [Segment(i + 1, len(parts), data) for i, data in enumerate(parts)]


def udh(reference: int, seq: int, total: int, *, sixteen_bit: bool) -> bytes:
    """The user data header of a concatenated segment (3GPP TS 23.040 §9.2.3.24.1 / .8)."""
    if sixteen_bit:
        return bytes((6, 0x08, 4, (reference >> 8) & 0xFF, reference & 0xFF, total, seq))
    return bytes((5, 0x00, 3, reference & 0xFF, total, seq))


# -- PDUs ---------------------------------------------------------------------------------


def bind_request(system_id: str, password: str, options: SmppOptions | None = None) -> Any:
    """The ``bind_transceiver`` of ``system_id``."""
    options = options or SmppOptions()
    return transport.BindReq(
        bind_type=transport.BindType.TRANSCEIVER,
        system_id=system_id,
        password=password,
        system_type=options.system_type,
        interface_version=0x34,
        addr_ton=transport.TypeOfNumber.UNKNOWN,
        addr_npi=transport.NumericPlanIndicator.UNKNOWN,
        address_range="",
    )


def submit_request(
    *,
    source_addr: str,
    destination: str,
    data_coding: int,
    short_message: bytes = b"",
    payload: bytes | None = None,
    udhi: bool = False,
    sar: tuple[int, int, int] | None = None,
    options: SmppOptions | None = None,
) -> Any:
    """A ``submit_sm`` asking for a receipt: ``short_message`` (with a user data header when
    ``udhi``), or the whole text in ``payload`` (the ``message_payload`` TLV); ``sar``:
    (reference, total, seq) as the ``sar_*`` TLVs."""
    options = options or SmppOptions()
    params: dict[Any, Any] = {}
    if payload is not None:
        params[transport.OptionalParamTag.MESSAGE_PAYLOAD] = payload
    if sar is not None:
        reference, total, seq = sar
        params[transport.OptionalParamTag.SAR_MSG_REF_NUM] = reference & 0xFFFF
        params[transport.OptionalParamTag.SAR_TOTAL_SEGMENTS] = total
        params[transport.OptionalParamTag.SAR_SEGMENT_SEQNUM] = seq
    return transport.SubmitSmReq(
        service_type=options.service_type,
        source_addr_ton=transport.TypeOfNumber(options.source_ton),
        source_addr_npi=transport.NumericPlanIndicator(options.source_npi),
        source_addr=source_addr,
        dest_addr_ton=transport.TypeOfNumber(options.dest_ton),
        dest_addr_npi=transport.NumericPlanIndicator(options.dest_npi),
        destination_addr=destination,
        esm_class=transport.EsmClass(
            messaging_mode=transport.MessagingMode.DEFAULT,
            message_type=transport.MessageType.DEFAULT,
            gsm_features={transport.GsmFeature.UDHI} if udhi else set(),
        ),
        protocol_id=0,
        priority_flag=transport.Priority.BULK,
        schedule_delivery_time=None,
        validity_period=None,
        registered_delivery=transport.RegisteredDelivery(
            delivery_receipt=transport.DeliveryReceipt.RECEIPT,
            acknowledgements=set(),
            intermediate_notification=False,
        ),
        replace_if_present_flag=False,
        data_coding=transport.DataCoding(data_coding),
        sm_default_msg_id=0,
        short_message=short_message,
        optional_params=params,
    )


def submit_requests(
    text: str,
    *,
    source_addr: str,
    destination: str,
    mode: LongMessage,
    reference: int,
    options: SmppOptions | None = None,
) -> list[Any]:
    """The ``submit_sm`` PDUs of ``text`` for ``mode``: one for a text that fits one SMS or
    goes in ``message_payload``, else one per segment (``reference`` numbers them)."""
    encoded = encode_text(text)
    common: dict[str, Any] = {
        "source_addr": source_addr,
        "destination": destination,
        "data_coding": encoded.data_coding,
        "options": options,
    }
    if len(encoded.data) <= encoded.single_limit:
        return [submit_request(short_message=encoded.data, **common)]
    if mode is LongMessage.PAYLOAD:
        return [submit_request(payload=encoded.data, **common)]
    out = []
    for seg in split_segments(encoded, mode):
        if mode is LongMessage.SAR:
            out.append(
                submit_request(
                    short_message=seg.data, sar=(reference, seg.total, seg.seq), **common
                )
            )
        else:
            header = udh(reference, seg.seq, seg.total, sixteen_bit=mode is LongMessage.UDH16)
            out.append(submit_request(short_message=header + seg.data, udhi=True, **common))
    return out


def is_delivery_receipt(req: Any) -> bool:
    """Whether a ``deliver_sm`` is a delivery receipt (not a message from a handset)."""
    return bool(req.esm_class.message_type == transport.MessageType.DELIVERY_RECEIPT)


def receipt_of(req: Any, *, received_at: datetime) -> DeliveryReceipt | None:
    """The receipt a delivery-receipt ``deliver_sm`` carries; ``None`` without id or stat."""
    fields = parse_receipt_text(bytes(req.short_message).decode("latin-1"))
    params = req.optional_params
    tlv_id = params.get(transport.OptionalParamTag.RECEIPTED_MESSAGE_ID)
    tlv_state = params.get(transport.OptionalParamTag.MESSAGE_STATE)
    message_id = bytes(tlv_id).decode("ascii", "replace") if tlv_id else fields.get("id", "")
    stat = fields.get("stat") or (_STATE_NAMES.get(tlv_state.name, "") if tlv_state else "")
    if not message_id or not stat:
        return None
    return DeliveryReceipt(
        message_id=message_id,
        stat=stat.upper(),
        recipient=req.source_addr,
        received_at=received_at,
        error=fields.get("err", ""),
    )


def describe(reqs: Sequence[Any]) -> str:
    """How a text went, for the log: ``1 PDU`` / ``message_payload`` / ``3 segments (udh8)``."""
    if len(reqs) > 1:
        first = reqs[0]
        kind = (
            "sar"
            if transport.OptionalParamTag.SAR_MSG_REF_NUM in first.optional_params
            else ("udh16" if first.short_message[:2] == b"\x06\x08" else "udh8")
        )
        return f"{len(reqs)} segments ({kind})"
    if transport.OptionalParamTag.MESSAGE_PAYLOAD in reqs[0].optional_params:
        return "message_payload"
    return "1 PDU"
