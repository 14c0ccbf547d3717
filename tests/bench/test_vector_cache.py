"""bench/vector_cache.py: the ai section's passage vectors kept between runs, named by the corpus."""

from __future__ import annotations

from bench import vector_cache
from bench.vector_cache import FirstBuild

FIRST = FirstBuild(seconds=79.8, cpu_seconds=141.0, passages=3, sentences=9, load=1.6, cores=2, measured="x")


def test_what_is_saved_is_loaded_back(tmp_path):
    path = tmp_path / "c.sqlite3"
    vectors = {"p1": b"\x00\x01", "p2": b"\x02" * 1536}
    vector_cache.save(path, "enc/units", vectors, FIRST)
    assert vector_cache.load(path) == ("enc/units", vectors, FIRST)
    assert [p.name for p in tmp_path.iterdir()] == ["c.sqlite3"]  # no part file left behind


def test_no_cache_or_a_damaged_one_is_measured_again(tmp_path):
    assert vector_cache.load(tmp_path / "none.sqlite3") is None
    damaged = tmp_path / "d.sqlite3"
    damaged.write_bytes(b"not a database")
    assert vector_cache.load(damaged) is None


def test_the_file_is_named_by_every_text_of_the_corpus():
    a = vector_cache.path_for(["one", "two"])
    assert a == vector_cache.path_for(["one", "two"])
    assert a != vector_cache.path_for(["one", "two!"])
    assert a != vector_cache.path_for(["onetwo"])  # each text hashed on its own: no run-together collisions
    assert a.parent == vector_cache.FOLDER
