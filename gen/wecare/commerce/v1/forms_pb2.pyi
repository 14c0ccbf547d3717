import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from wecare.contacts.v1 import contacts_service_pb2 as _contacts_service_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FormState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FORM_STATE_UNSPECIFIED: _ClassVar[FormState]
    FORM_STATE_DRAFT: _ClassVar[FormState]
    FORM_STATE_PUBLISHED: _ClassVar[FormState]
    FORM_STATE_DEPRECATED: _ClassVar[FormState]

class FlowCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FLOW_CATEGORY_UNSPECIFIED: _ClassVar[FlowCategory]
    FLOW_CATEGORY_SIGN_UP: _ClassVar[FlowCategory]
    FLOW_CATEGORY_SIGN_IN: _ClassVar[FlowCategory]
    FLOW_CATEGORY_APPOINTMENT_BOOKING: _ClassVar[FlowCategory]
    FLOW_CATEGORY_LEAD_GENERATION: _ClassVar[FlowCategory]
    FLOW_CATEGORY_SHOPPING: _ClassVar[FlowCategory]
    FLOW_CATEGORY_CONTACT_US: _ClassVar[FlowCategory]
    FLOW_CATEGORY_CUSTOMER_SUPPORT: _ClassVar[FlowCategory]
    FLOW_CATEGORY_SURVEY: _ClassVar[FlowCategory]
    FLOW_CATEGORY_OTHER: _ClassVar[FlowCategory]

class FieldType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIELD_TYPE_UNSPECIFIED: _ClassVar[FieldType]
    FIELD_TYPE_TEXT: _ClassVar[FieldType]
    FIELD_TYPE_NUMBER: _ClassVar[FieldType]
    FIELD_TYPE_DATE: _ClassVar[FieldType]
    FIELD_TYPE_SINGLE_CHOICE: _ClassVar[FieldType]
    FIELD_TYPE_MULTIPLE_CHOICE: _ClassVar[FieldType]
    FIELD_TYPE_OPT_IN: _ClassVar[FieldType]

class ContactSync(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTACT_SYNC_UNSPECIFIED: _ClassVar[ContactSync]
    CONTACT_SYNC_NONE: _ClassVar[ContactSync]
    CONTACT_SYNC_PENDING: _ClassVar[ContactSync]
    CONTACT_SYNC_APPLIED: _ClassVar[ContactSync]
    CONTACT_SYNC_FAILED: _ClassVar[ContactSync]
FORM_STATE_UNSPECIFIED: FormState
FORM_STATE_DRAFT: FormState
FORM_STATE_PUBLISHED: FormState
FORM_STATE_DEPRECATED: FormState
FLOW_CATEGORY_UNSPECIFIED: FlowCategory
FLOW_CATEGORY_SIGN_UP: FlowCategory
FLOW_CATEGORY_SIGN_IN: FlowCategory
FLOW_CATEGORY_APPOINTMENT_BOOKING: FlowCategory
FLOW_CATEGORY_LEAD_GENERATION: FlowCategory
FLOW_CATEGORY_SHOPPING: FlowCategory
FLOW_CATEGORY_CONTACT_US: FlowCategory
FLOW_CATEGORY_CUSTOMER_SUPPORT: FlowCategory
FLOW_CATEGORY_SURVEY: FlowCategory
FLOW_CATEGORY_OTHER: FlowCategory
FIELD_TYPE_UNSPECIFIED: FieldType
FIELD_TYPE_TEXT: FieldType
FIELD_TYPE_NUMBER: FieldType
FIELD_TYPE_DATE: FieldType
FIELD_TYPE_SINGLE_CHOICE: FieldType
FIELD_TYPE_MULTIPLE_CHOICE: FieldType
FIELD_TYPE_OPT_IN: FieldType
CONTACT_SYNC_UNSPECIFIED: ContactSync
CONTACT_SYNC_NONE: ContactSync
CONTACT_SYNC_PENDING: ContactSync
CONTACT_SYNC_APPLIED: ContactSync
CONTACT_SYNC_FAILED: ContactSync

class Form(_message.Message):
    __slots__ = ("name", "display_name", "heading", "description", "fields", "submit_label", "categories", "waba", "invitation_text", "open_label", "state", "flow", "create_time", "update_time", "creator", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    HEADING_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    SUBMIT_LABEL_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    WABA_FIELD_NUMBER: _ClassVar[int]
    INVITATION_TEXT_FIELD_NUMBER: _ClassVar[int]
    OPEN_LABEL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    FLOW_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    heading: str
    description: str
    fields: _containers.RepeatedCompositeFieldContainer[FormField]
    submit_label: str
    categories: _containers.RepeatedScalarFieldContainer[FlowCategory]
    waba: str
    invitation_text: str
    open_label: str
    state: FormState
    flow: FlowInfo
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    creator: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., heading: _Optional[str] = ..., description: _Optional[str] = ..., fields: _Optional[_Iterable[_Union[FormField, _Mapping]]] = ..., submit_label: _Optional[str] = ..., categories: _Optional[_Iterable[_Union[FlowCategory, str]]] = ..., waba: _Optional[str] = ..., invitation_text: _Optional[str] = ..., open_label: _Optional[str] = ..., state: _Optional[_Union[FormState, str]] = ..., flow: _Optional[_Union[FlowInfo, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., creator: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class FlowInfo(_message.Message):
    __slots__ = ("flow_id", "status", "json_version", "validation_errors", "preview_url", "preview_expire_time", "sync_time")
    FLOW_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    JSON_VERSION_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_ERRORS_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_URL_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    SYNC_TIME_FIELD_NUMBER: _ClassVar[int]
    flow_id: str
    status: str
    json_version: str
    validation_errors: _containers.RepeatedScalarFieldContainer[str]
    preview_url: str
    preview_expire_time: _timestamp_pb2.Timestamp
    sync_time: _timestamp_pb2.Timestamp
    def __init__(self, flow_id: _Optional[str] = ..., status: _Optional[str] = ..., json_version: _Optional[str] = ..., validation_errors: _Optional[_Iterable[str]] = ..., preview_url: _Optional[str] = ..., preview_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sync_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FormField(_message.Message):
    __slots__ = ("key", "label", "type", "required", "helper_text", "min_length", "max_length", "pattern", "min_value", "max_value", "decimal_places", "min_date", "max_date", "options", "min_selected", "max_selected", "contact_field", "consent_channel")
    KEY_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    HELPER_TEXT_FIELD_NUMBER: _ClassVar[int]
    MIN_LENGTH_FIELD_NUMBER: _ClassVar[int]
    MAX_LENGTH_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    MIN_VALUE_FIELD_NUMBER: _ClassVar[int]
    MAX_VALUE_FIELD_NUMBER: _ClassVar[int]
    DECIMAL_PLACES_FIELD_NUMBER: _ClassVar[int]
    MIN_DATE_FIELD_NUMBER: _ClassVar[int]
    MAX_DATE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    MIN_SELECTED_FIELD_NUMBER: _ClassVar[int]
    MAX_SELECTED_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_FIELD_NUMBER: _ClassVar[int]
    CONSENT_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    key: str
    label: str
    type: FieldType
    required: bool
    helper_text: str
    min_length: int
    max_length: int
    pattern: str
    min_value: str
    max_value: str
    decimal_places: int
    min_date: str
    max_date: str
    options: _containers.RepeatedCompositeFieldContainer[FormOption]
    min_selected: int
    max_selected: int
    contact_field: str
    consent_channel: _contacts_service_pb2.Channel
    def __init__(self, key: _Optional[str] = ..., label: _Optional[str] = ..., type: _Optional[_Union[FieldType, str]] = ..., required: _Optional[bool] = ..., helper_text: _Optional[str] = ..., min_length: _Optional[int] = ..., max_length: _Optional[int] = ..., pattern: _Optional[str] = ..., min_value: _Optional[str] = ..., max_value: _Optional[str] = ..., decimal_places: _Optional[int] = ..., min_date: _Optional[str] = ..., max_date: _Optional[str] = ..., options: _Optional[_Iterable[_Union[FormOption, _Mapping]]] = ..., min_selected: _Optional[int] = ..., max_selected: _Optional[int] = ..., contact_field: _Optional[str] = ..., consent_channel: _Optional[_Union[_contacts_service_pb2.Channel, str]] = ...) -> None: ...

class FormOption(_message.Message):
    __slots__ = ("id", "title")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ...) -> None: ...

class CreateFormRequest(_message.Message):
    __slots__ = ("form",)
    FORM_FIELD_NUMBER: _ClassVar[int]
    form: Form
    def __init__(self, form: _Optional[_Union[Form, _Mapping]] = ...) -> None: ...

class GetFormRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListFormsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListFormsResponse(_message.Message):
    __slots__ = ("forms", "next_page_token")
    FORMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    forms: _containers.RepeatedCompositeFieldContainer[Form]
    next_page_token: str
    def __init__(self, forms: _Optional[_Iterable[_Union[Form, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateFormRequest(_message.Message):
    __slots__ = ("form", "update_mask")
    FORM_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    form: Form
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, form: _Optional[_Union[Form, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteFormRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class PreviewFormRequest(_message.Message):
    __slots__ = ("name", "etag", "invalidate")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    INVALIDATE_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    invalidate: bool
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ..., invalidate: _Optional[bool] = ...) -> None: ...

class PublishFormRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeprecateFormRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class FormInvitation(_message.Message):
    __slots__ = ("name", "flow_token", "contact", "recipient", "message", "job", "create_time", "creator", "flow_message", "response")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FLOW_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    FLOW_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    name: str
    flow_token: str
    contact: str
    recipient: str
    message: str
    job: str
    create_time: _timestamp_pb2.Timestamp
    creator: str
    flow_message: FlowMessage
    response: str
    def __init__(self, name: _Optional[str] = ..., flow_token: _Optional[str] = ..., contact: _Optional[str] = ..., recipient: _Optional[str] = ..., message: _Optional[str] = ..., job: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., creator: _Optional[str] = ..., flow_message: _Optional[_Union[FlowMessage, _Mapping]] = ..., response: _Optional[str] = ...) -> None: ...

class FlowMessage(_message.Message):
    __slots__ = ("flow_id", "flow_token", "interactive_json", "template_button_json")
    FLOW_ID_FIELD_NUMBER: _ClassVar[int]
    FLOW_TOKEN_FIELD_NUMBER: _ClassVar[int]
    INTERACTIVE_JSON_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_BUTTON_JSON_FIELD_NUMBER: _ClassVar[int]
    flow_id: str
    flow_token: str
    interactive_json: str
    template_button_json: str
    def __init__(self, flow_id: _Optional[str] = ..., flow_token: _Optional[str] = ..., interactive_json: _Optional[str] = ..., template_button_json: _Optional[str] = ...) -> None: ...

class CreateFormInvitationRequest(_message.Message):
    __slots__ = ("parent", "invitation", "request_id", "template_button_index")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    INVITATION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_BUTTON_INDEX_FIELD_NUMBER: _ClassVar[int]
    parent: str
    invitation: FormInvitation
    request_id: str
    template_button_index: int
    def __init__(self, parent: _Optional[str] = ..., invitation: _Optional[_Union[FormInvitation, _Mapping]] = ..., request_id: _Optional[str] = ..., template_button_index: _Optional[int] = ...) -> None: ...

class BatchCreateFormInvitationsRequest(_message.Message):
    __slots__ = ("parent", "requests")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    parent: str
    requests: _containers.RepeatedCompositeFieldContainer[CreateFormInvitationRequest]
    def __init__(self, parent: _Optional[str] = ..., requests: _Optional[_Iterable[_Union[CreateFormInvitationRequest, _Mapping]]] = ...) -> None: ...

class BatchCreateFormInvitationsResponse(_message.Message):
    __slots__ = ("invitations",)
    INVITATIONS_FIELD_NUMBER: _ClassVar[int]
    invitations: _containers.RepeatedCompositeFieldContainer[FormInvitation]
    def __init__(self, invitations: _Optional[_Iterable[_Union[FormInvitation, _Mapping]]] = ...) -> None: ...

class GetFormInvitationRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class UpdateFormInvitationRequest(_message.Message):
    __slots__ = ("invitation", "update_mask")
    INVITATION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    invitation: FormInvitation
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, invitation: _Optional[_Union[FormInvitation, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class FormResponse(_message.Message):
    __slots__ = ("name", "invitation", "contact", "recipient", "message", "job", "reply_message", "reply_wamid", "answers", "submit_time", "create_time", "contact_sync", "contact_sync_error")
    NAME_FIELD_NUMBER: _ClassVar[int]
    INVITATION_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    REPLY_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REPLY_WAMID_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    SUBMIT_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CONTACT_SYNC_FIELD_NUMBER: _ClassVar[int]
    CONTACT_SYNC_ERROR_FIELD_NUMBER: _ClassVar[int]
    name: str
    invitation: str
    contact: str
    recipient: str
    message: str
    job: str
    reply_message: str
    reply_wamid: str
    answers: _containers.RepeatedCompositeFieldContainer[FormAnswer]
    submit_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    contact_sync: ContactSync
    contact_sync_error: str
    def __init__(self, name: _Optional[str] = ..., invitation: _Optional[str] = ..., contact: _Optional[str] = ..., recipient: _Optional[str] = ..., message: _Optional[str] = ..., job: _Optional[str] = ..., reply_message: _Optional[str] = ..., reply_wamid: _Optional[str] = ..., answers: _Optional[_Iterable[_Union[FormAnswer, _Mapping]]] = ..., submit_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., contact_sync: _Optional[_Union[ContactSync, str]] = ..., contact_sync_error: _Optional[str] = ...) -> None: ...

class FormAnswer(_message.Message):
    __slots__ = ("key", "values")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    key: str
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, key: _Optional[str] = ..., values: _Optional[_Iterable[str]] = ...) -> None: ...

class SubmitFormResponseRequest(_message.Message):
    __slots__ = ("response_json", "sender", "reply_wamid", "reply_message", "submit_time")
    RESPONSE_JSON_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    REPLY_WAMID_FIELD_NUMBER: _ClassVar[int]
    REPLY_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SUBMIT_TIME_FIELD_NUMBER: _ClassVar[int]
    response_json: str
    sender: str
    reply_wamid: str
    reply_message: str
    submit_time: _timestamp_pb2.Timestamp
    def __init__(self, response_json: _Optional[str] = ..., sender: _Optional[str] = ..., reply_wamid: _Optional[str] = ..., reply_message: _Optional[str] = ..., submit_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SubmitFormResponseResponse(_message.Message):
    __slots__ = ("response", "duplicate")
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    response: FormResponse
    duplicate: bool
    def __init__(self, response: _Optional[_Union[FormResponse, _Mapping]] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class ListFormResponsesRequest(_message.Message):
    __slots__ = ("parent", "contact", "job", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    contact: str
    job: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., contact: _Optional[str] = ..., job: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListFormResponsesResponse(_message.Message):
    __slots__ = ("responses", "next_page_token")
    RESPONSES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    responses: _containers.RepeatedCompositeFieldContainer[FormResponse]
    next_page_token: str
    def __init__(self, responses: _Optional[_Iterable[_Union[FormResponse, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ExportFormResponsesRequest(_message.Message):
    __slots__ = ("parent",)
    PARENT_FIELD_NUMBER: _ClassVar[int]
    parent: str
    def __init__(self, parent: _Optional[str] = ...) -> None: ...
