"""Fault injection on facility files (issue #21): every mutant of the seeded corpus
(tests/fault/corpus.py) through ``twin validate``, in-process. A mutant to refuse ends
with exactly one error line naming the place and a non-zero exit; a harmless one passes;
none gives a traceback. Nothing here meshes or solves (a few seconds on one core)."""
from __future__ import annotations

import pytest

from tests.fault import corpus as fc

MUTANTS = fc.corpus()


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Each mutant validated once, in its own folder."""
    return fc.run_corpus(MUTANTS, root=tmp_path_factory.mktemp("corpus"))


def test_corpus_is_large_seeded_and_mostly_definite():
    again = fc.corpus()
    assert [m.name for m in again] == [m.name for m in MUTANTS]
    assert [m.files for m in again] == [m.files for m in MUTANTS], "the corpus must not change between runs"
    assert len(MUTANTS) >= 100
    assert sum(m.verdict != "either" for m in MUTANTS) >= 60
    assert {m.verdict for m in MUTANTS} == set(fc.VERDICTS)
    for m in MUTANTS:
        assert fc.MAIN in m.files or m.main in m.files
        if m.verdict == "refuse":
            assert m.where, f"{m.name}: a refusal must say which place the error names"


def test_mutants_differ_from_the_shipped_files():
    shipped = {rel: text.encode() for files in fc.bases().values() for rel, text in files.items()}
    for m in MUTANTS:
        if m.verdict != "accept":
            assert any(shipped.get(rel) != data for rel, data in m.files.items()), m.name


def test_the_shipped_files_pass(tmp_path):
    for base, files in fc.bases().items():
        m = fc.Mutant(f"shipped-{base}", fc._encode(files), "accept")
        o = fc.validate(m, tmp_path / base)
        assert o.exit_code == 0 and not fc.problems(m, o), o.output


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant(mutant, results):
    m, o = results[mutant.name]
    if m.xfail:
        pytest.xfail(m.xfail)
    assert not o.traceback, f"{m.name}: {o.exception}\n{o.output[-2000:]}"
    assert o.exit_code in (0, 2), o.output[-2000:]
    if m.verdict == "refuse":
        assert o.exit_code != 0, f"{m.name} accepted wrongly:\n{o.output[-1500:]}"
        lines = o.error_lines
        assert len(lines) == 1, lines
        for where in m.where:
            assert where in lines[0], f"the error line does not name {where!r}: {lines[0]}"
    elif m.verdict == "accept":
        assert o.exit_code == 0, f"{m.name} refused wrongly:\n{o.output[-1500:]}"
        assert not o.error_lines
    assert not fc.problems(m, o)


def test_tallies(results, capsys):
    """The figures of issue #21 over the corpus: 0 tracebacks, 0 accepted wrongly."""
    t = fc.tally(results)
    with capsys.disabled():
        print("\n" + fc.table(results))
    assert t["tried"] == len(MUTANTS) == t["refused"] + t["accepted"]
    assert t["refused"] >= sum(m.verdict == "refuse" for m in MUTANTS)
    known = sum(bool(m.xfail) for m in MUTANTS)
    assert t["tracebacks"] == 0
    assert t["accepted wrongly"] <= known and t["refused wrongly"] <= known
    assert t["accepted wrongly"] == 0
    assert t["refused wrongly"] == 0
    assert t["unclear refusals"] == 0
