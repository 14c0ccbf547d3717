"""The local provider's parts: how WhatsApp writing is normalised (texting shorthand, Hinglish, typos), which
words are left alone, what counts against confidence, how the threshold refuses, how an answer from two
passages cites both, and an index that follows the knowledge base as documents change."""

from __future__ import annotations

import time

import numpy as np

from runtime import ids
from services.ai.adapters.local.knowledge import KnowledgeIndex
from services.ai.adapters.local.lexical import Entry, PassageIndex
from services.ai.adapters.local.provider import LocalProvider
from services.ai.adapters.local.speech import Speech
from services.ai.adapters.sqlite_store import SqliteDocsStore
from services.ai.domain import documents
from services.ai.domain.answers import Question
from services.ai.domain.documents import ContentType, DocumentInput, Passage


def test_texting_and_hinglish_become_plain_english():
    speech = Speech()
    assert speech.words("kitna paisa lagega ek saath?") == [
        "how",
        "much",
        "cost",
        "money",
        "cost",
        "together",
        "at",
        "once",
    ]
    assert speech.words("msg u bcoz tmrw") == ["message", "you", "because", "tomorrow"]
    assert speech.words("Papa ka BP") == ["father", "bp"]
    assert speech.words("family wala plan") == ["family", "plan"]
    assert speech.words("kal subah khana nahi chahiye") == ["tomorrow", "morning", "food", "not", "need"]
    assert speech.words("main band pet") == ["main", "band", "pet"]  # English words are left to English


def index_of(*texts: str) -> PassageIndex:
    return PassageIndex([Entry("d", "Doc", Passage(str(i), f"Heading {i}", t)) for i, t in enumerate(texts)])


def test_typos_are_matched_to_the_words_the_knowledge_base_uses_but_english_words_are_not_changed():
    index = index_of("You can cancel a booking free of charge.", "Cash is not accepted for subscriptions.")
    terms = index.understand("how to cancle my bookng")
    assert ("cancle", "cancel") in terms.corrected and ("bookng", "booking") in terms.corrected
    assert index.score(terms).ranking(5) == [0]
    rash = index.understand("i have a rash")  # an English word: not a slip for "cash"
    assert rash.stems == () and rash.unknown == ("rash",)


def test_word_families_the_stemmer_keeps_apart_are_joined():
    index = index_of("Our psychiatry consultations are scheduled.", "Complaints reach the grievance officer.")
    assert index.understand("psychiatrist please").stems == ("psychiatri",)
    assert index.understand("where to complain").stems == ("complaint",)


def test_unknown_rare_words_lower_confidence_more_than_everyday_ones_and_other_languages_not_at_all():
    index = index_of("The Senior plan costs ₹2,299 per month.", "Something else entirely.")
    everyday = index.score(index.understand("senior plan cost tomorrow")).coverage(0)
    rare = index.score(index.understand("senior plan cost thyroid")).coverage(0)
    assert everyday > rare
    hinglish = index.score(index.understand("senior plan cost samjhao"))  # no English word: not judged
    assert hinglish.terms.unknown == ("samjhao",) and hinglish.coverage(0) == 1.0


async def test_the_index_follows_documents_as_they_change(tmp_path):
    store = SqliteDocsStore(tmp_path / "docs.sqlite3")
    provider = LocalProvider(store, 0.32)
    assert not (await provider.answer(Question("what are the visit hours on sunday?"))).answered

    content = "# Visits\n\n## Visit hours\n\nSunday visits run from 9 AM to 1 PM for Senior members."
    doc = documents.new_document(ids.new_id(), DocumentInput("", content, ContentType.MARKDOWN), time.time(), "a")
    await store.create_document(doc)  # another replica could have written it: only the revision tells
    answer = await provider.answer(Question("what are the visit hours on sunday?"))
    assert answer.answered and "9 AM to 1 PM" in answer.text and answer.citations[0].heading == "Visit hours"

    await store.delete_document(doc.id)
    assert not (await provider.answer(Question("what are the visit hours on sunday?"))).answered
    await store.close()


async def test_a_customers_short_follow_up_is_read_with_what_they_asked_before(tmp_path):
    from services.ai.adapters.provider import ReplyRequest
    from services.ai.domain.answers import ReplyPiece
    from services.ai.domain.conversations import ContactCard, Conversation, ConversationMessage, Direction

    store = SqliteDocsStore(tmp_path / "docs.sqlite3")
    content = (
        "# Plans\n\n## CarePlus Family\n\nCarePlus Family costs ₹1,499 per month for up to 4 members.\n\n"
        "## CarePlus Senior\n\nCarePlus Senior costs ₹2,299 per month for one person aged 60 or above.\n\n"
        "## Pausing\n\nA plan can be paused once a year for up to 60 days.\n"
    )
    doc = documents.new_document(ids.new_id(), DocumentInput("", content, ContentType.MARKDOWN), time.time(), "a")
    await store.create_document(doc)
    conversation = Conversation(
        (
            ConversationMessage(Direction.INBOUND, "tell me about the senior plan", 1.0),
            ConversationMessage(Direction.OUTBOUND, "Happy to help!", 2.0),
            ConversationMessage(Direction.INBOUND, "how much?", 3.0),
        ),
        3.0,
    )
    contact = ContactCard("contacts/01J0000000000000000000000A", "Asha", "", "")
    events = [e async for e in LocalProvider(store, 0.32).reply(ReplyRequest(contact, conversation))]
    reply = "".join(e.text for e in events if isinstance(e, ReplyPiece))
    assert reply.startswith("Hi Asha, CarePlus Senior costs ₹2,299")
    alone = Conversation(conversation.messages[2:], 3.0)  # without what came before, "how much?" says nothing
    events = [e async for e in LocalProvider(store, 0.32).reply(ReplyRequest(contact, alone))]
    assert "₹2,299" not in "".join(e.text for e in events if isinstance(e, ReplyPiece))
    await store.close()


SHOP = (
    "# Kirana Corner\n\n## Delivery charges\n\nHome delivery costs ₹40 per order. Orders above ₹500 are delivered free."
    "\n\n## Opening hours\n\nThe shop opens at 9 AM and closes at 8 PM, every day except Tuesday.\n\n"
    "## Returns\n\nPacked goods can be returned within 7 days with the bill.\n"
)


async def shop(tmp_path) -> SqliteDocsStore:
    store = SqliteDocsStore(tmp_path / "docs.sqlite3")
    doc = documents.new_document(ids.new_id(), DocumentInput("", SHOP, ContentType.MARKDOWN), time.time(), "a")
    await store.create_document(doc)
    return store


async def test_a_question_asking_two_things_is_answered_from_both_passages_and_cites_both(tmp_path):
    store = await shop(tmp_path)
    provider = LocalProvider(store, 0.27)
    for asked in (
        "what does delivery cost and what time do you open?",
        "how much for delivery? also when do you close",
    ):
        answer = await provider.answer(Question(asked))
        assert answer.answered and "₹40" in answer.text and "9 AM" in answer.text, asked
        assert [c.heading for c in answer.citations] == ["Delivery charges", "Opening hours"], asked
    one = await provider.answer(Question("delivery charge kitna hai"))
    assert one.answered and [c.heading for c in one.citations] == ["Delivery charges"]  # one thing asked, one cited
    await store.close()


async def test_an_answer_quotes_the_sentence_after_the_best_one_when_it_carries_the_detail(tmp_path):
    store = SqliteDocsStore(tmp_path / "docs.sqlite3")
    content = (
        "# Care\n\n## Falling ill after a meal\n\nIf you feel unwell after eating our food, see a doctor first. "
        "Then tell us that you fell ill after our food: we keep a sample of every dish for 48 hours.\n\n"
        "## Delivery\n\nMeals arrive between 12 and 1 PM."
    )
    doc = documents.new_document(ids.new_id(), DocumentInput("", content, ContentType.MARKDOWN), time.time(), "a")
    await store.create_document(doc)
    answer = await LocalProvider(store, 0.0).answer(Question("i got sick after eating your food, what now?"))
    assert answer.answered and "see a doctor first" in answer.text and "48 hours" in answer.text
    assert [c.heading for c in answer.citations] == ["Falling ill after a meal"]
    await store.close()


async def test_the_threshold_decides_between_an_answer_and_i_dont_know_offering_the_nearest_passages(tmp_path):
    store = await shop(tmp_path)
    asked = Question("do you sell birthday cakes?")  # the shop's documents never mention cakes
    refused = await LocalProvider(store, 0.27).answer(asked)
    assert not refused.answered and refused.text.startswith("I don't know") and not refused.citations
    assert len(refused.passages) == 3 and all(
        f'"{p.heading}" (Kirana Corner)' in refused.text for p in refused.passages
    )
    assert refused.confidence < 0.27
    # The same question with no threshold gets an answer quoted from the nearest passage: the threshold decides.
    unguarded = await LocalProvider(store, 0.0).answer(asked)
    assert unguarded.answered and unguarded.citations and unguarded.confidence == refused.confidence
    answered = await LocalProvider(store, 0.27).answer(Question("what time does the shop open?"))
    assert answered.answered and answered.confidence >= 0.27 and "9 AM" in answered.text
    await store.close()


class RecordingEncoder:
    """Unit vectors of one dimension; remembers what it was asked to encode."""

    key = "recording"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts):
        self.seen += list(texts)
        return np.ones((len(texts), 1), dtype=np.float32)


def test_the_encoder_reads_the_question_with_its_typing_slips_corrected_and_hinglish_in_english():
    passages = [Passage("1", "Cancelling a plan", "You can cancel a monthly plan at any time.")]
    encoder = RecordingEncoder()
    vectors = [encoder.encode(["x"]) for _ in passages]
    index = KnowledgeIndex([Entry("d", "Plans", p) for p in passages], Speech(), encoder, vectors)
    encoder.seen.clear()
    index.search("how do i cancle my monthly plan kal")
    assert encoder.seen == ["how do i cancel my monthly plan tomorrow"]
