"""What a dashboard page costs whatever the machine's load (for bench/dashboard.py): the SQL
statements one request runs, the rows PostgreSQL read for them (each SELECT re-run under
EXPLAIN ANALYZE: rows the scans returned plus the rows their filters removed) and the buffers
they touched, and the page query's plan in full."""

from __future__ import annotations

import json
from contextlib import contextmanager

from sqlalchemy import event

SCANS = ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan")


class Statements:
    """Every statement the engine runs while `recording` (text and parameters)."""

    def __init__(self, engine) -> None:
        self.engine, self.seen, self.on = engine, [], False
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement, parameters, _context, executemany) -> None:
        if self.on:
            self.seen.append((statement, parameters, executemany))

    @contextmanager
    def recording(self):
        self.seen, self.on = [], True
        try:
            yield self.seen
        finally:
            self.on = False


def page_structure(statements: Statements, client, path: str, headers: dict) -> dict:
    """One GET of `path`: its statements, and on PostgreSQL the rows and buffers of its reads."""
    with statements.recording() as seen:
        r = client.get(path, headers=headers)
    assert r.status_code == 200, r.get_data()[:300]
    out: dict = {"statements": len(seen)}
    if statements.engine.dialect.name != "postgresql":
        return out
    reads = [_explained(statements.engine, sql, params) for sql, params, many in seen
             if not many and sql.lstrip().upper().startswith("SELECT")]
    out["rows_read"] = sum(r["rows_read"] for r in reads)
    out["buffers"] = sum(r["buffers"] for r in reads)
    out["per_select"] = reads
    return out


def _explained(engine, sql: str, params) -> dict:
    plan = _plan(engine, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)[0]["Plan"]
    return {"query": " ".join(sql.split())[:90], "rows_read": _rows(plan),
            "buffers": plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0),
            "ms": round(plan["Actual Total Time"], 2)}


def _plan(engine, sql: str, params):
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(sql, params)
        found = cur.fetchone()[0]
        raw.rollback()
        return found if isinstance(found, list) else json.loads(found)
    finally:
        raw.close()


def _rows(node: dict) -> int:
    own = 0
    if node.get("Node Type") in SCANS:
        loops = node.get("Actual Loops", 1)
        own = round((node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
                     + node.get("Rows Removed by Index Recheck", 0)) * loops)
    return own + sum(_rows(child) for child in node.get("Plans", []))


def page_query_plan(rt, club_id: str, offset: int, limit: int) -> list[str]:
    """EXPLAIN ANALYZE (text) of the query that picks a page's members (club_ranking)."""
    from sqlalchemy.dialects import postgresql

    from service.domain import club_ranking

    q = club_ranking.ranked_query(club_id, offset=offset, limit=limit)
    compiled = q.compile(dialect=postgresql.psycopg.dialect())
    raw = rt.db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), compiled.params)
        lines = [row[0] for row in cur.fetchall()]
        raw.rollback()
        return lines
    finally:
        raw.close()
