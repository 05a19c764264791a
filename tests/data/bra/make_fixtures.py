"""Write the spreadsheet fixtures of tests/test_bra.py and tests/test_population.py.

The .xls files mimic Brå's table-builder export (statistik.bra.se, "Anmälda brott /
Brottsförebyggande rådet"); the .xlsx files mimic Statistisk årsbok för Stockholm tables
1.63 and 1.2. All figures are invented and small, chosen so the tests can state their
expected values by hand. Run from the repository root after changing a fixture:

    .venv/bin/pip install xlwt   # only needed here: Python cannot write .xls otherwise
    .venv/bin/python tests/data/bra/make_fixtures.py
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import xlwt
from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
TITLE = ["Anmälda brott", "", "Brottsförebyggande rådet"]
CH3_7 = "3-7 kap. Brott mot person"
CH3 = "3 kap. Brott mot liv och hälsa"
ASSAULT = "Misshandel inkl. grov (5, 6 §)"
SEXUAL = "6 kap. Sexualbrott"
TOTAL = "Totalt antal brott"
FORMED = (
    "Stadsdelen bildades 2024-01-01, statistik innan detta datum är framtagen i efterhand "
    "för att möjliggöra jämförelser bakåt i tiden."
)
POP_NOTE = "I juni 2016 har redovisningen av folkmängd ändrats."


def write_xls(path: Path, rows: list[list[object]]) -> None:
    book = xlwt.Workbook()
    sheet = book.add_sheet("Resultat")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, dt.date):
                sheet.write(r, c, value, date_style)
            else:
                sheet.write(r, c, value)
    book.save(str(path))


def block(region: str, assault: list[object], sexual: list[object], total: list[object]):
    """A region block whose first category has parents (total comes last)."""
    return [
        [region],
        [CH3_7],
        [CH3],
        [ASSAULT, *assault],
        [CH3_7],
        [SEXUAL, *sexual],
        [TOTAL, *total],
    ]


def solwebb_yearly() -> None:
    rows: list[list[object]] = [
        TITLE,
        [],
        ["", "År", "År", "År"],
        ["", "2022", "2023", "2024"],
        ["", "/100 000 inv", "/100 000 inv", "/100 000 inv"],
        *block("Stockholm kommun", [900, "..", 1000], [200, 210, 220], [19000, 20000, 21000]),
        *block("Stadsdelsområde Järva (Sthlm)", [0, 0, 1300], [0, 0, 300], [0, 0, 17000]),
        *block(
            "Stadsdelsområde Bromma (Sthlm)",
            [550, 600, dt.date(2024, 5, 6)],
            [180, "", 190],
            [14000, "-", 16000],
        ),
        *block(
            "Norrmalm stadsdel (upphörde 2024-01-01)",
            [2000, 2100, 0],
            [400, 410, 0],
            [30000, 31000, 0],
        ),
        *block("Stadsområde Centrum (Gbg)", [1, 2, 3], [1, 2, 3], [10, 20, 30]),
        [],
        [],
        ["Stadsdelsområde Järva (Sthlm)"],
        [FORMED],
        ["Stadsdelsområde Bromma (Sthlm)"],
        [POP_NOTE],
    ]
    write_xls(HERE / "solwebb_yearly.xls", rows)


def solwebb_monthly() -> None:
    rows: list[list[object]] = [
        TITLE,
        [],
        ["", "2025", "2025", "2025", "2025", "2026 prel.", "2026 prel."],
        ["", "Nov", "Nov", "Dec", "Dec", "Jan", "Jan"],
        ["", "Antal", "/100 000 inv"] * 1 + ["Antal", "/100 000 inv", "Antal", "/100 000 inv"],
    ]
    for region, scale in (("Stadsdelsområde Hägersten-Älvsjö (Sthlm)", 1), ("Stockholm kommun", 8)):
        rows += [
            [region],
            [TOTAL, 1600 * scale, 1250, 1500 * scale, 1170, 1400 * scale, 1090],
            [CH3_7, 290 * scale, 226, 310 * scale, 241, 250 * scale, 195],
            [CH3_7],
            [CH3, 90 * scale, 70, 105 * scale, 82, 85 * scale, 66],
            [CH3_7],
            [CH3],
            ["därav misshandel inkl. grov", 84 * scale, 65, 95 * scale, 74, 83 * scale, 65],
        ]
    write_xls(HERE / "solwebb_monthly.xls", rows)


def solwebb_bad_heading() -> None:
    rows: list[list[object]] = [
        TITLE,
        [],
        ["", "År", "År"],
        ["", "2023", "2024"],
        ["", "/100 000 inv", "Procent"],
        ["Stockholm kommun"],
        [TOTAL, 20000, 21000],
    ]
    write_xls(HERE / "solwebb_bad_heading.xls", rows)


def yearbook(path: Path, *, formula: bool = False) -> None:
    book = Workbook()
    ws = book.active
    ws.title = "b029"
    ws["A1"] = "Anmälda brott 2024. Stockholm"
    ws["A2"] = "Number of reported crimes in 2024"
    ws["B3"], ws["D3"], ws["F3"] = "An-", "Därav", "Brott per 1 000 invånare"
    ws["B4"], ws["D4"], ws["F4"], ws["G4"] = "mälda", "Vålds-", "An-", "Vålds-"
    ws["B5"], ws["D5"], ws["F5"], ws["G5"] = "brott1", "brott2", "mälda", "brott"
    ws["F6"] = "brott"
    population = {"Västerort": 160000, "Järva": 95000, "Bromma": 65000, "Inre staden": 71000,
                  "Kungsholmen": 71000, "Hela staden5": 234000}  # fmt: skip
    data = [
        (7, "Västerort", 26000, 2000),
        (8, "Järva", 15000, 1400),
        (9, "Bromma", 11000, ".."),
        (11, "Inre staden", 12000, 800),
        (12, "Kungsholmen", 12000, 800),
        (14, "Hela staden5", 40000, 2900),
    ]
    for row, area, total, violence in data:
        pop = population[area]
        ws[f"A{row}"] = area
        ws[f"B{row}"] = total
        ws[f"D{row}"] = violence
        ws[f"F{row}"] = f"=B{row}/{pop}*1000" if formula else total / pop * 1000
        ws[f"G{row}"] = ".." if violence == ".." else violence / pop * 1000
    ws["A15"] = "Källa: BRÅ/Sweco"
    ws["A16"] = "1 I samtliga brott ingår förutom brottsbalken även brott mot övriga"
    ws["A17"] = "specialstraffrättsliga författningar där fängelse ingår i straffskalan."
    ws["A18"] = (
        "2 Ingående brottskoder: 3 kap. brott mot liv och hälsa inklusive 6 kap. sexualbrott"
    )
    ws["A19"] = "5 Inklusive anmälda brott vars uppgift om brottsplats saknas"
    ws["A20"] = "Senast uppdaterad: 2025-04-30"
    book.save(path)


def population_table() -> None:
    book = Workbook()
    ws = book.active
    ws.title = "a1"
    ws["A1"] = "Folkmängd den 31 dec 2020-2030"
    ws["A2"] = "Population"
    for col, head in zip("BCE", ["2020", "2024", "2030¹"], strict=True):
        ws[f"{col}3"] = head
    ws["G3"] = "Fördelning, %"
    ws["G4"], ws["H4"] = "2024", "2030¹"
    rows = [
        (5, "Västerort", 150000, 160000, 171000.4),
        (6, "Järva", 90000, 95000, 101000.5),
        (7, "Bromma", 60000, 65000, 69999.9),
        (9, "Inre staden", 70000, 71000, 72000.0),
        (10, "Kungsholmen", 70000, 71000, 72000.0),
        (12, "På staden skrivna", 2000, 3000, 3000),
        (14, "Hela staden", 222000, 234000, 246000.4),
    ]
    for r, area, p2020, p2024, p2030 in rows:
        ws[f"A{r}"], ws[f"B{r}"], ws[f"C{r}"], ws[f"E{r}"] = area, p2020, p2024, p2030
        ws[f"G{r}"], ws[f"H{r}"] = p2024 / 234000 * 100, p2030 / 246000.4 * 100
    ws["A15"] = "Källa: SCB/Sweco"
    ws["A16"] = "1 Prognos utarbetad av Sweco år 2025"
    book.save(HERE / "folkmangd_1.2.xlsx")


def write_text(name: str, text: str, *, encoding: str = "utf-8", newline: str = "\n") -> None:
    (HERE / name).write_bytes(text.replace("\n", newline).encode(encoding))


LONG_HEAD = "region_raw,area,category,category_path,year,month,unit,count,preliminary\n"
H_A = "Stadsdelsområde Hägersten-Älvsjö (Sthlm),Hägersten-Älvsjö"
TOT = "Totalt antal brott,Totalt antal brott"
SEX = "6 kap. Sexualbrott,3-7 kap. Brott mot person > 6 kap. Sexualbrott"


def text_fixtures() -> None:
    # Brå's municipal CSV, 2024 shape: UTF-8 with BOM, CRLF, ';', header, space thousands
    write_text(
        "Anmälda brott kommunerna 2024.csv",
        "\ufeffKommun;Antal;Per 100 000 inv.\n"
        "Ale;2 731;8 547\n"
        "Botkyrka;14 101;14 649\n"
        "Malung-Sälen;..;..\n"
        "Stockholm;203 286;20 419\n"
        "Hela landet;1 502 345;14 293\n",
        newline="\r\n",
    )
    # the same file as Excel saves it on Swedish Windows: cp1252, no BOM, NBSP thousands
    write_text(
        "kommuner_2024_cp1252.csv",
        "Kommun;Antal;Per 100 000 inv.\n"
        "Ale;2\u00a0731;8\u00a0547\n"
        "Botkyrka;14\u00a0101;14\u00a0649\n"
        "Malung-Sälen;..;..\n"
        "Stockholm;203\u00a0286;20\u00a0419\n"
        "Hela landet;1\u00a0502\u00a0345;14\u00a0293\n",
        encoding="cp1252",
        newline="\r\n",
    )
    # 2021 shape: no header, "<genitive> kommun", an en dash, Stockholm's districts
    write_text(
        "anmalda_brott_kommuner_2021.csv",
        "\ufeffAle kommun;2 600;8 300\n"
        "Arjeplogs kommun;210;7 012\n"
        "Malung\u2013Sälens kommun;812;8 025\n"
        "Stockholms kommun;208 250;21 308\n"
        "Rinkeby-Kista;8 032;15 621\n"
        "Spånga - Tensta;5 120;13 305\n",
        newline="\r\n",
    )
    write_text("kommuner_utan_ar.csv", "Kommun;Antal;Per 100 000 inv.\nAle;2 731;8 547\n")
    write_text(
        "kommuner_2024_renamed.csv",
        "Kommun;Anmälda brott;Per 100 000 inv.\nAle;2 731;8 547\n",
    )
    # the long shape with the real mistakes, one per line (see test_bra.py for each)
    lines = [
        f"{H_A},{TOT},2025,1,antal,1311,False",
        f"{H_A},{TOT},2025,2,antal,..,False",
        f"{H_A},{TOT},2025,3,antal,-,False",
        f"{H_A},{TOT},2025,4,antal,,False",
        f"{H_A},{TOT},2025,2025-05-01,antal,1820,False",
        f"{H_A},{SEX},2025,1,antal,2025-01-07,False",
        f'{H_A},{SEX},2025,2,antal,"12,5",False',
        f"{H_A},{SEX},2025,3,antal,-3,False",
        f"{H_A},{TOT},2025,1,antal,1311,False",
        f"{H_A},{SEX},2025,4,antal,22,False",
        f"{H_A},{SEX},2025,4,antal,23,False",
        f"{H_A},{TOT},2099,1,antal,5,True",
        f"Stadsdelsområde Atlantis (Sthlm),Atlantis,{TOT},2025,1,antal,5,False",
        f"{H_A},8 kap. Stöld, rån m.m.,8 kap.,2025,1,antal,251,False",
        f"{H_A},{TOT},2025,6,antal,1 508,False",
        f"{H_A},{TOT},2025,7,antal,1592,kanske",
        f"{H_A},{SEX},2025,5,antal,121,False",
    ]
    write_text("long_bad_rows.csv", LONG_HEAD + "\n".join(lines) + "\n")
    # a long per-100k file: as written, with a BOM, and as Swedish Excel saves it
    head = "region_raw,area,category,category_path,year,unit,per_100k,note\n"
    rows = [
        ("Stockholm kommun", "Stockholm kommun", "21308.0", ""),
        ("Stadsdelsområde Hässelby - Vällingby (Sthlm)", "Hässelby-Vällingby", "20901.5", ""),
        ("Stadsdelsområde Järva (Sthlm)", "Järva", "", "shows 0 before the area existed"),
    ]
    body = "".join(f"{r},{a},{TOT},2021,per_100000_inv,{v},{n}\n" for r, a, v, n in rows)
    write_text("per100k.csv", head + body)
    write_text("per100k_bom.csv", "\ufeff" + head + body)
    sv = head.replace(",", ";") + "".join(
        f"{r};{a};{TOT.replace(',', ';')};2021;per_100000_inv;{v.replace('.', ',')};{n}\n"
        for r, a, v, n in rows
    )
    write_text("per100k_excel_sv.csv", sv, encoding="cp1252", newline="\r\n")
    write_text("per100k_renamed.csv", (head + body).replace("per_100k", "per_100000", 1))
    write_text("per100k_mojibake.csv", head + body.replace("Hässelby", "HÃ¤sselby"))
    write_text("per100k_unclosed_quote.csv", head + body + '"Bromma,Bromma,x,x,2021,u,1,\n')
    write_text("empty.csv", "")
    write_text("not_really.xls", "<html><body><table><tr><td>Anmälda brott</td></tr></table>")
    # the yearbook table as CSV, and with a renamed column
    yb = (
        "area,level,year,anmalda_brott,valdsbrott,anmalda_brott_per_1000,valdsbrott_per_1000\n"
        "Järva,stadsdelsomrade,2024,15000,1400,157.895,14.737\n"
        "Hela staden,city,2024,40000,2900,170.940,12.393\n"
    )
    write_text("arsbok_1.63.csv", yb)
    write_text("arsbok_renamed.csv", yb.replace("valdsbrott,", "valdsbrot,", 1))


def population_text_fixtures() -> None:
    write_text(
        "regso_by_age_2024.csv",
        "regsokod,regso,age_group,population,year,stadsdelsomrade_2024\n"
        "0180R001,0180R001 Abrahamsberg,0-4 år,100,2024,Bromma\n"
        "0180R001,0180R001 Abrahamsberg,5-9 år,90,2024,Bromma\n"
        "0180R001,0180R001 Abrahamsberg,80- år,10,2024,Bromma\n"
        "0180R002,0180R002 Akalla,0-4 år,300,2024,Järva\n"
        "0180R002,0180R002 Akalla,5-9 år,250,2024,Järva\n"
        "0180R002,0180R002 Akalla,80- år,50,2024,Järva\n",
    )
    write_text(
        "kommun_population_2024.csv",
        "kommun_kod,kommun_namn,population\n0114,Upplands Väsby,50295\n180,Stockholm,995600\n"
        "2521,Malung-Sälen,10000\n",
    )
    write_text(
        "population_extract.csv",
        "area,level,pop_2020,pop_2024,pop_2030_forecast,share_2024_pct\n"
        "Västerort,region,150000,160000,171000,68.4\n"
        "Järva,stadsdelsomrade,90000,95000,101001,40.6\n"
        "Bromma,stadsdelsomrade,60000,65000,70000,27.8\n"
        "Inre staden,region,70000,71000,72000,30.3\n"
        "Kungsholmen,stadsdelsomrade,70000,71000,72000,30.3\n"
        "På staden skrivna,unassigned,2000,3000,3000,1.3\n"
        "Hela staden,city,222000,234000,246000,100.0\n",
    )
    write_text(
        "population_bad.csv",
        "area,level,pop_2020,pop_2024\n"
        "Järva,stadsdelsomrade,90000,95000\n"
        "Järva,stadsdelsomrade,90000,95001\n"
        "Atlantis,stadsdelsomrade,1,2\n"
        "Bromma,region,60000,65000\n"
        "Kungsholmen,stadsdelsomrade,-5,71000.5\n"
        "Farsta,stadsdelsomrade,..,62085\n",
    )


if __name__ == "__main__":
    text_fixtures()
    population_text_fixtures()
    solwebb_yearly()
    solwebb_monthly()
    solwebb_bad_heading()
    yearbook(HERE / "1.63-anmalda-brott-2024.xlsx")
    yearbook(HERE / "yearbook_formula.xlsx", formula=True)
    population_table()
