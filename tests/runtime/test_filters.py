"""The label filters shared by containers, networks, volumes and images."""

from __future__ import annotations

from runtime.filters import label_holds, match_labels


def test_label_holds_by_key_or_key_and_value() -> None:
    labels = {"a": "1", "b": ""}
    assert label_holds("a", labels) and label_holds("a=1", labels) and label_holds("b=", labels)
    assert not label_holds("a=2", labels) and not label_holds("c", labels) and not label_holds("a=", labels)


def test_labels() -> None:
    labels = {"a": "1", "b": ""}
    assert match_labels({"label": ["a", "b="]}, labels)
    assert not match_labels({"label": ["a=2"]}, labels)
    assert not match_labels({"label!": ["a"]}, labels) and match_labels({"label!": ["c"]}, labels)
    assert match_labels({}, labels) and match_labels({"label": [], "label!": []}, {})
