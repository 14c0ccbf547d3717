"""Ids sort in creation order, also within one millisecond."""

from runtime import ids


def test_ids_increase_within_a_millisecond_and_across():
    made = [ids.new_id(now_ms=1_800_000_000_000) for _ in range(1000)] + [ids.new_id(now_ms=1_800_000_000_001)]
    assert made == sorted(made) and len(set(made)) == len(made)
    assert all(ids.is_id(i) for i in made)


def test_clock_going_back_does_not_break_the_order():
    first = ids.new_id(now_ms=1_900_000_000_000)
    assert ids.new_id(now_ms=1_899_999_999_000) > first
