from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from promotions.edits import EditError, promote_properties

STAGING = (Path(__file__).parent / "staging-values.yaml").read_bytes()

# The dev environment's file: newer image tags, a debug log level and its own comments in the image blocks.
DEV = (
    STAGING.replace(
        b'  # -- Overrides the image tag whose default is the chart appVersion.\n  tag: "1.4.2"\n',
        b'  # -- Built by CI from main.\n  tag: "1.5.0"   # bumped by CI\n',
    )
    .replace(
        b"    tag: '2.1.8'   # keep in sync with the platform team\n",
        b"    # pinned by dev\n    tag: 2.2.0\n",
    )
    .replace(b"    value: info\n", b"    value: debug\n")
    .replace(b"checkout.staging.example.com", b"checkout.dev.example.com")
)


def promote(source: bytes, target: bytes | None, *paths: str, file: str = "values.yaml") -> bytes:
    return promote_properties(source, target, list(paths), file=file)


def load(document: bytes):
    return YAML(typ="safe", pure=True).load(document)


def test_promoting_one_property_changes_only_its_value():
    result = promote(DEV, STAGING, "$.image.tag")

    assert result == STAGING.replace(b'tag: "1.4.2"', b'tag: "1.5.0"')


def test_recursive_descent_replaces_every_selected_subtree_with_its_source_text():
    result = promote(DEV, STAGING, "$..image")

    expected = STAGING.replace(
        b'  # -- Overrides the image tag whose default is the chart appVersion.\n  tag: "1.4.2"\n',
        b'  # -- Built by CI from main.\n  tag: "1.5.0"   # bumped by CI\n',
    ).replace(
        b"    tag: '2.1.8'   # keep in sync with the platform team\n",
        b"    # pinned by dev\n    tag: 2.2.0\n",
    )
    assert result == expected


def test_a_string_promoted_over_a_quoted_string_keeps_the_target_quotes():
    result = promote(DEV, STAGING, "$.logShipper.image.tag")

    assert result == STAGING.replace(b"tag: '2.1.8'", b"tag: '2.2.0'")


def test_the_value_type_follows_the_source_even_over_a_quoted_target():
    source = STAGING.replace(b'tag: "1.4.2"', b"tag: 1.10").replace(b"replicaCount: 2", b'replicaCount: "3"')

    result = promote(source, STAGING, "$.image.tag", "$.replicaCount")

    assert result == STAGING.replace(b'tag: "1.4.2"', b"tag: 1.10").replace(
        b"replicaCount: 2", b'replicaCount: "3"'
    )
    assert load(result)["image"]["tag"] == 1.1


def test_list_items_are_promoted_through_filters():
    result = promote(DEV, STAGING, "$.env[?@.name == 'LOG_LEVEL'].value", "$.ingress.hosts[0].host")

    assert result == STAGING.replace(b"value: info", b"value: debug").replace(
        b"checkout.staging.example.com", b"checkout.dev.example.com"
    )


def test_a_replaced_list_keeps_the_target_column_for_its_items():
    source = b"env:\n- name: LOG_LEVEL\n  value: debug   # noisy\n- name: NEW\n  value: '1'\n"

    result = promote(source, STAGING, "$.env")

    assert result == STAGING.replace(
        b"  - name: LOG_LEVEL\n    value: info\n"
        b'  - name: FEATURE_FLAGS\n    value: "checkout-v2,fast-refunds"\n',
        b"  - name: LOG_LEVEL\n    value: debug   # noisy\n  - name: NEW\n    value: '1'\n",
    )


def test_block_scalars_are_replaced_without_eating_content_that_looks_like_comments():
    source = STAGING.replace(b"  feature.x=true\n", b"  feature.x=false\n  # trailing content line\n")

    result = promote(source, STAGING, "$.config")

    assert result == source


def test_a_comment_after_a_value_replaced_by_a_block_scalar_stays_a_comment():
    source = b"logShipper:\n  image:\n    tag: |\n      multi\n      line\n"

    result = promote(source, STAGING, "$.logShipper.image.tag")

    assert result == STAGING.replace(
        b"    tag: '2.1.8'   # keep in sync with the platform team\n",
        b"    tag: |   # keep in sync with the platform team\n      multi\n      line\n",
    )
    assert load(result)["logShipper"]["image"]["tag"] == "multi\nline\n"


def test_dates_and_timestamps_are_promoted_as_written():
    source = b"released: 2024-05-02\nat: 2024-05-02T10:00:00Z\n"

    result = promote(source, b"released: 2024-05-01  # day\nat: 2024-05-01T10:00:00Z\n", "$.released", "$.at")

    assert result == b"released: 2024-05-02  # day\nat: 2024-05-02T10:00:00Z\n"


def test_a_flow_mapping_gets_a_new_key_inside_its_braces():
    source = STAGING.replace(
        b"{cpu: 500m, memory: 512Mi}", b"{cpu: 500m, memory: 512Mi, ephemeral-storage: 1Gi}"
    )

    result = promote(source, STAGING, "$.resources.limits['ephemeral-storage']")

    assert result == source


def test_a_key_inherited_through_a_merge_key_is_overridden_explicitly():
    source = STAGING.replace(b"  app: checkout\n", b"  app: checkout\n  tier: frontend\n")

    result = promote(source, STAGING, "$.podLabels.tier")

    assert result == source
    assert load(result)["commonLabels"]["tier"] == "backend"


def test_source_values_reached_through_an_anchor_are_skipped():
    # podLabels.team exists in the source only through `<<: *labels`: it travels with commonLabels.
    source = STAGING.replace(b"  team: payments\n", b"  team: risk\n")

    result = promote(source, STAGING, "$..team")

    assert result == source


def test_missing_keys_are_created_with_the_target_indentation():
    target = b"image:\n    repository: acme/app   # app image\n\n# footer\n"
    source = (
        b"image:\n  repository: acme/app\n  pullSecrets:\n  - name: regcred\n"
        b"network:\n  policy:\n    enabled: true\n"
    )

    result = promote(source, target, "$.image.pullSecrets", "$.network.policy.enabled")

    # New keys go after the last key of their mapping, before the comments that follow it.
    assert result == (
        b"image:\n    repository: acme/app   # app image\n    pullSecrets:\n    - name: regcred\n"
        b"network:\n    policy:\n        enabled: true\n\n# footer\n"
    )


def test_paths_into_the_same_missing_mapping_build_it_once():
    source = b"probe:\n  path: /healthz\n  port: 8080\n  extra: ignored\n"

    result = promote(source, b"name: app\n", "$.probe.path", "$.probe.port")

    assert result == b"name: app\nprobe:\n  path: /healthz\n  port: 8080\n"


def test_a_null_or_empty_target_value_becomes_the_new_mapping():
    source = b"a:\n  b: 1\n"

    assert promote(source, b"a:\nc: 2\n", "$.a.b") == b"a:\n  b: 1\nc: 2\n"
    assert promote(source, b"a: ~\nc: 2\n", "$.a.b") == b"a:\n  b: 1\nc: 2\n"
    assert promote(source, b"a: {}\n", "$.a.b") == b"a:\n  b: 1\n"


def test_an_inline_value_replaced_by_a_block_moves_below_its_key():
    source = b"limits:\n  cpu: 1\n  # memory stays generous\n  memory: 2Gi\n"

    result = promote(source, b"limits: {}   # none yet\nnext: 1\n", "$.limits")

    assert result == b"limits:   # none yet\n  cpu: 1\n  # memory stays generous\n  memory: 2Gi\nnext: 1\n"


def test_a_block_replaced_by_an_inline_value_moves_onto_its_key_line():
    result = promote(b"limits: {cpu: 1}\n", b"limits:\n  cpu: 2\nnext: 1\n", "$.limits")

    assert result == b"limits: {cpu: 1}\nnext: 1\n"


def test_an_anchored_target_value_keeps_its_anchor():
    target = b"tag: &tag v1\nsidecar:\n  tag: *tag\n"

    result = promote(b"tag: v2\n", target, "$.tag")

    assert result == b"tag: &tag v2\nsidecar:\n  tag: *tag\n"


def test_an_alias_in_the_target_is_replaced_by_the_value():
    target = b"tag: &tag v1\nsidecar:\n  tag: *tag   # follows the app\n"

    result = promote(b"tag: v1\nsidecar:\n  tag: v2\n", target, "$.sidecar.tag")

    assert result == b"tag: &tag v1\nsidecar:\n  tag: v2   # follows the app\n"


def test_a_source_value_holding_aliases_is_written_out_in_full():
    source = b"defaults: &defaults {cpu: 1}\nlimits:\n  main: *defaults\n  side: 2\n"

    result = promote(source, b"limits: {}\n", "$.limits")

    assert load(result) == {"limits": {"main": {"cpu": 1}, "side": 2}}
    assert b"*" not in result and b"&" not in result


def test_replacing_a_value_that_defines_an_anchor_used_elsewhere_is_refused():
    target = b"image:\n  tag: &tag v1\nsidecar: *tag\n"

    with pytest.raises(EditError, match=r"values\.yaml: \$\.image: .*anchor &tag"):
        promote(b"image:\n  tag: v2\n  repo: x\n", target, "$.image")


def test_writing_inside_an_alias_in_the_target_is_refused():
    target = b"base: &base\n  tag: v1\napp: *base\n"

    with pytest.raises(EditError, match=r"\$\['app'\]\['tag'\]: is reached through an alias"):
        promote(b"app:\n  tag: v2\n", target, "$.app.tag")


def test_equal_values_leave_the_target_object_untouched():
    source = STAGING.replace(b'tag: "1.4.2"', b"tag: '1.4.2'   # same value, other style")

    result = promote(source, STAGING, "$.image.tag", "$.resources")

    assert result is STAGING


def test_a_path_that_selects_nothing_in_the_source_is_skipped():
    assert promote(DEV, STAGING, "$.nope", "$..missing") is STAGING


def test_the_whole_file_is_copied_verbatim():
    source = b"not: [valid yaml\n"

    assert promote(source, STAGING, "*") is source
    assert promote(source, STAGING, "$.image", "*") is source
    assert promote(source, None, "*") is source
    assert promote(STAGING, STAGING, "*") is STAGING


def test_the_root_path_replaces_the_document_with_the_source():
    assert promote(DEV, STAGING, "$") is DEV
    assert promote(STAGING.replace(b"# Trailing", b"# Other"), STAGING, "$") is STAGING


def test_a_missing_target_starts_from_an_empty_document():
    assert promote(DEV, None, "$.image.tag", "$.replicaCount") == b'image:\n  tag: "1.5.0"\nreplicaCount: 2\n'
    assert promote(DEV, None, "$.nope") == b""
    assert promote(DEV, b"# placeholder", "$.replicaCount") == b"# placeholder\nreplicaCount: 2\n"


def test_windows_line_endings_are_kept():
    target = b"image:\r\n  tag: v1\r\n"

    result = promote(
        b"image:\n  tag: v2\n  pull: Always\nextra:\n  a: 1\n",
        target,
        "$.image.tag",
        "$.image.pull",
        "$.extra",
    )

    assert result == b"image:\r\n  tag: v2\r\n  pull: Always\r\nextra:\r\n  a: 1\r\n"


def test_a_byte_order_mark_is_kept():
    result = promote(b"a: 1\n", b"\xef\xbb\xbfb: 2\n", "$.a")

    assert result == b"\xef\xbb\xbfb: 2\na: 1\n"


def test_concurrent_promotions_give_the_serial_results():
    targets = [STAGING.replace(b"replicaCount: 2", b"replicaCount: %d" % count) for count in range(8)]
    serial = [promote(DEV, target, "$..image", "$.env", "$.replicaCount") for target in targets]

    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(
            pool.map(lambda target: promote(DEV, target, "$..image", "$.env", "$.replicaCount"), targets)
        )

    assert parallel == serial
    assert all(load(result)["replicaCount"] == 2 for result in serial)


# --- JSON --------------------------------------------------------------------------------------------------

PACKAGE = (
    b'{\n  "name": "checkout",\n  "version": "1.1.0",\n  "image": {"tag": "v1"},\n  "limits": {},\n'
    b'  "ratio": 0.5\n}\n'
)


def test_json_scalars_are_copied_as_written():
    source = b'{"name": "checkout", "version": "1.2.0", "ratio": 1.50}'

    result = promote(source, PACKAGE, "$.version", "$.ratio", file="package.json")

    assert result == PACKAGE.replace(b'"1.1.0"', b'"1.2.0"').replace(b"0.5", b"1.50")


def test_json_objects_keep_the_target_layout():
    source = (
        b'{\n    "image": {"tag": "v2", "digest": null},\n    "limits": {"cpu": 2},\n'
        b'    "owners": ["a", "b"]\n}'
    )

    result = promote(source, PACKAGE, "$.image", "$.limits", "$.owners", file="package.json")

    assert result == (
        b'{\n  "name": "checkout",\n  "version": "1.1.0",\n  "image": {"tag": "v2", "digest": null},\n'
        b'  "limits": {\n    "cpu": 2\n  },\n  "ratio": 0.5,\n  "owners": [\n    "a",\n    "b"\n  ]\n}\n'
    )


def test_json_with_tabs_or_on_one_line_keeps_its_style():
    source = b'{"a": {"b": 2, "c": {"d": [1]}}}'

    tabbed = promote(source, b'{\n\t"a": {\n\t\t"b": 1\n\t}\n}', "$.a.b", "$.a.c", file="x.json")
    compact = promote(source, b'{"a": {"b": 1}}', "$.a.b", "$.a.c", file="x.json")

    assert tabbed == b'{\n\t"a": {\n\t\t"b": 2,\n\t\t"c": {\n\t\t\t"d": [\n\t\t\t\t1\n\t\t\t]\n\t\t}\n\t}\n}'
    assert compact == b'{"a": {"b": 2, "c": {"d": [1]}}}'


def test_a_missing_json_target_is_built_in_the_source_style():
    result = promote(b'{\n    "a": {"b": true}\n}', None, "$.a.b", file="x.json")

    assert result == b'{\n    "a": {\n        "b": true\n    }\n}\n'


# --- errors ------------------------------------------------------------------------------------------------


def test_a_list_index_the_target_lacks_is_an_error():
    with pytest.raises(EditError) as caught:
        promote(b"hosts: [a, b, c]\n", b"hosts: [a]\n", "$.hosts[2]")

    assert str(caught.value) == (
        "values.yaml: $.hosts[2]: $['hosts'][2]: the target list $['hosts'] has no item 2 (it has 1); "
        "list items are not created"
    )


def test_a_list_cannot_be_created_on_the_way():
    with pytest.raises(EditError, match=r"the target has no list at \$\['hosts'\]"):
        promote(b"hosts:\n  - name: a\n", b"other: 1\n", "$.hosts[0].name")


def test_a_scalar_where_the_path_needs_a_mapping_is_an_error():
    with pytest.raises(
        EditError,
        match=r"values\.yaml: \$\.image\.tag: .*the target has the str 'nginx' at "
        r"\$\['image'\] where the source has a mapping",
    ):
        promote(b"image:\n  tag: v2\n", b"image: nginx\n", "$.image.tag")


def test_unparsable_documents_are_reported_with_their_line():
    with pytest.raises(EditError, match=r"values\.yaml: is not a single valid YAML document: .*line 3"):
        promote(b"a: 1\n", b"a: 1\nb: 2\n  c: 3\n", "$.a")
    with pytest.raises(EditError, match=r"package\.json: is not valid JSON: .*line 2"):
        promote(b'{"a": 1}', b'{"a": 1,\n  "b": }', "$.a", file="package.json")


def test_multi_document_yaml_is_refused():
    with pytest.raises(EditError, match=r"values\.yaml: .*expected a single document"):
        promote(b"a: 1\n---\na: 2\n", b"a: 0\n", "$.a")


def test_a_bad_json_path_is_named():
    with pytest.raises(EditError) as caught:
        promote(DEV, STAGING, "$.image", "$appVersion")

    assert caught.value.json_path == "$appVersion"
    assert str(caught.value).startswith("values.yaml: $appVersion: invalid JSONPath")


def test_non_utf8_input_is_an_error():
    with pytest.raises(EditError, match=r"values\.yaml: is not UTF-8 text"):
        promote(b"a: \xff\n", b"a: 1\n", "$.a")


def test_json_paths_must_be_a_non_empty_list():
    with pytest.raises(TypeError):
        promote_properties(DEV, STAGING, "$.image", file="values.yaml")
    with pytest.raises(EditError, match="no jsonPaths"):
        promote_properties(DEV, STAGING, [], file="values.yaml")
