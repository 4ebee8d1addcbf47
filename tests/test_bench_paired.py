"""bench/paired.py: two saved quality runs compared query by query."""

from __future__ import annotations

import json

import pytest

from bench import paired


def _saved(tmp_path, name, title_hits, event_hits):
    data = {
        "sets": {"title": {"q1": "a", "q2": "b", "q3": "c"}, "events": {"e1": "x"}},
        "qrels": {"title": {"q1": {"d1": 1}, "q2": {"d2": 1}, "q3": {"d3": 1}},
                  "events": {"e1": {"d1": 1, "d2": 1}}},
        "runs": {"vnsearch": {"title": title_hits, "events": event_hits}},
    }
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_query_moving_up_is_counted_and_the_mean_difference_reported(tmp_path, capsys):
    before = _saved(tmp_path, "before.json",
                    {"q1": [["d9", 2.0], ["d1", 1.0]], "q2": [["d2", 1.0]], "q3": [["d9", 1.0]]},
                    {"e1": [["d9", 3.0], ["d1", 2.0], ["d2", 1.0]]})
    after = _saved(tmp_path, "after.json",
                   {"q1": [["d1", 2.0], ["d9", 1.0]], "q2": [["d2", 1.0]], "q3": [["d9", 1.0]]},
                   {"e1": [["d1", 3.0], ["d2", 2.0], ["d9", 1.0]]})
    rows = {r["set"]: r for r in paired.paired(json.loads(before.read_text()),
                                               json.loads(after.read_text()), "vnsearch")}
    title = rows["title"]
    assert (title["before"], title["after"]) == (pytest.approx(1.5 / 3), pytest.approx(2 / 3))
    assert title["difference"] == pytest.approx(0.5 / 3)
    assert (title["rose"], title["fell"]) == (1, 0)
    assert title["error"] > 0
    assert rows["events"]["metric"] == "ndcg@10" and rows["events"]["after"] == pytest.approx(1.0)
    assert paired.main([str(before), str(after)]) == 0
    assert "| title | mrr@10 | 3 | 0.5000 | 0.6667 | +0.1667" in capsys.readouterr().out


def test_a_run_saved_without_judgments_is_refused_in_one_line(tmp_path):
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"sets": {}, "runs": {"vnsearch": {}}}), encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        paired.main([str(old), str(old)])
    assert "no judgments" in str(exc.value) and "\n" not in str(exc.value)
