"""Retargeting, no I/O: an audience drawn from an earlier job's recipients by their outcome (sent, delivered,
read, failed, limited), whether they clicked its links and whether they answered its form. "Read but did not
click" is outcomes {READ}, clicked NO. The audience is taken once, when the job is created: its recipients go
into the job's chunks as an inline list's do, with the values the earlier job had for them.

Outcomes read as the job's counts do: delivered includes read, sent includes both; limited is Meta's 131049 (the
per-person limit on marketing messages): the LIMITED outcome, or a failure with that code (jobs recorded before
LIMITED was an outcome of its own)."""

from __future__ import annotations

from services.bulk.domain.engagement import Engagement
from services.bulk.domain.model import FINISHED, Job, Outcome, Recipient, Retarget
from services.bulk.domain.spec import Candidate, Problems

LIMITED_CODE = "131049"
OUTCOMES = ("SENT", "DELIVERED", "READ", "FAILED", "LIMITED")
ENGAGEMENT = ("", "YES", "NO")  # either, did, did not
_MATCHES = {
    "SENT": frozenset({Outcome.SENT, Outcome.DELIVERED, Outcome.READ}),
    "DELIVERED": frozenset({Outcome.DELIVERED, Outcome.READ}),
    "READ": frozenset({Outcome.READ}),
    "FAILED": frozenset({Outcome.FAILED, Outcome.LIMITED}),  # failed for any reason, 131049 included
}


def check(problems: Problems, retarget: Retarget, source: Job | None) -> None:
    at = "job.retarget"
    if not retarget.source_job:
        problems.add(f"{at}.source_job", "required: the earlier job, `bulkJobs/{id}`")
    elif source is None:
        problems.add(f"{at}.source_job", f"bulkJobs/{retarget.source_job} does not exist")
    elif source.state not in FINISHED:
        problems.add(f"{at}.source_job", f"{source.name} is {source.state.value}: retarget a finished job")
    for i, outcome in enumerate(retarget.outcomes):
        if outcome not in OUTCOMES:
            problems.add(f"{at}.outcomes[{i}]", "SENT, DELIVERED, READ, FAILED or LIMITED")
    if source is not None and retarget.needs_clicks and not source.track_links:
        problems.add(f"{at}.clicked", f"{source.name} did not track its links: nobody's clicks are known")
    if source is not None and retarget.needs_answers and not source.form:
        problems.add(f"{at}.answered", f"{source.name} sent no form: nobody's answers are known")


def _outcome_matches(r: Recipient, outcomes: tuple[str, ...]) -> bool:
    if not outcomes:
        return r.outcome in _MATCHES["SENT"] or r.outcome in _MATCHES["FAILED"]
    for wanted in outcomes:
        if wanted == "LIMITED":
            if r.outcome == Outcome.LIMITED or (r.outcome == Outcome.FAILED and r.error_code == LIMITED_CODE):
                return True
        elif r.outcome in _MATCHES[wanted]:
            return True
    return False


def _engaged(wanted: str, did: bool) -> bool:
    return wanted == "" or (wanted == "YES") == did


def selects(retarget: Retarget, r: Recipient, engagement: Engagement) -> bool:
    return (
        bool(r.address)
        and _outcome_matches(r, retarget.outcomes)
        and _engaged(retarget.clicked, engagement.clicked(r.address))
        and _engaged(retarget.answered, r.address in engagement.answered)
    )


def candidate(r: Recipient) -> Candidate:
    """The earlier recipient as a member of the new audience, with the values the earlier job had for them."""
    attributes = {k.removeprefix("attributes."): v for k, v in r.values.items() if k.startswith("attributes.")}
    return Candidate(
        address=r.address,
        contact=r.contact,
        display_name=r.values.get("display_name", ""),
        phone_number=r.values.get("phone_number", ""),
        email=r.values.get("email", ""),
        attributes=attributes,
    )
