"""Payments: what one payment attempt is, what an event says about it, and how what we know grows. No I/O.

Events arrive late, twice and out of order (the provider's webhooks, WhatsApp's payment statuses, our own refund
calls), so what we know of a payment is a merge that gives the same result in any order and for any repeat:
- its state is the highest seen, in the order CREATED < PENDING < FAILED < CAPTURED (a capture after a failure
  is a late authorisation and wins; nothing moves a captured payment back);
- each refund is kept by the provider's refund id with the highest state seen (PENDING < FAILED < PROCESSED);
- the first invoice named sticks (a payment first seen without one gets it from a later event);
- the earliest creation and capture times stick.
An invoice's paid amount is then recomputed from all its payments (captured, less processed refunds): a payment
counted twice is impossible by construction."""

from __future__ import annotations

import dataclasses
import enum
import re
from dataclasses import dataclass

ID = re.compile(r"^[A-Za-z0-9_]{1,64}$")  # a provider's payment id, e.g. Razorpay's `pay_29QQoUBi66xm2f`


class PaymentState(enum.IntEnum):
    CREATED = 1
    PENDING = 2
    FAILED = 3
    CAPTURED = 4


class RefundState(enum.IntEnum):
    PENDING = 1
    FAILED = 2
    PROCESSED = 3


class Flag(enum.Enum):
    UNKNOWN_INVOICE = "UNKNOWN_INVOICE"
    ALREADY_PAID = "ALREADY_PAID"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"


@dataclass(frozen=True)
class Refund:
    id: str
    amount: int
    state: RefundState
    reason: str = ""
    create_time: float = 0


@dataclass(frozen=True)
class Observation:
    """What one event says about one payment."""

    payment_id: str
    state: PaymentState | None = None  # None: the event says nothing of the payment's own state
    amount: int = 0
    currency: str = "INR"
    invoice: str = ""  # our invoice id, when the event names one
    method: str = ""
    provider: str = "razorpay"
    error_code: str = ""
    error_description: str = ""
    create_time: float | None = None
    capture_time: float | None = None
    refunds: tuple[Refund, ...] = ()


@dataclass(frozen=True)
class Payment:
    id: str
    state: PaymentState
    amount: int
    currency: str = "INR"
    invoice: str = ""
    provider: str = "razorpay"
    method: str = ""
    refunds: tuple[Refund, ...] = ()
    error_code: str = ""
    error_description: str = ""
    create_time: float | None = None
    capture_time: float | None = None
    update_time: float = 0
    event_count: int = 0
    already_paid: bool = False  # set by settle(): captured when other payments had paid the invoice in full
    receipt: str = ""  # "" | DUE (captured for a known invoice: a receipt is owed) | SENT | REFUSED
    version: int = 0

    @property
    def name(self) -> str:
        return f"payments/{self.id}"

    @property
    def refunded(self) -> int:
        return sum(r.amount for r in self.refunds if r.state is RefundState.PROCESSED)

    @property
    def refundable(self) -> int:
        """What may still be refunded: captured less refunds processed or pending."""
        if self.state is not PaymentState.CAPTURED:
            return 0
        return self.amount - sum(r.amount for r in self.refunds if r.state is not RefundState.FAILED)

    @property
    def net(self) -> int:
        """What this payment leaves with the business: captured less refunded."""
        return self.amount - self.refunded if self.state is PaymentState.CAPTURED else 0

    @property
    def flags(self) -> list[Flag]:
        out = []
        if not self.invoice:
            out.append(Flag.UNKNOWN_INVOICE)
        if self.already_paid:
            out.append(Flag.ALREADY_PAID)
        if self.currency != "INR":
            out.append(Flag.CURRENCY_MISMATCH)
        return out

    def display_state(self) -> str:
        if self.state is PaymentState.CAPTURED and self.refunded:
            return "REFUNDED" if self.refunded >= self.amount else "PARTIALLY_REFUNDED"
        return self.state.name


def _earliest(a: float | None, b: float | None) -> float | None:
    known = [t for t in (a, b) if t is not None]
    return min(known) if known else None


def merge_refunds(mine: tuple[Refund, ...], seen: tuple[Refund, ...]) -> tuple[Refund, ...]:
    by_id = {r.id: r for r in mine}
    for r in seen:
        old = by_id.get(r.id)
        if old is None:
            by_id[r.id] = r
        else:
            by_id[r.id] = dataclasses.replace(
                old,
                state=max(old.state, r.state),
                amount=old.amount or r.amount,
                reason=old.reason or r.reason,
                create_time=old.create_time or r.create_time,
            )
    return tuple(sorted(by_id.values(), key=lambda r: r.id))


def merge(current: Payment | None, seen: Observation, now: float) -> Payment:
    """What we know after one more event (see the module's rules). Commutative and idempotent in `seen`."""
    if current is None:
        current = Payment(id=seen.payment_id, state=seen.state or PaymentState.CREATED, amount=seen.amount)
    state = max(current.state, seen.state) if seen.state is not None else current.state
    moved_to_failure = seen.state is PaymentState.FAILED and state is PaymentState.FAILED
    return dataclasses.replace(
        current,
        state=state,
        amount=current.amount or seen.amount,
        currency=current.currency if current.amount else seen.currency,
        invoice=current.invoice or seen.invoice,
        provider=current.provider or seen.provider,
        method=current.method or seen.method,
        refunds=merge_refunds(current.refunds, seen.refunds),
        error_code=current.error_code or (seen.error_code if moved_to_failure else ""),
        error_description=current.error_description or (seen.error_description if moved_to_failure else ""),
        create_time=_earliest(current.create_time, seen.create_time),
        capture_time=_earliest(current.capture_time, seen.capture_time),  # read only once captured
        update_time=now,
        event_count=current.event_count + 1,
        receipt=current.receipt
        or ("DUE" if state is PaymentState.CAPTURED and (current.invoice or seen.invoice) else ""),
        version=current.version + 1,
    )


@dataclass(frozen=True)
class PaymentLink:
    """A payment request at the provider (Razorpay's Payment Link `plink_...`) for an invoice."""

    id: str
    invoice: str
    amount: int
    provider_url: str  # the provider's hosted page
    tracked_url: str = ""  # our tracked short link to it
    create_time: float = 0
    expire_time: float | None = None


@dataclass(frozen=True)
class ProviderPayment:
    """A payment as the provider's records have it."""

    id: str
    state: str  # the provider's status: created, authorized, captured, refunded, failed
    amount: int
    amount_refunded: int
    currency: str
    invoice: str = ""
    create_time: float = 0


@dataclass(frozen=True)
class Recorded:
    """What record() did: the payment as it is now, whether the event was a repeat, whether it moved."""

    payment: Payment | None
    duplicate: bool
    before: Payment | None = None

    @property
    def newly_captured(self) -> bool:
        return (
            self.payment is not None
            and self.payment.state is PaymentState.CAPTURED
            and (self.before is None or self.before.state is not PaymentState.CAPTURED)
        )


def settle(total_owed: int, payments: list[Payment]) -> tuple[int, set[str]]:
    """An invoice's paid amount (captured less refunded, over all its payments) and the ids of payments captured
    when the others had already paid it in full: in capture order (the provider stamps it to the second; payments
    of the same second in id order), so the same answer in any arrival order. An overpaid invoice is reported by
    the reconciliation whether or not a payment carries the flag."""
    captured = sorted(
        (p for p in payments if p.state is PaymentState.CAPTURED), key=lambda p: (p.capture_time or 0, p.id)
    )
    paid, extra, running = 0, set(), 0
    for p in captured:
        if running >= total_owed:
            extra.add(p.id)
        running += p.amount
        paid += p.net
    return paid, extra
