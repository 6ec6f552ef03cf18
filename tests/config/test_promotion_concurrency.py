"""The PromotionConcurrency kind: one per product, Codefresh's queue (default, at most 50 waiting) or terminate;
and the Product's `concurrency`, which Codefresh's format does not have, refused with where to write it."""

from __future__ import annotations

from promotions.config import ConcurrencyPolicy

TERMINATE = """\
apiVersion: promotions.dev/v1alpha1
kind: PromotionConcurrency
metadata:
  name: guestbook
spec:
  policy: terminate
"""


def test_a_product_without_one_queues_at_most_fifty(load_sample):
    settings = load_sample().concurrency_for("guestbook")
    assert (settings.spec.policy, settings.spec.queue_limit) == (ConcurrencyPolicy.QUEUE, 50)


def test_the_products_document_sets_its_policy_and_queue_limit(load_sample):
    configuration = load_sample({"concurrency.yaml": TERMINATE})
    assert configuration.concurrency_for("guestbook").spec.policy is ConcurrencyPolicy.TERMINATE

    limited = load_sample({"concurrency.yaml": TERMINATE.replace("policy: terminate", "queueLimit: 5")})
    assert limited.concurrency_for("guestbook").spec.queue_limit == 5


def test_mistakes_are_reported_at_their_line(sample_problems):
    problems = sample_problems(
        {
            "concurrency.yaml": TERMINATE.replace("terminate", "cancel"),
            "other.yaml": TERMINATE.replace("guestbook", "guestbok").replace(
                "policy: terminate", "queueLimit: 0"
            ),
        }
    )
    assert problems == [
        "concurrency.yaml:6: PromotionConcurrency guestbook: spec.policy: Input should be 'queue' or 'terminate'",
        "other.yaml:6: PromotionConcurrency guestbok: spec.queueLimit: Input should be greater than 0",
    ]


def test_it_must_name_a_product(sample_problems):
    assert sample_problems({"concurrency.yaml": TERMINATE.replace("guestbook", "guestbok")}) == [
        (
            "concurrency.yaml:4: PromotionConcurrency guestbok: it is named after the product it sets, and no Product "
            "guestbok is defined"
        )
    ]


def test_one_per_product(sample_problems):
    assert sample_problems({"concurrency.yaml": TERMINATE, "again.yaml": TERMINATE}) == [
        "concurrency.yaml:4: PromotionConcurrency guestbook is defined twice (first at again.yaml:4)"
    ]


def test_a_products_concurrency_field_says_where_concurrency_is_configured(sample_files, sample_problems):
    product = sample_files["product.yaml"].decode() + "  concurrency: queue\n"
    [problem] = sample_problems({"product.yaml": product})
    assert problem.startswith(f"product.yaml:{product.count(chr(10))}: Product guestbook: spec.concurrency: ")
    assert "Codefresh keeps it in the product's settings" in problem
    assert "PromotionConcurrency document (apiVersion: promotions.dev/v1alpha1" in problem
