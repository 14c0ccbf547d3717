"""Wiring of the ai process: DocsTable, the provider chosen by WECARE_AI_PROVIDER, the contacts and messaging
services it reads with its own service identity, AIService, health probes."""

from __future__ import annotations

from runtime.auth import ServiceTokens
from runtime.aws import AwsClients
from runtime.clients import service_channel
from runtime.pagination import PageTokens
from runtime.process import main as run_main
from runtime.server import GrpcProcess
from runtime.settings import Settings
from runtime.storage import open_table
from services.ai.adapters.contacts_directory import ContactsServiceDirectory
from services.ai.adapters.dynamodb_store import DynamoDocsStore
from services.ai.adapters.messaging_conversations import MessagingConversations
from services.ai.adapters.provider import KnowledgeProvider
from services.ai.adapters.sqlite_store import SqliteDocsStore
from services.ai.adapters.store import DocsStore
from services.ai.assistant import Assistant, SessionPolicy
from services.ai.servicer import AIServicer
from wecare.ai.v1 import ai_service_pb2_grpc


def docs_store(settings: Settings, aws: AwsClients) -> DocsStore:
    return open_table(settings, aws, settings.docs_table, sqlite=SqliteDocsStore, dynamodb=DynamoDocsStore)


def provider(settings: Settings, aws: AwsClients, store: DocsStore) -> KnowledgeProvider:
    if settings.ai_provider == "bedrock":
        from services.ai.adapters.bedrock_provider import BedrockProvider

        return BedrockProvider(
            aws,
            settings.bedrock_knowledge_base_id,
            settings.bedrock_model_id,
            settings.region,
            settings.bedrock_min_score,
        )
    from services.ai.adapters.local.provider import LocalProvider

    return LocalProvider(store, settings.ai_min_confidence)


async def wire(process: GrpcProcess, aws: AwsClients) -> None:
    settings = process.settings
    store = docs_store(settings, aws)
    knowledge = provider(settings, aws, store)
    tokens = ServiceTokens(settings, "ai")
    contacts = service_channel(settings.contacts_address, tokens.token)
    messaging = service_channel(settings.messaging_address, tokens.token)
    assistant = Assistant(
        store,
        knowledge,
        ContactsServiceDirectory(contacts),
        MessagingConversations(messaging),
        SessionPolicy(settings.ai_session_ttl_seconds, settings.ai_max_sessions),
    )
    process.add_service(
        ai_service_pb2_grpc.add_AIServiceServicer_to_server,
        AIServicer(store, assistant, PageTokens(settings.effective_page_token_key)),
        "wecare.ai.v1.AIService",
    )
    process.run_in_background(knowledge.start)  # the local provider indexes the knowledge base before questions come
    process.depends_on("docs-store", store.ping)
    process.depends_on("ai-provider", knowledge.ping)
    process.on_close(store.close)
    process.on_close(knowledge.close)
    process.on_close(contacts.close)
    process.on_close(messaging.close)


def main() -> None:
    run_main("ai", lambda s: s.ai_address, wire)


if __name__ == "__main__":
    main()
