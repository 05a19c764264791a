"""The SQL of the README and docs/sql.md: each event counted once, one district scheme, one
row per district-year.

The views (``events_labelled``, ``events_unique``, ``crime_stats_yearly``) are checked on
tiny hand-written rows with known answers; every SQL statement of the README and of
docs/sql.md is then run against the database of the real run (``realdata``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trygghetskarta import store
from trygghetskarta.districts import SDO_11, SDO_13

REPO = Path(__file__).resolve().parent.parent
DOCS = {"README.md": REPO / "README.md", "docs/sql.md": REPO / "docs" / "sql.md"}


def sql_statements(text: str) -> list[str]:
    """The statements of a Markdown text: its ```sql blocks and the string literals passed
    to ``con.sql(...)`` in its ```python blocks."""
    found = [b.strip() for b in re.findall(r"```sql\n(.*?)```", text, flags=re.S)]
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
        found += re.findall(r'con\.sql\("([^"]+)"\)', block)
    return found


def _event(uid: str, layer: str, district: str | None, raw: str, when: str) -> tuple:
    source = uid.rsplit(":", 1)[0]
    return (uid, source, uid.rsplit(":", 1)[1], layer, when, district, raw)


def _events_con(rows: list[tuple]):
    con = store.connect(":memory:")
    con.executemany(
        "INSERT INTO events (event_uid, source, source_id, layer, occurred_at, "
        "stadsdelsomrade, raw) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return con


EVENTS = [
    _event("polisen:1", "police_event", "Rinkeby-Kista", '{"id": 1}', "2023-05-01 10:00"),
    _event("polisen:2", "police_event", "Järva", '{"id": 2}', "2024-05-01 10:00"),
    _event("polisen:3", "police_event", "Östermalm", '{"id": 3}', "2023-06-01 10:00"),
    _event("polisen:4", "police_event", None, '{"id": 4}', "2024-06-01 10:00"),
    _event(
        "shooting:polisen:2",
        "shooting",
        "Järva",
        '{"derived_from": "polisen:2", "verdict": "shooting"}',
        "2024-05-01 10:00",
    ),
    _event(
        "fire:polisen:3",
        "fire",
        "Östermalm",
        '{"fire_kind": "bil", "derived_from": "polisen:3"}',
        "2023-06-01 10:00",
    ),
    # A listed crime whose text quotes the key is not derived (the quote is escaped).
    _event(
        "polisen-brott:A1",
        "reported_crime",
        "Spånga-Tensta",
        '{"Brottsplats": "\\"derived_from\\": x"}',
        "2023-01-01 10:00",
    ),
    _event("brander:B1", "fire", "Södermalm", '{"Insats": "B1"}', "2025-01-01 10:00"),
]


def test_events_labelled_names_the_event_a_row_was_derived_from():
    con = _events_con(EVENTS)
    got = dict(con.sql("SELECT event_uid, derived_from FROM events_labelled").fetchall())
    assert got == {
        "polisen:1": None,
        "polisen:2": None,
        "polisen:3": None,
        "polisen:4": None,
        "shooting:polisen:2": "polisen:2",
        "fire:polisen:3": "polisen:3",
        "polisen-brott:A1": None,
        "brander:B1": None,
    }


def test_events_unique_counts_each_incident_once_in_the_2024_scheme():
    con = _events_con(EVENTS)
    rows = con.sql(
        "SELECT layer, stadsdelsomrade_2024, count(*) FROM events_unique GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert rows == [
        ("fire", "Södermalm", 1),  # a listed fire is an event of its own
        ("police_event", "Järva", 2),  # Rinkeby-Kista 2023 and Järva 2024
        ("police_event", "Norra innerstaden", 1),  # Östermalm 2023
        ("police_event", None, 1),  # placed only to the kommun
        ("reported_crime", "Järva", 1),  # Spånga-Tensta 2023
    ]


@pytest.mark.parametrize("old", SDO_13, ids=SDO_13)
def test_every_district_of_2021_2023_has_its_2024_name(old):
    con = _events_con([_event("polisen:9", "police_event", old, "{}", "2022-01-01 10:00")])
    (name,) = con.sql("SELECT stadsdelsomrade_2024 FROM events_unique").fetchone()
    assert name in SDO_11


def _stat(area, year, month, key, count, rate, unit, source, table, **flags) -> dict:
    return {
        "stat_key": f"{table}|{area}|{year}|{month}|{key}|{unit}",
        "source": source,
        "source_table": table,
        "area": area,
        "area_scheme": "sdo_11",
        "year": year,
        "month": month,
        "category": "Totalt antal brott",
        "category_key": key,
        "count": count,
        "rate": rate,
        "rate_unit": unit,
        "suppressed": flags.get("suppressed", False),
        "preliminary": flags.get("preliminary", False),
    }


BRA = "bra_statistikdatabas"
YEARLY_RATE = "Brå yearly (per_100k)"
MONTHLY = "Brå monthly (count)"
ARSBOK = "1.63 Anmälda brott"

STATS = [
    # Järva 2024: Brå's rate and the yearbook's count and rate.
    _stat("Järva", 2024, None, "total", None, 17214.0, "per_100k", BRA, YEARLY_RATE),
    _stat("Järva", 2024, None, "total", 15950, 167.5, "per_1000", "stockholm_arsbok", ARSBOK),
    # Bromma 2025: Brå's rate and twelve monthly counts 100, 101 … 111 (sum 1266).
    _stat("Bromma", 2025, None, "total", None, 13221.0, "per_100k", BRA, YEARLY_RATE),
    *[_stat("Bromma", 2025, m, "total", 99 + m, None, None, BRA, MONTHLY) for m in range(1, 13)],
    # Bromma 2026: three months so far, preliminary.
    *[
        _stat("Bromma", 2026, m, "total", 700 + m, None, None, BRA, MONTHLY, preliminary=True)
        for m in range(1, 4)
    ],
    # Farsta 2025: twelve months, one of them suppressed.
    *[
        _stat(
            "Farsta",
            2025,
            m,
            "total",
            None if m == 7 else 50,
            None,
            None,
            BRA,
            MONTHLY,
            suppressed=m == 7,
        )
        for m in range(1, 13)
    ],
]


def _stats_con():
    import pandas as pd

    con = store.connect(":memory:")
    frame = pd.DataFrame(STATS)
    con.register("incoming", frame)
    columns = ", ".join(frame.columns)
    con.execute(f"INSERT INTO statistics ({columns}) SELECT {columns} FROM incoming")
    return con


YEARLY = [
    # area, year, count, per 100k, per 1000, months, complete, so far, suppressed, prelim.
    ("Bromma", 2025, 1266, 13221.0, None, 12, True, None, False, False),
    ("Bromma", 2026, None, None, None, 3, False, 2106, False, True),
    ("Farsta", 2025, None, None, None, 12, True, None, True, False),
    ("Järva", 2024, 15950, 17214.0, 167.5, 12, True, None, False, False),
]


def test_crime_stats_yearly_gives_one_row_per_district_year():
    con = _stats_con()
    assert con.sql("SELECT count(*) FROM crime_stats WHERE category_key = 'total'").fetchone() == (
        len(STATS),
    )
    rows = con.sql(
        "SELECT area, year, count, rate_per_100k, rate_per_1000, months, complete, "
        "count_so_far, suppressed, preliminary FROM crime_stats_yearly "
        "WHERE category_key = 'total' AND area_scheme = 'sdo_11' ORDER BY area, year"
    ).fetchall()
    assert rows == YEARLY


@pytest.mark.parametrize(
    ("area", "year", "expected"),
    [
        ("Järva", 2024, ARSBOK),
        ("Bromma", 2025, f"{MONTHLY} (sum of 12 months)"),
        ("Bromma", 2026, f"{MONTHLY} (sum of 3 months)"),
    ],
    ids=["yearly-table", "twelve-months", "three-months"],
)
def test_crime_stats_yearly_says_where_the_count_comes_from(area, year, expected):
    con = _stats_con()
    (got,) = con.sql(
        "SELECT count_from FROM crime_stats_yearly WHERE area = ? AND year = ?", params=[area, year]
    ).fetchone()
    assert got == expected


@pytest.mark.parametrize("doc", list(DOCS), ids=list(DOCS))
def test_the_documents_hold_sql(doc):
    statements = sql_statements(DOCS[doc].read_text(encoding="utf-8"))
    assert any("events_unique" in s for s in statements)
    assert any("crime_stats_yearly" in s for s in statements)


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real_db(real_run):
    settings, report = real_run
    assert report.status in ("ok", "partial"), report.headline
    con = store.connect(settings.db_path)  # the published snapshot, read-only
    yield con
    con.close()


def _statements() -> list[tuple[str, str]]:
    out = []
    for name, path in DOCS.items():
        for k, statement in enumerate(sql_statements(path.read_text(encoding="utf-8"))):
            out.append((f"{name}#{k}", statement))
    return out


STATEMENTS = _statements()


@pytest.mark.realdata
@pytest.mark.parametrize(("where", "statement"), STATEMENTS, ids=[w for w, _ in STATEMENTS])
def test_every_statement_runs_on_the_real_database(real_db, where, statement):
    frame = real_db.sql(statement).df()
    assert len(frame), f"{where} returned no rows"


def _event_counts(statement: str) -> bool:
    return "FROM events_unique" in statement and "count(*)" in statement


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("where", "statement"),
    [s for s in STATEMENTS if _event_counts(s[1])],
    ids=[w for w, s in STATEMENTS if _event_counts(s)],
)
def test_event_counts_take_each_incident_once_in_one_scheme(real_db, where, statement):
    rows = real_db.sql(statement).fetchall()
    districts = {r[1] for r in rows}
    assert districts - {None} <= set(SDO_11), f"{where}: districts of two schemes"
    scope = re.search(r"WHERE (.*?)\n?GROUP", statement, flags=re.S)
    condition = f"WHERE {scope.group(1)}" if scope else ""
    (events,) = real_db.sql(f"SELECT count(*) FROM events_unique {condition}").fetchone()
    assert sum(r[-1] for r in rows) == events
    derived = real_db.sql(
        "SELECT count(*) FROM events_labelled l JOIN events e ON e.event_uid = l.derived_from"
    ).fetchone()[0]
    assert derived > 0, "the real data has derived shootings and fires"
    layers = {r[0] for r in rows}
    assert "fire" not in layers or real_db.sql(
        "SELECT count(*) FROM events_unique WHERE layer = 'fire'"
    ).fetchone()[0] == sum(r[-1] for r in rows if r[0] == "fire")


@pytest.mark.realdata
def test_derived_rows_are_the_real_shootings_and_fires(real_db):
    rows = dict(
        real_db.sql(
            "SELECT layer, count(*) FILTER (WHERE derived_from IS NULL) FROM events_labelled "
            "WHERE layer IN ('shooting', 'fire') GROUP BY ALL"
        ).fetchall()
    )
    assert rows == {"shooting": 0, "fire": 0}  # every one is derived from a police event
    orphans = real_db.sql(
        "SELECT count(*) FROM events_labelled l LEFT JOIN events e ON e.event_uid = l.derived_from "
        "WHERE l.derived_from IS NOT NULL AND e.event_uid IS NULL"
    ).fetchone()[0]
    assert orphans == 0


def _yearly(statement: str) -> bool:
    return "FROM crime_stats_yearly" in statement


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("where", "statement"),
    [s for s in STATEMENTS if _yearly(s[1])],
    ids=[w for w, s in STATEMENTS if _yearly(s)],
)
def test_crime_stats_queries_give_one_row_per_district_year(real_db, where, statement):
    frame = real_db.sql(statement).df()
    assert not frame.duplicated(["area", "year"]).any(), f"{where}: a district-year twice"
    assert set(frame["area"]) <= set(SDO_11)
    jarva = frame[(frame["area"] == "Järva") & (frame["year"] == 2024)]
    assert jarva["count"].tolist() == [15950]  # the yearbook's table 1.63
