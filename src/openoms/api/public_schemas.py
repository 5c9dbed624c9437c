"""What the public forms accept and answer: the supply lookup, the fault report and the
notice subscription (:mod:`openoms.api.routes.public_forms`).

Every answer is built from an allow-list: whether the supply is off, the public outage's id,
link and times; never a customer's name, phone number, e-mail or address. Inputs are checked
strictly (lengths, no control characters, a mainland mobile number) so that a hostile value
is refused with a 422 naming its field.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Final, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from openoms.api.schemas import printable, without_nul
from openoms.contacts.phone import BadPhoneError, normalize_phone
from openoms.errors import InputError

__all__ = [
    "CustomerNotFoundError",
    "LookupIn",
    "LookupOut",
    "PublicOutageRef",
    "PublicPlannedRef",
    "ReportIn",
    "ReportOut",
    "SubscriptionIn",
    "SubscriptionOut",
]

_KEY: Final = re.compile(r"[A-Za-z0-9_-]{8,64}")


class CustomerNotFoundError(InputError):
    """No customer with this account (or address) and this contact: the same answer for an
    unknown account as for a contact that is not the one registered."""

    def __init__(self) -> None:
        super().__init__(
            "no customer with this account or address and this contact; the contact must be "
            "the one registered with the utility"
        )


def _trimmed(text: str) -> str:
    text = text.strip()
    if not text:
        raise ValueError("must not be blank")
    return text


def _phone(text: str) -> str:
    try:
        return normalize_phone(text)
    except BadPhoneError:
        raise ValueError("is not a mainland mobile number (11 digits, 1…)") from None


def _key(text: str) -> str:
    if not _KEY.fullmatch(text):
        raise ValueError("must be 8 to 64 letters, digits, '-' or '_'")
    return text


Account = Annotated[str, Field(max_length=64), AfterValidator(printable), AfterValidator(_trimmed)]
Address = Annotated[str, Field(max_length=300), AfterValidator(printable), AfterValidator(_trimmed)]
AreaId = Annotated[str, Field(max_length=100), AfterValidator(printable), AfterValidator(_trimmed)]
Description = Annotated[
    str, Field(max_length=500), AfterValidator(without_nul), AfterValidator(_trimmed)
]
Phone = Annotated[str, Field(max_length=30), AfterValidator(_phone)]
Contact = Annotated[str, Field(max_length=254), AfterValidator(printable), AfterValidator(_trimmed)]
FormKey = Annotated[str, AfterValidator(_key)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class _Where(_In):
    account: Account | None = Field(default=None, description="The account number (户号).")
    address: Address | None = Field(
        default=None, description="The address as on the electricity bill."
    )

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.account is None) == (self.address is None):
            raise ValueError("give either account or address (one of them)")
        return self


class LookupIn(_Where):
    """Is my supply off? By account or by address (exactly one)."""


class PublicOutageRef(BaseModel):
    id: int
    kind: Literal["fault", "planned"]
    url: str = Field(description="The outage's public page (the link of the SMS).")
    started_at: datetime
    estimated_restoration_at: datetime | None = Field(description="UTC; null: not known yet.")
    estimated_restoration_local: str | None = Field(
        description="The same in the utility's zone, YYYY-MM-DD HH:MM."
    )


class PublicPlannedRef(BaseModel):
    id: int
    url: str
    starts_at: datetime
    ends_at: datetime
    starts_local: str
    ends_local: str


class LookupOut(BaseModel):
    status: Literal["affected", "not_affected", "not_found"] = Field(
        description="not_found: no customer has this account or address (nothing else said)."
    )
    message: str = Field(description="The answer as a sentence, in the language asked.")
    outage: PublicOutageRef | None = None
    planned: PublicPlannedRef | None = Field(
        default=None, description="The next planned outage booked for this supply, if any."
    )
    area_ref: str | None = Field(
        default=None,
        description="The transformer area to name in a fault report (not the customer).",
    )


class ReportIn(_In):
    """A fault report from the public: where (account, address or a transformer area), what,
    and optionally a phone number for a call back (stored for the dispatcher only)."""

    account: Account | None = None
    address: Address | None = None
    transformer_area: AreaId | None = Field(default=None, description="The area_ref of a lookup.")
    description: Description = Field(description="What is wrong, in a few words.")
    phone: Phone | None = Field(default=None, description="For a call back; never shown.")
    idempotency_key: FormKey | None = Field(
        default=None, description="The form's own id: sending it twice reports once."
    )

    @model_validator(mode="after")
    def _somewhere(self) -> Self:
        if self.account is None and self.address is None and self.transformer_area is None:
            raise ValueError("give an account, an address or a transformer_area")
        return self


class ReportOut(BaseModel):
    status: Literal["known_outage", "being_assessed"] = Field(
        description="known_outage: the place is off in an outage already known."
    )
    duplicate: bool = Field(description="This report was received before (same form id).")
    message: str
    outage: PublicOutageRef | None = None


class SubscriptionIn(_Where):
    """Subscribe to or unsubscribe from notices on one channel; ``contact`` must be the
    phone number (SMS) or e-mail address (e-mail) registered with the account."""

    channel: Literal["sms", "email"]
    contact: Contact
    subscribed: bool = Field(description="true: subscribe; false: unsubscribe.")


class SubscriptionOut(BaseModel):
    status: Literal["subscribed", "unsubscribed"]
    channel: Literal["sms", "email"]
    message: str
