from google.api import annotations_pb2 as _annotations_pb2
from google.api import httpbody_pb2 as _httpbody_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from wecare.auth.v1 import access_pb2 as _access_pb2
from wecare.commerce.v1 import forms_pb2 as _forms_pb2
from wecare.commerce.v1 import invoices_pb2 as _invoices_pb2
from wecare.commerce.v1 import links_pb2 as _links_pb2
from wecare.commerce.v1 import payments_pb2 as _payments_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
