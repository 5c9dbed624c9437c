"""Customers with contact data and their subscriptions (docs/notices.md).

An import replaces every customer at once, inside the caller's transaction: either the
whole file is in, or nothing changed. Subscriptions are kept across imports: a customer's
choice for a channel, by account or by address (the latest choice wins; a choice made for
the account wins over one made for its address). The trouble-call analysis looks customers
up by account and by meter id; the notice service by transformer area / HV customer.

Contact data is personal: nothing here logs a phone number or an e-mail address whole.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from openoms.contacts.customers import Customer, CustomerChannel, normalize_address
from openoms.errors import InputError
from openoms.store.tables import CustomerRow, CustomerSubscription

__all__ = [
    "SubscriptionScope",
    "UnknownCustomerError",
    "count_customers",
    "customer_by_account",
    "customer_by_meter",
    "customers_at_address",
    "customers_on_elements",
    "effective_channels",
    "list_customers",
    "replace_customers",
    "set_subscription",
]


class SubscriptionScope(StrEnum):
    ACCOUNT = "account"
    ADDRESS = "address"


class UnknownCustomerError(InputError):
    """No imported customer has this account or address."""

    def __init__(self, scope: SubscriptionScope, key: str) -> None:
        super().__init__(f"no customer with {scope} {key!r}")
        self.scope = scope
        self.key = key


def _customer(row: CustomerRow) -> Customer:
    return Customer(
        account=row.account,
        name=row.name,
        phone=row.phone,
        email=row.email,
        address=row.address,
        street=row.street,
        village=row.village,
        element_id=row.element_id,
        meter_id=row.meter_id,
        lang=row.lang,
        channels=tuple(CustomerChannel(c) for c in row.channels.split(";") if c),
        sensitive=row.sensitive,
    )


def replace_customers(
    session: Session, customers: Sequence[Customer], *, source: str, now: datetime
) -> int:
    """Replace every customer by ``customers`` (checked already); the number imported."""
    session.execute(delete(CustomerRow))
    session.add_all(
        CustomerRow(
            account=c.account,
            name=c.name,
            phone=c.phone,
            email=c.email,
            address=c.address,
            street=c.street,
            village=c.village,
            element_id=c.element_id,
            meter_id=c.meter_id,
            lang=c.lang,
            channels=";".join(c.channels),
            sensitive=c.sensitive,
            source=source[-300:],
            imported_at=now,
        )
        for c in customers
    )
    session.flush()
    return len(customers)


def customer_by_account(session: Session, account: str) -> Customer | None:
    row = session.scalars(select(CustomerRow).where(CustomerRow.account == account)).one_or_none()
    return None if row is None else _customer(row)


def customer_by_meter(session: Session, meter_id: str) -> Customer | None:
    row = session.scalars(select(CustomerRow).where(CustomerRow.meter_id == meter_id)).one_or_none()
    return None if row is None else _customer(row)


def customers_on_elements(session: Session, element_ids: Iterable[str]) -> list[Customer]:
    """Every customer supplied from one of ``element_ids``, by account."""
    ids = sorted(set(element_ids))
    rows: list[CustomerRow] = []
    for start in range(0, len(ids), 500):  # stay below any database's parameter limit
        chunk = ids[start : start + 500]
        rows += session.scalars(select(CustomerRow).where(CustomerRow.element_id.in_(chunk)))
    return [_customer(r) for r in sorted(rows, key=lambda r: r.account)]


def customers_at_address(session: Session, address: str) -> list[Customer]:
    """Every customer at ``address`` (compared without blanks and case)."""
    key = normalize_address(address)
    rows = session.scalars(select(CustomerRow).order_by(CustomerRow.account)).all()
    return [_customer(r) for r in rows if normalize_address(r.address) == key]


def list_customers(session: Session, *, element_id: str | None = None) -> list[Customer]:
    query = select(CustomerRow).order_by(CustomerRow.account)
    if element_id is not None:
        query = query.where(CustomerRow.element_id == element_id)
    return [_customer(r) for r in session.scalars(query)]


def count_customers(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(CustomerRow)) or 0


def set_subscription(
    session: Session,
    *,
    scope: SubscriptionScope,
    key: str,
    channel: CustomerChannel,
    subscribed: bool,
    now: datetime,
) -> int:
    """Record a customer's choice for ``channel`` by account or address; the number of
    customers it applies to (an unknown account or address is an error)."""
    if scope is SubscriptionScope.ACCOUNT:
        found = 1 if customer_by_account(session, key) is not None else 0
        stored = key
    else:
        found = len(customers_at_address(session, key))
        stored = normalize_address(key)
    if not found:
        raise UnknownCustomerError(scope, key)
    row = session.scalars(
        select(CustomerSubscription).where(
            CustomerSubscription.scope == scope.value,
            CustomerSubscription.key == stored,
            CustomerSubscription.channel == channel.value,
        )
    ).one_or_none()
    if row is None:
        session.add(
            CustomerSubscription(
                scope=scope.value, key=stored, channel=channel.value, subscribed=subscribed, at=now
            )
        )
    else:
        row.subscribed = subscribed
        row.at = now
    session.flush()
    return found


def effective_channels(
    session: Session, customers: Collection[Customer]
) -> dict[str, tuple[CustomerChannel, ...]]:
    """Per account: the channels to use, after its subscriptions, that it has contact data
    for. Starts from the imported ``channels``; an address choice, then an account choice
    (which wins) adds or removes a channel."""
    choices = session.scalars(select(CustomerSubscription)).all()
    by_scope: dict[tuple[str, str], dict[str, bool]] = {}
    for c in choices:
        by_scope.setdefault((c.scope, c.key), {})[c.channel] = c.subscribed
    out: dict[str, tuple[CustomerChannel, ...]] = {}
    for customer in customers:
        wanted: dict[str, bool] = dict.fromkeys(map(str, customer.channels), True)
        wanted.update(by_scope.get(("address", normalize_address(customer.address)), {}))
        wanted.update(by_scope.get(("account", customer.account), {}))
        usable = []
        for channel in CustomerChannel:
            if not wanted.get(channel.value, False):
                continue
            contact = customer.phone if channel is CustomerChannel.SMS else customer.email
            if contact:
                usable.append(channel)
        out[customer.account] = tuple(usable)
    return out
