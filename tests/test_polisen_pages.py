"""Page text for live police events: the parser, the page index, and fetching through
``trygghetskarta fetch polisen`` from a polisen.se stand-in on 127.0.0.1."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from live_server import LiveServer, Page, api_record, event_page, published
from trygghetskarta import cli, store
from trygghetskarta.sources import polisen_pages
from trygghetskarta.sources.polisen_pages import (
    NotAnEventPageError,
    PageAttempt,
    PageIndex,
    parse_page,
    read_page,
)

PAGES = "police_events/pages"
ARCHIVE = "police_events/stockholms_lan_events_with_text_2022-09_2025-12.json"
FIELDS = ("_html_title", "_html_preamble", "_html_body", "_html_published")


def _real_page_ids() -> list[str]:
    from conftest import _shared_data

    data = _shared_data()
    if data is None:
        return ["absent"]
    return sorted(p.stem for p in (data / PAGES).glob("*.html"))


@pytest.fixture(scope="module")
def archive(shared_data) -> dict[int, dict[str, Any]]:
    records = json.loads((shared_data / ARCHIVE).read_text(encoding="utf-8"))
    return {r["id"]: r for r in records}


# --------------------------------------------------------------------------- the parser


@pytest.mark.realdata
@pytest.mark.parametrize("page_id", _real_page_ids())
def test_the_parser_reproduces_the_archives_text_of_every_real_page(shared_data, archive, page_id):
    record = archive[int(page_id)]
    data = read_page(shared_data / PAGES / f"{page_id}.html")
    want = {k: record[k] for k in FIELDS}
    if not data:  # three pages were saved empty; the archive has no text for them
        assert want == dict.fromkeys(FIELDS)
        with pytest.raises(NotAnEventPageError, match="empty"):
            parse_page(data)
        return
    assert parse_page(data).as_record_fields() == want


def _page(inner: str) -> bytes:
    page = f'<html><body><div class="event-page editorial-content">{inner}</div></body></html>'
    return page.encode()


@pytest.mark.parametrize(
    ("inner", "title", "preamble", "body"),
    [
        (
            '<h1> 1 mars 10.00, Rån, Stockholm </h1><p class="preamble"> Rån i Kista. </p>'
            '<div class="text-body editorial-html"><p>Ett.&nbsp;</p><p> Två </p></div>',
            "1 mars 10.00, Rån, Stockholm",
            "Rån i Kista.",
            "Ett.\nTvå",
        ),
        (
            "<h1>R&aring;n</h1><div class='text-body editorial-html'><p>A <b>fet</b> "
            "<a href='/x'>länk</a> &#xE5;</p></div>",
            "Rån",
            None,
            "A fet länk å",
        ),
        ("<h1>Titel</h1><p class='preamble'>Bara ingress.</p>", "Titel", "Bara ingress.", None),
        (
            "<h1>T</h1><div class='text-body editorial-html'><p>Ett<p>Två</div>",
            "T",
            None,
            "Ett\nTvå",
        ),
    ],
    ids=["archive-shape", "entities-and-inline-markup", "no-body", "unclosed-paragraphs"],
)
def test_hand_made_pages_give_plain_text(inner, title, preamble, body):
    text = parse_page(_page(inner))
    assert (text.title, text.preamble, text.body) == (title, preamble, body)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"<html><head><title>Sidan finns inte</title></head><body>404</body></html>", "Sidan"),
        (b'<div class="event-page">a list of events</div>', "without .event-page"),
    ],
    ids=["empty", "blank", "error-page", "not-the-editorial-content"],
)
def test_a_page_that_is_not_an_event_page_is_refused(data, match):
    with pytest.raises(NotAnEventPageError, match=match):
        parse_page(data)


def test_an_attackers_page_yields_inert_text():
    body = (
        '<div class="text-body editorial-html"><p>&lt;script&gt;alert(1)&lt;/script&gt; '
        "{{ config.items() }} {% raw %}</p><script>steal()</script><style>p{}</style>"
        '<p><img src=x onerror="alert(2)">Kista</p></div>'
        '</div><div class="event-page editorial-content"><h1>FEL SIDA</h1>'
    )
    text = parse_page(_page(f"<h1>Titel</h1>{body}"))
    assert text.title == "Titel"  # the first event container, not a second one injected
    # Entities become the characters they stand for — text, never markup; the page's own
    # script, style and attributes are dropped.
    assert text.body == "<script>alert(1)</script> {{ config.items() }} {% raw %}\nKista"
    assert "steal" not in text.body and "onerror" not in text.body


def test_deeply_nested_markup_does_not_exhaust_the_stack():
    inner = "<span>" * 50_000 + "Kista" + "</span>" * 50_000
    page = _page(f"<h1>T</h1><div class='text-body editorial-html'><p>{inner}</p></div>")
    assert parse_page(page).body == "Kista"


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("/aktuellt/handelser/2026/augusti/22/x/", "/aktuellt/handelser/2026/augusti/22/x/"),
        ("https://elsewhere.example/aktuellt/a/", None),
        ("//elsewhere.example/a/", None),
        ("/aktuellt/../../etc/passwd", None),
        ("aktuellt/relative", None),
        ("/aktuellt/händelser/", "/aktuellt/h%C3%A4ndelser/"),
        (None, None),
    ],
    ids=[
        "relative",
        "absolute",
        "protocol-relative",
        "dot-dot",
        "no-slash",
        "non-ascii",
        "none",
    ],
)
def test_only_a_page_path_is_asked_for(url, path):
    assert polisen_pages._page_path(url) == path


def test_read_page_reads_a_compressed_page_byte_for_byte(tmp_path):
    data = _page("<h1>Å</h1>")
    (tmp_path / "1_20260101T000000.000000Z.html.gz").write_bytes(gzip.compress(data))
    assert read_page(tmp_path / "1_20260101T000000.000000Z.html.gz") == data


# --------------------------------------------------------------------------- the index


def _at(hour: int) -> datetime:
    return datetime(2026, 8, 22, hour, tzinfo=UTC)


def _attempt(stem_hour: int, digest: str, ok: bool) -> PageAttempt:
    stem = f"7_{_at(stem_hour):%Y%m%dT%H%M%S.%fZ}"
    return PageAttempt(
        "7",
        stem,
        _at(stem_hour),
        digest,
        Path(f"{stem}.html") if ok else None,
        None if ok else "HTTP 404 Not Found",
    )


@pytest.mark.parametrize(
    ("attempts", "digest", "answered", "chosen", "reason"),
    [
        ([_attempt(1, "v1", True), _attempt(5, "v2", True)], "v1", _at(9), 1, None),
        ([_attempt(1, "v1", True), _attempt(5, "v2", True)], "v2", _at(2), 5, None),
        ([_attempt(1, "v1", True), _attempt(5, "v2", False)], "v2", _at(4), 1, None),
        ([_attempt(5, "v2", True)], "v1", _at(4), None, "not fetched yet"),
        ([_attempt(1, "v1", False)], "v1", _at(2), None, "HTTP 404 Not Found (1 try"),
        ([_attempt(h, "v1", False) for h in range(5)], "v1", _at(9), None, "given up"),
        ([], "v1", None, None, "not fetched yet"),
    ],
    ids=[
        "the-versions-own-page",
        "a-later-versions-page-for-it",
        "carried-from-an-earlier-version",
        "no-page-before-the-answer",
        "failed-once",
        "given-up",
        "none",
    ],
)
def test_the_index_chooses_the_page_of_the_version(attempts, digest, answered, chosen, reason):
    index = PageIndex({"7": tuple(attempts)}, max_tries=5)
    got, why = index.choose("7", digest, answered)
    assert (got.fetched_at.hour if got else None) == chosen
    assert (why is None) == (reason is None) and (reason is None or reason in why)


# --------------------------------------------------------------------------- fetching


def _project(tmp_path: Path, shared_data: Path, polisen: str = "") -> tuple[Path, list[str]]:
    """A project folder whose data holds boundaries and gazetteer but no police archive."""
    data = tmp_path / "data"
    data.mkdir(parents=True)
    for name in ("boundaries", "population", "gazetteer"):
        (data / name).symlink_to(shared_data / name)
    (data / "police_events").mkdir()
    (tmp_path / "trygghetskarta.toml").write_text(
        "[polisen]\nbackoff_s = 0\nmax_attempts = 2\ntimeout_s = 5\n"
        f'contact = "https://example.org/test"\n{polisen}\n',
        encoding="utf-8",
    )
    return tmp_path, ["--data", str(data), "--db", str(tmp_path / "t.duckdb")]


def _fetch(runner: CliRunner, common: list[str], server: LiveServer, *extra: str) -> Any:
    args = [*common, "fetch", "polisen", "--base-url", server.base_url, "--min-interval", "0"]
    done = runner.invoke(cli.app, [*args, *extra])
    assert done.exit_code == 0, done.output
    return done


def _events(folder: Path) -> dict[str, dict[str, Any]]:
    con = store.connect(folder / "t.duckdb", read_only=True)
    try:
        frame = con.execute(
            "SELECT source_id, body, text_missing, precision, raw FROM events "
            "WHERE layer = 'police_event'"
        ).df()
    finally:
        con.close()
    frame = frame.astype(object).where(frame.notna(), None)
    return {r["source_id"]: r for r in frame.to_dict("records")}


def _versions(folder: Path, event_id: Any) -> int:
    con = store.connect(folder / "t.duckdb", read_only=True)
    try:
        return con.execute(
            "SELECT count(*) FROM event_versions WHERE event_uid = ?", [f"polisen:{event_id}"]
        ).fetchone()[0]
    finally:
        con.close()


def _real_events(shared_data: Path, archive: dict[int, dict[str, Any]], n: int) -> list[dict]:
    """``n`` archived Stockholm events that have a real page, as the API would serve them."""
    ids = sorted(int(p.stem) for p in (shared_data / PAGES).glob("*.html") if p.stat().st_size)
    return [archive[i] for i in ids[-n:]]


@pytest.mark.network
@pytest.mark.realdata
def test_live_pages_are_fetched_kept_parsed_retried_and_versioned(
    tmp_path, shared_data, archive, monkeypatch
):
    folder, common = _project(tmp_path / "live", shared_data)
    monkeypatch.chdir(folder)
    runner = CliRunner()
    real = _real_events(shared_data, archive, 12)
    failing, hostile, *good = real
    served = {r["url"]: (shared_data / PAGES / f"{r['id']}.html").read_bytes() for r in good}
    other = api_record(
        archive[next(i for i, r in archive.items() if r["_title_location"] != "Stockholm")]
    )
    events = [api_record(r) for r in real] + [other]
    attack = (
        b'<html><body><div class="event-page editorial-content"><h1>Skottlossning</h1>'
        b'<p class="preamble">Skott i Kista<script>alert(1)</script></p>'
        b'<div class="text-body editorial-html"><p>{{ 7*7 }} &lt;img src=x onerror=alert(2)&gt;'
        b"</p><p>Kista <b>x</b></p></div></div></body></html>"
    )
    pages = {url: Page(200, body) for url, body in served.items()}
    pages[hostile["url"]] = Page(200, attack)
    pages[failing["url"]] = Page(404, b"<html><title>Sidan finns inte</title></html>")
    with LiveServer(events=events, pages=pages) as server:
        done = _fetch(runner, common, server)
        first = server.page_requests()
        agents = set(server.agents)
    said = " ".join(done.output.split())
    assert "1 event pages failed" in said  # the fetch step's summary
    assert "1 live events read now have no page text (1 page not fetched: GET" in said
    # every Stockholm event's page was asked for once, the other municipality's never
    assert sorted(first) == sorted(r["url"] for r in real)
    assert len(agents) == 1 and "trygghetskarta/" in next(iter(agents))  # the API's agent
    saved = sorted((folder / "data/raw/polisen/pages").glob("*.html"))
    assert {p.read_bytes() for p in saved} == {*served.values(), attack}  # byte for byte
    metas = list((folder / "data/raw/polisen/pages/meta").glob("*.json"))
    assert len(metas) == len(real)  # every attempt, the failed one too
    stored = _events(folder)
    for r in good:
        row = stored[str(r["id"])]
        assert row["body"] == r["_html_body"]
        assert json.loads(row["raw"])["_html_preamble"] == r["_html_preamble"]
        assert row["text_missing"] is None
    # the attacker's markup is text: stored as characters, escaped wherever it is shown
    assert stored[str(hostile["id"])]["body"] == "{{ 7*7 }} <img src=x onerror=alert(2)>\nKista x"
    assert json.loads(stored[str(hostile["id"])]["raw"])["_html_preamble"] == "Skott i Kista"
    assert "HTTP 404" in stored[str(failing["id"])]["text_missing"]
    assert "tried again on the next run" in stored[str(failing["id"])]["text_missing"]
    assert str(other["id"]) not in stored  # quarantined: outside the kommun

    # next run: the failed page now answers; only it is asked for, and its event updated
    pages[failing["url"]] = Page(200, (shared_data / PAGES / f"{failing['id']}.html").read_bytes())
    with LiveServer(events=events, pages=pages) as server:
        _fetch(runner, common, server)
        assert server.page_requests() == [failing["url"]]
    row = _events(folder)[str(failing["id"])]
    assert row["body"] == failing["_html_body"] and row["text_missing"] is None
    assert _versions(folder, failing["id"]) == 2  # without text, then with it

    # the API edits an event and its page changes: a new page file and a new version
    target = good[0]
    later = (published(target) + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S %z")
    edited = dict(api_record(target), summary="Uppdaterad.", datetime=f"{later[:-2]}:{later[-2:]}")
    events = [edited if e["id"] == target["id"] else e for e in events]
    pages[target["url"]] = Page(
        200, event_page(target["_html_title"], "Ny ingress.", "Ny text i Kista.")
    )
    with LiveServer(events=events, pages=pages) as server:
        _fetch(runner, common, server)
        assert server.page_requests() == [target["url"]]
    row = _events(folder)[str(target["id"])]
    assert row["body"] == "Ny text i Kista."
    assert _versions(folder, target["id"]) == 2
    assert len(list((folder / "data/raw/polisen/pages").glob(f"{target['id']}_*.html"))) == 2

    # nothing new: nothing asked for, nothing changes
    before = _events(folder)
    with LiveServer(events=events, pages=pages) as server:
        _fetch(runner, common, server)
        assert server.page_requests() == []
    assert _events(folder) == before


@pytest.mark.network
@pytest.mark.realdata
def test_page_text_places_events_better_than_the_summary_alone(
    tmp_path, shared_data, archive, monkeypatch
):
    runner = CliRunner()
    real = _real_events(shared_data, archive, 37)
    events = [api_record(r) for r in real]
    pages = {
        r["url"]: Page(200, (shared_data / PAGES / f"{r['id']}.html").read_bytes()) for r in real
    }
    below = {}
    for mode in ("--pages", "--no-pages"):
        folder, common = _project(tmp_path / mode.strip("-"), shared_data)
        monkeypatch.chdir(folder)
        with LiveServer(events=events, pages=pages) as server:
            _fetch(runner, common, server, mode)
            asked = len(server.page_requests())
        assert asked == (len(real) if mode == "--pages" else 0)
        assert runner.invoke(cli.app, [*common, "geocode"]).exit_code == 0
        rows = _events(folder).values()
        below[mode] = sum(r["precision"] not in ("kommun", "none") for r in rows)
        if mode == "--no-pages":
            assert all("switched off" in r["text_missing"] for r in rows)
    # the 37 events with a real page: 27 placed below the kommun from the summary alone,
    # 31 with the page text (measured 2026-12 with the geocoder of main)
    assert below["--pages"] > below["--no-pages"]
    assert below["--pages"] - below["--no-pages"] >= 3


@pytest.mark.network
def test_the_switch_turns_pages_off(tmp_path, monkeypatch):
    from scripted_server import api_event

    data = tmp_path / "data"
    (data / "police_events").mkdir(parents=True)
    (tmp_path / "trygghetskarta.toml").write_text(
        '[polisen]\npages = false\ncontact = "https://example.org/test"\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    events = [api_event(i, published=_published(0.1)) for i in (1, 2)]
    with LiveServer(events=events) as server:
        args = ["--data", str(data), "fetch", "polisen", "--base-url", server.base_url]
        done = CliRunner().invoke(cli.app, [*args, "--min-interval", "0", "--no-ingest"])
        assert done.exit_code == 0, done.output
        assert server.page_requests() == []
    assert not (tmp_path / "data/raw/polisen/pages").exists()


def _published(days_ago: float) -> str:
    text = (datetime.now(UTC).astimezone() - timedelta(days=days_ago)).strftime(
        "%Y-%m-%d %H:%M:%S %z"
    )
    return text[:-2] + ":" + text[-2:]


@pytest.mark.network
def test_the_hourly_limit_is_shared_and_pages_beyond_it_wait(tmp_path, monkeypatch):
    from scripted_server import api_event

    data = tmp_path / "data"
    (data / "police_events").mkdir(parents=True)
    # no backfill: this is about the pages sharing the API's budget (coverage has its tests)
    (tmp_path / "trygghetskarta.toml").write_text(
        '[polisen]\ncontact = "https://example.org/test"\nbackfill_max_days = 0\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    events = [api_event(i, published=_published(0.1)) for i in range(1, 6)]
    pages = {
        e["url"]: Page(200, event_page(e["name"], e["summary"], "Vid Medborgarplatsen."))
        for e in events
    }
    with LiveServer(events=events, pages=pages) as server:
        args = ["--data", str(data), "fetch", "polisen", "--base-url", server.base_url]
        args += ["--min-interval", "0", "--max-per-hour", "3", "--no-ingest"]
        done = CliRunner().invoke(cli.app, args)
        assert done.exit_code == 0, done.output  # not an error
        assert len(server.requests) == 3  # one answer, two pages
    assert "3 event pages wait for the next run" in " ".join(done.output.split())
    calls = json.loads((tmp_path / "data/raw/.http").glob("*.calls.json").__next__().read_text())
    assert len(calls["calls"]) == 3  # API and pages in one call log
    manifest = json.loads((tmp_path / "data/processed/manifest.json").read_text())
    fetch = next(s for s in manifest["steps"] if s["step"] == "fetch")
    assert (fetch["counts"]["pages_fetched"], fetch["counts"]["pages_waiting"]) == (2, 3)


# --------------------------------------------------------------------------- the replay


@pytest.mark.network
@pytest.mark.realdata
def test_a_live_replay_sees_what_the_archive_sees(tmp_path, shared_data):
    """Two months of 2025 served as polisen.se would, polled every four days, against the
    same events ingested from the archive with their page text."""
    from live_server import archive_records, replay_archive, replay_live

    records = archive_records(shared_data, "2025-03-01", "2025-05-01")
    kommun = {str(r["id"]) for r in records if r["_title_location"] == "Stockholm"}
    live = replay_live(shared_data, tmp_path / "live", records, every_days=4)
    archived = replay_archive(shared_data, tmp_path / "archive", records)
    assert set(live.events["source_id"]) == set(archived.events["source_id"]) == kommun
    assert (live.events["versions"] == 1).all()  # every event ingested once, with its text
    # the archive lacks the text of a few events; live, their pages were 404 and flagged
    missing = set(live.events.loc[live.events["text_missing"].notna(), "source_id"])
    without_text = {str(r["id"]) for r in records if r.get("_html_title") is None}
    assert missing == without_text & kommun
    assert abs(live.kommun_or_worse - archived.kommun_or_worse) <= 0.02
    assert live.shootings == archived.shootings


@pytest.mark.network
@pytest.mark.parametrize("wait", [True, False], ids=["api-call-waits", "page-call-does-not"])
def test_a_page_call_does_not_wait_for_the_hourly_limit(wait):
    from scripted_server import FakeTime, Reply, ScriptedServer
    from trygghetskarta.net import ClientSettings, HttpClient, RateLimitError

    fake = FakeTime()
    with ScriptedServer([Reply(200, [])], repeat_last=True) as server:
        cfg = ClientSettings(
            base_url=server.base_url, min_interval_s=1, max_per_hour=2, max_wait_s=4000
        )
        http = HttpClient(cfg, clock=fake.clock, sleep=fake.sleep)
        http.get("/api/events")
        http.get("/api/events")
        if wait:  # the API's own calls wait for the hour to free a call
            http.get("/api/events")
            assert len(server.requests) == 3 and fake.sleeps == [1.0, 3599.0]
        else:  # a page is left for the next run at once
            with pytest.raises(RateLimitError, match=r"hourly limit of .* is spent"):
                http.get("/x/", accept="text/html", wait_for_budget=False)
            assert len(server.requests) == 2 and fake.sleeps == [1.0]


# --------------------------------------------------------------------------- the store


@pytest.mark.parametrize(
    ("second_reason", "second_body", "counts", "reason_after"),
    [
        ("page not fetched: HTTP 404", None, (0, 0, 1), "page not fetched: HTTP 404"),
        (None, "Vid Medborgarplatsen.", (0, 1, 0), None),
    ],
    ids=["a-new-reason-is-a-note-not-a-version", "the-text-arrives-a-new-version"],
)
def test_why_text_is_missing_is_a_note_that_follows_the_event(
    tmp_path, second_reason, second_body, counts, reason_after
):
    import pandas as pd

    from trygghetskarta.schema import PARSED_COLUMNS

    def frame(body: str | None, reason: str | None) -> pd.DataFrame:
        row = dict.fromkeys(PARSED_COLUMNS) | {
            "event_uid": "polisen:1",
            "source": "polisen",
            "source_id": "1",
            "layer": "police_event",
            "category": "violence",
            "occurred_at": pd.Timestamp("2026-08-22 09:00", tz="Europe/Stockholm"),
            "published_at": pd.Timestamp("2026-08-22 10:00", tz="Europe/Stockholm"),
            "summary": "Misshandel.",
            "body": body,
            "sensitive": False,
            "raw": "{}",
            "text_missing": reason,
        }
        return pd.DataFrame([row])

    con = store.connect(tmp_path / "t.duckdb")
    at = pd.Timestamp("2026-08-22 12:00", tz="Europe/Stockholm")
    with store.transaction(con):
        store.merge_events(con, frame(None, "page not fetched yet"), batch_id="b1", ingested_at=at)
    with store.transaction(con):
        merged = store.merge_events(
            con, frame(second_body, second_reason), batch_id="b2", ingested_at=at
        )
    assert (merged.loaded, merged.updated, merged.unchanged) == counts
    got = con.execute("SELECT text_missing FROM events").fetchone()[0]
    assert got == reason_after
    assert store.text_missing(con, "polisen") == ({reason_after: 1} if reason_after else {})
    con.close()


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"pages": "sometimes"}, "pages .* true or false"),
        ({"pages_days": 0}, "pages_days .* whole number ≥ 1"),
        ({"page_tries": "many"}, "page_tries .* whole number ≥ 1"),
    ],
    ids=["pages-not-a-flag", "no-days", "tries-not-a-number"],
)
def test_bad_page_settings_say_what_was_expected(values, match):
    from trygghetskarta.errors import ConfigError
    from trygghetskarta.sources.polisen_api import PolisenSettings

    with pytest.raises(ConfigError, match=match):
        PolisenSettings.from_mapping(values)


def test_page_settings_default_to_on():
    from trygghetskarta.sources.polisen_api import PolisenSettings

    got = PolisenSettings.from_mapping({"pages": "false", "pages_days": "7"})
    assert (got.pages, got.pages_days, got.page_tries) == (False, 7, 5)
    assert PolisenSettings.from_mapping({}).pages is True
