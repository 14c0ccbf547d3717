"""EUM Social's template management (boto3 `socialmessaging`, since 2025-07): CreateWhatsAppMessageTemplate (a
definition as a JSON blob), CreateWhatsAppMessageTemplateFromLibrary, CreateWhatsAppMessageTemplateMedia (a header's
example file from S3, answered with Meta's header handle), UpdateWhatsAppMessageTemplate and
DeleteWhatsAppMessageTemplate. The catalogue's reads (List, Get) stay with adapters.providers.

What the service answers becomes the platform's errors: Meta's or EUM's refusal of a template is INVALID_ARGUMENT
on `template` with their words (nothing was created), an unknown template NOT_FOUND, a throttle, a 5xx or no
connection UNAVAILABLE (try again)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from runtime.aws import AwsClients
from runtime.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound, Unavailable

REFUSED = {"ValidationException", "InvalidParametersException"}
DENIED = {"AccessDeniedException", "AccessDeniedByMetaException"}


@dataclass(frozen=True)
class Created:
    meta_template_id: str
    status: str  # PENDING, or APPROVED when Meta approved it at once
    category: str  # the category Meta gave it (it may differ from the one asked for)


def _error(exc: Exception, what: str) -> DomainError:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        detail = exc.response.get("Error", {}).get("Message", str(exc))[:500]
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in REFUSED:
            return InvalidArgument("template", f"EUM Social refused to {what}: {detail}")
        if code == "ResourceNotFoundException":
            return NotFound(f"EUM Social does not know the template ({detail})")
        if code in DENIED:
            return FailedPrecondition(f"EUM Social denied {what}: {detail}", reason="TEMPLATE_API_DENIED")
        if status >= 500 or code.startswith("Throttl"):
            return Unavailable(f"EUM Social could not {what} now ({code}); try again")
        return FailedPrecondition(f"EUM Social refused to {what}: {code} {detail}", reason="TEMPLATE_API_REFUSED")
    return Unavailable(f"EUM Social could not be reached to {what} ({type(exc).__name__}); try again")


class WhatsAppTemplateApi:
    def __init__(self, aws: AwsClients, endpoint: str | None, bucket: str):
        self._aws = aws
        self._endpoint = endpoint
        self._bucket = bucket

    async def _client(self):
        return await self._aws.client("socialmessaging", endpoint_url=self._endpoint, max_attempts=3, read_timeout=30)

    async def _call(self, what: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        client = await self._client()
        try:
            return await getattr(client, operation)(**kwargs)
        except (ClientError, BotoCoreError, OSError) as exc:
            raise _error(exc, what) from exc

    async def create(self, waba: str, definition: dict[str, Any]) -> Created:
        reply = await self._call(
            "create the template",
            "create_whatsapp_message_template",
            id=waba,
            templateDefinition=json.dumps(definition, separators=(",", ":")).encode(),
        )
        return Created(
            str(reply.get("metaTemplateId", "")),
            str(reply.get("templateStatus", "PENDING")),
            str(reply.get("category", definition.get("category", ""))),
        )

    async def create_from_library(self, waba: str, library: dict[str, Any]) -> Created:
        """`library`: MetaLibraryTemplate (templateName, libraryTemplateName, templateCategory, templateLanguage,
        and the button and body inputs the library template asks for)."""
        reply = await self._call(
            "create the template from the library",
            "create_whatsapp_message_template_from_library",
            id=waba,
            metaLibraryTemplate=library,
        )
        return Created(
            str(reply.get("metaTemplateId", "")),
            str(reply.get("templateStatus", "PENDING")),
            str(reply.get("category", library.get("templateCategory", ""))),
        )

    async def upload_media(self, waba: str, media_key: str) -> str:
        """A header's example file (in the bucket) uploaded to Meta: its header handle."""
        reply = await self._call(
            "upload the header's example",
            "create_whatsapp_message_template_media",
            id=waba,
            sourceS3File={"bucketName": self._bucket, "key": media_key},
        )
        return str(reply.get("metaHeaderHandle", ""))

    async def update(
        self, waba: str, meta_template_id: str, components: list[dict[str, Any]], category: str, parameter_format: str
    ) -> None:
        kwargs: dict[str, Any] = {
            "id": waba,
            "metaTemplateId": meta_template_id,
            "templateComponents": json.dumps(components, separators=(",", ":")).encode(),
            "parameterFormat": parameter_format.lower(),
        }
        if category:
            kwargs["templateCategory"] = category
        await self._call("update the template", "update_whatsapp_message_template", **kwargs)

    async def delete(self, waba: str, template_name: str, meta_template_id: str) -> None:
        """Deletes one language of a template: by name and Meta's id (the name alone deletes every language)."""
        kwargs: dict[str, Any] = {"id": waba, "templateName": template_name}
        if meta_template_id:
            kwargs["metaTemplateId"] = meta_template_id
        await self._call("delete the template", "delete_whatsapp_message_template", **kwargs)
