from pathlib import Path

from promotions_local.validate_command import validate


def test_a_valid_folder_prints_a_summary_and_returns_0(fixtures, capsys):
    assert validate(fixtures / "valid") == 0

    out, err = capsys.readouterr()
    assert out == (
        f"{(fixtures / 'valid').as_posix()}: valid: 1 product, 4 environments, 2 flows, 8 applications, 3 policies\n"
    )
    assert err == ""


def test_singular_counts(fixtures, capsys, tmp_path):
    for name in (
        "environments.yaml",
        "product.yaml",
        "flows/hotfix.yaml",
        "apps/guestbook-api-dev.yaml",
        "apps/guestbook-api-prod.yaml",
        "templates/guestbook-helm.yaml",
    ):
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((fixtures / "valid" / name).read_bytes())
    (tmp_path / "product.yaml").write_text(
        (fixtures / "valid" / "product.yaml").read_text().replace("    - name: standard\n", "")
    )

    assert validate(tmp_path) == 0

    out, _ = capsys.readouterr()
    assert out.endswith(": valid: 1 product, 4 environments, 1 flow, 2 applications, 0 policies\n")


def test_problems_go_to_stderr_under_the_folder_as_given_and_return_1(fixtures, capsys, monkeypatch):
    monkeypatch.chdir(fixtures)

    assert validate(Path("broken")) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        (
            "broken/apps.yaml:22: Application shop-prod: destination (cluster prod-us, namespace shop) is in no "
            "Environment"
        ),
        "broken/flow.yaml:8: PromotionFlow release: step qa is not a defined Environment",
        (
            "broken/flow.yaml:14: PromotionFlow release: step prod depends on staging, which is neither the trigger "
            "environment nor a step of this flow"
        ),
        (
            "broken/policy.yaml:6: PromotionPolicy everything: spec.priority: Input should be a valid integer, unable "
            "to parse string as an integer"
        ),
        (
            "broken/policy.yaml:18: PromotionPolicy production-by-pull-request: selects environment production, which "
            "is not a defined Environment"
        ),
        "broken/product.yaml:6: Product shop: promotionTemplateRef shop-template is not a defined PromotionTemplate",
    ]


def test_a_missing_folder_is_reported(tmp_path, capsys):
    assert validate(tmp_path / "nowhere") == 1

    assert capsys.readouterr().err == f"{(tmp_path / 'nowhere').as_posix()}: no such directory\n"


def test_warnings_are_printed_on_stderr_and_do_not_fail(fixtures, capsys, tmp_path):
    for path in (fixtures / "valid").rglob("*"):
        if path.is_file():
            target = tmp_path / path.relative_to(fixtures / "valid")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    with (tmp_path / "flows" / "hotfix.yaml").open("a") as flow:
        flow.write("  postTrigger: notify-slack\n")
    lines = (tmp_path / "flows" / "hotfix.yaml").read_text().count("\n")

    assert validate(tmp_path) == 0

    out, err = capsys.readouterr()
    assert out.endswith(": valid: 1 product, 4 environments, 2 flows, 8 applications, 3 policies\n")
    assert err == (
        f"{(tmp_path / 'flows' / 'hotfix.yaml').as_posix()}:{lines}: warning: PromotionFlow hotfix: "
        "spec.postTrigger is ignored: Codefresh deprecated it for hooks.onStart\n"
    )
