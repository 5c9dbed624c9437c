"""Notifications: the crew SMS over SMPP 3.4, a persistent outbox and its worker.

Only the pure parts are imported here (templates, phone masking); the SMPP sender, the SMSC
simulator and the outbox worker are imported from their modules, so that importing this
package opens no socket and starts no thread.
"""

from openoms.contacts.phone import BadPhoneError, mask_phone, normalize_phone
from openoms.notify.sms import (
    CrewAlert,
    DeviceRef,
    SensitiveOff,
    outage_url,
    render_crew_sms,
    sms_segments,
)

__all__ = [
    "BadPhoneError",
    "CrewAlert",
    "DeviceRef",
    "SensitiveOff",
    "mask_phone",
    "normalize_phone",
    "outage_url",
    "render_crew_sms",
    "sms_segments",
]
