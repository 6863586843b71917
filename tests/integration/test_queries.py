"""Every statement in queries/ against the real schema: each is prepared by PostgreSQL
and described, and its parameters and result columns must be the ones its header
declares (queries/embed.py turns those declarations into the C enums the daemon
reads results by). A column added in the wrong place, a parameter renumbered, a
type changed by a migration: this test fails, not production.
"""

import importlib.util
import re
from pathlib import Path

import psycopg
import pytest

REPO = Path(__file__).resolve().parents[2]
QUERIES = REPO / "queries"


def embed_module():
    spec = importlib.util.spec_from_file_location("embed", QUERIES / "embed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# BEGIN and COMMIT (hotlinectl's migration transaction) and LOCK (hotline-stats
# rebuild's) cannot be prepared and declare nothing; every other statement is checked.
TRANSACTION_CONTROL = {
    "migrate_begin": "BEGIN",
    "migrate_commit": "COMMIT",
    "stats_rebuild_lock": "LOCK TABLE stats_daily, stats_intake_daily IN EXCLUSIVE MODE",
}
SQL_FILES = sorted(p for p in QUERIES.glob("*.sql") if p.stem not in TRANSACTION_CONTROL)


def test_transaction_control_statements_are_just_that():
    for stem, word in TRANSACTION_CONTROL.items():
        body = [l for l in (QUERIES / f"{stem}.sql").read_text().splitlines() if not l.startswith("--")]
        assert [l.strip() for l in body if l.strip()] == [word]


@pytest.mark.parametrize("path", SQL_FILES, ids=[p.stem for p in SQL_FILES])
def test_statement_matches_its_declaration(schema, path):
    embed = embed_module()
    text = path.read_text(encoding="utf-8")
    params, columns = embed.parse_sql(str(path), text)
    with psycopg.connect(schema, autocommit=True) as conn:
        pgconn = conn.pgconn
        name = f"check_{path.stem}".encode()
        res = pgconn.prepare(name, text.encode(), None)
        assert res.status == psycopg.pq.ExecStatus.COMMAND_OK, res.error_message.decode()
        desc = pgconn.describe_prepared(name)
        assert desc.status == psycopg.pq.ExecStatus.COMMAND_OK
        assert desc.nparams == len(params), (path.stem, desc.nparams, params)
        got = [desc.fname(i).decode() for i in range(desc.nfields)]
        assert got == columns, f"{path.name}: columns {got}, declared {columns}"


def test_no_sql_or_lua_left_in_c_files():
    """The C code names statements and scripts; it never spells them."""
    pattern = re.compile(r'"\s*(SELECT|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM|WITH [a-z_]+ AS|'
                         r"redis\.call|local [a-z_]+ = )", re.I)
    offenders = []
    for path in list((REPO / "daemon").glob("*.c")) + list((REPO / "tools").glob("*.c")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert offenders == []


def test_generator_refuses_a_bad_declaration(tmp_path):
    embed = embed_module()
    bad = tmp_path / "bad.sql"
    for text, why in (
        ("-- bad: x\n--\n-- $1 a  int\nSELECT $1, $2\n", "undeclared"),
        ("-- bad: x\n--\n-- $1 a  int\n-- $2 b  int\nSELECT $1\n", "unused"),
        ("-- bad: x\n--\n-- $2 a  int\nSELECT $2\n", "out of order"),
    ):
        bad.write_text(text)
        with pytest.raises(SystemExit) as exc:
            embed.parse_sql(str(bad), text)
        assert why in str(exc.value)


def test_for_line_decides_what_hotlined_prepares(tmp_path):
    """`-- for:` names the programs that run a statement: hotlined prepares those that
    name it, or have no such line; the statistics are shared with hotline-stats
    (GET /api/v1/stats/*), the tools' own are not prepared."""
    embed = embed_module()
    daemon = {}
    for path in QUERIES.glob("*.sql"):
        programs = embed.run_by(str(path), path.read_text(encoding="utf-8"))
        daemon[path.stem] = programs is None or "hotlined" in programs
    for stem in ("stats_live", "stats_live_intake", "stats_report", "stats_stock", "desk_list"):
        assert daemon[stem], stem
    for stem in ("stats_check", "stats_report_audit", "stats_rebuild_insert", "user_add", "migrate_table"):
        assert not daemon[stem], stem
    bad = tmp_path / "bad.sql"
    bad.write_text("-- bad: x\n-- for: hotline-stats, hotlinedd\nSELECT 1\n")
    with pytest.raises(SystemExit) as exc:
        embed.run_by(str(bad), bad.read_text())
    assert "hotlinedd" in str(exc.value)
