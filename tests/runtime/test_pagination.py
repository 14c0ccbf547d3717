"""Page tokens continue only the query that issued them."""

import pytest

from runtime.errors import InvalidArgument
from runtime.pagination import PageTokens, page_size


def test_round_trip():
    tokens = PageTokens("k")
    assert tokens.decode("contacts:list", tokens.encode("contacts:list", "01ABC")) == "01ABC"


@pytest.mark.parametrize(
    "token_of",
    [
        lambda t: t.encode("contacts:search:asha", 20),  # another query
        lambda t: PageTokens("other-key").encode("contacts:list", "01ABC"),  # another deployment / forged
        lambda t: t.encode("contacts:list", "01ABC")[:-2] + "xx",  # tampered
        lambda t: "definitely-not-a-token",
        lambda t: "",
    ],
)
def test_foreign_tokens_are_invalid_argument_on_page_token(token_of):
    tokens = PageTokens("k")
    with pytest.raises(InvalidArgument) as err:
        tokens.decode("contacts:list", token_of(tokens))
    assert err.value.violations[0].field == "page_token"


def test_page_size_defaults_caps_and_refuses_negative():
    assert page_size(0, 50, 1000) == 50
    assert page_size(5000, 50, 1000) == 1000
    with pytest.raises(InvalidArgument):
        page_size(-1, 50, 1000)
