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

class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIRECTION_UNSPECIFIED: _ClassVar[Direction]
    DIRECTION_OUTBOUND: _ClassVar[Direction]
    DIRECTION_INBOUND: _ClassVar[Direction]

class Channel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_UNSPECIFIED: _ClassVar[Channel]
    CHANNEL_WHATSAPP: _ClassVar[Channel]
    CHANNEL_SMS: _ClassVar[Channel]
    CHANNEL_EMAIL: _ClassVar[Channel]

class Category(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CATEGORY_UNSPECIFIED: _ClassVar[Category]
    CATEGORY_MARKETING: _ClassVar[Category]
    CATEGORY_UTILITY: _ClassVar[Category]
    CATEGORY_AUTHENTICATION: _ClassVar[Category]
    CATEGORY_SERVICE: _ClassVar[Category]

class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATUS_UNSPECIFIED: _ClassVar[Status]
    STATUS_ACCEPTED: _ClassVar[Status]
    STATUS_SENT: _ClassVar[Status]
    STATUS_DELIVERED: _ClassVar[Status]
    STATUS_READ: _ClassVar[Status]
    STATUS_FAILED: _ClassVar[Status]
    STATUS_WITHDRAWN: _ClassVar[Status]
    STATUS_UNKNOWN: _ClassVar[Status]
    STATUS_RECEIVED: _ClassVar[Status]
    STATUS_LIMITED: _ClassVar[Status]

class MediaKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEDIA_KIND_UNSPECIFIED: _ClassVar[MediaKind]
    MEDIA_KIND_IMAGE: _ClassVar[MediaKind]
    MEDIA_KIND_AUDIO: _ClassVar[MediaKind]
    MEDIA_KIND_VIDEO: _ClassVar[MediaKind]
    MEDIA_KIND_DOCUMENT: _ClassVar[MediaKind]
    MEDIA_KIND_STICKER: _ClassVar[MediaKind]

class InteractiveKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INTERACTIVE_KIND_UNSPECIFIED: _ClassVar[InteractiveKind]
    INTERACTIVE_KIND_BUTTON: _ClassVar[InteractiveKind]
    INTERACTIVE_KIND_LIST: _ClassVar[InteractiveKind]
    INTERACTIVE_KIND_CTA_URL: _ClassVar[InteractiveKind]
    INTERACTIVE_KIND_REPLY: _ClassVar[InteractiveKind]
    INTERACTIVE_KIND_FLOW: _ClassVar[InteractiveKind]
    INTERACTIVE_KIND_ORDER_DETAILS: _ClassVar[InteractiveKind]
    INTERACTIVE_KIND_ORDER_STATUS: _ClassVar[InteractiveKind]
    INTERACTIVE_KIND_FLOW_REPLY: _ClassVar[InteractiveKind]

class ConversationEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONVERSATION_EVENT_KIND_UNSPECIFIED: _ClassVar[ConversationEventKind]
    CONVERSATION_EVENT_KIND_MESSAGE_RECEIVED: _ClassVar[ConversationEventKind]
    CONVERSATION_EVENT_KIND_STATUS_CHANGED: _ClassVar[ConversationEventKind]
    CONVERSATION_EVENT_KIND_VOICE_CALL: _ClassVar[ConversationEventKind]

class IngestOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INGEST_OUTCOME_UNSPECIFIED: _ClassVar[IngestOutcome]
    INGEST_OUTCOME_APPLIED: _ClassVar[IngestOutcome]
    INGEST_OUTCOME_DUPLICATE: _ClassVar[IngestOutcome]
    INGEST_OUTCOME_REJECTED: _ClassVar[IngestOutcome]
    INGEST_OUTCOME_DEAD_LETTERED: _ClassVar[IngestOutcome]

class TemplateParameterFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TEMPLATE_PARAMETER_FORMAT_UNSPECIFIED: _ClassVar[TemplateParameterFormat]
    TEMPLATE_PARAMETER_FORMAT_POSITIONAL: _ClassVar[TemplateParameterFormat]
    TEMPLATE_PARAMETER_FORMAT_NAMED: _ClassVar[TemplateParameterFormat]

class TemplateHeaderFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TEMPLATE_HEADER_FORMAT_UNSPECIFIED: _ClassVar[TemplateHeaderFormat]
    TEMPLATE_HEADER_FORMAT_TEXT: _ClassVar[TemplateHeaderFormat]
    TEMPLATE_HEADER_FORMAT_IMAGE: _ClassVar[TemplateHeaderFormat]
    TEMPLATE_HEADER_FORMAT_VIDEO: _ClassVar[TemplateHeaderFormat]
    TEMPLATE_HEADER_FORMAT_DOCUMENT: _ClassVar[TemplateHeaderFormat]

class TemplateButtonKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TEMPLATE_BUTTON_KIND_UNSPECIFIED: _ClassVar[TemplateButtonKind]
    TEMPLATE_BUTTON_KIND_QUICK_REPLY: _ClassVar[TemplateButtonKind]
    TEMPLATE_BUTTON_KIND_URL: _ClassVar[TemplateButtonKind]
    TEMPLATE_BUTTON_KIND_PHONE_NUMBER: _ClassVar[TemplateButtonKind]

class DeadLetterQueue(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEAD_LETTER_QUEUE_UNSPECIFIED: _ClassVar[DeadLetterQueue]
    DEAD_LETTER_QUEUE_WHATSAPP_INBOUND: _ClassVar[DeadLetterQueue]
    DEAD_LETTER_QUEUE_INBOUND: _ClassVar[DeadLetterQueue]
    DEAD_LETTER_QUEUE_OUTBOUND: _ClassVar[DeadLetterQueue]

class ReplayOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPLAY_OUTCOME_UNSPECIFIED: _ClassVar[ReplayOutcome]
    REPLAY_OUTCOME_REPLAYED: _ClassVar[ReplayOutcome]
    REPLAY_OUTCOME_WOULD_REPLAY: _ClassVar[ReplayOutcome]
    REPLAY_OUTCOME_ALREADY_DONE: _ClassVar[ReplayOutcome]
    REPLAY_OUTCOME_FAILED: _ClassVar[ReplayOutcome]
DIRECTION_UNSPECIFIED: Direction
DIRECTION_OUTBOUND: Direction
DIRECTION_INBOUND: Direction
CHANNEL_UNSPECIFIED: Channel
CHANNEL_WHATSAPP: Channel
CHANNEL_SMS: Channel
CHANNEL_EMAIL: Channel
CATEGORY_UNSPECIFIED: Category
CATEGORY_MARKETING: Category
CATEGORY_UTILITY: Category
CATEGORY_AUTHENTICATION: Category
CATEGORY_SERVICE: Category
STATUS_UNSPECIFIED: Status
STATUS_ACCEPTED: Status
STATUS_SENT: Status
STATUS_DELIVERED: Status
STATUS_READ: Status
STATUS_FAILED: Status
STATUS_WITHDRAWN: Status
STATUS_UNKNOWN: Status
STATUS_RECEIVED: Status
STATUS_LIMITED: Status
MEDIA_KIND_UNSPECIFIED: MediaKind
MEDIA_KIND_IMAGE: MediaKind
MEDIA_KIND_AUDIO: MediaKind
MEDIA_KIND_VIDEO: MediaKind
MEDIA_KIND_DOCUMENT: MediaKind
MEDIA_KIND_STICKER: MediaKind
INTERACTIVE_KIND_UNSPECIFIED: InteractiveKind
INTERACTIVE_KIND_BUTTON: InteractiveKind
INTERACTIVE_KIND_LIST: InteractiveKind
INTERACTIVE_KIND_CTA_URL: InteractiveKind
INTERACTIVE_KIND_REPLY: InteractiveKind
INTERACTIVE_KIND_FLOW: InteractiveKind
INTERACTIVE_KIND_ORDER_DETAILS: InteractiveKind
INTERACTIVE_KIND_ORDER_STATUS: InteractiveKind
INTERACTIVE_KIND_FLOW_REPLY: InteractiveKind
CONVERSATION_EVENT_KIND_UNSPECIFIED: ConversationEventKind
CONVERSATION_EVENT_KIND_MESSAGE_RECEIVED: ConversationEventKind
CONVERSATION_EVENT_KIND_STATUS_CHANGED: ConversationEventKind
CONVERSATION_EVENT_KIND_VOICE_CALL: ConversationEventKind
INGEST_OUTCOME_UNSPECIFIED: IngestOutcome
INGEST_OUTCOME_APPLIED: IngestOutcome
INGEST_OUTCOME_DUPLICATE: IngestOutcome
INGEST_OUTCOME_REJECTED: IngestOutcome
INGEST_OUTCOME_DEAD_LETTERED: IngestOutcome
TEMPLATE_PARAMETER_FORMAT_UNSPECIFIED: TemplateParameterFormat
TEMPLATE_PARAMETER_FORMAT_POSITIONAL: TemplateParameterFormat
TEMPLATE_PARAMETER_FORMAT_NAMED: TemplateParameterFormat
TEMPLATE_HEADER_FORMAT_UNSPECIFIED: TemplateHeaderFormat
TEMPLATE_HEADER_FORMAT_TEXT: TemplateHeaderFormat
TEMPLATE_HEADER_FORMAT_IMAGE: TemplateHeaderFormat
TEMPLATE_HEADER_FORMAT_VIDEO: TemplateHeaderFormat
TEMPLATE_HEADER_FORMAT_DOCUMENT: TemplateHeaderFormat
TEMPLATE_BUTTON_KIND_UNSPECIFIED: TemplateButtonKind
TEMPLATE_BUTTON_KIND_QUICK_REPLY: TemplateButtonKind
TEMPLATE_BUTTON_KIND_URL: TemplateButtonKind
TEMPLATE_BUTTON_KIND_PHONE_NUMBER: TemplateButtonKind
DEAD_LETTER_QUEUE_UNSPECIFIED: DeadLetterQueue
DEAD_LETTER_QUEUE_WHATSAPP_INBOUND: DeadLetterQueue
DEAD_LETTER_QUEUE_INBOUND: DeadLetterQueue
DEAD_LETTER_QUEUE_OUTBOUND: DeadLetterQueue
REPLAY_OUTCOME_UNSPECIFIED: ReplayOutcome
REPLAY_OUTCOME_REPLAYED: ReplayOutcome
REPLAY_OUTCOME_WOULD_REPLAY: ReplayOutcome
REPLAY_OUTCOME_ALREADY_DONE: ReplayOutcome
REPLAY_OUTCOME_FAILED: ReplayOutcome

class Message(_message.Message):
    __slots__ = ("name", "direction", "channel", "category", "origination", "recipient", "contact", "content", "status", "error", "provider_message_id", "idempotency_key", "reply_to", "conversation_reply", "attempts", "create_time", "send_time", "deliver_time", "read_time", "update_time", "conversation", "track_links", "job", "clicks", "reattempt", "reattempt_of")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ORIGINATION_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_REPLY_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    DELIVER_TIME_FIELD_NUMBER: _ClassVar[int]
    READ_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    TRACK_LINKS_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    CLICKS_FIELD_NUMBER: _ClassVar[int]
    REATTEMPT_FIELD_NUMBER: _ClassVar[int]
    REATTEMPT_OF_FIELD_NUMBER: _ClassVar[int]
    name: str
    direction: Direction
    channel: Channel
    category: Category
    origination: str
    recipient: str
    contact: str
    content: Content
    status: Status
    error: MessageError
    provider_message_id: str
    idempotency_key: str
    reply_to: str
    conversation_reply: bool
    attempts: int
    create_time: _timestamp_pb2.Timestamp
    send_time: _timestamp_pb2.Timestamp
    deliver_time: _timestamp_pb2.Timestamp
    read_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    conversation: str
    track_links: bool
    job: str
    clicks: _containers.RepeatedCompositeFieldContainer[LinkClick]
    reattempt: str
    reattempt_of: str
    def __init__(self, name: _Optional[str] = ..., direction: _Optional[_Union[Direction, str]] = ..., channel: _Optional[_Union[Channel, str]] = ..., category: _Optional[_Union[Category, str]] = ..., origination: _Optional[str] = ..., recipient: _Optional[str] = ..., contact: _Optional[str] = ..., content: _Optional[_Union[Content, _Mapping]] = ..., status: _Optional[_Union[Status, str]] = ..., error: _Optional[_Union[MessageError, _Mapping]] = ..., provider_message_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., reply_to: _Optional[str] = ..., conversation_reply: _Optional[bool] = ..., attempts: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., send_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deliver_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., read_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., conversation: _Optional[str] = ..., track_links: _Optional[bool] = ..., job: _Optional[str] = ..., clicks: _Optional[_Iterable[_Union[LinkClick, _Mapping]]] = ..., reattempt: _Optional[str] = ..., reattempt_of: _Optional[str] = ...) -> None: ...

class LinkClick(_message.Message):
    __slots__ = ("link", "first_click_time", "last_click_time", "click_count")
    LINK_FIELD_NUMBER: _ClassVar[int]
    FIRST_CLICK_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_CLICK_TIME_FIELD_NUMBER: _ClassVar[int]
    CLICK_COUNT_FIELD_NUMBER: _ClassVar[int]
    link: str
    first_click_time: _timestamp_pb2.Timestamp
    last_click_time: _timestamp_pb2.Timestamp
    click_count: int
    def __init__(self, link: _Optional[str] = ..., first_click_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_click_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., click_count: _Optional[int] = ...) -> None: ...

class MessageError(_message.Message):
    __slots__ = ("code", "title", "detail")
    CODE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    code: str
    title: str
    detail: str
    def __init__(self, code: _Optional[str] = ..., title: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class Content(_message.Message):
    __slots__ = ("text", "media", "template", "location", "contacts", "interactive", "reaction", "email", "unsupported")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    INTERACTIVE_FIELD_NUMBER: _ClassVar[int]
    REACTION_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    UNSUPPORTED_FIELD_NUMBER: _ClassVar[int]
    text: TextContent
    media: MediaContent
    template: TemplateContent
    location: LocationContent
    contacts: ContactsContent
    interactive: InteractiveContent
    reaction: ReactionContent
    email: EmailContent
    unsupported: UnsupportedContent
    def __init__(self, text: _Optional[_Union[TextContent, _Mapping]] = ..., media: _Optional[_Union[MediaContent, _Mapping]] = ..., template: _Optional[_Union[TemplateContent, _Mapping]] = ..., location: _Optional[_Union[LocationContent, _Mapping]] = ..., contacts: _Optional[_Union[ContactsContent, _Mapping]] = ..., interactive: _Optional[_Union[InteractiveContent, _Mapping]] = ..., reaction: _Optional[_Union[ReactionContent, _Mapping]] = ..., email: _Optional[_Union[EmailContent, _Mapping]] = ..., unsupported: _Optional[_Union[UnsupportedContent, _Mapping]] = ...) -> None: ...

class TextContent(_message.Message):
    __slots__ = ("body", "preview_url")
    BODY_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_URL_FIELD_NUMBER: _ClassVar[int]
    body: str
    preview_url: bool
    def __init__(self, body: _Optional[str] = ..., preview_url: _Optional[bool] = ...) -> None: ...

class MediaContent(_message.Message):
    __slots__ = ("kind", "media_key", "mime_type", "size_bytes", "caption", "filename", "animated", "download_uri", "provider_media_id")
    KIND_FIELD_NUMBER: _ClassVar[int]
    MEDIA_KEY_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    CAPTION_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    ANIMATED_FIELD_NUMBER: _ClassVar[int]
    DOWNLOAD_URI_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    kind: MediaKind
    media_key: str
    mime_type: str
    size_bytes: int
    caption: str
    filename: str
    animated: bool
    download_uri: str
    provider_media_id: str
    def __init__(self, kind: _Optional[_Union[MediaKind, str]] = ..., media_key: _Optional[str] = ..., mime_type: _Optional[str] = ..., size_bytes: _Optional[int] = ..., caption: _Optional[str] = ..., filename: _Optional[str] = ..., animated: _Optional[bool] = ..., download_uri: _Optional[str] = ..., provider_media_id: _Optional[str] = ...) -> None: ...

class TemplateContent(_message.Message):
    __slots__ = ("template_name", "language", "body_parameters", "header_parameters", "header_media", "button_parameters", "flow_button_json")
    TEMPLATE_NAME_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    BODY_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    HEADER_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    HEADER_MEDIA_FIELD_NUMBER: _ClassVar[int]
    BUTTON_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    FLOW_BUTTON_JSON_FIELD_NUMBER: _ClassVar[int]
    template_name: str
    language: str
    body_parameters: _containers.RepeatedCompositeFieldContainer[TemplateParameter]
    header_parameters: _containers.RepeatedCompositeFieldContainer[TemplateParameter]
    header_media: MediaContent
    button_parameters: _containers.RepeatedCompositeFieldContainer[TemplateButtonParameter]
    flow_button_json: str
    def __init__(self, template_name: _Optional[str] = ..., language: _Optional[str] = ..., body_parameters: _Optional[_Iterable[_Union[TemplateParameter, _Mapping]]] = ..., header_parameters: _Optional[_Iterable[_Union[TemplateParameter, _Mapping]]] = ..., header_media: _Optional[_Union[MediaContent, _Mapping]] = ..., button_parameters: _Optional[_Iterable[_Union[TemplateButtonParameter, _Mapping]]] = ..., flow_button_json: _Optional[str] = ...) -> None: ...

class TemplateParameter(_message.Message):
    __slots__ = ("name", "text")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    name: str
    text: str
    def __init__(self, name: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class TemplateButtonParameter(_message.Message):
    __slots__ = ("index", "sub_type", "text")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SUB_TYPE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    index: int
    sub_type: str
    text: str
    def __init__(self, index: _Optional[int] = ..., sub_type: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class LocationContent(_message.Message):
    __slots__ = ("latitude", "longitude", "name", "address")
    LATITUDE_FIELD_NUMBER: _ClassVar[int]
    LONGITUDE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    latitude: float
    longitude: float
    name: str
    address: str
    def __init__(self, latitude: _Optional[float] = ..., longitude: _Optional[float] = ..., name: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class ContactsContent(_message.Message):
    __slots__ = ("contacts",)
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    contacts: _containers.RepeatedCompositeFieldContainer[SharedContact]
    def __init__(self, contacts: _Optional[_Iterable[_Union[SharedContact, _Mapping]]] = ...) -> None: ...

class SharedContact(_message.Message):
    __slots__ = ("formatted_name", "phone_numbers", "emails", "organization")
    FORMATTED_NAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    EMAILS_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    formatted_name: str
    phone_numbers: _containers.RepeatedScalarFieldContainer[str]
    emails: _containers.RepeatedScalarFieldContainer[str]
    organization: str
    def __init__(self, formatted_name: _Optional[str] = ..., phone_numbers: _Optional[_Iterable[str]] = ..., emails: _Optional[_Iterable[str]] = ..., organization: _Optional[str] = ...) -> None: ...

class InteractiveContent(_message.Message):
    __slots__ = ("kind", "header_text", "body_text", "footer_text", "buttons", "list_button_text", "sections", "cta_display_text", "cta_url", "reply_id", "reply_title", "interactive_json", "form_response", "form_error")
    KIND_FIELD_NUMBER: _ClassVar[int]
    HEADER_TEXT_FIELD_NUMBER: _ClassVar[int]
    BODY_TEXT_FIELD_NUMBER: _ClassVar[int]
    FOOTER_TEXT_FIELD_NUMBER: _ClassVar[int]
    BUTTONS_FIELD_NUMBER: _ClassVar[int]
    LIST_BUTTON_TEXT_FIELD_NUMBER: _ClassVar[int]
    SECTIONS_FIELD_NUMBER: _ClassVar[int]
    CTA_DISPLAY_TEXT_FIELD_NUMBER: _ClassVar[int]
    CTA_URL_FIELD_NUMBER: _ClassVar[int]
    REPLY_ID_FIELD_NUMBER: _ClassVar[int]
    REPLY_TITLE_FIELD_NUMBER: _ClassVar[int]
    INTERACTIVE_JSON_FIELD_NUMBER: _ClassVar[int]
    FORM_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    FORM_ERROR_FIELD_NUMBER: _ClassVar[int]
    kind: InteractiveKind
    header_text: str
    body_text: str
    footer_text: str
    buttons: _containers.RepeatedCompositeFieldContainer[ReplyButton]
    list_button_text: str
    sections: _containers.RepeatedCompositeFieldContainer[ListSection]
    cta_display_text: str
    cta_url: str
    reply_id: str
    reply_title: str
    interactive_json: str
    form_response: str
    form_error: str
    def __init__(self, kind: _Optional[_Union[InteractiveKind, str]] = ..., header_text: _Optional[str] = ..., body_text: _Optional[str] = ..., footer_text: _Optional[str] = ..., buttons: _Optional[_Iterable[_Union[ReplyButton, _Mapping]]] = ..., list_button_text: _Optional[str] = ..., sections: _Optional[_Iterable[_Union[ListSection, _Mapping]]] = ..., cta_display_text: _Optional[str] = ..., cta_url: _Optional[str] = ..., reply_id: _Optional[str] = ..., reply_title: _Optional[str] = ..., interactive_json: _Optional[str] = ..., form_response: _Optional[str] = ..., form_error: _Optional[str] = ...) -> None: ...

class ReplyButton(_message.Message):
    __slots__ = ("id", "title")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ...) -> None: ...

class ListSection(_message.Message):
    __slots__ = ("title", "rows")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    title: str
    rows: _containers.RepeatedCompositeFieldContainer[ListRow]
    def __init__(self, title: _Optional[str] = ..., rows: _Optional[_Iterable[_Union[ListRow, _Mapping]]] = ...) -> None: ...

class ListRow(_message.Message):
    __slots__ = ("id", "title", "description")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    description: str
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ReactionContent(_message.Message):
    __slots__ = ("message", "emoji")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EMOJI_FIELD_NUMBER: _ClassVar[int]
    message: str
    emoji: str
    def __init__(self, message: _Optional[str] = ..., emoji: _Optional[str] = ...) -> None: ...

class EmailContent(_message.Message):
    __slots__ = ("subject", "text_body", "html_body")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    TEXT_BODY_FIELD_NUMBER: _ClassVar[int]
    HTML_BODY_FIELD_NUMBER: _ClassVar[int]
    subject: str
    text_body: str
    html_body: str
    def __init__(self, subject: _Optional[str] = ..., text_body: _Optional[str] = ..., html_body: _Optional[str] = ...) -> None: ...

class UnsupportedContent(_message.Message):
    __slots__ = ("type", "raw_json")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    RAW_JSON_FIELD_NUMBER: _ClassVar[int]
    type: str
    raw_json: str
    def __init__(self, type: _Optional[str] = ..., raw_json: _Optional[str] = ...) -> None: ...

class SendMessageRequest(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: Message
    def __init__(self, message: _Optional[_Union[Message, _Mapping]] = ...) -> None: ...

class SendMessagesRequest(_message.Message):
    __slots__ = ("messages", "keep_on_cancel", "progress_interval_ms")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    KEEP_ON_CANCEL_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    keep_on_cancel: bool
    progress_interval_ms: int
    def __init__(self, messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., keep_on_cancel: _Optional[bool] = ..., progress_interval_ms: _Optional[int] = ...) -> None: ...

class SendMessagesResponse(_message.Message):
    __slots__ = ("results", "totals")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SendResult]
    totals: SendTotals
    def __init__(self, results: _Optional[_Iterable[_Union[SendResult, _Mapping]]] = ..., totals: _Optional[_Union[SendTotals, _Mapping]] = ...) -> None: ...

class SendResult(_message.Message):
    __slots__ = ("index", "message", "status", "provider_message_id", "error", "refusal", "duplicate", "reattempt_key", "reattempt_time")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    REATTEMPT_KEY_FIELD_NUMBER: _ClassVar[int]
    REATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    index: int
    message: str
    status: Status
    provider_message_id: str
    error: MessageError
    refusal: _status_pb2.Status
    duplicate: bool
    reattempt_key: str
    reattempt_time: _timestamp_pb2.Timestamp
    def __init__(self, index: _Optional[int] = ..., message: _Optional[str] = ..., status: _Optional[_Union[Status, str]] = ..., provider_message_id: _Optional[str] = ..., error: _Optional[_Union[MessageError, _Mapping]] = ..., refusal: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., duplicate: _Optional[bool] = ..., reattempt_key: _Optional[str] = ..., reattempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SendTotals(_message.Message):
    __slots__ = ("requested", "accepted", "refused", "sent", "failed", "withdrawn", "unknown", "pending", "current_rate", "limited")
    REQUESTED_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    CURRENT_RATE_FIELD_NUMBER: _ClassVar[int]
    LIMITED_FIELD_NUMBER: _ClassVar[int]
    requested: int
    accepted: int
    refused: int
    sent: int
    failed: int
    withdrawn: int
    unknown: int
    pending: int
    current_rate: float
    limited: int
    def __init__(self, requested: _Optional[int] = ..., accepted: _Optional[int] = ..., refused: _Optional[int] = ..., sent: _Optional[int] = ..., failed: _Optional[int] = ..., withdrawn: _Optional[int] = ..., unknown: _Optional[int] = ..., pending: _Optional[int] = ..., current_rate: _Optional[float] = ..., limited: _Optional[int] = ...) -> None: ...

class WithdrawMessagesRequest(_message.Message):
    __slots__ = ("idempotency_key_prefix",)
    IDEMPOTENCY_KEY_PREFIX_FIELD_NUMBER: _ClassVar[int]
    idempotency_key_prefix: str
    def __init__(self, idempotency_key_prefix: _Optional[str] = ...) -> None: ...

class WithdrawMessagesResponse(_message.Message):
    __slots__ = ("withdrawn_count", "in_flight_count")
    WITHDRAWN_COUNT_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_COUNT_FIELD_NUMBER: _ClassVar[int]
    withdrawn_count: int
    in_flight_count: int
    def __init__(self, withdrawn_count: _Optional[int] = ..., in_flight_count: _Optional[int] = ...) -> None: ...

class BatchGetMessageStatesRequest(_message.Message):
    __slots__ = ("idempotency_keys",)
    IDEMPOTENCY_KEYS_FIELD_NUMBER: _ClassVar[int]
    idempotency_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, idempotency_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class BatchGetMessageStatesResponse(_message.Message):
    __slots__ = ("states",)
    STATES_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedCompositeFieldContainer[MessageState]
    def __init__(self, states: _Optional[_Iterable[_Union[MessageState, _Mapping]]] = ...) -> None: ...

class MessageState(_message.Message):
    __slots__ = ("idempotency_key", "message", "status", "provider_message_id", "error", "update_time", "reattempt_key", "reattempt_time")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REATTEMPT_KEY_FIELD_NUMBER: _ClassVar[int]
    REATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    message: str
    status: Status
    provider_message_id: str
    error: MessageError
    update_time: _timestamp_pb2.Timestamp
    reattempt_key: str
    reattempt_time: _timestamp_pb2.Timestamp
    def __init__(self, idempotency_key: _Optional[str] = ..., message: _Optional[str] = ..., status: _Optional[_Union[Status, str]] = ..., provider_message_id: _Optional[str] = ..., error: _Optional[_Union[MessageError, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reattempt_key: _Optional[str] = ..., reattempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetMessageRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListMessagesRequest(_message.Message):
    __slots__ = ("contact", "customer", "channel", "page_size", "page_token")
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    contact: str
    customer: str
    channel: Channel
    page_size: int
    page_token: str
    def __init__(self, contact: _Optional[str] = ..., customer: _Optional[str] = ..., channel: _Optional[_Union[Channel, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMessagesResponse(_message.Message):
    __slots__ = ("messages", "next_page_token")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    next_page_token: str
    def __init__(self, messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Conversation(_message.Message):
    __slots__ = ("name", "channel", "customer", "contact", "profile_name", "last_message", "unanswered_count", "window_expire_time", "update_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    PROFILE_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    UNANSWERED_COUNT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    channel: Channel
    customer: str
    contact: str
    profile_name: str
    last_message: Message
    unanswered_count: int
    window_expire_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., channel: _Optional[_Union[Channel, str]] = ..., customer: _Optional[str] = ..., contact: _Optional[str] = ..., profile_name: _Optional[str] = ..., last_message: _Optional[_Union[Message, _Mapping]] = ..., unanswered_count: _Optional[int] = ..., window_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListConversationsRequest(_message.Message):
    __slots__ = ("channel", "page_size", "page_token")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    channel: Channel
    page_size: int
    page_token: str
    def __init__(self, channel: _Optional[_Union[Channel, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListConversationsResponse(_message.Message):
    __slots__ = ("conversations", "next_page_token")
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    conversations: _containers.RepeatedCompositeFieldContainer[Conversation]
    next_page_token: str
    def __init__(self, conversations: _Optional[_Iterable[_Union[Conversation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchConversationsRequest(_message.Message):
    __slots__ = ("conversation", "include_status_changes")
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_STATUS_CHANGES_FIELD_NUMBER: _ClassVar[int]
    conversation: str
    include_status_changes: bool
    def __init__(self, conversation: _Optional[str] = ..., include_status_changes: _Optional[bool] = ...) -> None: ...

class WatchConversationsResponse(_message.Message):
    __slots__ = ("kind", "conversation", "message", "voice_call", "event_time")
    KIND_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    VOICE_CALL_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    kind: ConversationEventKind
    conversation: str
    message: Message
    voice_call: VoiceCall
    event_time: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[_Union[ConversationEventKind, str]] = ..., conversation: _Optional[str] = ..., message: _Optional[_Union[Message, _Mapping]] = ..., voice_call: _Optional[_Union[VoiceCall, _Mapping]] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DeleteMessageRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class IngestEventsRequest(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[InboundEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[InboundEvent, _Mapping]]] = ...) -> None: ...

class InboundEvent(_message.Message):
    __slots__ = ("sns_message_id", "payload", "publish_time", "source")
    SNS_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    sns_message_id: str
    payload: str
    publish_time: _timestamp_pb2.Timestamp
    source: str
    def __init__(self, sns_message_id: _Optional[str] = ..., payload: _Optional[str] = ..., publish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ...) -> None: ...

class IngestEventsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[IngestResult]
    def __init__(self, results: _Optional[_Iterable[_Union[IngestResult, _Mapping]]] = ...) -> None: ...

class IngestResult(_message.Message):
    __slots__ = ("sns_message_id", "outcome", "detail", "messages")
    SNS_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    sns_message_id: str
    outcome: IngestOutcome
    detail: str
    messages: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, sns_message_id: _Optional[str] = ..., outcome: _Optional[_Union[IngestOutcome, str]] = ..., detail: _Optional[str] = ..., messages: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateMediaUploadRequest(_message.Message):
    __slots__ = ("kind", "mime_type", "size_bytes", "filename")
    KIND_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    kind: MediaKind
    mime_type: str
    size_bytes: int
    filename: str
    def __init__(self, kind: _Optional[_Union[MediaKind, str]] = ..., mime_type: _Optional[str] = ..., size_bytes: _Optional[int] = ..., filename: _Optional[str] = ...) -> None: ...

class CreateMediaUploadResponse(_message.Message):
    __slots__ = ("media_key", "upload_url", "upload_headers", "expire_time")
    class UploadHeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MEDIA_KEY_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_URL_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_HEADERS_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    media_key: str
    upload_url: str
    upload_headers: _containers.ScalarMap[str, str]
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, media_key: _Optional[str] = ..., upload_url: _Optional[str] = ..., upload_headers: _Optional[_Mapping[str, str]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Template(_message.Message):
    __slots__ = ("name", "template_name", "language", "category", "template_status", "meta_template_id", "waba", "body_variables", "header_variables", "header_media_kind", "dynamic_buttons", "body_text", "sync_time", "status_reason", "previous_category", "upcoming_category", "parameter_format", "header", "body", "footer_text", "buttons", "library_template", "status_time", "update_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_NAME_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_STATUS_FIELD_NUMBER: _ClassVar[int]
    META_TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    WABA_FIELD_NUMBER: _ClassVar[int]
    BODY_VARIABLES_FIELD_NUMBER: _ClassVar[int]
    HEADER_VARIABLES_FIELD_NUMBER: _ClassVar[int]
    HEADER_MEDIA_KIND_FIELD_NUMBER: _ClassVar[int]
    DYNAMIC_BUTTONS_FIELD_NUMBER: _ClassVar[int]
    BODY_TEXT_FIELD_NUMBER: _ClassVar[int]
    SYNC_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_REASON_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    UPCOMING_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_FORMAT_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    FOOTER_TEXT_FIELD_NUMBER: _ClassVar[int]
    BUTTONS_FIELD_NUMBER: _ClassVar[int]
    LIBRARY_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    template_name: str
    language: str
    category: Category
    template_status: str
    meta_template_id: str
    waba: str
    body_variables: _containers.RepeatedScalarFieldContainer[str]
    header_variables: _containers.RepeatedScalarFieldContainer[str]
    header_media_kind: MediaKind
    dynamic_buttons: _containers.RepeatedScalarFieldContainer[int]
    body_text: str
    sync_time: _timestamp_pb2.Timestamp
    status_reason: str
    previous_category: Category
    upcoming_category: Category
    parameter_format: TemplateParameterFormat
    header: TemplateHeader
    body: TemplateBody
    footer_text: str
    buttons: _containers.RepeatedCompositeFieldContainer[TemplateButton]
    library_template: LibraryTemplate
    status_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., template_name: _Optional[str] = ..., language: _Optional[str] = ..., category: _Optional[_Union[Category, str]] = ..., template_status: _Optional[str] = ..., meta_template_id: _Optional[str] = ..., waba: _Optional[str] = ..., body_variables: _Optional[_Iterable[str]] = ..., header_variables: _Optional[_Iterable[str]] = ..., header_media_kind: _Optional[_Union[MediaKind, str]] = ..., dynamic_buttons: _Optional[_Iterable[int]] = ..., body_text: _Optional[str] = ..., sync_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status_reason: _Optional[str] = ..., previous_category: _Optional[_Union[Category, str]] = ..., upcoming_category: _Optional[_Union[Category, str]] = ..., parameter_format: _Optional[_Union[TemplateParameterFormat, str]] = ..., header: _Optional[_Union[TemplateHeader, _Mapping]] = ..., body: _Optional[_Union[TemplateBody, _Mapping]] = ..., footer_text: _Optional[str] = ..., buttons: _Optional[_Iterable[_Union[TemplateButton, _Mapping]]] = ..., library_template: _Optional[_Union[LibraryTemplate, _Mapping]] = ..., status_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TemplateHeader(_message.Message):
    __slots__ = ("format", "text", "example", "media_key")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    EXAMPLE_FIELD_NUMBER: _ClassVar[int]
    MEDIA_KEY_FIELD_NUMBER: _ClassVar[int]
    format: TemplateHeaderFormat
    text: str
    example: str
    media_key: str
    def __init__(self, format: _Optional[_Union[TemplateHeaderFormat, str]] = ..., text: _Optional[str] = ..., example: _Optional[str] = ..., media_key: _Optional[str] = ...) -> None: ...

class TemplateBody(_message.Message):
    __slots__ = ("text", "examples", "named_examples")
    class NamedExamplesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TEXT_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    NAMED_EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    text: str
    examples: _containers.RepeatedScalarFieldContainer[str]
    named_examples: _containers.ScalarMap[str, str]
    def __init__(self, text: _Optional[str] = ..., examples: _Optional[_Iterable[str]] = ..., named_examples: _Optional[_Mapping[str, str]] = ...) -> None: ...

class TemplateButton(_message.Message):
    __slots__ = ("kind", "text", "url", "url_example", "phone_number")
    KIND_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    URL_EXAMPLE_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    kind: TemplateButtonKind
    text: str
    url: str
    url_example: str
    phone_number: str
    def __init__(self, kind: _Optional[_Union[TemplateButtonKind, str]] = ..., text: _Optional[str] = ..., url: _Optional[str] = ..., url_example: _Optional[str] = ..., phone_number: _Optional[str] = ...) -> None: ...

class LibraryTemplate(_message.Message):
    __slots__ = ("library_template_name", "button_inputs", "add_contact_number", "add_learn_more_link", "add_security_recommendation", "add_track_package_link", "code_expiration_minutes")
    LIBRARY_TEMPLATE_NAME_FIELD_NUMBER: _ClassVar[int]
    BUTTON_INPUTS_FIELD_NUMBER: _ClassVar[int]
    ADD_CONTACT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ADD_LEARN_MORE_LINK_FIELD_NUMBER: _ClassVar[int]
    ADD_SECURITY_RECOMMENDATION_FIELD_NUMBER: _ClassVar[int]
    ADD_TRACK_PACKAGE_LINK_FIELD_NUMBER: _ClassVar[int]
    CODE_EXPIRATION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    library_template_name: str
    button_inputs: _containers.RepeatedCompositeFieldContainer[TemplateButton]
    add_contact_number: bool
    add_learn_more_link: bool
    add_security_recommendation: bool
    add_track_package_link: bool
    code_expiration_minutes: int
    def __init__(self, library_template_name: _Optional[str] = ..., button_inputs: _Optional[_Iterable[_Union[TemplateButton, _Mapping]]] = ..., add_contact_number: _Optional[bool] = ..., add_learn_more_link: _Optional[bool] = ..., add_security_recommendation: _Optional[bool] = ..., add_track_package_link: _Optional[bool] = ..., code_expiration_minutes: _Optional[int] = ...) -> None: ...

class GetTemplateRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CreateTemplateRequest(_message.Message):
    __slots__ = ("template",)
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    template: Template
    def __init__(self, template: _Optional[_Union[Template, _Mapping]] = ...) -> None: ...

class UpdateTemplateRequest(_message.Message):
    __slots__ = ("template", "update_mask")
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    template: Template
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, template: _Optional[_Union[Template, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteTemplateRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetMessagingTierRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MessagingTier(_message.Message):
    __slots__ = ("limit", "limit_source", "reserve", "used", "marketing_available", "available", "releases", "window_seconds", "bucket_seconds", "phones", "observe_time", "release_lag_seconds")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_SOURCE_FIELD_NUMBER: _ClassVar[int]
    RESERVE_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    MARKETING_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    RELEASES_FIELD_NUMBER: _ClassVar[int]
    WINDOW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    BUCKET_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PHONES_FIELD_NUMBER: _ClassVar[int]
    OBSERVE_TIME_FIELD_NUMBER: _ClassVar[int]
    RELEASE_LAG_SECONDS_FIELD_NUMBER: _ClassVar[int]
    limit: int
    limit_source: str
    reserve: int
    used: int
    marketing_available: int
    available: int
    releases: _containers.RepeatedCompositeFieldContainer[TierRelease]
    window_seconds: float
    bucket_seconds: float
    phones: _containers.RepeatedCompositeFieldContainer[PhoneQuality]
    observe_time: _timestamp_pb2.Timestamp
    release_lag_seconds: float
    def __init__(self, limit: _Optional[int] = ..., limit_source: _Optional[str] = ..., reserve: _Optional[int] = ..., used: _Optional[int] = ..., marketing_available: _Optional[int] = ..., available: _Optional[int] = ..., releases: _Optional[_Iterable[_Union[TierRelease, _Mapping]]] = ..., window_seconds: _Optional[float] = ..., bucket_seconds: _Optional[float] = ..., phones: _Optional[_Iterable[_Union[PhoneQuality, _Mapping]]] = ..., observe_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., release_lag_seconds: _Optional[float] = ...) -> None: ...

class TierRelease(_message.Message):
    __slots__ = ("release_time", "count")
    RELEASE_TIME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    release_time: _timestamp_pb2.Timestamp
    count: int
    def __init__(self, release_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., count: _Optional[int] = ...) -> None: ...

class PhoneQuality(_message.Message):
    __slots__ = ("origination", "quality", "marketing_stopped", "update_time")
    ORIGINATION_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    MARKETING_STOPPED_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    origination: str
    quality: str
    marketing_stopped: bool
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, origination: _Optional[str] = ..., quality: _Optional[str] = ..., marketing_stopped: _Optional[bool] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListTemplatesRequest(_message.Message):
    __slots__ = ("language", "page_size", "page_token")
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    language: str
    page_size: int
    page_token: str
    def __init__(self, language: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTemplatesResponse(_message.Message):
    __slots__ = ("templates", "next_page_token")
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedCompositeFieldContainer[Template]
    next_page_token: str
    def __init__(self, templates: _Optional[_Iterable[_Union[Template, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SyncTemplatesRequest(_message.Message):
    __slots__ = ("wabas",)
    WABAS_FIELD_NUMBER: _ClassVar[int]
    wabas: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, wabas: _Optional[_Iterable[str]] = ...) -> None: ...

class SyncTemplatesResponse(_message.Message):
    __slots__ = ("template_count", "added_count", "removed_count")
    TEMPLATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    ADDED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REMOVED_COUNT_FIELD_NUMBER: _ClassVar[int]
    template_count: int
    added_count: int
    removed_count: int
    def __init__(self, template_count: _Optional[int] = ..., added_count: _Optional[int] = ..., removed_count: _Optional[int] = ...) -> None: ...

class DeadLetter(_message.Message):
    __slots__ = ("id", "body", "reason", "message", "receive_count", "sent_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_COUNT_FIELD_NUMBER: _ClassVar[int]
    SENT_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    body: str
    reason: str
    message: str
    receive_count: int
    sent_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., body: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., receive_count: _Optional[int] = ..., sent_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListDeadLettersRequest(_message.Message):
    __slots__ = ("queue", "page_size")
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    queue: DeadLetterQueue
    page_size: int
    def __init__(self, queue: _Optional[_Union[DeadLetterQueue, str]] = ..., page_size: _Optional[int] = ...) -> None: ...

class ListDeadLettersResponse(_message.Message):
    __slots__ = ("dead_letters", "approximate_count")
    DEAD_LETTERS_FIELD_NUMBER: _ClassVar[int]
    APPROXIMATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    dead_letters: _containers.RepeatedCompositeFieldContainer[DeadLetter]
    approximate_count: int
    def __init__(self, dead_letters: _Optional[_Iterable[_Union[DeadLetter, _Mapping]]] = ..., approximate_count: _Optional[int] = ...) -> None: ...

class ReplayDeadLettersRequest(_message.Message):
    __slots__ = ("queue", "dry_run", "max_count", "max_per_second")
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    MAX_COUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    queue: DeadLetterQueue
    dry_run: bool
    max_count: int
    max_per_second: float
    def __init__(self, queue: _Optional[_Union[DeadLetterQueue, str]] = ..., dry_run: _Optional[bool] = ..., max_count: _Optional[int] = ..., max_per_second: _Optional[float] = ...) -> None: ...

class ReplayDeadLettersResponse(_message.Message):
    __slots__ = ("results", "replayed_count", "already_done_count", "failed_count")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_COUNT_FIELD_NUMBER: _ClassVar[int]
    ALREADY_DONE_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILED_COUNT_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ReplayResult]
    replayed_count: int
    already_done_count: int
    failed_count: int
    def __init__(self, results: _Optional[_Iterable[_Union[ReplayResult, _Mapping]]] = ..., replayed_count: _Optional[int] = ..., already_done_count: _Optional[int] = ..., failed_count: _Optional[int] = ...) -> None: ...

class ReplayResult(_message.Message):
    __slots__ = ("dead_letter", "outcome", "detail")
    DEAD_LETTER_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    dead_letter: DeadLetter
    outcome: ReplayOutcome
    detail: str
    def __init__(self, dead_letter: _Optional[_Union[DeadLetter, _Mapping]] = ..., outcome: _Optional[_Union[ReplayOutcome, str]] = ..., detail: _Optional[str] = ...) -> None: ...

class VoiceCall(_message.Message):
    __slots__ = ("name", "call_id", "direction", "origination", "customer", "contact", "event", "call_status", "start_time", "end_time", "duration_seconds", "conversation")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    ORIGINATION_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    CALL_STATUS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    call_id: str
    direction: Direction
    origination: str
    customer: str
    contact: str
    event: str
    call_status: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    duration_seconds: int
    conversation: str
    def __init__(self, name: _Optional[str] = ..., call_id: _Optional[str] = ..., direction: _Optional[_Union[Direction, str]] = ..., origination: _Optional[str] = ..., customer: _Optional[str] = ..., contact: _Optional[str] = ..., event: _Optional[str] = ..., call_status: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration_seconds: _Optional[int] = ..., conversation: _Optional[str] = ...) -> None: ...

class ListVoiceCallsRequest(_message.Message):
    __slots__ = ("customer", "page_size", "page_token")
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    customer: str
    page_size: int
    page_token: str
    def __init__(self, customer: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListVoiceCallsResponse(_message.Message):
    __slots__ = ("voice_calls", "next_page_token")
    VOICE_CALLS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    voice_calls: _containers.RepeatedCompositeFieldContainer[VoiceCall]
    next_page_token: str
    def __init__(self, voice_calls: _Optional[_Iterable[_Union[VoiceCall, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
