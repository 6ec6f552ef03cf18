"""What a promotion would change, property by property: the values `promote_properties` writes, before and
after, as data."""

from __future__ import annotations

from promotions.edits import PropertyChange, promote_properties, property_changes

SOURCE = b"""\
image:
  tag: "2.0.0"  # bumped
  pullPolicy: IfNotPresent
featureFlags: {newCheckout: true, darkMode: false}
replicas: 1
when: 2026-01-01
"""
TARGET = b"""\
base: &base
  newCheckout: false
  darkMode: false
image:
  tag: "1.0.0"
  pullPolicy: IfNotPresent
featureFlags: *base
replicas: 3
"""
PATHS = ["$.image.tag", "$.image.pullPolicy", "$.featureFlags", "$.when", "$.absent"]


def test_each_property_the_promotion_writes_is_listed_with_its_value_before_and_after():
    changes = property_changes(SOURCE, TARGET, PATHS, file="values.yaml")

    assert changes == [
        PropertyChange("$['image']['tag']", "1.0.0", "2.0.0"),
        PropertyChange(
            "$['featureFlags']",
            {"newCheckout": False, "darkMode": False},
            {"newCheckout": True, "darkMode": False},
        ),
        PropertyChange("$['when']", None, "2026-01-01"),
    ]


def test_no_change_is_listed_where_the_promotion_writes_nothing():
    promoted = promote_properties(SOURCE, TARGET, PATHS, file="values.yaml")

    assert property_changes(SOURCE, promoted, PATHS, file="values.yaml") == []
    assert property_changes(SOURCE, TARGET, ["$.replicas.nothing"], file="values.yaml") == []


def test_a_missing_target_takes_every_selected_value():
    assert property_changes(SOURCE, None, ["$.replicas"], file="values.yaml") == [
        PropertyChange("$['replicas']", None, 1)
    ]


def test_a_file_promoted_whole_is_one_change_of_its_text():
    assert property_changes(b"a: 1\n", b"a: 2\n", ["*"], file="config.txt") == [
        PropertyChange("*", "a: 2\n", "a: 1\n")
    ]
    assert property_changes(b"a: 1\n", b"a: 1\n", ["*"], file="config.txt") == []


def test_json_values_come_back_as_json_data():
    source = b'{"image": {"tag": "2.0.0", "replicas": 2.5, "debug": true}}'
    target = b'{"image": {"tag": "2.0.0", "replicas": 2, "debug": false}}'

    assert property_changes(source, target, ["$.image.*"], file="values.json") == [
        PropertyChange("$['image']['replicas']", 2, 2.5),
        PropertyChange("$['image']['debug']", False, True),
    ]
