"""Forms, invitations and responses <-> plain dicts, shared by the stores that keep each as one document."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from services.commerce.domain.answers import Answer
from services.commerce.domain.forms import Definition, Field, FieldType, Flow, Form, FormState, Option
from services.commerce.domain.invitations import Invitation
from services.commerce.domain.responses import ContactSync, Response


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def form_document(form: Form) -> dict[str, Any]:
    doc = asdict(form)
    doc["state"] = form.state.value
    doc["definition"]["fields"] = [{**asdict(f), "type": f.type.value} for f in form.definition.fields]
    return doc


def form_from(doc: dict[str, Any]) -> Form:
    d = doc["definition"]
    fields = tuple(
        Field(
            **{
                **f,
                "type": FieldType(f["type"]),
                "options": tuple(Option(o["id"], o["title"]) for o in f.get("options") or ()),
                **{k: int(f[k]) for k in _INTS if k in f},
            }
        )
        for f in d.get("fields") or ()
    )
    definition = Definition(
        **{
            **d,
            "fields": fields,
            "categories": tuple(d.get("categories") or ()),
        }
    )
    fl = doc.get("flow") or {}
    flow = Flow(
        **{
            **fl,
            "validation_errors": tuple(fl.get("validation_errors") or ()),
            "preview_expire_time": _optional_float(fl.get("preview_expire_time")),
            "sync_time": _optional_float(fl.get("sync_time")),
        }
    )
    return Form(
        id=doc["id"],
        definition=definition,
        state=FormState(doc["state"]),
        flow=flow,
        create_time=float(doc["create_time"]),
        update_time=float(doc["update_time"]),
        creator=doc.get("creator", ""),
        version=int(doc["version"]),
    )


_INTS = ("min_length", "max_length", "decimal_places", "min_selected", "max_selected")


def invitation_document(invitation: Invitation) -> dict[str, Any]:
    return asdict(invitation)


def invitation_from(doc: dict[str, Any]) -> Invitation:
    return Invitation(**{**doc, "create_time": float(doc["create_time"])})


def response_document(response: Response) -> dict[str, Any]:
    doc = asdict(response)
    doc["answers"] = [{"key": a.key, "values": list(a.values)} for a in response.answers]
    doc["contact_sync"] = response.contact_sync.value
    return doc


def response_from(doc: dict[str, Any]) -> Response:
    return Response(
        **{
            **doc,
            "answers": tuple(Answer(a["key"], tuple(a["values"])) for a in doc.get("answers") or ()),
            "submit_time": float(doc["submit_time"]),
            "create_time": float(doc["create_time"]),
            "contact_sync": ContactSync(doc["contact_sync"]),
        }
    )
