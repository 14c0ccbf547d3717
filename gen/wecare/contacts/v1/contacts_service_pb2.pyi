import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from wecare.auth.v1 import access_pb2 as _access_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConsentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSENT_STATE_UNSPECIFIED: _ClassVar[ConsentState]
    CONSENT_STATE_OPTED_IN: _ClassVar[ConsentState]
    CONSENT_STATE_OPTED_OUT: _ClassVar[ConsentState]

class Channel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_UNSPECIFIED: _ClassVar[Channel]
    CHANNEL_WHATSAPP: _ClassVar[Channel]
    CHANNEL_SMS: _ClassVar[Channel]
    CHANNEL_EMAIL: _ClassVar[Channel]
CONSENT_STATE_UNSPECIFIED: ConsentState
CONSENT_STATE_OPTED_IN: ConsentState
CONSENT_STATE_OPTED_OUT: ConsentState
CHANNEL_UNSPECIFIED: Channel
CHANNEL_WHATSAPP: Channel
CHANNEL_SMS: Channel
CHANNEL_EMAIL: Channel

class Contact(_message.Message):
    __slots__ = ("name", "display_name", "phone_number", "email", "tags", "whatsapp_consent", "sms_consent", "email_consent", "attributes", "create_time", "update_time", "etag")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    WHATSAPP_CONSENT_FIELD_NUMBER: _ClassVar[int]
    SMS_CONSENT_FIELD_NUMBER: _ClassVar[int]
    EMAIL_CONSENT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    phone_number: str
    email: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    whatsapp_consent: ChannelConsent
    sms_consent: ChannelConsent
    email_consent: ChannelConsent
    attributes: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., phone_number: _Optional[str] = ..., email: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., whatsapp_consent: _Optional[_Union[ChannelConsent, _Mapping]] = ..., sms_consent: _Optional[_Union[ChannelConsent, _Mapping]] = ..., email_consent: _Optional[_Union[ChannelConsent, _Mapping]] = ..., attributes: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class ChannelConsent(_message.Message):
    __slots__ = ("state", "update_time", "source", "history")
    STATE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    state: ConsentState
    update_time: _timestamp_pb2.Timestamp
    source: str
    history: _containers.RepeatedCompositeFieldContainer[ConsentChange]
    def __init__(self, state: _Optional[_Union[ConsentState, str]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ..., history: _Optional[_Iterable[_Union[ConsentChange, _Mapping]]] = ...) -> None: ...

class ConsentChange(_message.Message):
    __slots__ = ("state", "update_time", "source")
    STATE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    state: ConsentState
    update_time: _timestamp_pb2.Timestamp
    source: str
    def __init__(self, state: _Optional[_Union[ConsentState, str]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ...) -> None: ...

class GetContactRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListContactsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "tags")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ...) -> None: ...

class ListContactsResponse(_message.Message):
    __slots__ = ("contacts", "next_page_token")
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    next_page_token: str
    def __init__(self, contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateContactRequest(_message.Message):
    __slots__ = ("contact",)
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    contact: Contact
    def __init__(self, contact: _Optional[_Union[Contact, _Mapping]] = ...) -> None: ...

class BatchCreateContactsRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[CreateContactRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[CreateContactRequest, _Mapping]]] = ...) -> None: ...

class BatchCreateContactsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[BatchCreateContactResult]
    def __init__(self, results: _Optional[_Iterable[_Union[BatchCreateContactResult, _Mapping]]] = ...) -> None: ...

class BatchCreateContactResult(_message.Message):
    __slots__ = ("contact", "error")
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    contact: Contact
    error: _status_pb2.Status
    def __init__(self, contact: _Optional[_Union[Contact, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class UpdateContactRequest(_message.Message):
    __slots__ = ("contact", "update_mask")
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    contact: Contact
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, contact: _Optional[_Union[Contact, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteContactRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class SearchContactsRequest(_message.Message):
    __slots__ = ("query", "page_size", "page_token")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    query: str
    page_size: int
    page_token: str
    def __init__(self, query: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class SearchContactsResponse(_message.Message):
    __slots__ = ("contacts", "next_page_token")
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    next_page_token: str
    def __init__(self, contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RecordConsentChangeRequest(_message.Message):
    __slots__ = ("phone_number", "email", "channel", "state", "event_time", "source", "display_name")
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    phone_number: str
    email: str
    channel: Channel
    state: ConsentState
    event_time: _timestamp_pb2.Timestamp
    source: str
    display_name: str
    def __init__(self, phone_number: _Optional[str] = ..., email: _Optional[str] = ..., channel: _Optional[_Union[Channel, str]] = ..., state: _Optional[_Union[ConsentState, str]] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ..., display_name: _Optional[str] = ...) -> None: ...
