"""Coverage of the live police feed, end to end, against a real server on 127.0.0.1.

The server serves the API by ``DateTime`` (day, or day and hour) from a set of events and
a clock of its own, as polisen.se does: the latest 500 events published before its clock,
or those of one day or hour. Polls 30 days apart leave gaps the answers alone cannot
cover; the fetch step backfills them newest first, a day with more than 500 events hour
by hour, and records what it could not fill. The maps and the lägesbild then say
"Data saknas …" for each gap inside their period, and a gap filled on a later run
disappears from them.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from scripted_server import api_event
from trygghetskarta import pipeline, store
from trygghetskarta.config import Settings
from trygghetskarta.coverage import Gap
from trygghetskarta.render import export_profile, to_html

pytestmark = [pytest.mark.network, pytest.mark.realdata]

TZ = ZoneInfo("Europe/Stockholm")
PER_DAY = 60  # nationwide events a day: an answer of 500 spans about eight days
BUSY = date(2025, 2, 12)  # 540 events: the day answer is full, every hour is not
ONE_HOUR = date(2025, 3, 15)  # 520 events in one hour: that hour is full too → a gap
FAILING = date(2025, 2, 20)  # answers 503 during the second poll, fine on the third


def _published(day: date, hour: int, minute: int) -> str:
    moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)
    offset = moment.strftime("%z")
    return f"{day.isoformat()} {hour}:{minute:02d}:00 {offset[:3]}:{offset[3:]}"


def make_feed(first: date, last: date) -> list[dict[str, Any]]:
    """Events published every day from ``first`` to ``last``; every tenth in Stockholm."""
    events = []
    next_id = 1
    day = first
    while day <= last:
        count = {BUSY: 540, ONE_HOUR: 520}.get(day, PER_DAY)
        for i in range(count):
            hour = 14 if day == ONE_HOUR else i * 24 // count
            minute = i % 60
            events.append(
                api_event(
                    next_id,
                    published=_published(day, hour, minute),
                    occurred=(day.day, day.month, hour, minute),
                    place="Stockholm" if next_id % 10 == 0 else "Uppsala",
                )
            )
            next_id += 1
        day += timedelta(days=1)
    return events


class FeedServer:
    """The API by ``DateTime`` from a set of events, on 127.0.0.1, with its own clock."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        stamped = [(datetime.fromisoformat(_iso(e["datetime"])), e) for e in events]
        self.events = sorted(stamped, key=lambda p: p[0], reverse=True)
        self.now = datetime(2000, 1, 1, tzinfo=TZ)
        self.failing: set[date] = set()
        self.asked: list[str | None] = []

    def answer(self, query: dict[str, list[str]]) -> tuple[int, bytes]:
        when = query.get("DateTime", [None])[0]
        self.asked.append(when)
        chosen = [(t, e) for t, e in self.events if t <= self.now]
        if when is not None:
            day = date.fromisoformat(when[:10])
            if day in self.failing:
                return 503, b"busy"
            chosen = [(t, e) for t, e in chosen if t.astimezone(TZ).date() == day]
            if len(when) > 10:
                chosen = [(t, e) for t, e in chosen if t.astimezone(TZ).hour == int(when[11:])]
        body = json.dumps([e for _, e in chosen[:500]], ensure_ascii=False).encode("utf-8")
        return 200, body

    def __enter__(self) -> FeedServer:
        feed = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                split = urllib.parse.urlsplit(self.path)
                status, body = feed.answer(urllib.parse.parse_qs(split.query))
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"


def _iso(text: str) -> str:
    day, clock, offset = text.split(" ")
    hour, minute, second = clock.split(":")
    return f"{day}T{int(hour):02d}:{minute}:{second}{offset}"


def _settings(tmp_path: Path, shared_data: Path, base_url: str) -> Settings:
    data = tmp_path / "data"
    data.mkdir()
    for name in ("boundaries", "population", "gazetteer"):
        (data / name).symlink_to(shared_data / name)
    (data / "police_events").mkdir()
    polisen = {
        "base_url": base_url,
        "min_interval_s": 0,
        "max_per_hour": 100_000,
        "max_attempts": 1,
        "timeout_s": 5,
        "contact": "https://example.org/test",
        "backfill_max_days": 45,
    }
    return Settings(
        project_dir=tmp_path,
        data_dir=data,
        processed_dir=tmp_path / "processed",
        raw_dir=tmp_path / "raw",
        db_path=tmp_path / "t.duckdb",
        extra={"polisen": polisen},
    )


def _poll(settings: Settings, con: Any, server: FeedServer, when: datetime) -> Any:
    server.now = when
    fetched = pipeline.fetch(settings, con, now=pd.Timestamp(when))
    assert not fetched.errors, fetched.errors
    ingested = pipeline.ingest(settings, con, source="polisen")
    assert not ingested.errors, ingested.errors
    return fetched


def _scene(con: Any) -> Any:
    """A scene of two districts holding the stored Stockholm events, and the coverage."""
    import geopandas as gpd
    from shapely.geometry import box

    from trygghetskarta.periods import Period
    from trygghetskarta.pipeline.publish import Scene, read_coverage

    districts = gpd.GeoDataFrame(
        {"name": ["Norr", "Söder"]},
        geometry=[box(0, 1000, 1000, 2000), box(0, 0, 1000, 1000)],
        crs="EPSG:3006",
    )
    events = con.execute(
        "SELECT occurred_at, category FROM events WHERE occurred_at < '2025-04-01 00:00:00+02' "
        "ORDER BY event_uid"
    ).df()
    events = events.assign(
        occurred_at=pd.to_datetime(events["occurred_at"]).dt.tz_convert("Europe/Stockholm"),
        stadsdelsomrade="Norr",
        stadsdel="Norra delen",
        x=500.0,
        y=1500.0,
        sensitive=False,
    )
    return Scene(
        period=Period.months("2025-01", "2025-03"),
        scheme="sdo_11",
        districts=districts,
        stadsdelar=districts.assign(name=["Norra delen", "Södra delen"]),
        events=events,
        population=pd.DataFrame(columns=["level", "area", "year", "population"]),
        grid=None,
        made_at=pd.Timestamp("2025-04-02 04:00", tz="Europe/Stockholm"),
        coverage=read_coverage(con),
    )


def _pages(con: Any) -> dict[str, str]:
    """The city map, a district map and a lägesbild of the scene, in both profiles."""
    from trygghetskarta.pipeline.publish import (
        city_map,
        district_map,
        lagesbild,
        map_scene,
        report_scene,
    )

    scene = _scene(con)
    pages = {}
    for name in ("public", "internal"):
        profile = export_profile(name)
        maps = map_scene(scene, profile)
        pages[f"{name}/city"] = profile.page(to_html(city_map(maps)))
        pages[f"{name}/district"] = profile.page(to_html(district_map(maps, "Norr")))
        reports = report_scene(scene, profile)
        pages[f"{name}/lagesbild"] = profile.page(lagesbild(reports, maps, "Norr"))
    return pages


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def test_polls_30_days_apart_leave_every_day_backfilled_or_a_shown_gap(tmp_path, shared_data):
    feed = make_feed(date(2025, 1, 1), date(2025, 4, 2))
    with FeedServer(feed) as server:
        settings = _settings(tmp_path, shared_data, server.base_url)
        con = store.connect(settings.db_path)

        first = _poll(settings, con, server, datetime(2025, 2, 1, 3, tzinfo=TZ))
        # the answer covers 24–31 January; 23 … 1 January are backfilled, newest first,
        # and the empty 31 December (no day passes without a police event) stops it
        asked = [a for a in server.asked if a]
        assert asked[:3] == ["2025-01-23", "2025-01-22", "2025-01-21"]
        assert asked[-2:] == ["2025-01-01", "2024-12-31"]
        assert first.counts["untried_days"] == 13  # 30 … 18 December: not asked
        coverage = store.read_coverage(con, "polisen")
        assert (coverage.first, coverage.last, coverage.gaps) == (
            date(2025, 1, 1),
            date(2025, 1, 31),
            (),
        )

        server.failing = {FAILING}
        server.asked.clear()
        second = _poll(settings, con, server, datetime(2025, 3, 3, 3, tzinfo=TZ))
        # the full day is asked hour by hour, and filled
        assert [f"2025-02-12 {h:02d}" for h in range(24)] == [
            a for a in server.asked if a and a.startswith("2025-02-12 ")
        ]
        assert second.counts["missed_days"] == ["2025-02-20"]
        assert any("2025-02-20" in w and "recorded as gaps" in w for w in second.warnings)
        days = store.coverage_days(con, "polisen")
        recorded = {
            pd.Timestamp(d).date(): (c, h) for d, c, h in days[["day", "covered", "how"]].values
        }
        # every day from the first to the last poll is backfilled (covered) or a recorded gap
        assert all(d in recorded for d in _days(date(2025, 1, 1), date(2025, 3, 2)))
        assert recorded[BUSY] == (True, "backfill-hours")
        assert recorded[FAILING] == (False, "unfilled")
        assert recorded[date(2025, 2, 27)] == (True, "overlap")
        coverage = store.read_coverage(con, "polisen")
        assert coverage.gaps == (Gap(FAILING, FAILING),)
        detail = days.set_index(days["day"].map(lambda d: pd.Timestamp(d).date())).loc[
            FAILING, "detail"
        ]
        assert "503" in detail
        for name, page in _pages(con).items():
            assert "Data saknas 20 februari 2025" in page, name
            assert "Data 1 januari – 2 mars 2025 (polisens händelser)." in page, name

        server.failing = set()
        server.asked.clear()
        third = _poll(settings, con, server, datetime(2025, 4, 2, 3, tzinfo=TZ))
        assert "2025-02-20" in server.asked  # the gap is tried again, and filled
        assert third.counts["missed_days"] == ["2025-03-15"]
        coverage = store.read_coverage(con, "polisen")
        assert (coverage.first, coverage.last) == (date(2025, 1, 1), date(2025, 4, 1))
        assert [g.label for g in coverage.gaps] == ["Data saknas 15 mars 2025"]
        days = store.coverage_days(con, "polisen")
        gap = days[days["day"].map(lambda d: pd.Timestamp(d).date()) == ONE_HOUR].iloc[0]
        assert (bool(gap["covered"]), gap["detail"]) == (
            False,
            "hour 14 returned 500 events, the API's most",
        )
        pages = _pages(con)
        for name, page in pages.items():
            assert "Data saknas 20 februari" not in page, name  # filled: gone
            assert "Data saknas 15 mars 2025" in page, name
        # on screen and in print: the band at the bottom of the map, the box of the report
        assert '<div class="tk-gaps" role="note">Data saknas 15 mars 2025.' in pages["public/city"]
        assert "<li>Data saknas 15 mars 2025</li>" in pages["public/lagesbild"]
        assert "<li>Data saknas 15 mars 2025 (1 dag)</li>" in pages["internal/lagesbild"]
        assert 'class="tk-partial"' in pages["public/lagesbild"]  # March is hatched
        assert "mar 2025 – data saknas 15 mars 2025" in pages["internal/city"]  # slider

        # every Stockholm event of a covered day was ingested, once
        stored = {r[0] for r in con.execute("SELECT source_id FROM events").fetchall()}
        covered_days = set(_days(date(2025, 1, 1), date(2025, 4, 1))) - {ONE_HOUR}
        expected = {
            str(e["id"])
            for e in feed
            if e["name"].endswith("Stockholm")
            and datetime.fromisoformat(_iso(e["datetime"])).date() in covered_days
        }
        assert expected <= stored
        con.close()


def _real_feed(shared_data: Path, first: str, last: str) -> list[dict[str, Any]]:
    """The archive's events published from ``first`` to ``last``, as the API serves them."""
    table = pd.read_parquet(
        shared_data / "police_events" / "polisen_events_2022-09_2025-12.parquet"
    )
    published = pd.to_datetime(table["datetime_iso"], utc=True).dt.tz_convert("Europe/Stockholm")
    days = published.dt.date
    chosen = table[(days >= date.fromisoformat(first)) & (days <= date.fromisoformat(last))]
    return [
        {
            "id": int(r.id),
            "datetime": r.datetime,
            "name": r.name,
            "summary": r.summary,
            "url": r.url,
            "type": r.type,
            "location": {"name": r.location_name, "gps": r.location_gps},
        }
        for r in chosen.itertuples()
    ]


def test_real_events_polled_30_days_apart_are_all_ingested_or_in_a_gap(tmp_path, shared_data):
    """Real nationwide volumes (the archive's 2025 events): every day is covered or a gap,
    and every Stockholm event of a covered day is in the store."""
    feed = _real_feed(shared_data, "2025-02-01", "2025-04-30")
    with FeedServer(feed) as server:
        settings = _settings(tmp_path, shared_data, server.base_url)
        con = store.connect(settings.db_path)
        for when in (datetime(2025, 3, 1, 2, tzinfo=TZ), datetime(2025, 3, 31, 2, tzinfo=TZ)):
            _poll(settings, con, server, when)
        coverage = store.read_coverage(con, "polisen")
        assert (coverage.first, coverage.last, coverage.gaps) == (
            date(2025, 2, 1),
            date(2025, 3, 30),
            (),
        )
        stockholm = {
            str(e["id"])
            for e in feed
            if e["name"].rsplit(",", 1)[-1].strip() == "Stockholm"
            and datetime.fromisoformat(_iso(e["datetime"])).date() <= date(2025, 3, 30)
        }
        stored = {r[0] for r in con.execute("SELECT source_id FROM events").fetchall()}
        assert len(stockholm) > 100
        assert stockholm <= stored
        con.close()
