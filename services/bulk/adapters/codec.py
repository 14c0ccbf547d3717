"""Jobs and recipients as plain documents, shared by the stores that keep them as one document (SQLite JSON,
DynamoDB maps). Recipient documents use short keys: a job of a million recipients keeps a million of them."""

from __future__ import annotations

from typing import Any

from services.bulk.domain.model import Audience, Channel, Job, JobState, Outcome, Recipient, Retarget


def job_to_doc(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "channel": job.channel.value,
        "category": job.category,
        "content": job.content,
        "audience": {
            "kind": job.audience.kind,
            "tags": list(job.audience.tags),
            "search": job.audience.search,
            "consent": job.audience.consent,
            "inline_count": job.audience.inline_count,
            "chunks": job.audience.chunks,
            **({"retarget": _retarget_doc(job.audience.retarget)} if job.audience.retarget else {}),
        },
        "originations": list(job.originations),
        "display_name": job.display_name,
        "schedule_time": job.schedule_time,
        "state": job.state.value,
        "creator": job.creator,
        "create_time": job.create_time,
        "update_time": job.update_time,
        "start_time": job.start_time,
        "finish_time": job.finish_time,
        "binding_rate": job.binding_rate,
        "failure_reason": job.failure_reason,
        "state_reason": job.state_reason,
        "resume_time": job.resume_time,
        "report_key": job.report_key,
        "requeue": job.requeue,
        "report_owner": job.report_owner,
        "report_lease_until": job.report_lease_until,
        "version": job.version,
        "track_links": job.track_links,
        "form": job.form,
    }


def job_from_doc(doc: dict[str, Any]) -> Job:
    a = doc["audience"]
    return Job(
        id=doc["id"],
        channel=Channel(doc["channel"]),
        category=doc["category"],
        content=doc["content"],
        audience=Audience(
            a["kind"],
            tuple(a["tags"]),
            a["search"],
            a["consent"],
            int(a["inline_count"]),
            int(a.get("chunks", 0)),
            _retarget(a.get("retarget")),
        ),
        originations=tuple(doc["originations"]),
        display_name=doc["display_name"],
        schedule_time=doc.get("schedule_time"),
        state=JobState(doc["state"]),
        creator=doc["creator"],
        create_time=float(doc["create_time"]),
        update_time=float(doc["update_time"]),
        start_time=doc.get("start_time"),
        finish_time=doc.get("finish_time"),
        binding_rate=float(doc["binding_rate"]),
        failure_reason=doc["failure_reason"],
        state_reason=doc.get("state_reason", ""),
        resume_time=doc.get("resume_time"),
        report_key=doc["report_key"],
        requeue=bool(doc.get("requeue", False)),
        report_owner=doc.get("report_owner", ""),
        report_lease_until=float(doc.get("report_lease_until", 0.0)),
        version=int(doc["version"]),
        track_links=bool(doc.get("track_links", False)),
        form=doc.get("form", ""),
    )


def _retarget_doc(r: Retarget) -> dict[str, Any]:
    return {"source_job": r.source_job, "outcomes": list(r.outcomes), "clicked": r.clicked, "answered": r.answered}


def _retarget(doc: dict[str, Any] | None) -> Retarget | None:
    if not doc:
        return None
    return Retarget(doc["source_job"], tuple(doc.get("outcomes", ())), doc.get("clicked", ""), doc.get("answered", ""))


def recipient_to_doc(r: Recipient) -> dict[str, Any]:
    """The recipient's identity (who, from where, with which values); its state is stored beside it."""
    doc: dict[str, Any] = {"a": r.address}
    if r.contact:
        doc["c"] = r.contact
    if r.origination:
        doc["o"] = r.origination
    if r.values:
        doc["v"] = r.values
    return doc


def recipient_from_doc(index: int, doc: dict[str, Any], state: dict[str, Any]) -> Recipient:
    return Recipient(
        index=index,
        address=doc["a"],
        contact=doc.get("c", ""),
        origination=doc.get("o", ""),
        values=doc.get("v", {}),
        outcome=Outcome(state.get("outcome") or Outcome.PENDING),
        owner=state.get("owner") or "",
        message=state.get("message") or "",
        provider_id=state.get("provider_id") or "",
        error_code=state.get("error_code") or "",
        reason=state.get("reason") or "",
        update_time=float(state.get("update_time") or 0.0),
    )
