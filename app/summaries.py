"""Summary tables (the fourth mechanism, beside scope, workflow and view mixins).

A hierarchical figure — a national count of applications waiting, a province's hospitals and
quantities, a city's completeness — is a SUM over per-unit rows of a summary table, not a
GROUP BY over the records: a national figure reads O(units) rows.

Each summary is declared once (`Summary(...)`, next to its source model). The database keeps
it: AFTER INSERT / UPDATE / DELETE triggers on the source table add the new row's
contribution and subtract the old one in the same transaction as the change, whatever made
it (the workflow engine's conditional UPDATE, an ORM flush, a Core bulk insert, an import).
The triggers are generated from the declaration for SQLite and PostgreSQL (`install`, run by
the migrations); `rebuild` recomputes a summary from its source and `differences` compares
the two (`flask check-summaries`).

Concurrency (PostgreSQL): the upsert `INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n`
is atomic; a row that moves between two summary rows touches them in key order, so two
opposite moves cannot deadlock on each other; the engine retries a transaction that still
lost a deadlock (a batch touching many units in different orders)."""
from dataclasses import dataclass, field

from sqlalchemy import text

SUMMARIES = []


@dataclass
class Summary:
    """`keys` and `measures` map a summary column to an SQL expression over the source row,
    written with `{r}` for the row (NEW / OLD in a trigger, the table in a rebuild). Keys must
    never be NULL (COALESCE them); measures are integers, summed."""
    table: str
    source: str
    keys: dict
    measures: dict
    watched: tuple = field(default=())

    def __post_init__(self):
        SUMMARIES.append(self)

    # ---- SQL pieces ---------------------------------------------------------------------
    def _exprs(self, exprs, row):
        return [e.format(r=row) for e in exprs.values()]

    def _upsert(self, row, sign):
        keys, measures = list(self.keys), list(self.measures)
        values = self._exprs(self.keys, row) + [f"{sign}({e})" for e in
                                                self._exprs(self.measures, row)]
        updates = ", ".join(f"{m} = {self.table}.{m} + excluded.{m}" for m in measures)
        return (f"INSERT INTO {self.table} ({', '.join(keys + measures)}) "
                f"VALUES ({', '.join(values)}) "
                f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}")

    def _changed(self, dialect):
        op = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
        return " OR ".join(f"OLD.{c} {op} NEW.{c}" for c in self.watched)

    def _name(self, suffix):
        return f"trg_{self.table}_{suffix}"

    # ---- DDL ----------------------------------------------------------------------------
    def drop_statements(self, dialect):
        if dialect == "postgresql":
            return [f"DROP TRIGGER IF EXISTS {self._name(s)} ON {self.source}"
                    for s in ("write", "upd")] + [
                    f"DROP FUNCTION IF EXISTS {self._name('fn')}()"]
        return [f"DROP TRIGGER IF EXISTS {self._name(s)}" for s in ("ins", "del", "upd")]

    def create_statements(self, dialect):
        if dialect == "postgresql":
            keys_old = ", ".join(self._exprs(self.keys, "OLD"))
            keys_new = ", ".join(self._exprs(self.keys, "NEW"))
            body = f"""
CREATE FUNCTION {self._name('fn')}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {self._upsert('NEW', '+')};
  ELSIF TG_OP = 'DELETE' THEN
    {self._upsert('OLD', '-')};
  ELSIF ROW({keys_old}) <= ROW({keys_new}) THEN
    {self._upsert('OLD', '-')};
    {self._upsert('NEW', '+')};
  ELSE
    {self._upsert('NEW', '+')};
    {self._upsert('OLD', '-')};
  END IF;
  RETURN NULL;
END $$"""
            return [body,
                    f"CREATE TRIGGER {self._name('write')} AFTER INSERT OR DELETE ON {self.source} "
                    f"FOR EACH ROW EXECUTE FUNCTION {self._name('fn')}()",
                    f"CREATE TRIGGER {self._name('upd')} AFTER UPDATE OF {', '.join(self.watched)} "
                    f"ON {self.source} FOR EACH ROW WHEN ({self._changed(dialect)}) "
                    f"EXECUTE FUNCTION {self._name('fn')}()"]
        return [f"CREATE TRIGGER {self._name('ins')} AFTER INSERT ON {self.source} FOR EACH ROW "
                f"BEGIN {self._upsert('NEW', '+')}; END",
                f"CREATE TRIGGER {self._name('del')} AFTER DELETE ON {self.source} FOR EACH ROW "
                f"BEGIN {self._upsert('OLD', '-')}; END",
                f"CREATE TRIGGER {self._name('upd')} AFTER UPDATE OF {', '.join(self.watched)} "
                f"ON {self.source} FOR EACH ROW WHEN {self._changed(dialect)} "
                f"BEGIN {self._upsert('OLD', '-')}; {self._upsert('NEW', '+')}; END"]

    # ---- recomputation ------------------------------------------------------------------
    def recount_sql(self):
        keys = self._exprs(self.keys, "r")
        sums = [f"SUM({e})" for e in self._exprs(self.measures, "r")]
        cols = [f"{e} AS {k}" for e, k in zip(keys, self.keys)] + [
            f"{s} AS {m}" for s, m in zip(sums, self.measures)]
        return (f"SELECT {', '.join(cols)} FROM {self.source} r "
                f"GROUP BY {', '.join(keys)}")

    def stored_sql(self):
        return f"SELECT {', '.join(list(self.keys) + list(self.measures))} FROM {self.table}"


def _run(conn, statements):
    for sql in statements:
        conn.execute(text(sql))


def install(conn, summaries=None):
    """(Re)create the triggers of every summary; idempotent (migrations and the bench call it)."""
    dialect = conn.dialect.name
    for s in summaries or SUMMARIES:
        _run(conn, s.drop_statements(dialect))
        _run(conn, s.create_statements(dialect))


def uninstall(conn, summaries=None):
    """Drop the triggers (a bulk load drops them, loads, then `rebuild` + `install`)."""
    for s in summaries or SUMMARIES:
        _run(conn, s.drop_statements(conn.dialect.name))


def rebuild(conn, summaries=None):
    """Recompute every summary from its source (after a bulk load without triggers)."""
    for s in summaries or SUMMARIES:
        conn.execute(text(f"DELETE FROM {s.table}"))
        columns = ", ".join(list(s.keys) + list(s.measures))
        conn.execute(text(f"INSERT INTO {s.table} ({columns}) {s.recount_sql()}"))


def _measures_by_key(conn, sql, n_keys):
    """{key tuple: measure tuple} of a summary's rows, rows whose measures are all zero left
    out (a unit whose records are all gone keeps a row of zeros)."""
    out = {}
    for row in conn.execute(text(sql)):
        values = tuple(int(v or 0) for v in row[n_keys:])
        if any(values):
            out[tuple(row[:n_keys])] = values
    return out


def differences(conn, summaries=None):
    """[(table, key, stored measures, recounted measures)] for every unit whose stored figures
    differ from a recount of the source (rows whose measures are all zero count as absent)."""
    found = []
    for s in summaries or SUMMARIES:
        stored = _measures_by_key(conn, s.stored_sql(), len(s.keys))
        recount = _measures_by_key(conn, s.recount_sql(), len(s.keys))
        zero = (0,) * len(s.measures)
        for key in sorted(set(stored) | set(recount), key=lambda k: tuple(map(str, k))):
            if stored.get(key, zero) != recount.get(key, zero):
                found.append((s.table, key, stored.get(key, zero), recount.get(key, zero)))
    return found
