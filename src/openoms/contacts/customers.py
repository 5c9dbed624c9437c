"""Customers with contact data, as the notice engine and the trouble-call analysis see them.

They come from an import: a CSV file now (:func:`parse_customers`), a CIS interface later.
The CSV has a header line with the columns of :data:`COLUMNS` (UTF-8; see docs/notices.md):

``account`` (unique), ``name``, ``phone`` (a mainland mobile number, normalised),
``email``, ``address``, ``street``, ``village``, ``element_id`` (the transformer area or HV
customer the account is supplied from), ``meter_id`` (optional, unique), ``lang`` (``zh-CN``
by default, or ``en``), ``channels`` (``sms;email``: how the customer wants notices; empty:
every channel it has contact data for), ``sensitive`` (yes / no).

Every bad row is a :class:`CustomerProblem` naming the file, row, column and value; a file
with any problem raises :class:`CustomerFileError` holding them all, so nothing is imported.
Whether each ``element_id`` exists in the network is checked by :func:`check_elements`
with the network's ids (the service and the CLI do it). Pure: no I/O.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from openoms.contacts.phone import BadPhoneError, mask_phone, normalize_phone
from openoms.errors import InputError

__all__ = [
    "COLUMNS",
    "Customer",
    "CustomerChannel",
    "CustomerFileError",
    "CustomerProblem",
    "check_elements",
    "mask_email",
    "normalize_address",
    "parse_customers",
]

COLUMNS: Final = (
    "account",
    "name",
    "phone",
    "email",
    "address",
    "street",
    "village",
    "element_id",
    "meter_id",
    "lang",
    "channels",
    "sensitive",
)
_REQUIRED: Final = ("account", "name", "address", "element_id")
_TRUE: Final = frozenset({"yes", "true", "1", "y", "是"})
_FALSE: Final = frozenset({"", "no", "false", "0", "n", "否"})
_LANGS: Final = {"": "zh-CN", "zh": "zh-CN", "zh-cn": "zh-CN", "en": "en"}
_EMAIL: Final = re.compile(r"[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\".]+")


class CustomerChannel(StrEnum):
    """The channels that reach one customer personally."""

    SMS = "sms"
    EMAIL = "email"


@dataclass(frozen=True, slots=True, repr=False)
class Customer:
    """One customer account with its contact data; the ``repr`` masks phone and e-mail."""

    account: str
    name: str
    phone: str | None
    email: str | None
    address: str
    street: str
    village: str
    element_id: str  # the transformer area or HV customer it is supplied from
    meter_id: str | None = None
    lang: str = "zh-CN"  # zh-CN | en
    channels: tuple[CustomerChannel, ...] = (CustomerChannel.SMS, CustomerChannel.EMAIL)
    sensitive: bool = False
    row: int = field(default=0, compare=False)  # the CSV line it came from (0: not a file)

    def __repr__(self) -> str:
        phone = mask_phone(self.phone) if self.phone else None
        email = mask_email(self.email) if self.email else None
        return (
            f"Customer({self.account}, {self.name}, {phone}, {email}, {self.element_id}, "
            f"channels={'+'.join(self.channels)}, sensitive={self.sensitive})"
        )


@dataclass(frozen=True, slots=True)
class CustomerProblem:
    """One thing wrong in a customer file, where it is, as a sentence."""

    file: str
    row: int  # 1 = the header line; 0 = the file as a whole
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        if not self.row:
            return f"{self.file}: {self.message}"
        shown = f" {self.value!r}" if self.value else ""
        return f"{self.file}:{self.row}: {self.column}{shown}: {self.message}"


class CustomerFileError(InputError):
    """A customer file with problems; nothing of it was imported."""

    def __init__(self, problems: Sequence[CustomerProblem]) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            super().__init__(f"customers not imported: {self.problems[0]}")
        else:
            lines = "\n".join(f"  {p}" for p in self.problems)
            super().__init__(f"customers not imported, {len(self.problems)} problem(s):\n{lines}")


def mask_email(value: str) -> str:
    """``zhang.san@example.cn`` → ``z***@example.cn``.

    >>> mask_email("zhang.san@example.cn")
    'z***@example.cn'
    """
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def normalize_address(value: str) -> str:
    """An address compared without blanks and case (subscriptions by address).

    >>> normalize_address(" 东风路 12 号 ")
    '东风路12号'
    """
    return re.sub(r"\s+", "", value).casefold()


def parse_customers(text: str, *, source: str) -> tuple[Customer, ...]:
    """Read and check a customer CSV; raise :class:`CustomerFileError` with every problem.

    ``source`` names the file in the problems. Duplicate accounts and meter ids are
    problems on every row after the first.
    """
    problems: list[CustomerProblem] = []
    customers: list[Customer] = []
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")), strict=True)
    line = 1
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise CustomerFileError(
                [
                    CustomerProblem(source, 1, c, "", "column missing from the header")
                    for c in missing
                ]
            )
        reader.fieldnames = header
        accounts: dict[str, int] = {}
        meters: dict[str, int] = {}
        line = reader.line_num + 1
        for record in reader:
            for column, seen in (("account", accounts), ("meter_id", meters)):
                key = (record.get(column) or "").strip()
                if not key:
                    continue
                if key in seen:
                    message = f"already on row {seen[key]}"
                    problems.append(CustomerProblem(source, line, column, key, message))
                else:
                    seen[key] = line
            customer = _row(source, line, record, problems)
            if customer is not None:
                customers.append(customer)
            line = reader.line_num + 1
    except csv.Error as exc:
        problems.append(CustomerProblem(source, line, "file", "", f"not valid CSV: {exc}"))
    if problems:
        raise CustomerFileError(
            sorted(
                problems,
                key=lambda p: (p.row, COLUMNS.index(p.column) if p.column in COLUMNS else 99),
            )
        )
    return tuple(customers)


def _row(
    source: str, n: int, record: dict[str | None, str | None], problems: list[CustomerProblem]
) -> Customer | None:
    before = len(problems)

    def value(column: str) -> str:
        return (record.get(column) or "").strip()

    def bad(column: str, message: str) -> None:
        shown = value(column)
        if column == "phone":
            shown = mask_phone(shown)
        problems.append(CustomerProblem(source, n, column, shown, message))

    if record.get(None):
        problems.append(
            CustomerProblem(source, n, "file", "", "more fields than the header has columns")
        )
    for column in _REQUIRED:
        if not value(column):
            bad(column, "empty")
    phone: str | None = None
    if value("phone"):
        try:
            phone = normalize_phone(value("phone"))
        except BadPhoneError as exc:
            bad("phone", str(exc))
    email = value("email") or None
    if email is not None and _EMAIL.fullmatch(email) is None:
        bad("email", "not an e-mail address (name@example.cn)")
    lang = _LANGS.get(value("lang").lower())
    if lang is None:
        bad("lang", "write zh-CN or en")
    channels: list[CustomerChannel] = []
    for part in (p.strip().lower() for p in re.split(r"[;,|]", value("channels"))):
        if not part:
            continue
        try:
            channel = CustomerChannel(part)
        except ValueError:
            bad("channels", f"unknown channel {part!r}: write sms, email or sms;email")
            continue
        if channel not in channels:
            channels.append(channel)
    if not value("channels"):
        channels = [
            c for c, have in ((CustomerChannel.SMS, phone), (CustomerChannel.EMAIL, email)) if have
        ]
    if CustomerChannel.SMS in channels and phone is None and not value("phone"):
        bad("channels", "sms asked for but the phone is empty")
    if CustomerChannel.EMAIL in channels and email is None and not value("email"):
        bad("channels", "email asked for but the email is empty")
    flag = value("sensitive").lower()
    if flag not in _TRUE | _FALSE:
        bad("sensitive", "write yes or no")
    if len(problems) > before:
        return None
    return Customer(
        account=value("account"),
        name=value("name"),
        phone=phone,
        email=email,
        address=value("address"),
        street=value("street"),
        village=value("village"),
        element_id=value("element_id"),
        meter_id=value("meter_id") or None,
        lang=lang or "zh-CN",
        channels=tuple(channels),
        sensitive=flag in _TRUE,
        row=n,
    )


def check_elements(
    customers: Sequence[Customer], element_ids: Collection[str], *, source: str, network: str
) -> None:
    """Raise :class:`CustomerFileError` naming every row whose ``element_id`` is not a
    transformer area or HV customer of the network (``element_ids``)."""
    problems = [
        CustomerProblem(
            source,
            c.row,
            "element_id",
            c.element_id,
            f"not a transformer area or HV customer of network {network!r}",
        )
        for c in customers
        if c.element_id not in element_ids
    ]
    if problems:
        raise CustomerFileError(problems)
