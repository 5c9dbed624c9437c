"""Who is told: mobile phone numbers checked once at the edge and masked wherever shown.

Pure values shared by the store (duty rosters, the outbox), the notification channels and
the workflows; no I/O.
"""

from __future__ import annotations

from openoms.contacts.phone import BadPhoneError, mask_phone, normalize_phone

__all__ = ["BadPhoneError", "mask_phone", "normalize_phone"]
