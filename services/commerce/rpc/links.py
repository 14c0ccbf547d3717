"""The link RPCs of CommerceService: CreateLink, BatchCreateLinks, GetLink, ListLinks, DeleteLink, FollowLink,
ListClicks."""

from __future__ import annotations

from google.protobuf import empty_pb2

from runtime.calls import caller, note_change
from runtime.errors import FieldViolation, InvalidArgument
from runtime.names import parse_name, seconds, timestamp
from runtime.pagination import PageTokens, page_size
from services.commerce.domain.links import Click, Link, LinkRequest, LinkStats, short_url
from services.commerce.domain.visitors import Open, OpenKind
from services.commerce.usecases.links import Links
from wecare.commerce.v1 import links_pb2 as pb

OUTPUT_ONLY = ("code", "short_url", "create_time", "creator", "stats")
OUTCOMES = {
    (OpenKind.CLICK, True): pb.FOLLOW_OUTCOME_CLICK,
    (OpenKind.CLICK, False): pb.FOLLOW_OUTCOME_REPEAT_CLICK,
    (OpenKind.PREVIEW, True): pb.FOLLOW_OUTCOME_PREVIEW,
    (OpenKind.PREVIEW, False): pb.FOLLOW_OUTCOME_PREVIEW,
}


def link_to_proto(link: Link, base_url: str, stats: LinkStats | None = None) -> pb.Link:
    out = pb.Link(
        name=link.name,
        target_url=link.target_url,
        code=link.code,
        short_url=short_url(base_url, link.code),
        contact=f"contacts/{link.contact}" if link.contact else "",
        recipient=link.recipient,
        message=f"messages/{link.message}" if link.message else "",
        job=f"bulkJobs/{link.job}" if link.job else "",
        expire_time=timestamp(link.expire_time),
        create_time=timestamp(link.create_time),
        creator=link.creator,
    )
    if stats is not None:
        out.stats.CopyFrom(
            pb.LinkStats(
                click_count=stats.click_count,
                unique_clickers=stats.unique_clickers,
                preview_count=stats.preview_count,
                first_click_time=timestamp(stats.first_click_time),
                last_click_time=timestamp(stats.last_click_time),
            )
        )
    return out


def click_to_proto(click: Click) -> pb.Click:
    return pb.Click(
        link=f"links/{click.link_id}",
        contact=f"contacts/{click.contact}" if click.contact else "",
        recipient=click.recipient,
        message=f"messages/{click.message}" if click.message else "",
        job=f"bulkJobs/{click.job}" if click.job else "",
        first_click_time=timestamp(click.first_click_time),
        last_click_time=timestamp(click.last_click_time),
        click_count=click.click_count,
    )


def request_from_proto(request: pb.CreateLinkRequest) -> LinkRequest:
    link = request.link
    given = {f.name for f, _ in link.ListFields()}
    extras = {name: "output only: leave it out" for name in OUTPUT_ONLY if name in given}
    if link.name:
        extras["name"] = "assigned by the service: leave it out"
    return LinkRequest(
        target_url=link.target_url,
        contact=link.contact,
        recipient=link.recipient,
        message=link.message,
        job=link.job,
        expire_time=seconds(link.expire_time) if link.HasField("expire_time") else None,
        request_id=request.request_id,
        extras=extras,
    )


def _actor() -> str:
    who = caller()
    return who.subject if who else "unknown"


def _reference(value: str, collection: str, field: str) -> str:
    return parse_name(value, collection, field) if value else ""


class LinksRpc:
    def __init__(self, links: Links, page_tokens: PageTokens):
        self._links = links
        self._tokens = page_tokens

    def _proto(self, link: Link, stats: LinkStats | None = None) -> pb.Link:
        return link_to_proto(link, self._links.base_url, stats)

    async def CreateLink(self, request: pb.CreateLinkRequest, context) -> pb.Link:
        if not request.HasField("link"):
            raise InvalidArgument("link", "required")
        (link,) = await self._links.create([request_from_proto(request)], [""], _actor())
        note_change(link.name, None, link.audit_view())
        return self._proto(link)

    async def BatchCreateLinks(self, request: pb.BatchCreateLinksRequest, context) -> pb.BatchCreateLinksResponse:
        if not request.requests:
            raise InvalidArgument("requests", "at least one link")
        prefixes = [f"requests[{i}]" for i in range(len(request.requests))]
        missing = [p for p, item in zip(prefixes, request.requests, strict=True) if not item.HasField("link")]
        if missing:
            raise InvalidArgument([FieldViolation(f"{p}.link", "required") for p in missing])
        links = await self._links.create([request_from_proto(r) for r in request.requests], prefixes, _actor())
        note_change("links", None, {"requested": len(request.requests), "links": len(links)})
        return pb.BatchCreateLinksResponse(links=[self._proto(link) for link in links])

    async def GetLink(self, request: pb.GetLinkRequest, context) -> pb.Link:
        link, stats = await self._links.get(parse_name(request.name, "links"))
        return self._proto(link, stats)

    async def ListLinks(self, request: pb.ListLinksRequest, context) -> pb.ListLinksResponse:
        size = page_size(request.page_size, 50, 1000)
        after = self._tokens.decode("links:list", request.page_token) if request.page_token else None
        links = await self._links.list(after, size + 1)
        more = len(links) > size
        links = links[:size]
        token = self._tokens.encode("links:list", links[-1].id) if more else ""
        return pb.ListLinksResponse(links=[self._proto(link) for link in links], next_page_token=token)

    async def DeleteLink(self, request: pb.DeleteLinkRequest, context) -> empty_pb2.Empty:
        removed = await self._links.delete(parse_name(request.name, "links"))
        note_change(removed.name, removed.audit_view(), None)
        return empty_pb2.Empty()

    async def FollowLink(self, request: pb.FollowLinkRequest, context) -> pb.FollowLinkResponse:
        opened = Open(
            http_method=request.http_method or "GET",
            user_agent=request.user_agent[:1000],
            purpose=request.purpose[:100],
            client_address=request.client_address[:100],
            visitor=request.visitor[:100],
        )
        followed = await self._links.follow(request.code, opened)
        outcome = OUTCOMES[(followed.kind, followed.first)]
        note_change(followed.link.name, None, {"outcome": pb.FollowOutcome.Name(outcome)})
        return pb.FollowLinkResponse(target_url=followed.link.target_url, link=followed.link.name, outcome=outcome)

    async def ListClicks(self, request: pb.ListClicksRequest, context) -> pb.ListClicksResponse:
        if bool(request.message) == bool(request.job):
            raise InvalidArgument("message", "give exactly one of message (`messages/{id}`) and job (`bulkJobs/{id}`)")
        message = _reference(request.message, "messages", "message")
        job = _reference(request.job, "bulkJobs", "job")
        size = page_size(request.page_size, 100, 1000)
        scope = f"clicks:{request.message}:{request.job}"
        after = self._tokens.decode(scope, request.page_token) if request.page_token else None
        clicks, next_key = await self._links.clicks(message, job, after, size)
        token = self._tokens.encode(scope, next_key) if next_key else ""
        return pb.ListClicksResponse(clicks=[click_to_proto(c) for c in clicks], next_page_token=token)
