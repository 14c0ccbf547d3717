"""Contact rules without I/O: phone numbers to E.164, field validation naming the field, etags, consent order,
search planning and ranking."""

from __future__ import annotations

import pytest

from runtime.errors import Aborted, InvalidArgument
from services.contacts import domain
from services.contacts.domain import ChannelConsent, ConsentState, Contact, ContactInput


@pytest.mark.parametrize(
    "written",
    ["+91 98123 45678", "098123 45678", "9812345678", "+91-98123-45678", "(+91) 98123.45678", "0091 98123 45678"],
)
def test_common_ways_of_writing_an_indian_number(written):
    assert domain.normalize_phone(written, "IN", "contact.phone_number") == "+919812345678"


def test_numbers_with_a_country_code_keep_it():
    assert domain.normalize_phone("+1 (415) 555-2671", "IN", "f") == "+14155552671"


@pytest.mark.parametrize("bad", ["12345", "phone", "+91 12", "+999 1234567"])
def test_bad_numbers_name_the_field(bad):
    with pytest.raises(InvalidArgument) as err:
        domain.normalize_phone(bad, "IN", "contact.phone_number")
    assert err.value.violations[0].field == "contact.phone_number"


def test_validate_reports_every_problem_at_once():
    given = ContactInput(display_name="x" * 201, phone_number="nope", email="not-an-email", tags=("ok", "Bad Tag!"))
    with pytest.raises(InvalidArgument) as err:
        domain.validate(given, "IN", "contact")
    fields = {v.field for v in err.value.violations}
    assert fields == {"contact.display_name", "contact.phone_number", "contact.email", "contact.tags[1]"}


def test_validate_normalises():
    valid = domain.validate(
        ContactInput(display_name="  Asha   Verma ", phone_number="98123 45678", tags=("VIP", "vip", "north")),
        "IN",
        "contact",
    )
    assert (valid.display_name, valid.phone_number, valid.tags) == ("Asha Verma", "+919812345678", ("vip", "north"))


def test_attribute_keys_must_be_identifiers():
    with pytest.raises(InvalidArgument) as err:
        domain.validate(ContactInput(email="a@b.co", attributes={"1st": "x"}), "IN", "contact")
    assert err.value.violations[0].field == "contact.attributes['1st']"


def test_a_contact_needs_a_number_or_an_address():
    with pytest.raises(InvalidArgument, match="phone number or an email"):
        domain.new_contact("ID", ContactInput(display_name="Nobody"), 1.0, "op")


def _contact(**kw) -> Contact:
    return Contact(id="01ABCDEFGHJKMNPQRSTVWXYZ00", phone_number="+919812345678", create_time=1, update_time=1, **kw)


def test_update_bumps_version_and_etag_only_when_something_changed():
    current = _contact(display_name="Asha")
    same = domain.apply_update(current, ContactInput(display_name="Asha"), ("display_name",), "", 5.0, "op")
    assert same is current
    changed = domain.apply_update(
        current, ContactInput(display_name="Asha V"), ("display_name",), current.etag, 5.0, "op"
    )
    assert (changed.version, changed.update_time) == (2, 5.0)
    assert changed.etag != current.etag


def test_stale_etag_is_aborted():
    current = _contact(display_name="Asha", version=3)
    with pytest.raises(Aborted):
        domain.apply_update(current, ContactInput(display_name="B"), ("display_name",), _contact().etag, 5.0, "op")


def test_update_cannot_remove_the_last_way_to_reach_a_contact():
    with pytest.raises(InvalidArgument):
        domain.apply_update(_contact(), ContactInput(phone_number=""), ("phone_number",), "", 5.0, "op")


def test_operator_consent_change_is_stamped_with_time_and_source():
    updated = domain.apply_update(
        _contact(),
        ContactInput(consent={"sms": ChannelConsent(ConsentState.OPTED_IN)}),
        ("sms_consent",),
        "",
        7.0,
        "u1",
    )
    assert updated.consent_on("sms") == ChannelConsent(ConsentState.OPTED_IN, 7.0, "operator:u1")


def test_consent_moves_only_forward_in_time():
    opted_out = domain.record_consent(
        _contact(), "whatsapp", ConsentState.OPTED_OUT, 100.0, "whatsapp:keyword:STOP", 200.0
    )
    assert opted_out.consent_on("whatsapp").state is ConsentState.OPTED_OUT
    older = domain.record_consent(opted_out, "whatsapp", ConsentState.OPTED_IN, 50.0, "whatsapp:keyword:START", 300.0)
    assert older is opted_out
    newer = domain.record_consent(opted_out, "whatsapp", ConsentState.OPTED_IN, 150.0, "whatsapp:keyword:START", 300.0)
    assert newer.consent_on("whatsapp").state is ConsentState.OPTED_IN
    assert newer.version == opted_out.version + 1


def test_consent_changes_keep_their_history_oldest_first_and_bounded():
    made = domain.new_contact(
        "C1",
        ContactInput(phone_number="+919812345678", consent={"whatsapp": ChannelConsent(ConsentState.OPTED_IN)}),
        1.0,
        "u1",
    )
    assert made.consent_history == {"whatsapp": (ChannelConsent(ConsentState.OPTED_IN, 1.0, "operator:u1"),)}
    stopped = domain.record_consent(made, "whatsapp", ConsentState.OPTED_OUT, 5.0, "whatsapp:keyword:STOP", 6.0)
    back = domain.apply_update(
        stopped,
        ContactInput(consent={"whatsapp": ChannelConsent(ConsentState.OPTED_IN)}),
        ("whatsapp_consent",),
        "",
        9.0,
        "u2",
    )
    assert [(c.state, c.update_time, c.source) for c in back.consent_history["whatsapp"]] == [
        (ConsentState.OPTED_IN, 1.0, "operator:u1"),
        (ConsentState.OPTED_OUT, 5.0, "whatsapp:keyword:STOP"),
        (ConsentState.OPTED_IN, 9.0, "operator:u2"),
    ]
    assert back.consent_history["whatsapp"][-1] == back.consent_on("whatsapp")
    # A change older than the recorded one takes no effect, and so is not in the history either
    late = domain.record_consent(back, "whatsapp", ConsentState.OPTED_OUT, 2.0, "whatsapp:keyword:STOP", 10.0)
    assert late is back
    # An update that leaves the state as it was is no change
    same = domain.apply_update(
        back,
        ContactInput(consent={"whatsapp": ChannelConsent(ConsentState.OPTED_IN)}),
        ("whatsapp_consent",),
        "",
        11,
        "u",
    )
    assert same.consent_history == back.consent_history
    many = back
    for i in range(30):
        state = ConsentState.OPTED_OUT if i % 2 == 0 else ConsentState.OPTED_IN
        many = domain.record_consent(many, "sms", state, 100.0 + i, f"sms:{i}", 200.0 + i)
    assert len(many.consent_history["sms"]) == domain.MAX_CONSENT_HISTORY
    assert many.consent_history["sms"][-1].source == "sms:29" and many.consent_history["sms"][0].source == "sms:10"


def test_a_contact_stored_before_histories_starts_its_history_with_its_state():
    legacy = Contact(
        id="C1",
        phone_number="+919812345678",
        consent={"whatsapp": ChannelConsent(ConsentState.OPTED_IN, 1.0, "import")},
        create_time=1.0,
        update_time=1.0,
    )
    stopped = domain.record_consent(legacy, "whatsapp", ConsentState.OPTED_OUT, 5.0, "whatsapp:keyword:STOP", 6.0)
    assert [c.source for c in stopped.consent_history["whatsapp"]] == ["import", "whatsapp:keyword:STOP"]


def test_search_plan_reads_phones_and_emails():
    plan = domain.plan_search(" +91 98123-45678 ", "IN")
    assert plan.phone == "+919812345678" and plan.email is None
    plan = domain.plan_search("Asha.V@Example.com", "IN")
    assert plan.email == "asha.v@example.com" and plan.phone is None
    plan = domain.plan_search("Émile  Zola", "IN")
    assert (plan.prefix, plan.words, plan.phone) == ("emile zola", ("emile", "zola"), None)
    with pytest.raises(InvalidArgument, match="query"):
        domain.plan_search("   ", "IN")


def test_rank_keeps_groups_in_order_and_each_contact_once():
    a, b, c = (
        _contact(display_name=n).__class__(id=i, create_time=1, update_time=1)
        for n, i in (("a", "A"), ("b", "B"), ("c", "C"))
    )
    assert [x.id for x in domain.rank([b], [a, b], [c, a])] == ["B", "A", "C"]


def test_audit_view_holds_no_personal_data():
    contact = _contact(display_name="Asha Verma", email="asha@example.com", attributes={"city": "Pune"})
    view = str(contact.audit_view())
    for personal in ("Asha", "asha@example.com", "+91", "Pune"):
        assert personal not in view
