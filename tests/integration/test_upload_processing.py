"""UploadProcessor's service against real PostgreSQL: parse, store the partial, settle, and the chord."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Mapping
from typing import Any, NoReturn

import pytest
from sqlalchemy import select

from stream_app.coverage import load_partial
from stream_app.models import Upload
from stream_app.services.upload_paths import partial_path
from stream_app.storage import ArchiveStorage, LocalStorage
from tests.support.uploads import (
    FINISHER,
    Seeded,
    Sessions,
    count_uploads,
    drain,
    expected_totals,
    fixture,
    item,
    offline,
    outbox_rows,
    run_processor,
    run_upload,
    seed_repo,
    sha,
    store_raw,
    upload_states,
)

pytestmark = pytest.mark.db


async def _uploaded(
    sessions: Sessions, storage: ArchiveStorage, seeded: Seeded, commitid: str, raws: Mapping[str, bytes | None]
) -> None:
    """An Upload of one upload per entry; a None body is never stored (missing raw file)."""
    items = []
    for upload_id, body in raws.items():
        path = f"v4/raw/{seeded.repoid}/{upload_id}.txt"
        if body is not None:
            await store_raw(storage, seeded.repoid, upload_id, body)
        items.append(item(upload_id, path, flags=[upload_id]))
    await run_upload(sessions, storage, offline(), repoid=seeded.repoid, commitid=commitid, uploads=items)


async def _process(
    sessions: Sessions, storage: ArchiveStorage, seeded: Seeded, commitid: str, upload_id: str
) -> dict[str, Any]:
    return await run_processor(
        sessions, storage, offline(), repoid=seeded.repoid, commitid=commitid, upload_id=upload_id
    )


async def test_processor_parses_stores_the_partial_and_schedules_the_finisher(
    session_factory: Sessions, storage: LocalStorage
) -> None:
    # Given one coverage.py JSON upload
    seeded = await seed_repo(session_factory)
    await _uploaded(session_factory, storage, seeded, sha(1), {"u1": fixture("coveragepy/coverage.json")})
    expected = expected_totals("coveragepy/coverage.json")

    # When it is processed
    result = await _process(session_factory, storage, seeded, sha(1), "u1")

    # Then its totals are coverage.py's, the partial is stored, and (the only upload) it schedules the finisher
    assert result == {"upload_id": "u1", "state": "processed", "files": 1, "lines": expected["num_statements"],
                      "finisher_scheduled": True}  # fmt: skip
    async with session_factory() as s:
        row = (await s.scalars(select(Upload))).one()
    assert row.state == "processed" and row.error_code is None
    assert row.totals is not None
    assert row.totals["hits"] + row.totals["partials"] == expected["covered_lines"]
    assert row.totals["misses"] == expected["missing_lines"]
    partial = load_partial(await storage.read(partial_path(seeded.repoid, sha(1), row.id)))
    assert (partial.session.id, partial.session.flags) == (0, ("u1",))
    assert set(partial.files) == {"shapes/geometry.py"}
    finishers = await outbox_rows(session_factory, FINISHER)
    assert [(f.key, f.args) for f in finishers] == [
        (f"{seeded.repoid}:{sha(1)}", {"repoid": seeded.repoid, "commitid": sha(1)})
    ]


async def test_processor_twice_is_a_no_op(session_factory: Sessions, storage: LocalStorage) -> None:
    # Given a processed upload
    seeded = await seed_repo(session_factory)
    await _uploaded(session_factory, storage, seeded, sha(2), {"u1": fixture("coveragepy/coverage.xml")})
    first = await _process(session_factory, storage, seeded, sha(2), "u1")

    # When it is processed again
    again = await _process(session_factory, storage, seeded, sha(2), "u1")

    # Then the same state is reported, and no second finisher is scheduled
    assert again == {k: v for k, v in first.items() if k != "finisher_scheduled"}
    assert len(await outbox_rows(session_factory, FINISHER)) == 1


async def test_missing_raw_file_ends_the_upload_in_error_and_still_completes_the_chord(
    session_factory: Sessions, storage: LocalStorage
) -> None:
    seeded = await seed_repo(session_factory)
    await _uploaded(session_factory, storage, seeded, sha(3), {"u1": None})

    result = await _process(session_factory, storage, seeded, sha(3), "u1")

    assert result == {"upload_id": "u1", "state": "error", "files": 0, "lines": 0, "error_code": "file_not_in_storage",
                      "finisher_scheduled": True}  # fmt: skip
    async with session_factory() as s:
        row = (await s.scalars(select(Upload))).one()
    assert (row.state, row.error_code, row.totals) == ("error", "file_not_in_storage", None)
    assert row.error_params == {"detail": f"v4/raw/{seeded.repoid}/u1.txt"}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'<?xml version="1.0"?><coverage><packages><package', "corrupt_report"),
        (b"this is not a coverage report at all\n", "unknown_format"),
        (b"", "report_empty"),
    ],
)
async def test_a_bad_report_ends_only_its_own_upload(
    session_factory: Sessions, storage: LocalStorage, body: bytes, code: str
) -> None:
    # Given a bad upload among good ones
    seeded = await seed_repo(session_factory)
    raws = {"good1": fixture("coveragepy/coverage.xml"), "bad": body, "good2": fixture("lcov/calc.lcov.info")}
    await _uploaded(session_factory, storage, seeded, sha(4), raws)

    # When all are processed
    results = [await _process(session_factory, storage, seeded, sha(4), upload_id) for upload_id in raws]

    # Then the bad one is in error with its code, the good ones are processed, and the last schedules the finisher
    assert [r["state"] for r in results] == ["processed", "error", "processed"]
    assert results[1]["error_code"] == code
    assert await upload_states(session_factory, seeded.repoid, sha(4)) == {
        "good1": "processed",
        "bad": "error",
        "good2": "processed",
    }
    assert [r["finisher_scheduled"] for r in results] == [False, False, True]


async def test_only_the_last_of_several_processors_schedules_the_finisher(
    session_factory: Sessions, storage: LocalStorage
) -> None:
    seeded = await seed_repo(session_factory)
    raws = {f"u{n}": fixture("coveragepy/coverage.json") for n in range(4)}
    await _uploaded(session_factory, storage, seeded, sha(5), raws)

    scheduled = []
    for upload_id in ["u2", "u0", "u3", "u1"]:
        scheduled.append((await _process(session_factory, storage, seeded, sha(5), upload_id))["finisher_scheduled"])

    assert scheduled == [False, False, False, True]
    assert len(await outbox_rows(session_factory, FINISHER)) == 1


async def test_twenty_concurrent_processors_schedule_exactly_one_finisher(
    session_factory: Sessions, storage: LocalStorage
) -> None:
    # Given 20 uploads of one commit (one of them gzipped, one missing)
    seeded = await seed_repo(session_factory)
    raws: dict[str, bytes | None] = {f"u{n}": fixture("coveragepy/coverage_other.xml") for n in range(18)}
    raws["gz"] = gzip.compress(fixture("coveragepy/coverage.json"))
    raws["missing"] = None
    await _uploaded(session_factory, storage, seeded, sha(6), raws)

    # When their processors run at the same time, each in its own transaction
    results = await asyncio.gather(*(_process(session_factory, storage, seeded, sha(6), u) for u in raws))

    # Then every upload is settled and exactly one of them scheduled the finisher
    assert sum(r["finisher_scheduled"] for r in results) == 1
    assert await count_uploads(session_factory, seeded.repoid, sha(6), "processed") == 19
    assert await count_uploads(session_factory, seeded.repoid, sha(6), "error") == 1
    assert len(await outbox_rows(session_factory, FINISHER)) == 1


async def test_repo_yaml_fixes_and_ignore_apply_to_paths(session_factory: Sessions, storage: LocalStorage) -> None:
    # Given a repo whose yaml moves `shapes/` under `src/` and ignores a directory
    yaml = {"fixes": ["shapes/::src/shapes/"], "ignore": ["pricing.js"]}
    seeded = await seed_repo(session_factory, yaml=yaml)
    raws = {"py": fixture("coveragepy/coverage.xml"), "js": fixture("lcov/pricing.lcov.info")}
    await _uploaded(session_factory, storage, seeded, sha(7), raws)

    # When both are processed
    py = await _process(session_factory, storage, seeded, sha(7), "py")
    js = await _process(session_factory, storage, seeded, sha(7), "js")

    # Then the fixed path is stored, and an upload left with nothing is report_empty
    async with session_factory() as s:
        upload_pk = await s.scalar(select(Upload.id).where(Upload.external_id == "py"))
    assert upload_pk is not None
    partial = load_partial(await storage.read(partial_path(seeded.repoid, sha(7), upload_pk)))
    assert py["state"] == "processed" and set(partial.files) == {"src/shapes/geometry.py"}
    assert (js["state"], js["error_code"]) == ("error", "report_empty")


async def test_processor_of_an_unknown_upload_does_nothing(session_factory: Sessions, storage: LocalStorage) -> None:
    seeded = await seed_repo(session_factory)

    result = await _process(session_factory, storage, seeded, sha(8), "nope")

    assert result == {"upload_id": "nope", "state": "not_found", "files": 0, "lines": 0}
    assert await outbox_rows(session_factory) == []


async def test_a_parser_crash_ends_the_upload_as_corrupt_and_the_chord_goes_on(
    session_factory: Sessions, storage: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a parser that crashes on this input (a bug, not a ReportError)
    def crash(*args: object, **kwargs: object) -> NoReturn:
        raise KeyError("line")

    monkeypatch.setattr("stream_app.services.upload_processing.parse_upload", crash)
    seeded = await seed_repo(session_factory)
    await _uploaded(session_factory, storage, seeded, sha(9), {"u1": fixture("coveragepy/coverage.xml")})

    # When it is processed
    result = await _process(session_factory, storage, seeded, sha(9), "u1")

    # Then the upload ends in error (no endless retries) and the finisher is still scheduled
    assert (result["state"], result["error_code"], result["finisher_scheduled"]) == ("error", "corrupt_report", True)


@pytest.mark.parametrize(
    "bad_path",
    ["/v4/raw/elsewhere/u2.txt", "../outside/u2.txt", "v4/raw/../../../etc/passwd", "v4/raw/../../..", "."],
)
async def test_a_storage_path_storage_refuses_ends_its_upload_and_the_commit_still_finishes(
    session_factory: Sessions, storage: LocalStorage, bad_path: str
) -> None:
    # Given a good upload and one whose storage path is absolute, climbs out of the root or names it
    seeded = await seed_repo(session_factory)
    good = await store_raw(storage, seeded.repoid, "good", fixture("coveragepy/coverage.json"))
    items = [item("good", good), item("bad", bad_path)]
    await run_upload(session_factory, storage, offline(), repoid=seeded.repoid, commitid=sha(10), uploads=items)

    # When both are processed, the bad one last
    first = await _process(session_factory, storage, seeded, sha(10), "good")
    last = await _process(session_factory, storage, seeded, sha(10), "bad")

    # Then the bad one ends in error (not retried for ever), and being the last it schedules the finisher
    assert (first["state"], first["finisher_scheduled"]) == ("processed", False)
    assert (last["state"], last["error_code"], last["finisher_scheduled"]) == ("error", "file_not_in_storage", True)
    assert await upload_states(session_factory, seeded.repoid, sha(10)) == {"good": "processed", "bad": "error"}
    async with session_factory() as s:
        row = await s.scalar(select(Upload).where(Upload.external_id == "bad"))
    assert row is not None and row.error_params is not None
    assert (row.error_code, row.totals) == ("file_not_in_storage", None)
    assert bad_path in row.error_params["detail"]
    assert [f.args for f in await outbox_rows(session_factory, FINISHER)] == [
        {"repoid": seeded.repoid, "commitid": sha(10)}
    ]

    # And the finisher it scheduled merges the good upload
    finished = await drain(session_factory, storage, offline())
    assert [(r["merged"], r["state"]) for r in finished if "merged" in r] == [(1, "complete")]
