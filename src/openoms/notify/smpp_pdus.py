"""The SMPP 3.4 PDUs OpenOMS sends and reads, built and parsed without any I/O.

The codec itself is hat-drivers' ``hat.drivers.smpp.transport``; here is what OpenOMS puts in
the PDUs and takes out of them, for the session of :mod:`.smpp`:

- ``bind_transceiver``: submits go out and receipts come in on one session.
- ``submit_sm``: text that is plain ASCII goes with ``data_coding`` 0 (the SMSC default
  alphabet), anything else as UCS-2 (``data_coding`` 8, UTF-16BE). A text longer than one
  segment (160 ASCII / 70 UCS-2 characters) goes whole in the ``message_payload`` TLV in one
  ``submit_sm`` (SMPP 3.4 §5.3.2.32; hat encodes it): one submit, one message id, one receipt
  per SMS; the SMSC splits it for the handset. (An SMSC that refuses ``message_payload``
  would need UDH segments instead; not implemented.) ``registered_delivery`` asks for a
  receipt.
- ``deliver_sm``: each delivery receipt is parsed (the ``receipted_message_id`` /
  ``message_state`` TLVs, else the ``id:… stat:…`` text) into a :class:`DeliveryReceipt`.
- Command statuses: those worth retrying (:data:`TRANSIENT_STATUSES`); any other error is
  permanent for the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from hat.drivers.smpp import transport  # type: ignore[import-untyped,unused-ignore]

from openoms.contacts.phone import mask_phone

__all__ = [
    "TRANSIENT_STATUSES",
    "DeliveryReceipt",
    "bind_request",
    "encode_text",
    "is_delivery_receipt",
    "parse_receipt_text",
    "receipt_of",
    "submit_request",
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


_RECEIPT_FIELDS: Final = re.compile(r"(id|stat|err):(\S*)", re.IGNORECASE)


def parse_receipt_text(text: str) -> dict[str, str]:
    """The ``id``, ``stat`` and ``err`` fields of a receipt text (SMPP 3.4 appendix B).

    >>> parse_receipt_text("id:7F sub:001 dlvrd:001 submit date:2501150802 stat:DELIVRD err:000")
    {'id': '7F', 'stat': 'DELIVRD', 'err': '000'}
    """
    return {k.lower(): v for k, v in _RECEIPT_FIELDS.findall(text)}


def encode_text(text: str) -> tuple[Any, bytes, int]:
    """(data coding, bytes, characters per single segment)."""
    if text.isascii():
        return transport.DataCoding.DEFAULT, text.encode("ascii"), 160
    return transport.DataCoding.UCS2, text.encode("utf-16-be"), 140


def bind_request(system_id: str, password: str) -> Any:
    """The ``bind_transceiver`` of ``system_id``."""
    return transport.BindReq(
        bind_type=transport.BindType.TRANSCEIVER,
        system_id=system_id,
        password=password,
        system_type="",
        interface_version=0x34,
        addr_ton=transport.TypeOfNumber.UNKNOWN,
        addr_npi=transport.NumericPlanIndicator.UNKNOWN,
        address_range="",
    )


def submit_request(
    *, source_addr: str, destination: str, coding: Any, data: bytes, long: bool
) -> Any:
    """The ``submit_sm`` of ``data`` (encoded by :func:`encode_text`) asking for a receipt;
    ``long``: in the ``message_payload`` TLV rather than ``short_message``."""
    return transport.SubmitSmReq(
        service_type="",
        source_addr_ton=transport.TypeOfNumber.UNKNOWN,
        source_addr_npi=transport.NumericPlanIndicator.UNKNOWN,
        source_addr=source_addr,
        dest_addr_ton=transport.TypeOfNumber.UNKNOWN,
        dest_addr_npi=transport.NumericPlanIndicator.UNKNOWN,
        destination_addr=destination,
        esm_class=transport.EsmClass(
            messaging_mode=transport.MessagingMode.DEFAULT,
            message_type=transport.MessageType.DEFAULT,
            gsm_features=set(),
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
        data_coding=coding,
        sm_default_msg_id=0,
        short_message=b"" if long else data,
        optional_params={transport.OptionalParamTag.MESSAGE_PAYLOAD: data} if long else {},
    )


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
