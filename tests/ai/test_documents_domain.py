"""Documents: how Markdown and plain text split into passages, and the input that is refused (naming the field
and the line) — the rules of services/ai/domain/documents.py, without I/O."""

from __future__ import annotations

import pytest

from runtime.errors import Aborted, InvalidArgument
from services.ai.domain import documents
from services.ai.domain.documents import ContentType, DocumentInput

GUIDE = """# Visiting hours

Visits run from 8 AM to 8 PM.

## Sundays

Only for Senior members.

### Holidays

No visits on 26 January.

```
# not a heading: code
```
"""


def new(content: str, content_type=ContentType.MARKDOWN, title: str = ""):
    return documents.new_document("01J0000000000000000000000A", DocumentInput(title, content, content_type), 1.0, "me")


def test_markdown_passages_are_the_text_under_each_heading():
    doc = new(GUIDE)
    assert doc.title == "Visiting hours"  # from the first heading
    assert [(p.heading, p.text.splitlines()[0]) for p in doc.passages] == [
        ("Visiting hours", "Visits run from 8 AM to 8 PM."),
        ("Sundays", "Only for Senior members."),
        ("Holidays", "No visits on 26 January."),
    ]
    assert "# not a heading: code" in doc.passages[-1].text


def test_passage_ids_survive_edits_elsewhere_in_the_document():
    before = new(GUIDE)
    after = new(GUIDE.replace("Only for Senior members.", "Only for Senior and Family members."))
    assert before.passages[0].id == after.passages[0].id
    assert before.passages[2].id == after.passages[2].id
    assert before.passages[1].id != after.passages[1].id


def test_plain_text_groups_paragraphs_under_the_title():
    text = "\n\n".join(f"Paragraph {i} " + "word " * 60 for i in range(8))
    doc = new(text, ContentType.PLAIN_TEXT, title="Notes")
    assert len(doc.passages) > 1
    assert {p.heading for p in doc.passages} == {"Notes"}
    assert all(len(p.text) <= documents.PLAIN_PASSAGE_TARGET + 400 for p in doc.passages)


@pytest.mark.parametrize(
    ("content", "content_type", "title", "field", "says"),
    [
        ("", ContentType.MARKDOWN, "", "document.content", "required"),
        ("   \n\n", ContentType.MARKDOWN, "", "document.content", "required"),
        ("x" * (documents.MAX_CONTENT_BYTES + 1), ContentType.PLAIN_TEXT, "T", "document.content", "bytes"),
        ("₹" * (documents.MAX_CONTENT_BYTES // 3 + 1), ContentType.PLAIN_TEXT, "T", "document.content", "bytes"),
        ("# Title\n\n##\n\ntext", ContentType.MARKDOWN, "", "document.content", "line 3: empty heading"),
        ("# Title\n\n##Refunds\n\ntext", ContentType.MARKDOWN, "", "document.content", "line 3"),
        ("# Title\n\n####### Deep\n\ntext", ContentType.MARKDOWN, "", "document.content", "level 6"),
        ("# Title\n\n```\ncode", ContentType.MARKDOWN, "", "document.content", "never closed"),
        ("# Only\n## Headings", ContentType.MARKDOWN, "", "document.content", "no text"),
        ("text", None, "T", "document.content_type", "required"),
        ("text", ContentType.PLAIN_TEXT, "", "document.title", "required for plain text"),
        ("text", ContentType.PLAIN_TEXT, "t" * 201, "document.title", "at most 200"),
        ("# T\n\n" + "long " * 2000, ContentType.MARKDOWN, "", "document.content", "at most 8000"),
        (
            "\n\n".join(f"## H{i}\n\nx" for i in range(201)),
            ContentType.MARKDOWN,
            "T",
            "document.content",
            "at most 200",
        ),
    ],
)
def test_bad_documents_are_refused_naming_the_field(content, content_type, title, field, says):
    with pytest.raises(InvalidArgument) as refused:
        new(content, content_type, title)
    assert [v.field for v in refused.value.violations] == [field]
    assert says in refused.value.message


def test_update_splits_again_and_refuses_a_stale_etag():
    doc = new(GUIDE)
    changed = documents.apply_update(doc, DocumentInput(content="# New\n\nNew text."), ("content",), doc.etag, 2.0)
    assert changed.version == doc.version + 1 and changed.title == doc.title
    assert [p.heading for p in changed.passages] == ["New"]
    same = documents.apply_update(changed, DocumentInput(title=changed.title), ("title",), "", 3.0)
    assert same is changed  # nothing changed: no new version
    with pytest.raises(Aborted):
        documents.apply_update(changed, DocumentInput(title="Other"), ("title",), doc.etag, 3.0)
