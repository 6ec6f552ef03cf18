"""with_trailers appends `Key: value` trailers the way `git interpret-trailers` does."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from promotions.git import with_trailers

CASES = [
    ("Promote app to prod\n", {"Promotion-Id": "p-1"}),
    ("Promote app\n\nBody line.\n", {"Promotion-Id": "p-1", "Release": "r-2"}),
    ("Promote\n\nBody\n\nSigned-off-by: A <a@example.com>\n", {"Promotion-Id": "p-1"}),
    ("Promote\n\nSigned-off-by: A <a@example.com>\n", {"Signed-off-by": "A <a@example.com>"}),
    ("Fix: the subject looks like a trailer\n", {"Promotion-Id": "p-1"}),
    ("Subject\n\nNot: a trailer block\nbecause this line is prose\n", {"K": "v"}),
    ("Subject\n\nK: v\nK: w\n", {"K": "v"}),
]


def test_trailers_follow_a_blank_line_or_extend_the_trailer_block():
    assert with_trailers("Promote app to prod", {"Promotion-Id": "p-1", "Release": "r-2"}) == (
        "Promote app to prod\n\nPromotion-Id: p-1\nRelease: r-2\n"
    )
    assert with_trailers("Promote\n\nBody.\n\nSigned-off-by: A <a@example.com>\n", {"Release": "r-2"}) == (
        "Promote\n\nBody.\n\nSigned-off-by: A <a@example.com>\nRelease: r-2\n"
    )


def test_a_trailer_equal_to_its_neighbour_is_not_repeated():
    message = "Promote\n\nRelease: r-2\n"

    assert with_trailers(message, {"Release": "r-2"}) == message
    assert with_trailers(message, {"Release": "r-3"}) == "Promote\n\nRelease: r-2\nRelease: r-3\n"


def test_no_trailers_leave_the_message_as_is_but_newline_terminated():
    assert with_trailers("Promote", {}) == "Promote\n"


@pytest.mark.parametrize(
    ("trailers", "message"),
    [
        ({"Bad Key": "v"}, "invalid trailer key"),
        ({"Key:": "v"}, "invalid trailer key"),
        ({"": "v"}, "invalid trailer key"),
        ({"Key": "two\nlines"}, "spans several lines"),
    ],
)
def test_malformed_trailers_are_refused(trailers: dict[str, str], message: str):
    with pytest.raises(ValueError, match=message):
        with_trailers("Promote", trailers)


@pytest.mark.skipif(shutil.which("git") is None, reason="compares with git interpret-trailers")
@pytest.mark.parametrize(("message", "trailers"), CASES)
def test_matches_git_interpret_trailers(message: str, trailers: dict[str, str]):
    arguments = ["git", "interpret-trailers"]
    for key, value in trailers.items():
        arguments += ["--trailer", f"{key}: {value}"]
    expected = subprocess.run(arguments, input=message, capture_output=True, text=True, check=True).stdout

    assert with_trailers(message, trailers) == expected


def test_trailers_read_back_as_written_and_a_body_line_is_no_trailer():
    from promotions.git import trailers_of

    message = with_trailers(
        "Promote app to prod\n\nNote: prose in the body\nthat spans lines",
        {"Promotion-Release": "r-1", "Promotion-Source": "https://git.example/app.git@" + "a" * 40},
    )

    assert trailers_of(message.encode()) == {
        "Promotion-Release": "r-1",
        "Promotion-Source": "https://git.example/app.git@" + "a" * 40,
    }
    assert trailers_of(b"Subject only\n") == {}


def test_pairs_repeat_a_key_one_trailer_each():
    message = with_trailers(
        "Promote app to prod",
        [
            ("Promotion-Id", "p-1"),
            ("Promotion-Approved-By", "alice (U1)"),
            ("Promotion-Approved-By", "bob (U2)"),
        ],
    )
    assert message == (
        "Promote app to prod\n\nPromotion-Id: p-1\n"
        "Promotion-Approved-By: alice (U1)\nPromotion-Approved-By: bob (U2)\n"
    )
