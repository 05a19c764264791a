"""The network helper: limits, retries, timeouts, Retry-After — against a real local server."""

from __future__ import annotations

import email.utils
import gzip
import json
import logging
import os
import random
import shutil
import socket
import ssl
import subprocess
import time
import tracemalloc
import warnings
import zlib
from pathlib import Path

import pytest

from scripted_server import FakeTime, Reply, ScriptedServer, TrickleRelay, gzip_bomb
from trygghetskarta import net
from trygghetskarta.errors import ConfigError, SourceError, TrygghetskartaWarning
from trygghetskarta.net import ClientSettings, HttpClient, HttpError, RateLimitError
from trygghetskarta.net.inflate import _INFLATE_PIECE, _Inflater
from trygghetskarta.net.redirects import _redirect_problem
from trygghetskarta.net.settings import _version
from trygghetskarta.net.throttle import CallLog, next_call_wait

START = 1_787_000_000.0  # a fixed "now" for the fake clock (2026-08-17)


def settings(base_url: str = "http://127.0.0.1:9", **changes) -> ClientSettings:
    values = {
        "base_url": base_url,
        "timeout_s": 2.0,
        "min_interval_s": 0.0,
        "max_per_hour": 1000,
        "max_attempts": 3,
        "backoff_s": 2.0,
        "backoff_max_s": 60.0,
        "max_wait_s": 900.0,
    }
    return ClientSettings(**(values | changes))


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def client(cfg: ClientSettings, fake: FakeTime, state_dir: Path | None = None) -> HttpClient:
    return HttpClient(cfg, state_dir=state_dir, clock=fake.clock, sleep=fake.sleep)


# --------------------------------------------------------------------------- pure parts


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [(1, 10.0), (2, 20.0), (3, 40.0), (4, 80.0), (5, 120.0), (9, 120.0)],
    ids=["first", "second", "third", "fourth", "capped", "far-capped"],
)
def test_backoff_doubles_up_to_the_cap(attempt, expected):
    assert net.backoff_delay(attempt, 10.0, 120.0) == expected


def test_backoff_counts_from_one():
    with pytest.raises(ValueError, match="from 1"):
        net.backoff_delay(0, 10.0, 120.0)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("0", 0.0),
        ("1.5", 1.5),
        (email.utils.formatdate(START + 90, usegmt=True), 90.0),
        (email.utils.formatdate(START - 600, usegmt=True), 0.0),
        (email.utils.formatdate(START + 300, usegmt=True)[:-4], 300.0),  # no zone: GMT
        ("soon", None),
        ("", None),
        (None, None),
        ("-5", None),
    ],
    ids=[
        "seconds",
        "padded",
        "zero",
        "fraction",
        "http-date",
        "date-in-past",
        "date-without-zone",
        "garbage",
        "empty",
        "absent",
        "negative",
    ],
)
def test_retry_after_reads_seconds_and_http_dates(header, expected):
    got = net.parse_retry_after(header, now=START)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("calls", "now", "limits", "expected"),
    [
        ([], 0.0, (10, 60), ("retry", 0.0)),
        ([100.0], 104.0, (10, 60), ("min_interval_s", 6.0)),
        ([100.0], 115.0, (10, 60), ("min_interval_s", -5.0)),
        ([0.0, 1000.0, 2000.0], 2500.0, (10, 3), ("max_per_hour", 1100.0)),
        ([0.0, 1000.0, 2000.0], 2500.0, (10, 4), ("min_interval_s", -490.0)),
    ],
    ids=["no-calls", "too-soon", "interval-passed", "hour-full", "hour-has-room"],
)
def test_next_call_wait(calls, now, limits, expected):
    name, wait = next_call_wait(calls, now, min_interval_s=limits[0], max_per_hour=limits[1])
    assert (name, wait) == (expected[0], pytest.approx(expected[1]))


def test_next_call_wait_honours_not_before():
    assert next_call_wait([0.0], 5.0, min_interval_s=10, max_per_hour=60, not_before=50.0) == (
        "retry",
        45.0,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"base_url": "polisen.se"}, "base_url must be an http"),
        ({"base_url": "ftp://polisen.se"}, "base_url must be an http"),
        ({"timeout_s": 0}, "timeout_s must be > 0"),
        ({"timeout_s": float("inf")}, "timeout_s must be > 0"),
        ({"max_per_hour": 0}, "max_per_hour must be > 0"),
        ({"max_attempts": 0}, "max_attempts must be > 0"),
        ({"min_interval_s": -1.0}, "min_interval_s must be ≥ 0"),
        ({"backoff_s": float("nan")}, "backoff_s must be ≥ 0"),
        ({"contact": "  "}, "contact must not be empty"),
    ],
    ids=[
        "no-scheme",
        "ftp",
        "zero-timeout",
        "infinite-timeout",
        "no-calls-allowed",
        "no-attempts",
        "negative-interval",
        "nan-backoff",
        "blank-contact",
    ],
)
def test_settings_reject_unusable_values(change, message):
    with pytest.raises(ConfigError, match=message):
        settings(**change)


def test_settings_from_mapping_converts_environment_strings():
    cfg = ClientSettings.from_mapping(
        {"min_interval_s": "0", "max_per_hour": "120", "timeout_s": 5, "other": "ignored"},
        origin="the environment",
        base_url="http://127.0.0.1:1",
    )
    assert (cfg.min_interval_s, cfg.max_per_hour, cfg.timeout_s) == (0.0, 120, 5.0)
    assert isinstance(cfg.max_per_hour, int)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"max_per_hour": "many"}, "'max_per_hour' from test.toml must be int"),
        ({"max_per_hour": 1.5}, "'max_per_hour' from test.toml must be int"),
        ({"timeout_s": "slow"}, "'timeout_s' from test.toml must be float"),
        ({"min_interval_s": -3}, r"min_interval_s must be ≥ 0.*from test.toml"),
    ],
    ids=["word-for-int", "fraction-for-int", "word-for-float", "negative"],
)
def test_settings_from_mapping_names_the_bad_key_and_origin(values, message):
    with pytest.raises(ConfigError, match=message):
        ClientSettings.from_mapping(values, origin="test.toml", base_url="http://127.0.0.1:1")


def test_user_agent_names_project_version_and_contact():
    cfg = settings(contact="https://example.org/trygghet")
    assert cfg.agent.startswith("trygghetskarta/")
    assert cfg.agent.endswith("(+https://example.org/trygghet)")
    assert _version() in cfg.agent
    assert settings(user_agent="my-city-batch/2").agent == "my-city-batch/2"


def test_placeholder_contact_warns_once_for_a_remote_host():
    cfg = settings(base_url="https://polisen.test-placeholder.example")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # Python's standard filter: once per message
        HttpClient(cfg)
        HttpClient(cfg)
        HttpClient(settings(base_url="http://127.0.0.1:8"))
    said = [str(w.message) for w in caught if issubclass(w.category, TrygghetskartaWarning)]
    assert len(said) == 1
    assert "no contact set for polisen.test-placeholder.example" in said[0]
    assert "trygghetskarta.toml" in said[0]


def test_errors_are_source_errors_and_oserrors():
    assert issubclass(HttpError, SourceError)
    assert issubclass(RateLimitError, HttpError)
    assert issubclass(HttpError, OSError)


# --------------------------------------------------------------------------- files


def test_write_atomic_replaces_whole_files_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "answer.json"
    net.write_atomic(target, b"[1]")
    net.write_atomic(target, b"[1, 2]")
    assert target.read_bytes() == b"[1, 2]"
    assert sorted(p.name for p in target.parent.iterdir()) == ["answer.json"]


def test_write_atomic_keeps_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "answer.json"
    target.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        net.write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["answer.json"]


def test_write_atomic_takes_a_writer_and_removes_its_half_file_when_it_fails(tmp_path):
    target = tmp_path / "table.bin"
    net.write_atomic(target, lambda tmp: tmp.write_bytes(b"whole"))
    assert target.read_bytes() == b"whole"

    def half_then_fail(tmp: Path) -> None:
        tmp.write_bytes(b"ha")
        raise ValueError("the writer broke half-way")

    with pytest.raises(ValueError, match="half-way"):
        net.write_atomic(target, half_then_fail)
    assert target.read_bytes() == b"whole"
    assert [p.name for p in tmp_path.iterdir()] == ["table.bin"]


def test_call_log_survives_a_corrupt_file_and_drops_future_times(tmp_path, fake, caplog):
    log = CallLog("127.0.0.1:1", state_dir=tmp_path, clock=fake.clock)
    assert log.path is not None
    log.path.write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING), log.session() as calls:
        assert calls == []
        calls.append(fake.now)
    assert "unreadable" in caplog.text
    stored = json.loads(log.path.read_text(encoding="utf-8"))
    assert stored["calls"] == [fake.now]

    log.path.write_text(json.dumps({"calls": [fake.now - 4000, fake.now - 5, fake.now + 999]}))
    caplog.clear()
    with caplog.at_level(logging.WARNING), log.session() as calls:
        assert calls == [fake.now - 5]  # an hour old: gone; in the future: ignored
    assert "in the future" in caplog.text


# --------------------------------------------------------------------------- against a server

network = pytest.mark.network


@pytest.fixture
def server():
    with ScriptedServer() as srv:
        yield srv


@network
def test_get_sends_user_agent_and_returns_the_body(server, fake):
    server.add(Reply(200, [{"id": 1}]))
    cfg = settings(server.base_url, contact="mailto:analys@example.org")
    response = client(cfg, fake).get("/api/events", {"DateTime": "2026-08-22 21"})
    assert response.status == 200
    assert json.loads(response.body) == [{"id": 1}]
    assert response.content_type == "application/json"
    (seen,) = server.requests
    assert seen.path == "/api/events"
    assert seen.raw_query == "DateTime=2026-08-22%2021"
    assert seen.headers["user-agent"] == cfg.agent
    assert "mailto:analys@example.org" in seen.headers["user-agent"]
    assert seen.headers["accept"] == "application/json"


@network
def test_min_interval_spaces_calls(server, fake):
    server.add(*[Reply(200, []) for _ in range(3)])
    http = client(settings(server.base_url, min_interval_s=10.0), fake)
    for _ in range(3):
        http.get("/api/events")
    assert fake.sleeps == [pytest.approx(10.0), pytest.approx(10.0)]
    assert len(server.requests) == 3


@network
def test_hourly_limit_waits_or_refuses(server, fake, caplog):
    server.add(*[Reply(200, []) for _ in range(3)])
    http = client(settings(server.base_url, max_per_hour=2, max_wait_s=600.0), fake)
    http.get("/a")
    fake.now += 100
    http.get("/a")
    with caplog.at_level(logging.INFO), pytest.raises(RateLimitError, match="max_per_hour"):
        http.get("/a")
    assert len(server.requests) == 2  # the third call never went out
    assert fake.sleeps == []

    patient = client(settings(server.base_url, max_per_hour=2, max_wait_s=4000.0), fake)
    patient._calls = http._calls  # same host, same log
    patient.get("/a")
    assert fake.sleeps == [pytest.approx(3500.0)]
    assert len(server.requests) == 3


@network
def test_limits_hold_across_clients_through_the_state_dir(server, fake, tmp_path):
    server.add(Reply(200, []), Reply(200, []))
    cfg = settings(server.base_url, min_interval_s=10.0)
    client(cfg, fake, tmp_path).get("/a")
    fake.now += 3
    client(cfg, fake, tmp_path).get("/a")  # a new process, as far as the limits know
    assert fake.sleeps == [pytest.approx(7.0)]
    (log_file,) = tmp_path.glob("*.calls.json")
    assert len(json.loads(log_file.read_text())["calls"]) == 2


@network
@pytest.mark.parametrize("status", [500, 502, 503, 504], ids=lambda s: f"http-{s}")
def test_5xx_is_retried_with_backoff(server, fake, caplog, status):
    server.add(Reply(status, "<h1>oops</h1>"), Reply(status, ""), Reply(200, [1]))
    with caplog.at_level(logging.WARNING, logger="trygghetskarta.net.http"):
        response = client(settings(server.base_url), fake).get("/api/events")
    assert json.loads(response.body) == [1]
    assert response.attempts == 3
    assert fake.sleeps == [pytest.approx(2.0), pytest.approx(4.0)]
    retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 2
    assert f"HTTP {status}" in retries[0]
    assert "attempt 1 of 3" in retries[0]


@network
def test_gives_up_after_max_attempts_and_keeps_the_last_answer(server, fake, caplog):
    server.add(*[Reply(503, f"down {i}") for i in range(3)])
    with caplog.at_level(logging.ERROR), pytest.raises(HttpError) as info:
        client(settings(server.base_url), fake).get("/api/events")
    err = info.value
    assert (err.status, err.attempts) == (503, 3)
    assert err.response is not None and err.response.body == b"down 2"
    assert "failed 3 times" in str(err) and "run again later" in str(err)
    assert "failed 3 times" in caplog.text
    assert len(server.requests) == 3


@network
@pytest.mark.parametrize(
    ("status", "header", "expected"),
    [
        (429, "7", 7.0),
        (429, email.utils.formatdate(START + 30, usegmt=True), 30.0),
        (503, "12", 12.0),
    ],
    ids=["429-seconds", "429-http-date", "503-seconds"],
)
def test_retry_after_is_honoured(server, fake, caplog, status, header, expected):
    server.add(Reply(status, "slow down", headers={"Retry-After": header}), Reply(200, []))
    with caplog.at_level(logging.WARNING):
        client(settings(server.base_url, backoff_s=1.0), fake).get("/api/events")
    assert fake.sleeps == [pytest.approx(expected, abs=1.0)]
    assert f"HTTP {status}" in caplog.text and "Retry-After" in caplog.text


@network
def test_a_retry_after_beyond_max_wait_fails_at_once(server, fake):
    server.add(Reply(429, "", headers={"Retry-After": "3600"}))
    with pytest.raises(RateLimitError, match=r"asks to wait 3600 s.*run again after"):
        client(settings(server.base_url, max_wait_s=60.0), fake).get("/api/events")
    assert len(server.requests) == 1
    assert fake.sleeps == []


@network
@pytest.mark.parametrize("status", [400, 403, 404], ids=lambda s: f"http-{s}")
def test_client_errors_are_not_retried(server, fake, status):
    server.add(Reply(status, "no such page"))
    with pytest.raises(HttpError, match=rf"answered HTTP {status}.*check base_url") as info:
        client(settings(server.base_url), fake).get("/api/wrong")
    assert info.value.status == status
    assert len(server.requests) == 1


@network
def test_a_hung_connection_times_out_and_is_retried(server, fake, caplog):
    server.add(Reply(200, [], delay_s=8.0), Reply(200, [{"id": 7}]))
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        response = client(settings(server.base_url, timeout_s=0.3), fake).get("/api/events")
    assert time.monotonic() - started < 4.0
    assert json.loads(response.body) == [{"id": 7}]
    assert "timed out after 0.3 s" in caplog.text


@network
def test_a_server_that_always_hangs_fails_within_the_timeouts(server, fake):
    server.add(Reply(200, [], delay_s=8.0), Reply(200, [], delay_s=8.0))
    started = time.monotonic()
    with pytest.raises(HttpError, match="timed out") as info:
        client(settings(server.base_url, timeout_s=0.3, max_attempts=2), fake).get("/a")
    assert time.monotonic() - started < 4.0
    assert info.value.status is None and info.value.response is None


@network
def test_a_refused_connection_is_retried_then_reported(fake, caplog):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with caplog.at_level(logging.WARNING), pytest.raises(HttpError, match="connection failed"):
        client(settings(f"http://127.0.0.1:{port}"), fake).get("/api/events")
    assert caplog.text.count("connection failed") >= 2
    assert len(fake.sleeps) == 2


@network
def test_a_body_cut_short_is_retried(server, fake, caplog):
    body = json.dumps([{"id": i} for i in range(50)]).encode()
    server.add(Reply(200, body[:200], declared_length=len(body)), Reply(200, body))
    with caplog.at_level(logging.WARNING):
        response = client(settings(server.base_url), fake).get("/api/events")
    assert response.body == body
    assert f"connection closed after 200 of {len(body)} bytes" in caplog.text


@network
def test_gzip_bodies_are_decoded(server, fake):
    server.add(Reply(200, [{"id": 1, "summary": "Rån på Götgatan"}], gzip=True))
    response = client(settings(server.base_url), fake).get("/api/events")
    assert json.loads(response.body) == [{"id": 1, "summary": "Rån på Götgatan"}]
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


@network
def test_a_body_over_max_bytes_is_refused_without_retry(server, fake):
    server.add(Reply(200, b"[" + b"0," * 5000 + b"0]"))
    with pytest.raises(HttpError, match="larger than max_bytes"):
        client(settings(server.base_url, max_bytes=1000), fake).get("/api/events")
    assert len(server.requests) == 1


@network
def test_a_proxy_in_the_environment_is_not_used_for_loopback(server, fake, monkeypatch):
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    server.add(Reply(200, []))
    assert client(settings(server.base_url), fake).get("/api/events").status == 200


# --------------------------------------------------------------------------- bounded reads

EVENTS = json.dumps([{"id": i, "summary": f"Händelse {i} på Sveavägen"} for i in range(40)])


@network
@pytest.mark.parametrize(
    "trickle_headers", [False, True], ids=["body-trickled", "status-and-headers-trickled"]
)
def test_a_trickling_server_is_cut_off_at_the_one_deadline(server, fake, caplog, trickle_headers):
    # A byte every 0.1 s: each socket read returns long before any per-read timeout, so
    # only a deadline for the whole answer stops it. Sent whole, it would take 100+ s.
    server.add(Reply(200, EVENTS.encode(), trickle_s=0.1, trickle_headers=trickle_headers))
    started = time.monotonic()
    with caplog.at_level(logging.ERROR), pytest.raises(HttpError) as info:
        client(settings(server.base_url, timeout_s=1.5), fake).get("/api/events")
    took = time.monotonic() - started
    assert 1.4 <= took < 1.5 + 0.5
    message = str(info.value)
    assert "did not send its whole answer within timeout_s = 1.5 s" in message
    assert "raise timeout_s (--timeout)" in message
    received = int(message.split("only ")[1].split(" bytes")[0].replace(",", ""))
    assert 10 <= received < 160  # the head (~110 bytes, at once or not) + ~15 trickled
    assert received < len(EVENTS) / 10
    assert info.value.response is None  # nothing of it is kept
    assert len(server.requests) == 1  # not retried: a trickle would only trickle again
    assert fake.sleeps == []
    assert "not retrying" in caplog.text


@network
def test_the_deadline_covers_a_followed_redirect_too(server, fake):
    server.add(
        Reply(302, "", headers={"Location": "/api/moved"}, trickle_s=0.05),
        Reply(200, EVENTS.encode(), trickle_s=0.05),
    )
    started = time.monotonic()
    with pytest.raises(HttpError, match="within timeout_s = 2 s"):
        client(settings(server.base_url, timeout_s=2.0), fake).get("/api/events")
    assert time.monotonic() - started < 2.5
    assert [r.path for r in server.requests] == ["/api/events", "/api/moved"]


@network
@pytest.mark.parametrize(
    ("encoding", "wbits"),
    [("gzip", 16 + zlib.MAX_WBITS), ("deflate", zlib.MAX_WBITS)],
    ids=["gzip", "deflate"],
)
def test_a_compression_bomb_is_refused_holding_about_max_bytes(server, fake, encoding, wbits):
    bomb = gzip_bomb(wbits=wbits)  # ~1 MB on the wire, 1 GiB once inflated
    assert len(bomb) < 1_100_000
    server.add(Reply(200, bomb, headers={"Content-Encoding": encoding}))
    max_bytes = 1_000_000
    http = client(settings(server.base_url, max_bytes=max_bytes), fake)
    tracemalloc.start()
    try:
        with pytest.raises(HttpError) as info:
            http.get("/api/events")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f"larger than max_bytes = 1,000,000 once its {encoding} is undone" in str(info.value)
    assert info.value.response is None
    assert peak < 4 * max_bytes  # not the 1 GiB (nor the 2.5 GB the old client took)
    assert len(server.requests) == 1  # refused for good, not retried


@network
def test_a_body_that_fits_compressed_but_not_inflated_is_refused(server, fake):
    body = json.dumps([{"id": i, "summary": "x" * 200} for i in range(100)]).encode()
    server.add(Reply(200, body, gzip=True))
    with pytest.raises(HttpError, match="once its gzip is undone"):
        client(settings(server.base_url, max_bytes=len(body) - 1), fake).get("/api/events")
    server.add(Reply(200, body, gzip=True))
    got = client(settings(server.base_url, max_bytes=len(body)), fake).get("/api/events")
    assert got.body == body  # exactly max_bytes is accepted


@network
@pytest.mark.parametrize(
    "make",
    [
        lambda data: gzip.compress(data),
        lambda data: gzip.compress(data[:999]) + gzip.compress(data[999:]),
        lambda data: gzip.compress(data) + bytes(64),
        lambda data: zlib.compress(data),
    ],
    ids=["gzip", "gzip-two-members", "gzip-zero-padded", "deflate"],
)
def test_a_normal_compressed_answer_still_works(server, fake, make):
    data = EVENTS.encode()
    encoding = "deflate" if make(b"")[:1] == b"x" else "gzip"
    server.add(Reply(200, make(data), headers={"Content-Encoding": encoding}))
    response = client(settings(server.base_url, max_bytes=len(data)), fake).get("/api/events")
    assert response.body == data
    assert json.loads(response.body)[39]["summary"] == "Händelse 39 på Sveavägen"


@network
def test_a_gzip_body_cut_short_is_retried(server, fake, caplog):
    data = EVENTS.encode()
    packed = gzip.compress(data)
    server.add(
        Reply(200, packed[: len(packed) // 2], headers={"Content-Encoding": "gzip"}),
        Reply(200, packed, headers={"Content-Encoding": "gzip"}),
    )
    with caplog.at_level(logging.WARNING):
        response = client(settings(server.base_url), fake).get("/api/events")
    assert response.body == data
    assert "the gzip body is cut short or corrupt" in caplog.text


def other_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@network
@pytest.mark.parametrize(
    ("location", "problem", "target"),
    [
        ("http://localhost:{port}/api/events", "another host", "http://localhost:{port}"),
        ("http://LOCALHOST:{port}/", "another host", "http://localhost:{port}"),
        ("http://user:secret@localhost:{port}/", "another host", "http://localhost:{port}"),
        ("http://127.0.0.1:{other}/api/events", "another port", "http://127.0.0.1:{other}"),
        ("ftp://127.0.0.1/api/events", "another port or scheme", "ftp://127.0.0.1:21"),
    ],
    ids=["localhost", "upper-case-host", "with-credentials", "other-port", "ftp"],
)
def test_a_redirect_off_the_host_is_refused_naming_both(server, fake, location, problem, target):
    other = other_port()
    location = location.format(port=server.port, other=other)
    server.add(Reply(302, "", headers={"Location": location}), Reply(200, [{"id": 1}]))
    with pytest.raises(HttpError) as info:
        client(settings(server.base_url), fake).get("/api/events")
    message = str(info.value)
    target = target.format(port=server.port, other=other).replace("ftp://127.0.0.1:21", "ftp")
    assert f"a redirect to {problem}" in message
    assert target in message and f"instead of {server.base_url}" in message
    assert "set base_url (--base-url)" in message
    assert "secret" not in message
    assert info.value.status == 302
    assert len(server.requests) == 1  # the other host was never asked


@network
def test_a_redirect_within_the_host_is_followed(server, fake):
    huge = b"<p>moved</p>" * 500_000  # a redirect's body is never read, whatever its size
    server.add(
        Reply(301, huge, headers={"Location": "/api/v2/events?x=1"}, content_type="text/html"),
        Reply(200, [{"id": 1}]),
    )
    response = client(settings(server.base_url, max_bytes=1000), fake).get("/api/events")
    assert json.loads(response.body) == [{"id": 1}]
    assert response.url == f"{server.base_url}/api/v2/events?x=1"
    assert [r.path for r in server.requests] == ["/api/events", "/api/v2/events"]
    assert server.requests[1].headers["user-agent"].startswith("trygghetskarta/")


@network
@pytest.mark.parametrize("loop", [False, True], ids=["ever-new-paths", "to-itself"])
def test_redirects_are_bounded_in_count(server, fake, loop):
    hops = [Reply(302, "", headers={"Location": "/a" if loop else f"/hop/{i}"}) for i in range(20)]
    server.add(*hops)
    with pytest.raises(HttpError, match=rf"redirected more than {net.MAX_REDIRECTS} times") as e:
        client(settings(server.base_url), fake).get("/api/events")
    assert f"all within {server.base_url}; refused" in str(e.value)
    assert len(server.requests) == net.MAX_REDIRECTS + 1


@network
@pytest.mark.parametrize(
    "location",
    ["http://[::1/x", "http://a[b]c/", "http://[bold red]x[/]/", "http://h:99999/"],
    ids=["open-bracket", "brackets-in-host", "markup", "port-out-of-range"],
)
def test_a_redirect_to_an_unreadable_address_is_refused(server, fake, location):
    server.add(Reply(302, "", headers={"Location": location}))
    with pytest.raises(HttpError, match="redirect to an address that is not a valid URL") as info:
        client(settings(server.base_url), fake).get("/api/events")
    assert "[" not in str(info.value)  # nothing of the Location, which could be markup
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("https://polisen.se/api/events", "https://polisen.se/api/v2", None),
        ("https://polisen.se/a", "https://POLISEN.se:443/b", None),
        ("http://polisen.se/a", "https://polisen.se/a", None),
        ("https://polisen.se/a", "http://polisen.se/a", "an unencrypted address"),
        ("https://polisen.se/a", "https://polisen.se.evil.example/a", "another host"),
        ("https://polisen.se/a", "https://www.polisen.se/a", "another host"),
        ("http://127.0.0.1:8000/a", "http://localhost:8000/a", "another host"),
        ("http://127.0.0.1:8000/a", "https://127.0.0.1:8000/a", "another port or scheme"),
        ("https://polisen.se/a", "https://polisen.se:8443/a", "another port or scheme"),
    ],
    ids=[
        "same",
        "same-with-default-port",
        "upgrade-to-https",
        "downgrade-to-http",
        "suffix-host",
        "subdomain",
        "loopback-names",
        "upgrade-on-odd-port",
        "other-port",
    ],
)
def test_redirect_rule(old, new, problem):
    assert _redirect_problem(old, new) == problem


@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    """A scripted https server on 127.0.0.1, its fresh self-signed certificate trusted."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with ScriptedServer(tls=context) as srv:
        yield srv


@network
def test_https_keeps_to_the_deadline_and_refuses_a_downgrade(tls_server, fake):
    tls_server.add(Reply(200, [{"id": 1}], gzip=True))
    http = client(settings(tls_server.base_url, timeout_s=1.5), fake)
    assert json.loads(http.get("/api/events").body) == [{"id": 1}]

    tls_server.add(Reply(200, EVENTS.encode(), trickle_s=0.1))
    started = time.monotonic()
    with pytest.raises(HttpError, match=r"whole answer within timeout_s = 1\.5 s"):
        http.get("/api/events")
    assert time.monotonic() - started < 2.0

    downgrade = f"http://127.0.0.1:{tls_server.port}/api/events"
    tls_server.add(Reply(301, "", headers={"Location": downgrade}))
    with pytest.raises(HttpError, match="a redirect to an unencrypted address"):
        http.get("/api/events")
    assert len(tls_server.requests) == 3


@network
def test_a_trickled_tls_handshake_is_cut_at_the_deadline(tls_server, fake, caplog):
    # The server's hello and certificate come a byte every 0.05 s (~1 KB: about a minute);
    # each byte comes well within any per-read timeout, only the deadline stops it.
    tls_server.add(Reply(200, [{"id": 1}]))
    with TrickleRelay(tls_server.port, trickle_s=0.05) as relay:
        url = f"https://127.0.0.1:{relay.port}"
        http = client(settings(url, timeout_s=1.0, max_attempts=2), fake)
        started = time.monotonic()
        with caplog.at_level(logging.WARNING), pytest.raises(HttpError, match="timed out"):
            http.get("/api/events")
        took = time.monotonic() - started
        assert relay.connections == 2  # nothing came in time to count: retried once
    assert 2 * 0.9 < took < 2 * 1.0 + 0.6
    assert "timed out after 1 s while connecting" in caplog.text


PAYLOADS = {
    "zeros": bytes(3_000_000),  # long back-references: output pending after input is in
    "text": EVENTS.encode() * 300,
    "random": random.Random(9).randbytes(300_000),  # incompressible: bigger when packed
}


@pytest.mark.parametrize("payload", list(PAYLOADS), ids=list(PAYLOADS))
@pytest.mark.parametrize("encoding", ["gzip", "deflate"], ids=["gzip", "deflate"])
@pytest.mark.parametrize("step", [1, 777, 65536], ids=["byte-by-byte", "odd-pieces", "64k"])
def test_the_inflater_gives_back_exactly_what_was_packed(payload, encoding, step):
    data = PAYLOADS[payload]
    packed = gzip.compress(data) if encoding == "gzip" else zlib.compress(data)
    if step == 1:
        packed = packed[: min(3000, len(packed) // 2)]  # a start is enough byte by byte
        data = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else 15).decompress(
            packed
        )
    inflater = _Inflater(encoding)
    out = []
    for i in range(0, len(packed), step):
        pieces = list(inflater.feed(packed[i : i + step], len(data) + 1))
        assert all(len(p) <= _INFLATE_PIECE for p in pieces)
        out += pieces
    assert b"".join(out) == data
    if step != 1:
        inflater.finish()  # the whole stream: complete
    else:
        with pytest.raises(EOFError, match="ended before its end marker"):
            inflater.finish()


@pytest.mark.parametrize("room", [1, 1000, 1 << 20, 3 << 20], ids=["1", "1000", "1MiB", "3MiB"])
def test_the_inflater_stops_at_room(room):
    packed = gzip.compress(bytes(5 << 20))
    pieces = list(_Inflater("gzip").feed(packed, room))
    assert sum(len(p) for p in pieces) == room  # no more than asked, and no less


def test_the_inflater_refuses_what_is_not_compressed():
    with pytest.raises(zlib.error):
        list(_Inflater("gzip").feed(b"[1, 2, 3]", 100))
    inflater = _Inflater("deflate")
    with pytest.raises(zlib.error, match="after the end of the deflate stream"):
        list(inflater.feed(zlib.compress(b"[1]") + b"[2]", 100))


@network
def test_an_accepted_compressed_body_is_held_about_once(server, fake):
    size = 8_000_000
    packed = gzip.compress(bytes(size))  # ~8 KB: one read of the wire inflates to all of it
    server.add(Reply(200, packed, headers={"Content-Encoding": "gzip"}))
    http = client(settings(server.base_url, max_bytes=size), fake)
    tracemalloc.start()
    try:
        response = http.get("/api/events")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.body == bytes(size)
    assert peak < 1.4 * size  # the body and ~1 MiB of work, not two copies of it
