"""Unified-diff hunks to added/removed line numbers."""

from __future__ import annotations

from stream_app.providers.diff import changed_lines


def test_added_and_removed_lines_are_numbered_in_head_and_base() -> None:
    patch = "@@ -1,4 +1,5 @@\n a\n-b\n+B\n+C\n c\n d\n"
    assert changed_lines(patch) == ((2, 3), (2,))


def test_several_hunks_restart_the_numbering() -> None:
    patch = "@@ -1,2 +1,2 @@\n-x\n+y\n z\n@@ -10 +10,2 @@\n k\n+new\n"
    assert changed_lines(patch) == ((1, 11), (1,))


def test_new_file_and_no_newline_marker() -> None:
    patch = "@@ -0,0 +1,2 @@\n+one\n+two\n\\ No newline at end of file"
    assert changed_lines(patch) == ((1, 2), ())


def test_file_headers_outside_hunks_are_ignored() -> None:
    patch = "diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -3 +3 @@\n-old\n+new\n"
    assert changed_lines(patch) == ((3,), (3,))


def test_empty_patch() -> None:
    assert changed_lines("") == ((), ())
