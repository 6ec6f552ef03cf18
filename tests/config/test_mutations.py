"""Mutated configurations: whatever is done to valid files, loading gives a usable configuration or problems
that each name a file and a line, never an exception."""

import copy
import functools
import json
import os
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from promotions.config import ConfigError, Configuration, load_configuration
from promotions.config import loader as loader_module
from ruamel.yaml import YAML

EXAMPLES = 500
REPO_ROOT = Path(__file__).resolve().parents[2]
VALID_SETS = {
    "valid": REPO_ROOT / "tests" / "config" / "fixtures" / "valid",
    "codefresh-docs": REPO_ROOT / "tests" / "config" / "fixtures" / "codefresh-docs",
    "demo": REPO_ROOT / "examples" / "demo" / "config",
}
# The kinds whose every key outside metadata is a field of theirs.
STRICT_KINDS = {
    ("codefresh.io/v1beta1", "Product"),
    ("codefresh.io/v1beta1", "PromotionTemplate"),
    ("codefresh.io/v1beta1", "PromotionPolicy"),
    ("codefresh.io/v1beta1", "PromotionFlow"),
    ("promotions.dev/v1alpha1", "Environment"),
}
# Mappings whose keys are data (file names, label keys), not fields.
FREE_FORM = {"promotion", "matchLabels"}
PRODUCT_KEY = "codefresh.io/product"
YAML_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")

# CI runs the same examples every time, so a red build can be reproduced and is not a roll of the dice.
settings.register_profile("config-mutations-ci", derandomize=True)
PROFILE = settings.get_profile("config-mutations-ci") if os.environ.get("CI") == "true" else settings.default


def _read_set(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*.yaml"))}


FILE_SETS = {name: _read_set(root) for name, root in VALID_SETS.items()}
DOCUMENTS = {
    (name, file): [document for document in YAML(typ="safe").load_all(data) if isinstance(document, dict)]
    for name, files in FILE_SETS.items()
    for file, data in files.items()
}


@dataclass
class Case:
    files: dict[str, bytes] = field(repr=False)
    mutations: list[str] = field(default_factory=list)
    # Set when the one mutation renamed a field of a strict kind to a name no kind has.
    must_fail: bool = False

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """A falsifying example names its mutations; the whole files would bury them."""
        printer.text(repr(self))


# --- Mutations of a document's tree, written back as JSON (which YAML reads) ----------------------------


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every mapping entry and list item below `node`."""
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    paths = []
    for key, child in children:
        paths.append((*prefix, key))
        paths.extend(_paths(child, (*prefix, key)))
    return paths


def _parent(document: Any, path: tuple) -> Any:
    for part in path[:-1]:
        document = document[part]
    return document


def _is_strict_field(document: dict, path: tuple) -> bool:
    kind = (document.get("apiVersion"), document.get("kind"))
    parent = path[:-1]
    if not isinstance(path[-1], str) or parent[-1:] and parent[-1] in FREE_FORM:
        return False
    if kind == ("argoproj.io/v1alpha1", "Application"):
        metadata = document.get("metadata") or {}
        of_product = PRODUCT_KEY in (metadata.get("annotations") or {}) or PRODUCT_KEY in (
            metadata.get("labels") or {}
        )
        return of_product and parent == ("spec", "destination")
    return kind in STRICT_KINDS and path[0] not in ("apiVersion", "kind", "metadata")


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def tree_mutation(draw: st.DrawFn, documents: list[dict]) -> tuple[str, bytes, bool]:
    documents = copy.deepcopy(documents)
    index = draw(st.integers(0, len(documents) - 1))
    document = documents[index]
    paths = _paths(document)
    path = draw(st.sampled_from(paths))
    parent = _parent(document, path)
    operations = ["drop", "retype", "nest", "huge"] + (["rename"] * 3 if isinstance(parent, dict) else [])
    operation = draw(st.sampled_from(operations))
    must_fail = False
    if operation == "rename":
        new_key = "zz" + draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8))
        parent[new_key] = parent.pop(path[-1])
        must_fail = _is_strict_field(document, path)
    elif operation == "drop":
        del parent[path[-1]]
    elif operation == "retype":
        parent[path[-1]] = draw(values)
    elif operation == "nest":
        depth = draw(st.sampled_from([2, 50, 99, 101, 300]))
        nested = parent[path[-1]]
        for _ in range(depth):
            nested = [nested]
        parent[path[-1]] = nested
    else:
        parent[path[-1]] = draw(st.sampled_from(["x" * 200_000, list(range(2_000))]))
    text = "\n---\n".join(json.dumps(document, indent=1) for document in documents)
    return f"{operation} {'.'.join(map(str, path))}", text.encode(), must_fail


# --- Mutations of the bytes ------------------------------------------------------------------------------

BAD_BYTES = [b"\xff", b"\x00", b"\xe9", b"\xc3", b"\x1b", b"\t", b"\r", b"\xef\xbb\xbf", b"\xed\xa0\x80"]
YAML_SYNTAX = [
    b":",
    b"[",
    b"]",
    b"{",
    b"}",
    b"- ",
    b"&a ",
    b"*a ",
    b"!!int ",
    b"!!timestamp ",
    b"? ",
    b"'",
    b'"',
]


@st.composite
def byte_mutation(draw: st.DrawFn, data: bytes) -> tuple[str, bytes]:
    position = draw(st.integers(0, len(data)))
    lines = data.split(b"\n")
    line = draw(st.integers(0, len(lines) - 1))
    operation = draw(
        st.sampled_from(["bad bytes", "syntax", "truncate", "duplicate line", "drop line", "indent"])
    )
    if operation == "bad bytes":
        mutated = data[:position] + draw(st.sampled_from(BAD_BYTES)) + data[position:]
    elif operation == "syntax":
        mutated = data[:position] + draw(st.sampled_from(YAML_SYNTAX)) + data[position:]
    elif operation == "truncate":
        mutated = data[:position]
    elif operation == "duplicate line":
        mutated = b"\n".join([*lines[: line + 1], lines[line], *lines[line + 1 :]])
    elif operation == "drop line":
        mutated = b"\n".join([*lines[:line], *lines[line + 1 :]])
    else:
        mutated = b"\n".join([*lines[:line], b" " + lines[line], *lines[line + 1 :]])
    return f"{operation} at {position}/line {line + 1}", mutated


@st.composite
def mutated_configurations(draw: st.DrawFn) -> Case:
    set_name = draw(st.sampled_from(sorted(FILE_SETS)))
    case = Case(files=dict(FILE_SETS[set_name]))
    # One mutation half the time, so that the unknown-field oracle (which needs it alone) is tried often.
    count = draw(st.sampled_from([1, 1, 2, 3]))
    for _ in range(count):
        file = draw(st.sampled_from(sorted(case.files)))
        original = FILE_SETS[set_name].get(file) == case.files[file]
        if original and draw(st.booleans()):
            description, case.files[file], must_fail = draw(tree_mutation(DOCUMENTS[(set_name, file)]))
            case.must_fail = must_fail and count == 1
        else:
            description, case.files[file] = draw(byte_mutation(case.files[file]))
        case.mutations.append(f"{set_name}/{file}: {description}")
    return case


# --- The property ----------------------------------------------------------------------------------------


def _check_usable(configuration: Configuration) -> None:
    """What the engine asks of a configuration it was given as valid."""
    for name, product in configuration.products.items():
        configuration.template_for(name)
        for flow_ref in product.promotion_flows:
            flow = configuration.flows[flow_ref.name]
            for environment in flow.environments:
                assert configuration.applications_of(name, environment)
            for step in configuration.flow_order(flow.name):
                configuration.policy_for(name, step.environment, flow.name)
    for name in configuration.applications:
        assert configuration.environment_of(name) in configuration.environments


def _line_count(data: bytes) -> int:
    """As YAML counts lines: a lone carriage return (and NEL, LS, PS) ends a line too."""
    return len(YAML_LINE_BREAK.split(data.decode("utf-8", errors="replace")))


def _check_problems(error: ConfigError, files: Mapping[str, bytes]) -> None:
    assert error.problems
    for problem in error.problems:
        assert problem.file in files, problem
        assert problem.line is not None, problem
        assert 1 <= problem.line <= _line_count(files[problem.file]), problem
        assert problem.message.strip(), problem


@pytest.fixture
def unchanged_files_read_once(monkeypatch) -> None:
    """Reading a file is a pure function of its bytes; the sets' unchanged files are read once, so the
    examples spend their time on what was mutated."""
    monkeypatch.setattr(loader_module, "read_documents", functools.cache(loader_module.read_documents))


# ruamel warns of an anchor defined twice (`&a` inserted twice), which YAML allows: the later one wins.
@pytest.mark.filterwarnings("ignore::ruamel.yaml.error.ReusedAnchorWarning")
def test_mutated_configurations_load_or_report_every_problem_at_a_line(unchanged_files_read_once, capsys):
    outcomes: Counter[str] = Counter()

    @settings(
        PROFILE,
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(mutated_configurations())
    def load(case: Case) -> None:
        try:
            configuration = load_configuration(case.files)
        except ConfigError as error:
            _check_problems(error, case.files)
            outcomes["invalid"] += 1
            outcomes["problems"] += len(error.problems)
            outcomes["unknown fields refused"] += case.must_fail
            return
        assert not case.must_fail, f"an unknown field was accepted: {case.mutations}"
        _check_usable(configuration)
        outcomes["valid"] += 1

    load()

    with capsys.disabled():
        print(
            f"\n{sum(outcomes[kind] for kind in ('valid', 'invalid'))} mutated configurations: "
            f"{outcomes['valid']} valid, {outcomes['invalid']} invalid with {outcomes['problems']} problems, "
            f"each at a FILE:LINE ({outcomes['unknown fields refused']} of them renamed a field to an unknown one)"
        )
    assert outcomes["valid"] and outcomes["invalid"]


def test_a_renamed_field_must_fail_only_where_the_kind_owns_its_keys():
    """The property's oracle itself: metadata, free-form maps and Argo CD's own fields are not strict."""
    flow = {"apiVersion": "codefresh.io/v1beta1", "kind": "PromotionFlow", "metadata": {"name": "f"}}
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"labels": {PRODUCT_KEY: "p"}},
    }

    assert _is_strict_field(flow, ("spec", "steps", 0, "dependsOn"))
    assert not _is_strict_field(flow, ("metadata", "name"))
    assert not _is_strict_field(flow, ("spec", "promotion", "values.yaml"))
    assert _is_strict_field(flow, ("spec", "promotion", "values.yaml", "jsonPaths"))
    assert _is_strict_field(app, ("spec", "destination", "namespace"))
    assert not _is_strict_field(app, ("spec", "source", "path"))
