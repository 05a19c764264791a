"""The polisen.se API client: queries, checks, raw files, polls — against a local server."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from scripted_server import FakeTime, Reply, ScriptedServer, api_event
from trygghetskarta import pipeline
from trygghetskarta.errors import ConfigError, SourceError, TrygghetskartaWarning
from trygghetskarta.net import ClientSettings, HttpClient, HttpError
from trygghetskarta.sources import polisen, polisen_api
from trygghetskarta.sources._polisen_answer import (
    RejectedResponseError,
    check_events,
    describe_answer,
    latest_by_id,
    overlap_gap,
)

SNAPSHOT = "police_events/api_snapshot_2026-08-22T1754Z_all.json"
START = 1_787_000_000.0  # 2026-08-17 20:53:20 UTC


def ingest_globbed(raw_dir: Path) -> list[Path]:
    """The files the pipeline's ingest would read from ``raw_dir/polisen``."""
    folder = raw_dir / "polisen"
    return sorted(p for g in pipeline.POLICE_RAW_GLOBS for p in folder.glob(g))


# --------------------------------------------------------------------------- queries


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026", "2026"),
        ("2026-08", "2026-08"),
        ("2026-08-22", "2026-08-22"),
        ("2026-08-22 21", "2026-08-22 21"),
        (date(2026, 8, 22), "2026-08-22"),
        (datetime(2026, 8, 22, 21, 5), "2026-08-22 21"),
        (datetime(2026, 8, 22, 19, 30, tzinfo=UTC), "2026-08-22 21"),
        (datetime(2026, 1, 1, 23, 30, tzinfo=UTC), "2026-01-02 00"),
    ],
    ids=["year", "month", "day", "day-hour", "date", "naive-datetime", "utc-summer", "utc-new-day"],
)
def test_date_time_filter_forms(value, expected):
    assert polisen_api.query_params(date_time=value) == {"DateTime": expected}


@pytest.mark.parametrize(
    "value", ["22/8/2026", "2026-8", "2026-08-22T21", "", "2026-08-22 21:00"], ids=str
)
def test_date_time_filter_rejects_other_forms(value):
    with pytest.raises(ConfigError, match="DateTime must be like 2026"):
        polisen_api.query_params(date_time=value)


def test_location_and_type_filters_join_names_with_semicolons():
    params = polisen_api.query_params(
        location=["Stockholms län", " Uppsala län "], types="Rån; Misshandel;;"
    )
    assert params == {"locationname": "Stockholms län;Uppsala län", "type": "Rån;Misshandel"}
    assert polisen_api.query_params(location=[], types=None) == {}


@pytest.mark.parametrize(
    ("params", "slug"),
    [
        ({}, "all"),
        ({"DateTime": "2026-08-22 21"}, "DateTime-2026-08-22-21"),
        ({"locationname": "Stockholms län", "type": "Rån;Stöld"}, None),
    ],
    ids=["none", "date-hour", "swedish"],
)
def test_query_slug_is_ascii_and_file_safe(params, slug):
    got = polisen_api.query_slug(params)
    if slug is not None:
        assert got == slug
    assert got.isascii() and all(c.isalnum() or c in "-_" for c in got)


def test_long_query_slugs_are_shortened_with_a_hash():
    long = {"type": ";".join(f"Typ{i}" for i in range(40))}
    other = {"type": ";".join(f"Typ{i}" for i in range(41))}
    a, b = polisen_api.query_slug(long), polisen_api.query_slug(other)
    assert len(a) <= 80 and a != b


# --------------------------------------------------------------------------- answers


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b"", "an empty body"),
        (b"  \n ", "an empty body"),
        (
            b"<!DOCTYPE html><html><head><title>Tekniskt fel</title></head></html>",
            "an HTML page titled 'Tekniskt fel'",
        ),
        (b'[{"id": 1, "name": "22 aug', "JSON cut short"),
        (b'[{"id": 1}', "JSON cut short"),
        (b"[1,,2]", "invalid JSON"),
        (b'{"error": "maintenance"}', "a JSON object with keys ['error']"),
        (b'"maintenance"', "a JSON str"),
        (b"[1, 2, 3]", "an array of 3 values none of which is an event"),
        (b'[{"message": "x"}]', "an array of 1 values none of which is an event"),
        (b"\xff\xfe[]", "4 bytes that are not UTF-8"),
    ],
    ids=[
        "empty",
        "blank",
        "html",
        "cut-in-string",
        "cut-after-object",
        "invalid",
        "object",
        "string",
        "numbers",
        "objects-without-id",
        "not-utf8",
    ],
)
def test_check_events_rejects_what_is_not_an_events_array(body, what):
    with pytest.raises(RejectedResponseError, match="^" + what.replace("[", r"\[")):
        check_events(body)


@pytest.mark.parametrize(
    ("body", "length"),
    [
        (b"[]", 0),
        (b'[{"id": 1}]', 1),
        (b'[{"id": 1}, 5, {"no": "id"}]', 3),
        ('\ufeff[{"id": 1}]'.encode(), 1),
    ],
    ids=["empty-array", "one", "mixed", "bom"],
)
def test_check_events_accepts_arrays_with_an_event(body, length):
    assert len(check_events(body, content_type="application/json")) == length


def test_describe_answer_counts_duplicates_non_events_and_order():
    records = [
        api_event(3, published="2026-08-22 9:00:00 +02:00"),
        api_event(1, published="2026-08-22 10:00:00 +02:00"),
        api_event(3, published="2026-08-21 8:00:00 +02:00"),
        "noise",
    ]
    got = describe_answer(records)
    assert got == {
        "records": 4,
        "distinct_ids": 2,
        "duplicated_ids": ["3"],
        "not_events": 1,
        "published_min": "2026-08-21T08:00:00+02:00",
        "published_max": "2026-08-22T10:00:00+02:00",
    }


def test_latest_by_id_keeps_the_latest_published_and_the_later_on_ties():
    early = api_event(1, published="2026-08-22 9:00:00 +02:00", summary="första")
    late = api_event(1, published="2026-08-22 11:00:00 +02:00", summary="andra")
    tie = api_event(1, published="2026-08-22 11:00:00 +02:00", summary="tredje")
    assert latest_by_id([late, early])["1"]["summary"] == "andra"
    assert latest_by_id([early, late, tie])["1"]["summary"] == "tredje"
    assert latest_by_id([{"id": "0042"}, {"id": True}, {"id": 4.0}]).keys() == {"42", "4"}


@pytest.mark.parametrize(
    ("old", "new", "gap"),
    [
        (["2026-08-20 10:00:00 +02:00"], ["2026-08-20 09:00:00 +02:00"], None),
        (["2026-08-20 10:00:00 +02:00"], ["2026-08-20 10:00:00 +02:00"], None),
        (
            ["2026-08-19 10:00:00 +02:00", "2026-08-20 10:00:00 +02:00"],
            ["2026-08-24 8:00:00 +02:00", "2026-08-25 8:00:00 +02:00"],
            ("2026-08-20T10:00:00+02:00", "2026-08-24T08:00:00+02:00"),
        ),
        ([], ["2026-08-24 8:00:00 +02:00"], None),
    ],
    ids=["overlap", "touching", "gap", "nothing-before"],
)
def test_overlap_gap(old, new, gap):
    got = overlap_gap(
        [api_event(i, published=p) for i, p in enumerate(old)],
        [api_event(i, published=p) for i, p in enumerate(new)],
    )
    assert (None if got is None else tuple(t.isoformat() for t in got)) == gap


# --------------------------------------------------------------------------- settings


def test_polisen_settings_default_to_the_real_api_and_its_limits():
    got = polisen_api.PolisenSettings.from_mapping({})
    assert got.client.base_url == "https://polisen.se"
    assert (got.client.min_interval_s, got.client.max_per_hour) == (10.0, 60)
    assert (got.location, got.types, got.backfill_max_days, got.fetch) == ((), (), 365, False)


def test_polisen_settings_read_a_toml_table():
    got = polisen_api.PolisenSettings.from_mapping(
        {
            "base_url": "http://127.0.0.1:8080",
            "min_interval_s": 0,
            "contact": "https://example.org/kontakt",
            "location": "Stockholms län",
            "types": ["Rån", "Skottlossning"],
            "backfill_max_days": 3,
            "fetch": "true",
        }
    )
    assert got.client.base_url == "http://127.0.0.1:8080"
    assert got.client.min_interval_s == 0.0
    assert got.client.agent.endswith("(+https://example.org/kontakt)")
    assert (got.location, got.types, got.backfill_max_days, got.fetch) == (
        ("Stockholms län",),
        ("Rån", "Skottlossning"),
        3,
        True,
    )


def test_polisen_settings_read_backfill_days_as_backfill_max_days_with_a_warning():
    with pytest.warns(TrygghetskartaWarning, match="older name of backfill_max_days"):
        got = polisen_api.PolisenSettings.from_mapping({"backfill_days": 7})
    assert got.backfill_max_days == 7


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"base_ulr": "x"}, r"unknown keys \['base_ulr'\]"),
        ({"backfill_max_days": -1}, "backfill_max_days .* whole number"),
        ({"backfill_max_days": True}, "backfill_max_days .* whole number"),
        ({"fetch": "sometimes"}, "fetch .* true or false"),
        ({"max_per_hour": 0}, "max_per_hour must be > 0"),
        ({"types": [1, 2]}, "types must be names"),
    ],
    ids=["typo", "negative-days", "bool-days", "fetch-word", "no-calls", "numeric-types"],
)
def test_polisen_settings_reject_bad_tables(values, message):
    with pytest.raises(ConfigError, match=message):
        polisen_api.PolisenSettings.from_mapping(values)


# --------------------------------------------------------------------------- fetching

network = pytest.mark.network


@pytest.fixture
def server():
    with ScriptedServer() as srv:
        yield srv


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def cfg(server: ScriptedServer, **changes) -> ClientSettings:
    values = {"min_interval_s": 0.0, "max_attempts": 3, "backoff_s": 0.0, "timeout_s": 2.0}
    return polisen_api.client_settings({"base_url": server.base_url} | values | changes)


def http(server: ScriptedServer, fake: FakeTime, **changes) -> HttpClient:
    return HttpClient(cfg(server, **changes), clock=fake.clock, sleep=fake.sleep)


@network
def test_fetch_keeps_the_answer_byte_for_byte_with_its_metadata(server, fake, tmp_path, caplog):
    body = json.dumps([api_event(2), api_event(1)], ensure_ascii=False, indent=1).encode()
    server.add(Reply(200, body))
    with caplog.at_level(logging.INFO, logger="trygghetskarta.sources.polisen_api"):
        path = polisen_api.fetch(cfg(server), raw_dir=tmp_path, client=http(server, fake))
    assert path.read_bytes() == body
    assert path.parent == tmp_path / "polisen"
    assert path.name == "polisen_20260817T205320.000000Z_all.json"
    assert ingest_globbed(tmp_path) == [path]
    meta = json.loads((tmp_path / "polisen" / "meta" / path.name).read_text())
    assert meta["url"] == f"{server.base_url}/api/events"
    assert (meta["status"], meta["records"], meta["distinct_ids"], meta["query"]) == (200, 2, 2, {})
    assert meta["bytes"] == len(body)
    assert "saved 2 events (2 distinct ids" in caplog.text
    assert server.requests[0].headers["user-agent"].startswith("trygghetskarta/")


@network
def test_fetch_sends_the_filters(server, fake, tmp_path):
    server.add(Reply(200, []))
    path = polisen_api.fetch(
        cfg(server),
        raw_dir=tmp_path,
        date_time="2026-08-22 21",
        location="Stockholms län",
        types=["Rån", "Misshandel"],
        client=http(server, fake),
    )
    seen = server.requests[0]
    assert seen.raw_query == (
        "DateTime=2026-08-22%2021&locationname=Stockholms%20l%C3%A4n&type=R%C3%A5n;Misshandel"
    )
    assert seen.query == {
        "DateTime": ["2026-08-22 21"],
        "locationname": ["Stockholms län"],
        "type": ["Rån;Misshandel"],
    }
    assert path.name.endswith(
        "_DateTime-2026-08-22-21_locationname-Stockholms-lan_type-Ran-Misshandel.json"
    )


@network
def test_answers_at_the_same_instant_get_distinct_sorted_names(server, fake, tmp_path):
    server.add(*[Reply(200, [api_event(i)]) for i in range(3)])
    client = http(server, fake)  # the fake clock stands still: same fetched_at
    paths = [polisen_api.fetch(cfg(server), raw_dir=tmp_path, client=client) for _ in range(3)]
    assert len(set(paths)) == 3
    assert sorted(paths) == paths
    assert [json.loads(p.read_text())[0]["id"] for p in paths] == [0, 1, 2]


@network
@pytest.mark.parametrize(
    ("reply", "what", "suffix"),
    [
        (
            Reply(
                200,
                "<html><title>Underhåll</title><body>Sidan är nere</body></html>",
                content_type="text/html",
            ),
            "an HTML page titled 'Underhåll'",
            ".html",
        ),
        (Reply(200, b'[{"id": 650297, "datetime": "2026-08-22 19:5'), "JSON cut short", ".json"),
        (Reply(200, {"message": "An error has occurred."}), "a JSON object with keys", ".json"),
        (Reply(200, b""), "an empty body", ".txt"),
    ],
    ids=["html-200", "truncated-json", "object", "empty-body"],
)
def test_a_rejected_answer_is_kept_aside_and_raises(
    server, fake, tmp_path, caplog, reply, what, suffix
):
    server.add(reply)
    with caplog.at_level(logging.ERROR), pytest.raises(SourceError) as info:
        polisen_api.fetch(cfg(server), raw_dir=tmp_path, client=http(server, fake))
    message = str(info.value)
    assert what in message
    assert f"{server.base_url}/api/events" in message
    assert "check base_url" in message and "Nothing was ingested" in message
    (kept,) = [
        p
        for p in (tmp_path / "polisen" / "rejected").iterdir()
        if not p.name.endswith(".meta.json")
    ]
    assert kept.suffix == suffix
    assert str(kept) in message
    assert kept.read_bytes() == reply.payload()[0]
    meta = json.loads(kept.with_name(kept.name + ".meta.json").read_text())
    assert what in meta["rejected_because"]
    assert ingest_globbed(tmp_path) == []
    assert "nothing ingested from it" in caplog.text


@network
def test_a_failed_call_keeps_its_last_answer(server, fake, tmp_path):
    server.add(*[Reply(500, f"<html>fel {i}</html>") for i in range(3)])
    with pytest.raises(HttpError, match=r"failed 3 times.*last answer is kept in") as info:
        polisen_api.fetch(cfg(server), raw_dir=tmp_path, client=http(server, fake))
    (kept,) = (tmp_path / "polisen" / "rejected").glob("*.html")
    assert kept.read_text() == "<html>fel 2</html>"
    assert info.value.status == 500
    assert ingest_globbed(tmp_path) == []


@network
def test_an_empty_array_is_kept_and_logged(server, fake, tmp_path, caplog):
    server.add(Reply(200, []))
    with caplog.at_level(logging.WARNING):
        path = polisen_api.fetch(cfg(server), raw_dir=tmp_path, client=http(server, fake))
    assert json.loads(path.read_text()) == []
    assert "returned an empty array" in caplog.text


@network
def test_fetch_makes_its_own_client_with_a_call_log(server, tmp_path):
    server.add(Reply(200, []))
    polisen_api.fetch(cfg(server), raw_dir=tmp_path)
    (log_file,) = (tmp_path / ".http").glob("*.calls.json")
    assert len(json.loads(log_file.read_text())["calls"]) == 1


# --------------------------------------------------------------------------- polling


def events_on(day: int, ids: range, hour: int = 10) -> list[dict]:
    return [
        api_event(
            i,
            published=f"2026-08-{day:02d} {hour}:{i % 60:02d}:00 +02:00",
            occurred=(day, 8, hour - 1, 0),
        )
        for i in ids
    ]


@network
def test_poll_reports_new_changed_and_unchanged_events(server, fake, tmp_path, caplog):
    first = events_on(22, range(1, 4))
    second = [api_event(4, published="2026-08-22 12:00:00 +02:00"), *first]
    second[2] = dict(second[2], summary="Misshandel vid Medborgarplatsen. En man gripen.")
    server.add(Reply(200, first), Reply(200, second))
    client = http(server, fake)
    with caplog.at_level(logging.INFO, logger="trygghetskarta.sources.polisen_api"):
        one = polisen_api.poll(cfg(server), raw_dir=tmp_path, client=client)
        fake.now += 60
        two = polisen_api.poll(cfg(server), raw_dir=tmp_path, client=client)
    assert one.previous is None and one.events == 3
    assert "first poll of all (3 events)" in caplog.text
    assert (two.new, two.changed, two.unchanged) == (("4",), ("2",), 2)
    assert two.previous == one.files[0] and two.gap is None
    assert "4 events, 1 new, 1 changed (ids 2), 2 unchanged, 0 no longer served" in caplog.text


@network
def test_poll_backfills_a_gap_day_by_day_newest_first(server, fake, tmp_path, caplog):
    server.add(
        Reply(200, events_on(20, range(1, 5))),
        Reply(200, events_on(24, range(20, 25))),  # nothing from 20 after 10:04 to 24 10:20
        *[Reply(200, events_on(d, range(10 * d, 10 * d + 2), hour=15)) for d in (24, 23, 22)],
        Reply(200, events_on(21, range(210, 212), hour=15)),
        Reply(200, events_on(20, range(200, 202), hour=15)),
    )
    client = http(server, fake)
    polisen_api.poll(cfg(server), raw_dir=tmp_path, client=client)
    with caplog.at_level(logging.INFO):
        result = polisen_api.poll(
            cfg(server), raw_dir=tmp_path, client=client, now=datetime(2026, 8, 25, 3, tzinfo=UTC)
        )
    asked = [r.query.get("DateTime", [None])[0] for r in server.requests]
    days = ["2026-08-24", "2026-08-23", "2026-08-22", "2026-08-21", "2026-08-20"]
    assert asked == [None, None, *days]
    assert result.backfilled == tuple(days)
    assert result.missed == () and result.untried == ()
    assert len(result.files) == 6
    assert [p.name.split("_", 2)[2] for p in result.files[1:3]] == [
        "DateTime-2026-08-24.json",
        "DateTime-2026-08-23.json",
    ]
    filled = [f for f in result.findings if f.how == "backfill-day"]
    assert [f.days[0].isoformat() for f in filled] == days
    assert filled[0].detail.startswith("2 events in polisen_")
    assert "does not overlap the previous one" in caplog.text
    assert "backfilled 5 days" in caplog.text
    assert len(ingest_globbed(tmp_path)) == 7


@network
def test_poll_records_failed_and_empty_days_as_gaps_and_today_is_never_backfilled(
    server, fake, tmp_path, caplog
):
    server.add(
        Reply(200, events_on(20, range(1, 5))),
        Reply(200, events_on(24, range(20, 25))),
        Reply(200, []),  # 2026-08-23: a quiet day or one no longer served (filtered query)
        *[Reply(503, "busy") for _ in range(3)],  # 2026-08-22 fails every attempt
        Reply(200, events_on(21, range(210, 212), hour=15)),
    )
    client = http(server, fake)
    polisen_api.poll(cfg(server), raw_dir=tmp_path, location="Stockholms län", client=client)
    with caplog.at_level(logging.WARNING):
        result = polisen_api.poll(
            cfg(server),
            raw_dir=tmp_path,
            location="Stockholms län",
            backfill_max_days=3,  # 2026-08-20 is older: not asked
            now=datetime(2026, 8, 24, 12, tzinfo=UTC),  # today, 24 August, is not over
            client=client,
        )
    asked = [r.query.get("DateTime", [None])[0] for r in server.requests]
    assert asked == [
        None,
        None,
        "2026-08-23",
        "2026-08-22",
        "2026-08-22",
        "2026-08-22",
        "2026-08-21",
    ]
    assert result.backfilled == ("2026-08-21",)
    assert result.missed == ("2026-08-22", "2026-08-23")
    gaps = {f.days[0].isoformat(): f.detail for f in result.findings if not f.covered}
    assert gaps["2026-08-23"] == "the API returned no events for the day"
    assert gaps["2026-08-22"].startswith("the day's answer failed: ")
    assert "2026-08-22, 2026-08-23 were not fetched" in caplog.text
    assert "backfill of 2026-08-22 failed" in caplog.text
    assert "returned no events: a quiet day" in caplog.text
    assert server.pending == 0


@network
def test_poll_stops_where_the_api_no_longer_answers(server, fake, tmp_path, caplog):
    server.add(
        Reply(200, events_on(24, range(20, 25))),
        Reply(200, events_on(23, range(230, 232), hour=15)),
        Reply(200, []),  # 2026-08-22: the store holds events of it, the API no longer has it
    )
    with caplog.at_level(logging.WARNING):
        result = polisen_api.poll(
            cfg(server),
            raw_dir=tmp_path,
            location="Stockholms län",
            covered=[date(2026, 8, 19)],
            known=[date(2026, 8, 22)],
            backfill_max_days=10,
            now=datetime(2026, 8, 24, 12, tzinfo=UTC),
            client=http(server, fake),
        )
    assert result.previous is None  # a first poll backfills too when the store is known
    assert result.backfilled == ("2026-08-23",)
    assert result.missed == ("2026-08-22",)
    assert result.untried == (
        "2026-08-21",
        "2026-08-20",
        "2026-08-18",
        "2026-08-17",
        "2026-08-16",
        "2026-08-15",
        "2026-08-14",
    )
    assert "the API no longer serves days that far back" in caplog.text
    assert server.pending == 0


@network
def test_poll_splits_a_full_day_into_hours(server, fake, tmp_path):
    full = [
        api_event(1000 + i, published=f"2026-08-23 {i % 24}:{i % 60:02d}:00 +02:00")
        for i in range(500)
    ]
    hours = [[e for e in full if int(e["datetime"][11:].split(":")[0]) == h] for h in range(24)]
    server.add(
        Reply(200, events_on(24, range(20, 25))),
        Reply(200, full),
        *[Reply(200, h) for h in hours],
        Reply(200, full),  # 2026-08-22 also full, and its hour 00 still at the API's most
        Reply(200, full),
    )
    result = polisen_api.poll(
        cfg(server),
        raw_dir=tmp_path,
        location="Stockholms län",
        covered=[date(2026, 8, d) for d in range(10, 22)],
        backfill_max_days=14,
        now=datetime(2026, 8, 24, 12, tzinfo=UTC),
        client=http(server, fake),
    )
    asked = [r.query.get("DateTime", [None])[0] for r in server.requests]
    assert asked == [
        None,
        "2026-08-23",
        *[f"2026-08-23 {h:02d}" for h in range(24)],
        "2026-08-22",
        "2026-08-22 00",
    ]
    assert result.backfilled == ("2026-08-23",)
    assert result.missed == ("2026-08-22",)
    (split,) = [f for f in result.findings if f.how == "backfill-hours"]
    assert split.days == (date(2026, 8, 23),)
    assert split.detail.startswith("500 events in 24 hour answers")
    (gap,) = [f for f in result.findings if not f.covered]
    assert gap.detail == "hour 00 returned 500 events, the API's most"


# --------------------------------------------------------------------------- real answer


@network
@pytest.mark.realdata
def test_the_real_api_answer_is_kept_verbatim_and_parses(server, fake, tmp_path, shared_data):
    body = (shared_data / SNAPSHOT).read_bytes()
    server.add(Reply(200, body))
    path = polisen_api.fetch(cfg(server), raw_dir=tmp_path, client=http(server, fake))
    assert path.read_bytes() == body
    meta = json.loads((tmp_path / "polisen" / "meta" / path.name).read_text())
    assert (meta["records"], meta["distinct_ids"], meta["duplicated_ids"]) == (500, 500, [])
    parsed = polisen.parse([path])
    assert parsed.read == len(parsed.versions) + len(parsed.quarantine) == 500
    stockholm = [e for e in json.loads(body) if e["name"].split(",")[-1].strip() == "Stockholm"]
    assert len(parsed.events) == len(stockholm) == 15
    assert len(parsed.quarantine) == 485
