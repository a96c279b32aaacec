"""Path fixing: normalisation, yaml fixes, matching the repo's files, ignore globs."""

from __future__ import annotations

import pytest

from stream_app.coverage import PathResolver
from stream_app.coverage.paths import normalize

REPO = ["src/app/models.py", "src/app/views.py", "tests/test_models.py", "lib/util.py", "pkg/a/util.py", "README.md"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("./src/a.py", "src/a.py"),
        ("/home/ci/src/a.py", "home/ci/src/a.py"),
        ("C:\\build\\src\\a.py", "build/src/a.py"),
        ("src//x/../a.py", "src/a.py"),
        ("../../a.py", "a.py"),
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        ("src/app/models.py", "src/app/models.py"),
        ("/home/ci/work/proj/src/app/models.py", "src/app/models.py"),
        ("app/views.py", "src/app/views.py"),
        ("D:\\a\\proj\\src\\app\\views.py", "src/app/views.py"),
        ("a/util.py", "pkg/a/util.py"),
        ("util.py", None),  # two repo files end with it: ambiguous, dropped
        ("src/app/unknown.py", None),
        ("/usr/lib/python3.11/json/__init__.py", None),
    ],
)
def test_report_paths_are_matched_to_repo_files(reported: str, expected: str | None) -> None:
    assert PathResolver(repo_files=REPO)(reported) == expected


def test_an_exact_tail_wins_over_a_deeper_file_with_the_same_tail() -> None:
    resolve = PathResolver(repo_files=["src/a.py", "lib/src/a.py"])
    assert resolve("/ci/build/src/a.py") == "src/a.py"
    assert resolve("/ci/lib/src/a.py") == "lib/src/a.py"


def test_without_a_file_list_paths_are_kept_after_fixes() -> None:
    resolve = PathResolver()
    assert resolve("/home/ci/src/a.py") == "home/ci/src/a.py"


@pytest.mark.parametrize(
    ("fixes", "reported", "expected"),
    [
        (["old/prefix/::new/"], "old/prefix/a.py", "new/a.py"),
        (["old/prefix/::new/"], "other/old/prefix/a.py", "other/old/prefix/a.py"),  # only a leading match
        (["::src/"], "a.py", "src/a.py"),
        (["build/::"], "build/lib/a.py", "lib/a.py"),
        (["/home/ci/proj/::"], "/home/ci/proj/lib/a.py", "lib/a.py"),
        (["home/*/proj/::"], "/home/bob/proj/lib/a.py", "lib/a.py"),
        (["**/site-packages/::"], "/usr/lib/python3/site-packages/mypkg/x.py", "mypkg/x.py"),
        (["a/::x/", "a/b/::y/"], "a/b/c.py", "x/b/c.py"),  # the first matching rule only
        (["build/::", "::src/"], "build/a.py", "src/a.py"),  # replacements, then added prefixes
        (["not a rule"], "a.py", "a.py"),
    ],
)
def test_yaml_fixes(fixes: list[str], reported: str, expected: str) -> None:
    assert PathResolver(fixes=fixes)(reported) == expected


def test_fixes_apply_before_matching_repo_files() -> None:
    resolve = PathResolver(repo_files=["backend/app/models.py", "frontend/app/models.py"], fixes=["::backend/"])
    assert resolve("app/models.py") == "backend/app/models.py"


@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        ("tests/test_a.py", True),
        ("tests/unit/deep/test_b.py", True),
        ("src/tests_helper.py", False),
        ("api_pb2.py", True),
        ("src/gen/api_pb2.py", True),
        ("src/gen/api_pb2_grpc.py", False),
        ("docs/conf.py", True),
        ("vendor/x/y.go", True),
        ("src/vendor.py", False),
        ("setup.py", True),
        ("src/setup.py", False),
    ],
)
def test_ignore_globs(path: str, ignored: bool) -> None:
    resolve = PathResolver(ignore=["tests/**", "**/*_pb2.py", "docs/", "^vendor/.*", "setup.py"])
    assert (resolve(path) is None) is ignored


def test_ignore_applies_to_the_fixed_repo_path() -> None:
    resolve = PathResolver(repo_files=REPO, ignore=["tests/**"])
    assert resolve("/ci/proj/tests/test_models.py") is None
    assert resolve("/ci/proj/src/app/models.py") == "src/app/models.py"
