import pytest

from promotions.edits import EditError, read_version

CHART = b"""apiVersion: v2
name: checkout
# The chart's own version
version: 1.10
appVersion: "2.3.0"   # the release version
build: 42
released: 2024-05-01
dependencies:
  - name: redis
    version: 18.1.5
  - name: postgresql
    version: "13.2.0"
"""


def test_a_string_version_is_its_value():
    assert read_version(CHART, "$.appVersion", file="Chart.yaml") == "2.3.0"


@pytest.mark.parametrize(
    ("json_path", "expected"),
    [
        ("$.version", "1.10"),
        ("$.build", "42"),
        ("$.released", "2024-05-01"),
        ("$.dependencies[?@.name == 'redis'].version", "18.1.5"),
    ],
)
def test_other_scalars_are_read_as_written(json_path, expected):
    assert read_version(CHART, json_path, file="Chart.yaml") == expected


def test_json_versions_are_read_too():
    assert (
        read_version(b'{"name": "app", "version": "4.0.1", "n": 1.50}', "$.version", file="package.json")
        == "4.0.1"
    )
    assert (
        read_version(b'{"name": "app", "version": "4.0.1", "n": 1.50}', "$.n", file="package.json") == "1.50"
    )


@pytest.mark.parametrize(
    ("json_path", "message"),
    [
        ("$.missing", "selects nothing"),
        (
            "$.dependencies[*].version",
            r"selects 2 values \(\$\['dependencies'\]\[0\]\['version'\], "
            r"\$\['dependencies'\]\[1\]\['version'\]\)",
        ),
        ("$.dependencies", "selects a list, not a scalar"),
        ("$..[?@.name == 'redis']", "selects a mapping, not a scalar"),
        ("$appVersion", "invalid JSONPath"),
    ],
)
def test_anything_but_one_scalar_is_an_error(json_path, message):
    with pytest.raises(EditError, match=rf"^Chart\.yaml: {__import__('re').escape(json_path)}: {message}"):
        read_version(CHART, json_path, file="Chart.yaml")


def test_a_json_path_missing_its_dot_gets_a_hint():
    with pytest.raises(EditError, match=r"invalid JSONPath: .*\(did you mean \$\.appVersion\?\)$"):
        read_version(CHART, "$appVersion", file="Chart.yaml")


def test_null_and_empty_versions_are_errors():
    with pytest.raises(EditError, match=r"version\.yaml: \$\.v: selects null"):
        read_version(b"v:\n", "$.v", file="version.yaml")
    with pytest.raises(EditError, match=r"selects an empty string"):
        read_version(b"v: ''\n", "$.v", file="version.yaml")


def test_an_unparsable_document_is_an_error():
    with pytest.raises(EditError, match=r"^Chart\.yaml: is not a single valid YAML document: .*line 2"):
        read_version(b"a: 1\n b: 2\n", "$.a", file="Chart.yaml")
