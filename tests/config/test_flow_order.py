import pytest
from promotions.config import PromotionFlow


def flow(*steps: tuple[str, list[str]], trigger: str = "dev") -> PromotionFlow:
    return PromotionFlow.model_validate(
        {
            "metadata": {"name": "flow"},
            "spec": {
                "triggerEnvironment": trigger,
                "steps": [
                    {"environment": environment, "dependsOn": depends_on} for environment, depends_on in steps
                ],
            },
        }
    )


def order(promotion_flow: PromotionFlow) -> list[str]:
    return [step.environment for step in promotion_flow.ordered_steps()]


def test_the_sample_flow_runs_qa_and_staging_before_prod(load_sample):
    steps = load_sample().flow_order("standard")

    assert [(step.environment, step.depends_on) for step in steps] == [
        ("qa", ("dev",)),
        ("staging", ("dev",)),
        ("prod", ("qa", "staging")),
    ]


def test_dependencies_come_first_whatever_the_declaration_order():
    assert order(flow(("prod", ["staging", "qa"]), ("staging", ["qa"]), ("qa", ["dev"]))) == [
        "qa",
        "staging",
        "prod",
    ]


def test_steps_ready_together_keep_their_declaration_order():
    diamond = flow(("prod", ["qa", "staging"]), ("staging", ["dev"]), ("qa", ["dev"]), ("perf", ["staging"]))

    assert order(diamond) == ["staging", "qa", "prod", "perf"]


def test_a_long_chain_declared_backwards():
    chain = flow(("e", ["d"]), ("d", ["c"]), ("c", ["b"]), ("b", ["a"]), ("a", ["dev"]))

    assert order(chain) == ["a", "b", "c", "d", "e"]


def test_the_trigger_environment_is_not_a_step():
    assert "dev" not in order(flow(("qa", ["dev"]), ("prod", ["qa"])))


def test_a_cyclic_flow_cannot_be_ordered_and_names_its_cycle():
    cyclic = flow(("qa", ["dev"]), ("staging", ["prod"]), ("prod", ["staging"]))

    assert cyclic.dependency_cycle() == ("staging", "prod", "staging")
    with pytest.raises(ValueError, match="dependsOn cycle staging -> prod -> staging"):
        cyclic.ordered_steps()


def test_an_acyclic_flow_has_no_cycle():
    assert flow(("qa", ["dev"]), ("prod", ["qa", "dev"])).dependency_cycle() is None
