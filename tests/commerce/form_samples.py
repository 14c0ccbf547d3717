"""One form of every field type, as the domain holds it and as a caller writes it over gRPC: shared by the form
tests (domain, store contract, service, sandbox)."""

from __future__ import annotations

from services.commerce.domain.forms import Definition, Field, FieldType, Form, FormState, Option
from wecare.commerce.v1 import forms_pb2 as pb
from wecare.contacts.v1 import contacts_service_pb2 as contacts_pb

WABA = "waba-00000000000000000000000000000001"
WABAS = (WABA, "waba-00000000000000000000000000000002")

FIELDS = (
    Field("name", "Your name", FieldType.TEXT, required=True, max_length=60, contact_field="display_name"),
    Field("email", "Email", FieldType.TEXT, contact_field="email", helper_text="We send the receipt here"),
    Field("code", "Member code", FieldType.TEXT, pattern=r"[A-Z]{2}[0-9]{4}", min_length=6, max_length=6),
    Field("guests", "Guests", FieldType.NUMBER, required=True, min_value="1", max_value="10"),
    Field("budget", "Budget", FieldType.NUMBER, decimal_places=2, min_value="0", contact_field="attributes.budget"),
    Field("day", "Day of the visit", FieldType.DATE, required=True, min_date="2030-01-01", max_date="2030-12-31"),
    Field(
        "size",
        "Table",
        FieldType.SINGLE_CHOICE,
        required=True,
        options=(Option("small", "Small"), Option("large", "Large")),
        contact_field="attributes.table",
    ),
    Field(
        "diet",
        "Diet",
        FieldType.MULTIPLE_CHOICE,
        options=(Option("veg", "Vegetarian"), Option("vegan", "Vegan"), Option("gf", "Gluten free")),
        max_selected=2,
    ),
    Field("offers", "Send me offers on WhatsApp", FieldType.OPT_IN, consent_channel="whatsapp"),
    Field("terms", "I accept the terms", FieldType.OPT_IN, required=True),
)

DEFINITION = Definition(
    display_name="Dinner booking",
    fields=FIELDS,
    heading="Book a table",
    description="Tell us about your visit.",
    submit_label="Book",
    categories=("APPOINTMENT_BOOKING",),
    waba=WABA,
    invitation_text="Book your table in two minutes.",
    open_label="Book now",
)

GOOD_ANSWERS = {
    "name": "Asha Rao",
    "email": "asha@example.com",
    "code": "AB1234",
    "guests": "4",
    "budget": "120.50",
    "day": "2030-05-17",
    "size": "large",
    "diet": ["vegan", "veg"],
    "offers": True,
    "terms": True,
}


def form(state: FormState = FormState.DRAFT, **changes) -> Form:
    return Form(id="01J00000000000000000000000", definition=DEFINITION, state=state, **changes)


def proto_form() -> pb.Form:
    """The same form as a caller writes it."""
    types = {t: getattr(pb, f"FIELD_TYPE_{t.value}") for t in FieldType}
    channels = {"whatsapp": contacts_pb.CHANNEL_WHATSAPP, "": contacts_pb.CHANNEL_UNSPECIFIED}
    return pb.Form(
        display_name=DEFINITION.display_name,
        heading=DEFINITION.heading,
        description=DEFINITION.description,
        submit_label=DEFINITION.submit_label,
        categories=[pb.FLOW_CATEGORY_APPOINTMENT_BOOKING],
        invitation_text=DEFINITION.invitation_text,
        open_label=DEFINITION.open_label,
        fields=[
            pb.FormField(
                key=f.key,
                label=f.label,
                type=types[f.type],
                required=f.required,
                helper_text=f.helper_text,
                min_length=f.min_length,
                max_length=f.max_length,
                pattern=f.pattern,
                min_value=f.min_value,
                max_value=f.max_value,
                decimal_places=f.decimal_places,
                min_date=f.min_date,
                max_date=f.max_date,
                options=[pb.FormOption(id=o.id, title=o.title) for o in f.options],
                min_selected=f.min_selected,
                max_selected=f.max_selected,
                contact_field=f.contact_field,
                consent_channel=channels[f.consent_channel],
            )
            for f in FIELDS
        ],
    )
