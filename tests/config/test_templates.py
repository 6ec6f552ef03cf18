"""Which PromotionTemplate a product uses: inline, else promotionTemplateRef, else the strongest selector match."""

import pytest
from promotions.config import WHOLE_FILE, LabelSelector, load_configuration_dir


def template(name: str, priority: int, selector: str, version_file: str = "Chart.yaml") -> str:
    return f"""\
apiVersion: codefresh.io/v1beta1
kind: PromotionTemplate
metadata: {{name: {name}}}
spec:
  applicationSourceSelector: {selector}
  priority: {priority}
  versionSource: {{file: {version_file}, jsonPath: $.version}}
"""


PRODUCT_WITHOUT_TEMPLATE = """\
apiVersion: codefresh.io/v1beta1
kind: Product
metadata: {name: guestbook}
spec:
  promotionFlows: [{name: standard}]
"""


def test_the_inline_template_wins_over_the_reference(fixtures):
    chosen = load_configuration_dir(fixtures / "codefresh-docs").template_for("helm-guestbook")

    assert chosen.name == "product:helm-guestbook"
    assert (chosen.version_source.file, chosen.version_source.json_path) == (
        "version.yaml",
        "$.appVersionInline",
    )
    assert list(chosen.promotion) == ["Chart.yaml", "version.yaml", "values.yaml", "requirements.yaml"]


def test_the_reference_wins_over_selectors(load_sample):
    configuration = load_sample(
        {
            "templates/stronger.yaml": template(
                "stronger", -5, "{matchLabels: {codefresh.io/product: guestbook}}"
            )
        }
    )

    assert configuration.template_for("guestbook").name == "guestbook-helm"


def test_the_referenced_template_is_returned_whole(load_sample):
    chosen = load_sample().template_for("guestbook")

    assert chosen.version_source.json_path == "$.appVersion"
    assert {file: spec.json_paths for file, spec in chosen.promotion.items()} == {
        "Chart.yaml": ("$.appVersion", "$.version"),
        "values.yaml": ("$.image.tag",),
    }


@pytest.mark.parametrize(
    ("templates", "chosen"),
    [
        ({"a": (5, "{matchLabels: {codefresh.io/product: guestbook}}"), "b": (2, "{}")}, "b"),
        ({"a": (2, "{matchLabels: {codefresh.io/product: guestbook}}"), "b": (2, "{}")}, "a"),
        ({"a": (1, "{matchLabels: {codefresh.io/product: shop}}"), "b": (9, "{}")}, "b"),
        # ui apps carry component=ui: a selector for api does not match all the product's applications
        ({"a": (1, "{matchLabels: {promotions.dev/component: api}}"), "b": (9, "{}")}, "b"),
        (
            {
                "a": (
                    1,
                    "{matchExpressions: [{key: promotions.dev/component, operator: In, values: [api, ui]}]}",
                ),
                "b": (0, "{matchExpressions: [{key: team, operator: Exists}]}"),
            },
            "a",
        ),
        (
            {
                "a": (1, "{matchExpressions: [{key: team, operator: DoesNotExist}]}"),
                "b": (
                    0,
                    "{matchExpressions: [{key: promotions.dev/component, operator: NotIn, values: [ui]}]}",
                ),
            },
            "a",
        ),
    ],
)
def test_without_a_reference_the_lowest_priority_number_among_matching_templates_wins(
    load_sample, templates, chosen
):
    changes = {"product.yaml": PRODUCT_WITHOUT_TEMPLATE, "templates/guestbook-helm.yaml": None}
    changes |= {f"templates/{name}.yaml": template(name, *spec) for name, spec in templates.items()}

    assert load_sample(changes).template_for("guestbook").name == chosen


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        ({}, {}, True),
        ({"matchLabels": {"tier": "web"}}, {"tier": "web", "team": "a"}, True),
        ({"matchLabels": {"tier": "web"}}, {"tier": "db"}, False),
        (
            {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "db"]}]},
            {"tier": "db"},
            True,
        ),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]}, {}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}, {}, True),
        (
            {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]},
            {"tier": "web"},
            False,
        ),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {"tier": ""}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {"tier": ""}, False),
        (
            {"matchLabels": {"team": "a"}, "matchExpressions": [{"key": "tier", "operator": "Exists"}]},
            {"team": "a"},
            False,
        ),
    ],
)
def test_label_selectors_follow_kubernetes(selector, labels, matches):
    assert LabelSelector.model_validate(selector).matches(labels) is matches


def test_selectors_see_annotations_as_well_as_labels(load_sample):
    """Codefresh marks product membership with an annotation; its template example selects on that key."""
    configuration = load_sample(
        {
            "product.yaml": PRODUCT_WITHOUT_TEMPLATE,
            "templates/guestbook-helm.yaml": template(
                "by-component", 1, "{matchExpressions: [{key: promotions.dev/component, operator: Exists}]}"
            ),
        }
    )

    assert configuration.template_for("guestbook").name == "by-component"


def test_the_whole_file_wildcard_is_accepted_among_json_paths(load_sample):
    configuration = load_sample(
        {
            "templates/guestbook-helm.yaml": template("guestbook-helm", 1, "{}")
            + "  promotion:\n    config/app.properties:\n      jsonPaths: ['*']\n"
        }
    )

    assert configuration.template_for("guestbook").promotion["config/app.properties"].json_paths == (
        WHOLE_FILE,
    )
