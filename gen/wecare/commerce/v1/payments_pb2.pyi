import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from wecare.commerce.v1 import invoices_pb2 as _invoices_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PaymentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_STATE_UNSPECIFIED: _ClassVar[PaymentState]
    PAYMENT_STATE_CREATED: _ClassVar[PaymentState]
    PAYMENT_STATE_PENDING: _ClassVar[PaymentState]
    PAYMENT_STATE_FAILED: _ClassVar[PaymentState]
    PAYMENT_STATE_CAPTURED: _ClassVar[PaymentState]
    PAYMENT_STATE_PARTIALLY_REFUNDED: _ClassVar[PaymentState]
    PAYMENT_STATE_REFUNDED: _ClassVar[PaymentState]

class PaymentFlag(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_FLAG_UNSPECIFIED: _ClassVar[PaymentFlag]
    PAYMENT_FLAG_UNKNOWN_INVOICE: _ClassVar[PaymentFlag]
    PAYMENT_FLAG_ALREADY_PAID: _ClassVar[PaymentFlag]
    PAYMENT_FLAG_CURRENCY_MISMATCH: _ClassVar[PaymentFlag]

class RefundState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REFUND_STATE_UNSPECIFIED: _ClassVar[RefundState]
    REFUND_STATE_PENDING: _ClassVar[RefundState]
    REFUND_STATE_FAILED: _ClassVar[RefundState]
    REFUND_STATE_PROCESSED: _ClassVar[RefundState]

class PaymentEventSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_EVENT_SOURCE_UNSPECIFIED: _ClassVar[PaymentEventSource]
    PAYMENT_EVENT_SOURCE_PROVIDER: _ClassVar[PaymentEventSource]
    PAYMENT_EVENT_SOURCE_WHATSAPP: _ClassVar[PaymentEventSource]

class PaymentEventOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_EVENT_OUTCOME_UNSPECIFIED: _ClassVar[PaymentEventOutcome]
    PAYMENT_EVENT_OUTCOME_APPLIED: _ClassVar[PaymentEventOutcome]
    PAYMENT_EVENT_OUTCOME_DUPLICATE: _ClassVar[PaymentEventOutcome]
    PAYMENT_EVENT_OUTCOME_IGNORED: _ClassVar[PaymentEventOutcome]
    PAYMENT_EVENT_OUTCOME_REJECTED: _ClassVar[PaymentEventOutcome]

class MismatchKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MISMATCH_KIND_UNSPECIFIED: _ClassVar[MismatchKind]
    MISMATCH_KIND_MISSING_HERE: _ClassVar[MismatchKind]
    MISMATCH_KIND_MISSING_AT_PROVIDER: _ClassVar[MismatchKind]
    MISMATCH_KIND_STATE: _ClassVar[MismatchKind]
    MISMATCH_KIND_AMOUNT: _ClassVar[MismatchKind]
    MISMATCH_KIND_UNKNOWN_INVOICE: _ClassVar[MismatchKind]
    MISMATCH_KIND_OVERPAID: _ClassVar[MismatchKind]
    MISMATCH_KIND_INVOICE_UNSETTLED: _ClassVar[MismatchKind]
PAYMENT_STATE_UNSPECIFIED: PaymentState
PAYMENT_STATE_CREATED: PaymentState
PAYMENT_STATE_PENDING: PaymentState
PAYMENT_STATE_FAILED: PaymentState
PAYMENT_STATE_CAPTURED: PaymentState
PAYMENT_STATE_PARTIALLY_REFUNDED: PaymentState
PAYMENT_STATE_REFUNDED: PaymentState
PAYMENT_FLAG_UNSPECIFIED: PaymentFlag
PAYMENT_FLAG_UNKNOWN_INVOICE: PaymentFlag
PAYMENT_FLAG_ALREADY_PAID: PaymentFlag
PAYMENT_FLAG_CURRENCY_MISMATCH: PaymentFlag
REFUND_STATE_UNSPECIFIED: RefundState
REFUND_STATE_PENDING: RefundState
REFUND_STATE_FAILED: RefundState
REFUND_STATE_PROCESSED: RefundState
PAYMENT_EVENT_SOURCE_UNSPECIFIED: PaymentEventSource
PAYMENT_EVENT_SOURCE_PROVIDER: PaymentEventSource
PAYMENT_EVENT_SOURCE_WHATSAPP: PaymentEventSource
PAYMENT_EVENT_OUTCOME_UNSPECIFIED: PaymentEventOutcome
PAYMENT_EVENT_OUTCOME_APPLIED: PaymentEventOutcome
PAYMENT_EVENT_OUTCOME_DUPLICATE: PaymentEventOutcome
PAYMENT_EVENT_OUTCOME_IGNORED: PaymentEventOutcome
PAYMENT_EVENT_OUTCOME_REJECTED: PaymentEventOutcome
MISMATCH_KIND_UNSPECIFIED: MismatchKind
MISMATCH_KIND_MISSING_HERE: MismatchKind
MISMATCH_KIND_MISSING_AT_PROVIDER: MismatchKind
MISMATCH_KIND_STATE: MismatchKind
MISMATCH_KIND_AMOUNT: MismatchKind
MISMATCH_KIND_UNKNOWN_INVOICE: MismatchKind
MISMATCH_KIND_OVERPAID: MismatchKind
MISMATCH_KIND_INVOICE_UNSETTLED: MismatchKind

class Payment(_message.Message):
    __slots__ = ("name", "invoice", "state", "amount_paise", "amount_refunded_paise", "currency_code", "provider", "method", "flags", "refunds", "error_code", "error_description", "create_time", "capture_time", "update_time", "event_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PAISE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_REFUNDED_PAISE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_CODE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    REFUNDS_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    invoice: str
    state: PaymentState
    amount_paise: int
    amount_refunded_paise: int
    currency_code: str
    provider: str
    method: str
    flags: _containers.RepeatedScalarFieldContainer[PaymentFlag]
    refunds: _containers.RepeatedCompositeFieldContainer[Refund]
    error_code: str
    error_description: str
    create_time: _timestamp_pb2.Timestamp
    capture_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    event_count: int
    def __init__(self, name: _Optional[str] = ..., invoice: _Optional[str] = ..., state: _Optional[_Union[PaymentState, str]] = ..., amount_paise: _Optional[int] = ..., amount_refunded_paise: _Optional[int] = ..., currency_code: _Optional[str] = ..., provider: _Optional[str] = ..., method: _Optional[str] = ..., flags: _Optional[_Iterable[_Union[PaymentFlag, str]]] = ..., refunds: _Optional[_Iterable[_Union[Refund, _Mapping]]] = ..., error_code: _Optional[str] = ..., error_description: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., capture_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event_count: _Optional[int] = ...) -> None: ...

class Refund(_message.Message):
    __slots__ = ("id", "amount_paise", "state", "reason", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PAISE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    amount_paise: int
    state: RefundState
    reason: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., amount_paise: _Optional[int] = ..., state: _Optional[_Union[RefundState, str]] = ..., reason: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetPaymentRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListPaymentsRequest(_message.Message):
    __slots__ = ("invoice", "page_size", "page_token")
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    invoice: str
    page_size: int
    page_token: str
    def __init__(self, invoice: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPaymentsResponse(_message.Message):
    __slots__ = ("payments", "next_page_token")
    PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    payments: _containers.RepeatedCompositeFieldContainer[Payment]
    next_page_token: str
    def __init__(self, payments: _Optional[_Iterable[_Union[Payment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RefundPaymentRequest(_message.Message):
    __slots__ = ("name", "amount_paise", "reason", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PAISE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    amount_paise: int
    reason: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., amount_paise: _Optional[int] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class PaymentEvent(_message.Message):
    __slots__ = ("source", "event_id", "payload")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    source: PaymentEventSource
    event_id: str
    payload: bytes
    def __init__(self, source: _Optional[_Union[PaymentEventSource, str]] = ..., event_id: _Optional[str] = ..., payload: _Optional[bytes] = ...) -> None: ...

class RecordPaymentEventsRequest(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[PaymentEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[PaymentEvent, _Mapping]]] = ...) -> None: ...

class RecordPaymentEventsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[PaymentEventResult]
    def __init__(self, results: _Optional[_Iterable[_Union[PaymentEventResult, _Mapping]]] = ...) -> None: ...

class PaymentEventResult(_message.Message):
    __slots__ = ("event_id", "outcome", "payment", "detail")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    outcome: PaymentEventOutcome
    payment: str
    detail: str
    def __init__(self, event_id: _Optional[str] = ..., outcome: _Optional[_Union[PaymentEventOutcome, str]] = ..., payment: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class ReconcilePaymentsRequest(_message.Message):
    __slots__ = ("start_date", "end_date")
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    start_date: str
    end_date: str
    def __init__(self, start_date: _Optional[str] = ..., end_date: _Optional[str] = ...) -> None: ...

class ReconciliationAmounts(_message.Message):
    __slots__ = ("invoiced_paise", "captured_paise", "refunded_paise", "outstanding_paise")
    INVOICED_PAISE_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_PAISE_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_PAISE_FIELD_NUMBER: _ClassVar[int]
    OUTSTANDING_PAISE_FIELD_NUMBER: _ClassVar[int]
    invoiced_paise: int
    captured_paise: int
    refunded_paise: int
    outstanding_paise: int
    def __init__(self, invoiced_paise: _Optional[int] = ..., captured_paise: _Optional[int] = ..., refunded_paise: _Optional[int] = ..., outstanding_paise: _Optional[int] = ...) -> None: ...

class ReconciliationDay(_message.Message):
    __slots__ = ("date", "amounts")
    DATE_FIELD_NUMBER: _ClassVar[int]
    AMOUNTS_FIELD_NUMBER: _ClassVar[int]
    date: str
    amounts: ReconciliationAmounts
    def __init__(self, date: _Optional[str] = ..., amounts: _Optional[_Union[ReconciliationAmounts, _Mapping]] = ...) -> None: ...

class ReconciliationInvoice(_message.Message):
    __slots__ = ("invoice", "number", "amounts", "status")
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    AMOUNTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    invoice: str
    number: str
    amounts: ReconciliationAmounts
    status: _invoices_pb2.InvoiceStatus
    def __init__(self, invoice: _Optional[str] = ..., number: _Optional[str] = ..., amounts: _Optional[_Union[ReconciliationAmounts, _Mapping]] = ..., status: _Optional[_Union[_invoices_pb2.InvoiceStatus, str]] = ...) -> None: ...

class Mismatch(_message.Message):
    __slots__ = ("kind", "payment", "invoice", "ours", "provider")
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    OURS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    kind: MismatchKind
    payment: str
    invoice: str
    ours: str
    provider: str
    def __init__(self, kind: _Optional[_Union[MismatchKind, str]] = ..., payment: _Optional[str] = ..., invoice: _Optional[str] = ..., ours: _Optional[str] = ..., provider: _Optional[str] = ...) -> None: ...

class ReconcilePaymentsResponse(_message.Message):
    __slots__ = ("days", "invoices", "totals", "mismatches", "provider_checked", "provider_error")
    DAYS_FIELD_NUMBER: _ClassVar[int]
    INVOICES_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    MISMATCHES_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_CHECKED_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ERROR_FIELD_NUMBER: _ClassVar[int]
    days: _containers.RepeatedCompositeFieldContainer[ReconciliationDay]
    invoices: _containers.RepeatedCompositeFieldContainer[ReconciliationInvoice]
    totals: ReconciliationAmounts
    mismatches: _containers.RepeatedCompositeFieldContainer[Mismatch]
    provider_checked: bool
    provider_error: str
    def __init__(self, days: _Optional[_Iterable[_Union[ReconciliationDay, _Mapping]]] = ..., invoices: _Optional[_Iterable[_Union[ReconciliationInvoice, _Mapping]]] = ..., totals: _Optional[_Union[ReconciliationAmounts, _Mapping]] = ..., mismatches: _Optional[_Iterable[_Union[Mismatch, _Mapping]]] = ..., provider_checked: _Optional[bool] = ..., provider_error: _Optional[str] = ...) -> None: ...
