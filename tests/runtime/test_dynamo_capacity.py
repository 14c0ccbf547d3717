"""DynamoDB's capacity arithmetic against AWS's documented rules and examples (Developer Guide: "Item sizes and
formats", "DynamoDB read and write operations")."""

from __future__ import annotations

import pytest

from runtime.dynamo_capacity import (
    attribute_size,
    item_size,
    number_size,
    query_read_units,
    read_units,
    value_size,
    write_units,
)

KB = 1024


def test_strings_are_their_utf8_bytes_plus_the_name():
    assert attribute_size("pk", {"S": "msg#1"}) == 2 + 5
    assert attribute_size("name", {"S": "Zoë"}) == 4 + 4  # ë is two bytes in UTF-8


@pytest.mark.parametrize(
    ("number", "size"),
    [
        ("7", 2),  # 1 significant digit: 1 byte + 1
        ("12", 2),
        ("123", 3),  # 3 digits: 2 bytes + 1
        ("123.45", 4),  # 5 digits
        ("100000", 2),  # trailing zeros are trimmed
        ("0.0001", 2),  # so are leading ones
        ("-42", 2),
        ("1796287889.1850924", 10),  # a time in seconds: 17 digits
    ],
)
def test_numbers_take_a_byte_per_two_significant_digits_plus_one(number, size):
    assert number_size(number) == size
    assert value_size({"N": number}) == size


def test_binary_null_bool_and_sets():
    assert attribute_size("b", {"B": b"\x00\x01\x02"}) == 1 + 3  # raw bytes, not base64
    assert attribute_size("ok", {"BOOL": True}) == 2 + 1
    assert attribute_size("gone", {"NULL": True}) == 4 + 1
    assert value_size({"SS": ["ab", "c"]}) == 3
    assert value_size({"NS": ["1", "123"]}) == 2 + 3


def test_lists_and_maps_take_three_bytes_and_one_per_element():
    assert attribute_size("l", {"L": []}) == 1 + 3  # an empty list: the name and 3 bytes
    assert attribute_size("l", {"L": [{"S": "a"}, {"N": "1"}]}) == 1 + 3 + (1 + 1) + (1 + 2)
    # a map's elements carry their names too
    assert attribute_size("m", {"M": {"a": {"S": "xy"}}}) == 1 + 3 + (1 + 1 + 2)
    nested = {"M": {"rs": {"L": [{"M": {"t": {"S": "+919800000000"}}}]}}}
    assert value_size(nested) == 3 + (1 + 2 + (3 + (1 + (3 + (1 + 1 + 13)))))


def test_an_item_is_the_sum_of_its_attributes():
    item = {"pk": {"S": "coord"}, "sk": {"S": "coord"}, "ver": {"N": "12"}}
    assert item_size(item) == (2 + 5) + (2 + 5) + (3 + 2)


def test_reads_are_4kb_blocks_halved_when_eventually_consistent_doubled_in_a_transaction():
    assert read_units(3500) == 1  # "reading a 3,500-byte item consumes the same throughput as a 4 KB item"
    assert read_units(8 * KB) == 2  # an 8 KB item: 2 units strongly consistent,
    assert read_units(8 * KB, consistent=False) == 1  # 1 eventually consistent,
    assert read_units(8 * KB, transactional=True) == 4  # 4 transactional
    assert read_units(0) == 1  # reading an item that does not exist still costs a block
    assert read_units(0, consistent=False) == 0.5


def test_a_query_rounds_the_sum_of_its_items_once():
    # "your query returns 10 items whose combined size is 40.8 KB: DynamoDB rounds it to 44 KB" -> 11 units
    assert query_read_units([round(40.8 * KB / 10)] * 10) == 11
    assert query_read_units([64] * 1500) == 24  # 1,500 items of 64 bytes: 96 KB
    assert query_read_units([]) == 1
    # where a BatchGetItem rounds each item: 1.5 KB + 6.5 KB is 4 KB + 8 KB = 3 units, a query of both 2
    assert read_units(int(1.5 * KB)) + read_units(int(6.5 * KB)) == 3
    assert query_read_units([int(1.5 * KB), int(6.5 * KB)]) == 2


def test_writes_are_1kb_units_doubled_in_a_transaction():
    assert write_units(500) == 1
    assert write_units(1024) == 1
    assert write_units(1025) == 2
    assert write_units(2 * KB) == 2  # "if your item size is 2 KB, you require 2 write units"
    assert write_units(2 * KB, transactional=True) == 4  # "... or 4 for a transactional write request"
    assert write_units(0) == 1
