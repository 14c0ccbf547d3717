import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InvoiceKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INVOICE_KIND_UNSPECIFIED: _ClassVar[InvoiceKind]
    INVOICE_KIND_INVOICE: _ClassVar[InvoiceKind]
    INVOICE_KIND_CREDIT_NOTE: _ClassVar[InvoiceKind]

class InvoiceStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INVOICE_STATUS_UNSPECIFIED: _ClassVar[InvoiceStatus]
    INVOICE_STATUS_DRAFT: _ClassVar[InvoiceStatus]
    INVOICE_STATUS_ISSUED: _ClassVar[InvoiceStatus]
    INVOICE_STATUS_PARTIALLY_PAID: _ClassVar[InvoiceStatus]
    INVOICE_STATUS_PAID: _ClassVar[InvoiceStatus]
    INVOICE_STATUS_OVERDUE: _ClassVar[InvoiceStatus]
    INVOICE_STATUS_CREDITED: _ClassVar[InvoiceStatus]

class SupplyType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUPPLY_TYPE_UNSPECIFIED: _ClassVar[SupplyType]
    SUPPLY_TYPE_INTRA_STATE: _ClassVar[SupplyType]
    SUPPLY_TYPE_INTER_STATE: _ClassVar[SupplyType]

class SendChannel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEND_CHANNEL_UNSPECIFIED: _ClassVar[SendChannel]
    SEND_CHANNEL_WHATSAPP: _ClassVar[SendChannel]
    SEND_CHANNEL_SMS: _ClassVar[SendChannel]
    SEND_CHANNEL_EMAIL: _ClassVar[SendChannel]

class PaymentRequestKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_REQUEST_KIND_UNSPECIFIED: _ClassVar[PaymentRequestKind]
    PAYMENT_REQUEST_KIND_LINK: _ClassVar[PaymentRequestKind]
    PAYMENT_REQUEST_KIND_ORDER_DETAILS: _ClassVar[PaymentRequestKind]
INVOICE_KIND_UNSPECIFIED: InvoiceKind
INVOICE_KIND_INVOICE: InvoiceKind
INVOICE_KIND_CREDIT_NOTE: InvoiceKind
INVOICE_STATUS_UNSPECIFIED: InvoiceStatus
INVOICE_STATUS_DRAFT: InvoiceStatus
INVOICE_STATUS_ISSUED: InvoiceStatus
INVOICE_STATUS_PARTIALLY_PAID: InvoiceStatus
INVOICE_STATUS_PAID: InvoiceStatus
INVOICE_STATUS_OVERDUE: InvoiceStatus
INVOICE_STATUS_CREDITED: InvoiceStatus
SUPPLY_TYPE_UNSPECIFIED: SupplyType
SUPPLY_TYPE_INTRA_STATE: SupplyType
SUPPLY_TYPE_INTER_STATE: SupplyType
SEND_CHANNEL_UNSPECIFIED: SendChannel
SEND_CHANNEL_WHATSAPP: SendChannel
SEND_CHANNEL_SMS: SendChannel
SEND_CHANNEL_EMAIL: SendChannel
PAYMENT_REQUEST_KIND_UNSPECIFIED: PaymentRequestKind
PAYMENT_REQUEST_KIND_LINK: PaymentRequestKind
PAYMENT_REQUEST_KIND_ORDER_DETAILS: PaymentRequestKind

class Invoice(_message.Message):
    __slots__ = ("name", "kind", "status", "number", "contact", "customer", "line_items", "discount_paise", "currency_code", "due_date", "notes", "totals", "supply_type", "credited_invoice", "amount_paid_paise", "amount_credited_paise", "amount_due_paise", "document_uri", "document_key", "create_time", "update_time", "issue_time", "creator", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    LINE_ITEMS_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_PAISE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_CODE_FIELD_NUMBER: _ClassVar[int]
    DUE_DATE_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    SUPPLY_TYPE_FIELD_NUMBER: _ClassVar[int]
    CREDITED_INVOICE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PAID_PAISE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CREDITED_PAISE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_DUE_PAISE_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_URI_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_KEY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ISSUE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: InvoiceKind
    status: InvoiceStatus
    number: str
    contact: str
    customer: InvoiceCustomer
    line_items: _containers.RepeatedCompositeFieldContainer[LineItem]
    discount_paise: int
    currency_code: str
    due_date: str
    notes: str
    totals: InvoiceTotals
    supply_type: SupplyType
    credited_invoice: str
    amount_paid_paise: int
    amount_credited_paise: int
    amount_due_paise: int
    document_uri: str
    document_key: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    issue_time: _timestamp_pb2.Timestamp
    creator: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[InvoiceKind, str]] = ..., status: _Optional[_Union[InvoiceStatus, str]] = ..., number: _Optional[str] = ..., contact: _Optional[str] = ..., customer: _Optional[_Union[InvoiceCustomer, _Mapping]] = ..., line_items: _Optional[_Iterable[_Union[LineItem, _Mapping]]] = ..., discount_paise: _Optional[int] = ..., currency_code: _Optional[str] = ..., due_date: _Optional[str] = ..., notes: _Optional[str] = ..., totals: _Optional[_Union[InvoiceTotals, _Mapping]] = ..., supply_type: _Optional[_Union[SupplyType, str]] = ..., credited_invoice: _Optional[str] = ..., amount_paid_paise: _Optional[int] = ..., amount_credited_paise: _Optional[int] = ..., amount_due_paise: _Optional[int] = ..., document_uri: _Optional[str] = ..., document_key: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., issue_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., creator: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class InvoiceCustomer(_message.Message):
    __slots__ = ("display_name", "gstin", "state_code", "address")
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    GSTIN_FIELD_NUMBER: _ClassVar[int]
    STATE_CODE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    display_name: str
    gstin: str
    state_code: str
    address: str
    def __init__(self, display_name: _Optional[str] = ..., gstin: _Optional[str] = ..., state_code: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class LineItem(_message.Message):
    __slots__ = ("description", "quantity", "unit_price_paise", "gst_rate_basis_points", "hsn_code", "discount_paise", "amounts")
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_PAISE_FIELD_NUMBER: _ClassVar[int]
    GST_RATE_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    HSN_CODE_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_PAISE_FIELD_NUMBER: _ClassVar[int]
    AMOUNTS_FIELD_NUMBER: _ClassVar[int]
    description: str
    quantity: str
    unit_price_paise: int
    gst_rate_basis_points: int
    hsn_code: str
    discount_paise: int
    amounts: LineAmounts
    def __init__(self, description: _Optional[str] = ..., quantity: _Optional[str] = ..., unit_price_paise: _Optional[int] = ..., gst_rate_basis_points: _Optional[int] = ..., hsn_code: _Optional[str] = ..., discount_paise: _Optional[int] = ..., amounts: _Optional[_Union[LineAmounts, _Mapping]] = ...) -> None: ...

class LineAmounts(_message.Message):
    __slots__ = ("gross_paise", "discount_paise", "taxable_paise", "cgst_paise", "sgst_paise", "igst_paise", "total_paise")
    GROSS_PAISE_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_PAISE_FIELD_NUMBER: _ClassVar[int]
    TAXABLE_PAISE_FIELD_NUMBER: _ClassVar[int]
    CGST_PAISE_FIELD_NUMBER: _ClassVar[int]
    SGST_PAISE_FIELD_NUMBER: _ClassVar[int]
    IGST_PAISE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PAISE_FIELD_NUMBER: _ClassVar[int]
    gross_paise: int
    discount_paise: int
    taxable_paise: int
    cgst_paise: int
    sgst_paise: int
    igst_paise: int
    total_paise: int
    def __init__(self, gross_paise: _Optional[int] = ..., discount_paise: _Optional[int] = ..., taxable_paise: _Optional[int] = ..., cgst_paise: _Optional[int] = ..., sgst_paise: _Optional[int] = ..., igst_paise: _Optional[int] = ..., total_paise: _Optional[int] = ...) -> None: ...

class InvoiceTotals(_message.Message):
    __slots__ = ("subtotal_paise", "discount_paise", "taxable_paise", "cgst_paise", "sgst_paise", "igst_paise", "tax_paise", "total_paise")
    SUBTOTAL_PAISE_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_PAISE_FIELD_NUMBER: _ClassVar[int]
    TAXABLE_PAISE_FIELD_NUMBER: _ClassVar[int]
    CGST_PAISE_FIELD_NUMBER: _ClassVar[int]
    SGST_PAISE_FIELD_NUMBER: _ClassVar[int]
    IGST_PAISE_FIELD_NUMBER: _ClassVar[int]
    TAX_PAISE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PAISE_FIELD_NUMBER: _ClassVar[int]
    subtotal_paise: int
    discount_paise: int
    taxable_paise: int
    cgst_paise: int
    sgst_paise: int
    igst_paise: int
    tax_paise: int
    total_paise: int
    def __init__(self, subtotal_paise: _Optional[int] = ..., discount_paise: _Optional[int] = ..., taxable_paise: _Optional[int] = ..., cgst_paise: _Optional[int] = ..., sgst_paise: _Optional[int] = ..., igst_paise: _Optional[int] = ..., tax_paise: _Optional[int] = ..., total_paise: _Optional[int] = ...) -> None: ...

class CreateInvoiceRequest(_message.Message):
    __slots__ = ("invoice",)
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    invoice: Invoice
    def __init__(self, invoice: _Optional[_Union[Invoice, _Mapping]] = ...) -> None: ...

class GetInvoiceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListInvoicesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "contact")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    contact: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., contact: _Optional[str] = ...) -> None: ...

class ListInvoicesResponse(_message.Message):
    __slots__ = ("invoices", "next_page_token")
    INVOICES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    invoices: _containers.RepeatedCompositeFieldContainer[Invoice]
    next_page_token: str
    def __init__(self, invoices: _Optional[_Iterable[_Union[Invoice, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateInvoiceRequest(_message.Message):
    __slots__ = ("invoice", "update_mask")
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    invoice: Invoice
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, invoice: _Optional[_Union[Invoice, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteInvoiceRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class IssueInvoiceRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class CreditInvoiceRequest(_message.Message):
    __slots__ = ("name", "line_items", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LINE_ITEMS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    line_items: _containers.RepeatedCompositeFieldContainer[LineItem]
    reason: str
    def __init__(self, name: _Optional[str] = ..., line_items: _Optional[_Iterable[_Union[LineItem, _Mapping]]] = ..., reason: _Optional[str] = ...) -> None: ...

class SendInvoiceRequest(_message.Message):
    __slots__ = ("name", "channel", "payment_request")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_REQUEST_FIELD_NUMBER: _ClassVar[int]
    name: str
    channel: SendChannel
    payment_request: PaymentRequestKind
    def __init__(self, name: _Optional[str] = ..., channel: _Optional[_Union[SendChannel, str]] = ..., payment_request: _Optional[_Union[PaymentRequestKind, str]] = ...) -> None: ...

class SendInvoiceResponse(_message.Message):
    __slots__ = ("invoice", "messages", "payment_url", "payment_link_id")
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_URL_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_LINK_ID_FIELD_NUMBER: _ClassVar[int]
    invoice: Invoice
    messages: _containers.RepeatedScalarFieldContainer[str]
    payment_url: str
    payment_link_id: str
    def __init__(self, invoice: _Optional[_Union[Invoice, _Mapping]] = ..., messages: _Optional[_Iterable[str]] = ..., payment_url: _Optional[str] = ..., payment_link_id: _Optional[str] = ...) -> None: ...
