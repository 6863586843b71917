"""The knowledge base (一问一答): `hotlinectl kb import` and `kb search`, and
GET /api/v1/kb against a real hotlined and PostgreSQL (docs/http-api.md
"Knowledge base").

Imports: new and updated entries, --replace, and malformed files that name FILE:LINE
and import nothing, not even when PostgreSQL refuses the file midway. Search: a small
hand-written set whose order for 垃圾清运 was worked out by hand from the ranking
rule; several words, ASCII case, one character, no match; the checks of q and limit;
401 without a token.

kb_entries is shared by the session: this module empties it before and after.
"""

import json
import subprocess
import urllib.parse
from pathlib import Path

import pytest

from http_helpers import Api, add_user, error_code, new_user

HEADER = "id,question,answer,category,department,updated\n"


@pytest.fixture(autouse=True)
def empty_kb(db):
    db.query("DELETE FROM kb_entries")
    yield
    db.query("DELETE FROM kb_entries")


def kb(binaries, conninfo, *args):
    return subprocess.run(
        [str(binaries.hotlinectl), "--dsn", conninfo, "kb", *[str(a) for a in args]],
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_csv(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def entries(db):
    return {
        r["kb_id"]: r
        for r in db.query(
            "SELECT kb_id, question, answer, category, department, updated::text AS updated,"
            " imported_at FROM kb_entries"
        )
    }


# ------------------------------------------------------------------ import


def test_import_update_and_replace(binaries, schema, db, tmp_path):
    first = write_csv(
        tmp_path,
        "first.csv",
        "\ufeff" + "updated,department,category,answer,question,id\r\n"
        '2026-03-01,sanitation,环卫,"每周二、五清运，""大件""另约。",小区垃圾多久清运一次？,KB-1\r\n'
        '2026-01-02,water,供水,"先查公告，\r\n再报修。",停水怎么办,KB-2\r\n'
        "2025-12-31,,,\"答,案\",问题三,KB-3\r\n",
    )
    r = kb(binaries, schema, "import", first)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "imported 3 entries (3 new, 0 updated)\n"
    rows = entries(db)
    assert set(rows) == {"KB-1", "KB-2", "KB-3"}
    assert rows["KB-1"]["question"] == "小区垃圾多久清运一次？"
    assert rows["KB-1"]["answer"] == "每周二、五清运，\"大件\"另约。"
    assert (rows["KB-1"]["category"], rows["KB-1"]["department"]) == ("环卫", "sanitation")
    assert rows["KB-1"]["updated"] == "2026-03-01"
    assert rows["KB-2"]["answer"] == "先查公告，\r\n再报修。"
    assert (rows["KB-3"]["answer"], rows["KB-3"]["category"]) == ("答,案", "")
    imported_at = rows["KB-1"]["imported_at"]
    assert rows["KB-2"]["imported_at"] == imported_at

    again = write_csv(
        tmp_path,
        "again.csv",
        HEADER + "KB-1,小区垃圾多久清运一次？,每天清运。,环卫,sanitation,2026-04-01\n"
        "KB-2,停水怎么办,先查公告。,供水,water,2026-01-02\n"
        "KB-3,问题三,答案三,,,2025-12-31\n"
        "KB-4,新问题,新答案,,,2026-04-02\n",
    )
    r = kb(binaries, schema, "import", again)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "imported 4 entries (1 new, 3 updated)\n"
    rows = entries(db)
    assert (rows["KB-1"]["answer"], rows["KB-1"]["updated"]) == ("每天清运。", "2026-04-01")
    assert rows["KB-1"]["imported_at"] > imported_at
    assert set(rows) == {"KB-1", "KB-2", "KB-3", "KB-4"}

    fewer = write_csv(tmp_path, "fewer.csv", HEADER + "KB-4,新问题,改过的答案,,,2026-04-03\nKB-5,五,五,,,2026-04-03\n")
    r = kb(binaries, schema, "import", "--replace", fewer)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "imported 2 entries (1 new, 1 updated), 3 deleted\n"
    rows = entries(db)
    assert set(rows) == {"KB-4", "KB-5"}
    assert rows["KB-4"]["answer"] == "改过的答案"

    # --replace with a file of no entries would empty the knowledge base: refused
    empty = write_csv(tmp_path, "empty.csv", HEADER)
    r = kb(binaries, schema, "import", "--replace", empty)
    assert r.returncode == 1
    assert "would delete the whole knowledge base" in r.stderr
    assert set(entries(db)) == {"KB-4", "KB-5"}
    # without --replace it imports nothing and says so
    r = kb(binaries, schema, "import", empty)
    assert (r.returncode, r.stdout) == (0, "imported 0 entries (0 new, 0 updated)\n")


GOOD = "ok-1,问题一,答案一,,,2026-01-01\nok-2,问题二,答案二,,,2026-01-02\nok-3,问题三,答案三,,,2026-01-03\n"


@pytest.mark.parametrize(
    "body, where, reason",
    [
        (GOOD + "bad,问题,答案,,,2026-02-30\n", 5, "updated '2026-02-30' is not a real date"),
        (GOOD + "ok-1,again,答案,,,2026-01-01\n", 5, "id 'ok-1' is used again (first on line 2)"),
        (GOOD + 'x,"never closed,答案,,,2026-01-01\n', 5, "a quoted field that opens on this line is never closed"),
        (GOOD + "x,q,a,,\n", 5, "5 fields; the header has 6"),
        (GOOD + "x," + "问" * 667 + ",a,,,2026-01-01\n", 5, "question is longer than 2000 bytes"),
        (GOOD + 'x,"two\nlines",a,b"c,,2026-01-01\n', 6, "a double quote inside a field"),
    ],
    ids=["date", "duplicate", "unclosed", "fields", "long", "quote"],
)
def test_malformed_file_names_the_line_and_imports_nothing(binaries, schema, db, tmp_path, body, where, reason):
    kept = write_csv(tmp_path, "kept.csv", HEADER + "kept,旧问题,旧答案,,,2025-01-01\n")
    assert kb(binaries, schema, "import", kept).returncode == 0
    path = write_csv(tmp_path, "bad.csv", HEADER + body)
    r = kb(binaries, schema, "import", path)
    assert r.returncode == 1, r.stdout
    first = r.stderr.splitlines()[0]
    assert first.startswith(f"{path}:{where}: {reason}"), r.stderr
    assert "nothing was imported" in r.stderr
    assert r.stdout == ""
    assert set(entries(db)) == {"kept"}


def test_header_and_encoding_errors(binaries, schema, db, tmp_path):
    cases = [
        ("id,question,answer,category,dept,updated\n", "1: unknown column 'dept'"),
        ("id,question,answer\n", "1: the header has 3 columns"),
        (HEADER.encode() + "x,q,\xff,,,2026-01-01\n".encode("latin-1"), "2: answer is not valid UTF-8"),
        (HEADER.encode() + b"x,q\x00,a,,,2026-01-01\n", "2: question is not valid UTF-8 or holds a NUL byte"),
    ]
    for n, (text, want) in enumerate(cases):
        path = write_csv(tmp_path, f"h{n}.csv", text)
        r = kb(binaries, schema, "import", path)
        assert r.returncode == 1
        assert r.stderr.startswith(f"{path}:{want}"), r.stderr
    r = kb(binaries, schema, "import", tmp_path / "missing.csv")
    assert r.returncode == 1 and "cannot open" in r.stderr
    assert entries(db) == {}


def test_a_file_postgresql_refuses_midway_leaves_nothing(binaries, schema, db, tmp_path):
    """The whole file is one statement: a refusal at its third entry undoes the first two."""
    db.query(
        "CREATE FUNCTION kb_refuse_test() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN IF NEW.kb_id = 'refused' THEN RAISE EXCEPTION 'refused by the test'; END IF;"
        " RETURN NEW; END $$"
    )
    db.query("CREATE TRIGGER kb_refuse_test BEFORE INSERT ON kb_entries FOR EACH ROW EXECUTE FUNCTION kb_refuse_test()")
    try:
        path = write_csv(tmp_path, "midway.csv", HEADER + GOOD + "refused,q,a,,,2026-01-01\n")
        r = kb(binaries, schema, "import", path)
        assert r.returncode == 1
        assert "refused by the test" in r.stderr and "nothing was imported" in r.stderr
        assert entries(db) == {}
    finally:
        db.query("DROP TRIGGER kb_refuse_test ON kb_entries")
        db.query("DROP FUNCTION kb_refuse_test()")


def test_sample_file_imports(binaries, schema, db):
    sample = Path(__file__).resolve().parents[2] / "deploy" / "kb" / "sample.csv"
    r = kb(binaries, schema, "import", sample)
    assert r.returncode == 0, r.stderr
    n = len(db.query("SELECT 1 FROM kb_entries"))
    assert 20 <= n <= 40
    assert r.stdout == f"imported {n} entries ({n} new, 0 updated)\n"


# ------------------------------------------------------------------ search

# Hand-ranked for the query 垃圾清运 (pairs 垃圾 圾清 清运), by the rule of
# docs/http-api.md: every word verbatim in the question; then verbatim in the question
# or the answer; then the share of the pairs found in the question; newest updated;
# id. Score = (2 * in question + in entry + share) / 4.
SEARCH_SET = [
    # id, question, answer, updated
    ("a1", "小区垃圾清运不及时怎么办", "拨打12345。", "2026-01-01"),  # in question
    ("a2", "垃圾清运投诉", "城管处理。", "2026-01-01"),  # in question, same day: after a1 by id
    ("b", "垃圾清运收费标准", "按户收取。", "2026-03-01"),  # in question, newest: first
    ("c", "垃圾分类指南", "垃圾清运时间为每天早上。", "2026-05-01"),  # in answer; 垃圾 in question: 1/3
    ("d", "清运车什么时候来", "每天早上垃圾清运。", "2026-04-01"),  # in answer; 清运: 1/3, older than c
    ("e", "大件家具", "请联系物业垃圾清运。", "2026-06-01"),  # in answer; no pair in question
    ("f", "垃圾清理", "清运车每天来，垃圾，清运。", "2026-02-01"),  # all pairs, never verbatim; 2/3
    ("g", "停水通知", "垃圾 清运", "2026-02-01"),  # no 圾清 pair: no match (but "垃圾 清运" finds it)
    ("h", "供暖时间", "每年11月15日开始供暖。", "2026-02-01"),  # no match
    ("i", "手机APP怎么下载", "在应用商店搜索 Hotline App。", "2026-02-01"),  # ASCII case
]
EXPECTED_ORDER = ["b", "a1", "a2", "c", "d", "e", "f"]
EXPECTED_SCORES = [1.0, 1.0, 1.0, 0.33, 0.33, 0.25, 0.17]


@pytest.fixture
def search_set(binaries, schema, tmp_path):
    lines = [HEADER] + [f"{i},{q},{a},环卫,sanitation,{u}\n" for i, q, a, u in SEARCH_SET]
    r = kb(binaries, schema, "import", write_csv(tmp_path, "set.csv", "".join(lines)))
    assert r.returncode == 0, r.stderr


@pytest.fixture
def api(start_hotlined, binaries, schema):
    daemon = start_hotlined()
    client = Api(daemon, add_user(binaries, schema, new_user("kb"), "agent"))
    yield client
    client.close()


def search(api, q, limit=None, token=None):
    path = "/api/v1/kb?q=" + urllib.parse.quote(q, safe="")
    if limit is not None:
        path += f"&limit={limit}"
    return api.get(path, token=token)


def test_search_ranks_by_the_rule(api, search_set, binaries, schema):
    status, body = search(api, "垃圾清运")
    assert status == 200, body
    assert body["query"] == "垃圾清运"
    assert [e["id"] for e in body["entries"]] == EXPECTED_ORDER
    assert [e["score"] for e in body["entries"]] == EXPECTED_SCORES
    first = body["entries"][0]
    assert first == {
        "id": "b",
        "question": "垃圾清运收费标准",
        "answer": "按户收取。",
        "category": "环卫",
        "department": "sanitation",
        "updated": "2026-03-01",
        "score": 1.0,
    }
    # hotlinectl kb search runs the same statement: the same document
    r = kb(binaries, schema, "search", "--json", "垃圾清运")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == body
    table = kb(binaries, schema, "search", "--limit", "2", "垃圾清运")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "SCORE", "UPDATED"]
    assert [l.split()[0] for l in lines[1::2]] == ["b", "a1"]

    # a page the question matches fill alone, and one they fill in part
    for limit in range(1, 9):
        status, body = search(api, "垃圾清运", limit=limit)
        assert [e["id"] for e in body["entries"]] == EXPECTED_ORDER[:limit], limit


def test_search_words_case_and_one_character(api, search_set):
    # two words: each word's pairs, anywhere; g (垃圾 and 清运 apart) now matches
    status, body = search(api, "垃圾 清运")
    assert status == 200
    ids = [e["id"] for e in body["entries"]]
    assert body["query"] == "垃圾 清运"
    # words in the question: b a1 a2; then in the entry, by the share of the question
    # (c d f: 垃圾 or 清运 of two, e g: none), newest first
    assert ids == ["b", "a1", "a2", "c", "d", "f", "e", "g"]
    assert [e["score"] for e in body["entries"]] == [1.0, 1.0, 1.0, 0.38, 0.38, 0.38, 0.25, 0.25]
    # '+' is a space in a query string, and punctuation separates words like a space
    status, plus = api.get("/api/v1/kb?q=" + urllib.parse.quote("垃圾") + "+" + urllib.parse.quote("清运"))
    assert status == 200 and plus["query"] == "垃圾 清运" and plus["entries"] == body["entries"]
    status, comma = search(api, "垃圾，清运")
    assert [e["id"] for e in comma["entries"]] == ids

    # ASCII letters in either case
    for q in ("app", "APP", "App"):
        status, body = search(api, q)
        assert status == 200 and [e["id"] for e in body["entries"]] == ["i"], (q, body)
        assert body["entries"][0]["score"] == 1.0

    # one character: entries holding it, the question's first
    status, body = search(api, "暖")
    assert [e["id"] for e in body["entries"]] == ["h"]
    # 圾 in the question of c b f a1 a2 (newest first), in the answer of e d g
    status, body = search(api, "圾")
    assert [e["id"] for e in body["entries"]] == ["c", "b", "f", "a1", "a2", "e", "d", "g"]


def test_search_without_match(api, search_set):
    for q in ("燃气泄漏", "zzz", "，。！"):
        status, body = search(api, q)
        assert status == 200, body
        assert body == {"query": q, "entries": []}


def test_search_checks_q_and_limit(api, search_set, binaries, schema):
    for path in (
        "/api/v1/kb",
        "/api/v1/kb?q=",
        "/api/v1/kb?limit=5",
        "/api/v1/kb?q=" + urllib.parse.quote("垃" * 67),  # 201 bytes
        "/api/v1/kb?q=abc&limit=0",
        "/api/v1/kb?q=abc&limit=51",
        "/api/v1/kb?q=abc&limit=x",
        "/api/v1/kb?q=abc&limit=-1",
        "/api/v1/kb?q=a%00b",  # a NUL would cut the query short
        "/api/v1/kb?q=%FF%FE",  # not UTF-8
        "/api/v1/kb?q=%E5%9E",  # a character cut short
        "/api/v1/kb?q=%zz",
    ):
        status, body = api.get(path)
        assert status == 400, (path, body)
        assert error_code(body) == "invalid"
    # the limits themselves are fine: 200 bytes, limit 1 and 50
    status, body = search(api, "垃" * 66 + "ab")
    assert status == 200 and body["entries"] == []
    assert search(api, "垃圾清运", limit=1)[1]["entries"][0]["id"] == "b"
    assert len(search(api, "垃圾清运", limit=50)[1]["entries"]) == 7
    # the same checks in hotlinectl
    assert kb(binaries, schema, "search", "垃" * 67).returncode == 2
    assert kb(binaries, schema, "search", "--limit", "51", "x").returncode == 2


def test_search_needs_a_token(api, search_set, binaries, schema):
    status, body = search(api, "垃圾清运", token="")
    assert status == 401 and error_code(body) == "unauthenticated"
    status, body = search(api, "垃圾清运", token="hl1.1.notavalidtoken")
    assert status == 401
    # supervisors may search too
    supervisor = add_user(binaries, schema, new_user("kbs"), "supervisor")
    status, body = search(api, "垃圾清运", token=supervisor)
    assert status == 200 and [e["id"] for e in body["entries"]] == EXPECTED_ORDER
    # only GET
    status, _, _ = api.raw("POST", "/api/v1/kb", b"{}", {"Content-Type": "application/json", "Authorization": f"Bearer {supervisor}"})
    assert status == 405
