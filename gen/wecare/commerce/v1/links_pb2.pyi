import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FollowOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FOLLOW_OUTCOME_UNSPECIFIED: _ClassVar[FollowOutcome]
    FOLLOW_OUTCOME_CLICK: _ClassVar[FollowOutcome]
    FOLLOW_OUTCOME_REPEAT_CLICK: _ClassVar[FollowOutcome]
    FOLLOW_OUTCOME_PREVIEW: _ClassVar[FollowOutcome]
FOLLOW_OUTCOME_UNSPECIFIED: FollowOutcome
FOLLOW_OUTCOME_CLICK: FollowOutcome
FOLLOW_OUTCOME_REPEAT_CLICK: FollowOutcome
FOLLOW_OUTCOME_PREVIEW: FollowOutcome

class Link(_message.Message):
    __slots__ = ("name", "target_url", "code", "short_url", "contact", "recipient", "message", "job", "expire_time", "create_time", "creator", "stats")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_URL_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    SHORT_URL_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    name: str
    target_url: str
    code: str
    short_url: str
    contact: str
    recipient: str
    message: str
    job: str
    expire_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    creator: str
    stats: LinkStats
    def __init__(self, name: _Optional[str] = ..., target_url: _Optional[str] = ..., code: _Optional[str] = ..., short_url: _Optional[str] = ..., contact: _Optional[str] = ..., recipient: _Optional[str] = ..., message: _Optional[str] = ..., job: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., creator: _Optional[str] = ..., stats: _Optional[_Union[LinkStats, _Mapping]] = ...) -> None: ...

class LinkStats(_message.Message):
    __slots__ = ("click_count", "unique_clickers", "preview_count", "first_click_time", "last_click_time")
    CLICK_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNIQUE_CLICKERS_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_COUNT_FIELD_NUMBER: _ClassVar[int]
    FIRST_CLICK_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_CLICK_TIME_FIELD_NUMBER: _ClassVar[int]
    click_count: int
    unique_clickers: int
    preview_count: int
    first_click_time: _timestamp_pb2.Timestamp
    last_click_time: _timestamp_pb2.Timestamp
    def __init__(self, click_count: _Optional[int] = ..., unique_clickers: _Optional[int] = ..., preview_count: _Optional[int] = ..., first_click_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_click_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Click(_message.Message):
    __slots__ = ("link", "contact", "recipient", "message", "job", "first_click_time", "last_click_time", "click_count")
    LINK_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    FIRST_CLICK_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_CLICK_TIME_FIELD_NUMBER: _ClassVar[int]
    CLICK_COUNT_FIELD_NUMBER: _ClassVar[int]
    link: str
    contact: str
    recipient: str
    message: str
    job: str
    first_click_time: _timestamp_pb2.Timestamp
    last_click_time: _timestamp_pb2.Timestamp
    click_count: int
    def __init__(self, link: _Optional[str] = ..., contact: _Optional[str] = ..., recipient: _Optional[str] = ..., message: _Optional[str] = ..., job: _Optional[str] = ..., first_click_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_click_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., click_count: _Optional[int] = ...) -> None: ...

class GetLinkRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListLinksRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListLinksResponse(_message.Message):
    __slots__ = ("links", "next_page_token")
    LINKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    links: _containers.RepeatedCompositeFieldContainer[Link]
    next_page_token: str
    def __init__(self, links: _Optional[_Iterable[_Union[Link, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateLinkRequest(_message.Message):
    __slots__ = ("link", "request_id")
    LINK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    link: Link
    request_id: str
    def __init__(self, link: _Optional[_Union[Link, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class BatchCreateLinksRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[CreateLinkRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[CreateLinkRequest, _Mapping]]] = ...) -> None: ...

class BatchCreateLinksResponse(_message.Message):
    __slots__ = ("links",)
    LINKS_FIELD_NUMBER: _ClassVar[int]
    links: _containers.RepeatedCompositeFieldContainer[Link]
    def __init__(self, links: _Optional[_Iterable[_Union[Link, _Mapping]]] = ...) -> None: ...

class DeleteLinkRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class FollowLinkRequest(_message.Message):
    __slots__ = ("code", "http_method", "user_agent", "purpose", "client_address", "visitor")
    CODE_FIELD_NUMBER: _ClassVar[int]
    HTTP_METHOD_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    VISITOR_FIELD_NUMBER: _ClassVar[int]
    code: str
    http_method: str
    user_agent: str
    purpose: str
    client_address: str
    visitor: str
    def __init__(self, code: _Optional[str] = ..., http_method: _Optional[str] = ..., user_agent: _Optional[str] = ..., purpose: _Optional[str] = ..., client_address: _Optional[str] = ..., visitor: _Optional[str] = ...) -> None: ...

class FollowLinkResponse(_message.Message):
    __slots__ = ("target_url", "link", "outcome")
    TARGET_URL_FIELD_NUMBER: _ClassVar[int]
    LINK_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    target_url: str
    link: str
    outcome: FollowOutcome
    def __init__(self, target_url: _Optional[str] = ..., link: _Optional[str] = ..., outcome: _Optional[_Union[FollowOutcome, str]] = ...) -> None: ...

class ListClicksRequest(_message.Message):
    __slots__ = ("message", "job", "page_size", "page_token")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    message: str
    job: str
    page_size: int
    page_token: str
    def __init__(self, message: _Optional[str] = ..., job: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListClicksResponse(_message.Message):
    __slots__ = ("clicks", "next_page_token")
    CLICKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    clicks: _containers.RepeatedCompositeFieldContainer[Click]
    next_page_token: str
    def __init__(self, clicks: _Optional[_Iterable[_Union[Click, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
