"""The ground's record: SQLite in WAL mode, written as data arrives, committed at least every second.

Tables: rx (every raw chunk, tick and operator ack in arrival order: the input of replay), decisions,
link_events, node_configs, policies, meta, replay_guard (the last accepted (epoch, counter) of every
signed stream, so a frame accepted once is refused after a restart too), refused (frames refused as
someone else's, per link, node and kind), and two queues other processes write while a monitor runs
(acks from `safehaven ack`, commands from `safehaven send`), lease (the one monitor recording). rx also
marks each monitor start (kind 'start', with the latched state it kept), so replay restarts where the
live station did. A kill -9 loses at most the last second. Files are 0600; a file that is not a safehaven
record (application_id, or a record from before it) is refused before anything is written to it.
"""
from __future__ import annotations

import itertools
import json
import os
import re
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS policies (hash TEXT PRIMARY KEY, name TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rx (id INTEGER PRIMARY KEY, t REAL NOT NULL, link TEXT NOT NULL,
    kind TEXT NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (id INTEGER PRIMARY KEY, t REAL NOT NULL, event TEXT NOT NULL,
    state TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS link_events (id INTEGER PRIMARY KEY, t REAL NOT NULL, link TEXT NOT NULL,
    event TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS node_configs (id INTEGER PRIMARY KEY, t REAL NOT NULL, node_id INTEGER NOT NULL,
    json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS acks (id INTEGER PRIMARY KEY, queued_wall REAL NOT NULL, who TEXT NOT NULL,
    sheltered INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'pending', message TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS depress (id INTEGER PRIMARY KEY, queued_wall REAL NOT NULL, who TEXT NOT NULL,
    zone TEXT NOT NULL, for_s REAL NOT NULL, max_rate_pa_s REAL, status TEXT NOT NULL DEFAULT 'pending',
    message TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS lease (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL,
    host TEXT NOT NULL, started_wall REAL NOT NULL, beat_wall REAL NOT NULL);
CREATE TABLE IF NOT EXISTS replay_guard (stream INTEGER PRIMARY KEY, epoch INTEGER NOT NULL,
    counter INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS refused (link TEXT NOT NULL, node_id INTEGER NOT NULL, kind TEXT NOT NULL,
    count INTEGER NOT NULL, last_t REAL NOT NULL, PRIMARY KEY (link, node_id, kind));
CREATE TABLE IF NOT EXISTS commands (id INTEGER PRIMARY KEY, queued_wall REAL NOT NULL, node_id INTEGER NOT NULL,
    command INTEGER NOT NULL, param INTEGER NOT NULL, value INTEGER NOT NULL, request_id INTEGER,
    status TEXT NOT NULL DEFAULT 'queued', result_value INTEGER, t_done REAL, message TEXT NOT NULL DEFAULT '');
"""

COMMIT_EVERY_S = 1.0
MAX_BUFFERED = 1_000_000      # rows held in memory while the DB cannot be written (then: stop, exit 3)
APPLICATION_ID = 0x53414648   # "SAFH" in the SQLite header: this file is a safehaven record
MONITOR_BUSY_S = 0.25         # the monitor's wait for the write lock before it retries later
LEASE_S = 5.0                 # a monitor that has not written for this long is presumed gone
TABLES = frozenset(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", SCHEMA))


class StoreError(RuntimeError):
    pass


def explain(exc: sqlite3.Error, path: str) -> StoreError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreError(f"{path}: database is locked by another writer; wait and retry, "
                          "or stop the other process")
    if "unable to open" in text:
        return StoreError(f"{path}: cannot open the database (check the directory exists and is writable)")
    if "full" in text:
        return StoreError(f"{path}: disk full: nothing more can be recorded; free space (the data since "
                          "the last write is held in memory meanwhile)")
    if "readonly" in text or "read-only" in text:
        return StoreError(f"{path}: the database is read-only (file or directory permissions)")
    if "not a database" in text or "malformed" in text:
        return StoreError(f"{path}: not a safehaven database (or damaged)")
    return StoreError(f"{path}: {text}")


def check_ours(db: sqlite3.Connection, path: str) -> None:
    """Refuse an SQLite file that is not a safehaven record (reading only, so it is never modified).
    Ours: our application_id; or no tables yet (a new file); or a record written before the id was set
    (only our tables, rx and meta among them)."""
    app_id = db.execute("PRAGMA application_id").fetchone()[0]
    if app_id == APPLICATION_ID:
        return
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if app_id == 0 and (not tables or ({"rx", "meta"} <= tables <= TABLES)):
        return
    found = ", ".join(sorted(tables)[:6]) or "none"
    raise StoreError(f"{path}: not a safehaven database (application id {app_id:#x}, tables: {found}); "
                     "refusing to touch it; give another --db")


def _check_file(path: str, readonly: bool) -> None:
    """Before SQLite sees it: a directory, or a non-empty file without the SQLite header (SQLite would
    take a short one for an empty database and write into it), is not ours; nothing to read in an empty one."""
    p = Path(path)
    if p.is_dir():
        raise StoreError(f"{path}: a directory, not a database file")
    try:
        with open(p, "rb") as f:
            head = f.read(16)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if head and head != b"SQLite format 3\x00":
        raise StoreError(f"{path}: not a safehaven database (not SQLite at all); refusing to touch it")
    if readonly and not head:
        raise StoreError(f"{path}: empty: no monitor has recorded to it yet")


def _create_private(path: str) -> None:
    """A new database file is created 0600 (it holds every captured frame); SQLite gives its -wal and
    -shm files the same mode."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    except FileExistsError:
        pass


def _make_private(path: str) -> None:
    """Existing files written before this rule: tighten to 0600 when we own them."""
    for name in (path, path + "-wal", path + "-shm"):
        try:
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)
        except OSError:
            pass


class Store:
    def __init__(self, path: str | Path, readonly: bool = False, busy_timeout_s: float = 5.0) -> None:
        self.path = str(path)
        self.readonly = readonly
        _check_file(self.path, readonly)
        try:
            if readonly:
                if not Path(self.path).exists():
                    raise StoreError(f"{self.path}: no such database")
                uri = f"file:{Path(self.path).resolve()}?mode=ro"
                self.db = sqlite3.connect(uri, uri=True, timeout=busy_timeout_s, isolation_level=None)
                check_ours(self.db, self.path)
            else:
                _create_private(self.path)
                self.db = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None)
                check_ours(self.db, self.path)  # before anything is written: a foreign file stays untouched
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.executescript(f"BEGIN IMMEDIATE; {SCHEMA}; PRAGMA application_id = {APPLICATION_ID}; "
                                      "COMMIT;")
                _make_private(self.path)
            self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise explain(exc, self.path) from None
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot create the database: {exc.strerror or exc} (check the "
                             "directory exists and is writable)") from None
        self._buf: list[tuple[str, tuple]] = []
        self._last_commit = time.monotonic()
        self.lease: tuple[int, str] | None = None   # (pid, host) while this process is the monitor
        self._lease_was_held = False
        self.fault: str | None = None                # why the last flush failed (None: all written)

    # --- writing (the monitor) ---------------------------------------------------------------
    # Writes are buffered and flushed in one short transaction at least every second: the write lock
    # is held for milliseconds, so `ack` and `send` in other processes get in between.
    def _exec(self, sql: str, args: tuple = ()) -> None:
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only")
        self._buf.append((sql, args))

    def record_chunk(self, link: str, t: float, data: bytes) -> None:
        self._exec("INSERT INTO rx (t, link, kind, data) VALUES (?, ?, 'data', ?)", (t, link, bytes(data)))

    def record_tick(self, t: float) -> None:
        """A time-driven evaluation that produced decisions (replay needs it to reproduce them)."""
        self._exec("INSERT INTO rx (t, link, kind, data) VALUES (?, '', 'tick', x'')", (t,))

    def record_ack(self, t: float, who: str, sheltered: bool) -> None:
        data = json.dumps({"who": who, "sheltered": bool(sheltered)}, sort_keys=True).encode()
        self._exec("INSERT INTO rx (t, link, kind, data) VALUES (?, '', 'ack', ?)", (t, data))

    def record_depress(self, t: float, who: str, zone: str, for_s: float, max_rate_pa_s: float | None) -> None:
        """An operator's announced depress as the engine took it (replay applies it at t)."""
        data = json.dumps({"who": who, "zone": zone, "for_s": for_s, "max_rate_pa_s": max_rate_pa_s},
                          sort_keys=True).encode()
        self._exec("INSERT INTO rx (t, link, kind, data) VALUES (?, '', 'depress', ?)", (t, data))

    def record_decision(self, decision: Any) -> None:
        self._exec("INSERT INTO decisions (t, event, state, json) VALUES (?, ?, ?, ?)",
                   (decision.time, decision.event, decision.state, decision.to_json()))

    def record_link_event(self, t: float, link: str, event: str, detail: str = "") -> None:
        self._exec("INSERT INTO link_events (t, link, event, detail) VALUES (?, ?, ?, ?)", (t, link, event, detail))

    def record_node_config(self, t: float, node_id: int, config: dict) -> None:
        self._exec("INSERT INTO node_configs (t, node_id, json) VALUES (?, ?, ?)",
                   (t, node_id, json.dumps(config, sort_keys=True, default=str)))

    def record_policy(self, policy: Any) -> None:
        self._exec("INSERT OR IGNORE INTO policies (hash, name, json) VALUES (?, ?, ?)",
                   (policy.hash, policy.name, policy.canonical))
        self.set_meta("policy", policy.hash)

    def set_meta(self, key: str, value: Any) -> None:
        self._exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value, sort_keys=True)))

    def commit(self) -> None:
        """Flush every buffered write in one transaction (raises StoreError if the DB stays locked).
        A monitor also renews its lease here: its last-write time is what `status` shows."""
        if self._buf or self.lease is not None:
            try:
                self.db.execute("BEGIN IMMEDIATE")
                self._renew_lease()
                for sql, group in itertools.groupby(self._buf, key=lambda item: item[0]):
                    self.db.executemany(sql, [args for _, args in group])
                self.db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise explain(exc, self.path) from None
            self._buf.clear()
        self._last_commit = time.monotonic()

    @property
    def held(self) -> int:
        """Records buffered, not yet written (what a crash would lose now)."""
        return len(self._buf)

    def _renew_lease(self) -> None:
        if self.lease is None:
            return
        cur = self.db.execute("UPDATE lease SET beat_wall = ? WHERE id = 1 AND pid = ? AND host = ?",
                              (time.time(), *self.lease))
        if cur.rowcount == 0:
            self.db.execute("ROLLBACK")
            self.lease = None
            raise StoreError(f"{self.path}: another monitor took this database over while this one could not "
                             "write; stopping (two monitors on one database lose commands)")

    def maybe_commit(self) -> None:
        """Flush if the last flush is a second old: bounds what a kill -9 can lose. A DB locked by
        someone else, or a full disk, is retried every half second (the data stays buffered) and shown
        in `fault` at once, for the station to report; a lost lease is fatal."""
        if time.monotonic() - self._last_commit >= COMMIT_EVERY_S:
            try:
                self.commit()
            except StoreError as exc:
                if self.lease is None and self._lease_was_held or len(self._buf) > MAX_BUFFERED:
                    raise
                self.fault = str(exc)
                self._last_commit = time.monotonic() - COMMIT_EVERY_S / 2
                return
            self.fault = None

    def close(self) -> None:
        try:
            self.commit()
            self.release_lease()
        finally:
            self.db.close()

    # --- one monitor per database --------------------------------------------------------------
    def acquire_lease(self) -> None:
        """Become the database's one monitor, or StoreError naming the one that is (pid, host, age)."""
        me = (os.getpid(), socket.gethostname())
        now = time.time()
        try:
            self.db.execute("BEGIN IMMEDIATE")
            row = _lease_row(self.db.execute("SELECT pid, host, started_wall, beat_wall FROM lease WHERE id = 1")
                             .fetchone())  # a damaged lease counts as none: it is overwritten
            if row is not None and (row[0], row[1]) != me and _lease_alive(row[0], row[1], now - row[3]):
                raise StoreError(f"{self.path}: another monitor (pid {row[0]} on {row[1]}) is recording to this "
                                 f"database (last write {max(0.0, now - row[3]):.1f} s ago); stop it first, or give "
                                 "another --db")
            self.db.execute("INSERT OR REPLACE INTO lease (id, pid, host, started_wall, beat_wall) "
                            "VALUES (1, ?, ?, ?, ?)", (me[0], me[1], now, now))
            self.db.execute("COMMIT")
        except BaseException as exc:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise explain(exc, self.path) from None
            raise
        self.lease = me
        self._lease_was_held = True
        # A writer elsewhere (ack, send, a stray sqlite3 shell) may hold the lock: wait briefly, keep
        # reading the links, retry; never stall the loop for the default 5 s.
        self.db.execute(f"PRAGMA busy_timeout = {int(MONITOR_BUSY_S * 1000)}")

    def latched_state(self) -> dict | None:
        """The state the last recorded transition left, with its time and reasons, if it latches
        (ISOLATE, SHELTER, SHELTERED): what a restarted monitor must keep."""
        rows = self._query("SELECT json FROM decisions WHERE event IN ('state', 'ack') ORDER BY id DESC LIMIT 1")
        if not rows:
            return None
        try:
            d = self.loads(rows[0][0], "the last transition", dict)
            state, since, reasons = str(d["state"]), float(d["t"]), [str(r) for r in d["reasons"]]
        except (ValueError, KeyError, TypeError):
            raise StoreError(f"{self.path}: the last recorded decision is damaged; cannot tell the latched "
                             "state (inspect it with `safehaven status`)") from None
        if state not in ("ISOLATE", "SHELTER", "SHELTERED"):
            return None
        return {"state": state, "since": since, "reasons": reasons}

    def release_lease(self) -> None:
        if self.lease is not None:
            self._now_tx("DELETE FROM lease WHERE id = 1 AND pid = ? AND host = ?", self.lease)
            self.lease = None

    def lease_info(self) -> dict:
        """For `status`: is a monitor recording, and how old is its last write."""
        now = time.time()
        has = self._query("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'lease'")[0][0]
        rows = self._query("SELECT pid, host, started_wall, beat_wall FROM lease WHERE id = 1") if has else []
        row = _lease_row(rows[0]) if rows else None
        last = self._query("SELECT max(t) FROM rx WHERE typeof(t) IN ('real', 'integer')")[0][0]
        if row is None:
            return {"monitor": "none", "last_write_age_s": None if last is None else now - last}
        pid, host, started, beat = row
        alive = _lease_alive(pid, host, now - beat)
        return {"monitor": "alive" if alive else "not responding", "pid": pid, "host": host,
                "started": started, "last_write_age_s": now - beat}

    def record_start(self, t: float, info: dict) -> None:
        """A monitor (re)start: replay starts a fresh engine here, as the live station did (restoring
        the latched state in `info`, if any)."""
        data = json.dumps(info, sort_keys=True).encode()
        self._exec("INSERT INTO rx (t, link, kind, data) VALUES (?, '', 'start', ?)", (t, data))

    # --- queues written by other processes ----------------------------------------------------
    def _now_tx(self, sql: str, args: tuple) -> int:
        """One statement in its own transaction, now (queues: seen by the other process at once)."""
        try:
            cur = self.db.execute(sql, args)
        except sqlite3.Error as exc:
            raise explain(exc, self.path) from None
        return int(cur.lastrowid or 0)

    def queue_ack(self, who: str, sheltered: bool = False) -> int:
        return self._now_tx("INSERT INTO acks (queued_wall, who, sheltered) VALUES (?, ?, ?)",
                            (time.time(), who, int(sheltered)))

    def pending_acks(self) -> list[tuple[int, str, bool]]:
        rows = self._query("SELECT id, who, sheltered FROM acks WHERE status = 'pending' ORDER BY id")
        return [(r[0], r[1], bool(r[2])) for r in rows]

    def finish_ack(self, ack_id: int, status: str, message: str) -> None:
        self._now_tx("UPDATE acks SET status = ?, message = ? WHERE id = ?", (status, message, ack_id))

    def ack_row(self, ack_id: int) -> tuple | None:
        rows = self._query("SELECT status, message FROM acks WHERE id = ?", (ack_id,))
        return rows[0] if rows else None

    def queue_depress(self, who: str, zone: str, for_s: float, max_rate_pa_s: float | None) -> int:
        return self._now_tx("INSERT INTO depress (queued_wall, who, zone, for_s, max_rate_pa_s) VALUES (?, ?, ?, ?, ?)",
                            (time.time(), who, zone, float(for_s), max_rate_pa_s))

    def pending_depress(self) -> list[tuple]:
        return self._query("SELECT id, who, zone, for_s, max_rate_pa_s FROM depress WHERE status = 'pending' "
                           "ORDER BY id")

    def finish_depress(self, row_id: int, status: str, message: str) -> None:
        self._now_tx("UPDATE depress SET status = ?, message = ? WHERE id = ?", (status, message, row_id))

    def depress_row(self, row_id: int) -> tuple | None:
        rows = self._query("SELECT status, message FROM depress WHERE id = ?", (row_id,))
        return rows[0] if rows else None

    def answer(self, table: str, row_id: int, timeout_s: float, poll_s: float = 0.05) -> tuple | None:
        """Wait for the monitor's answer to an operator's queued row (acks, depress): (status, message) once
        it is no longer pending; None when no monitor took it within timeout_s, and the row is then marked
        abandoned (a monitor that starts later does not act on a stale request)."""
        row_of = {"acks": self.ack_row, "depress": self.depress_row}[table]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            row = row_of(row_id)
            if row and row[0] != "pending":
                return row
            time.sleep(poll_s)
        self._now_tx(f"UPDATE {table} SET status = 'abandoned' WHERE id = ? AND status = 'pending'", (row_id,))
        return None

    def queue_command(self, node_id: int, command: int, param: int, value: int) -> int:
        return self._now_tx("INSERT INTO commands (queued_wall, node_id, command, param, value) VALUES (?, ?, ?, ?, ?)",
                            (time.time(), node_id, command, param, value))

    def expire_commands(self, max_age_s: float) -> None:
        """Commands queued longer ago than any `send` waits (an interrupted one, a monitor that was down)
        are never sent late: a stale reboot or set_param must not surprise anyone."""
        self._now_tx("UPDATE commands SET status = 'expired', message = 'queued too long ago; not sent' "
                     "WHERE status = 'queued' AND queued_wall < ?", (time.time() - max_age_s,))

    def queued_commands(self) -> list[tuple[int, int, int, int, int]]:
        return self._query("SELECT id, node_id, command, param, value FROM commands WHERE status = 'queued' ORDER BY id")

    def update_command(self, cmd_id: int, status: str, request_id: int | None = None,
                       result_value: int | None = None, t_done: float | None = None, message: str = "") -> None:
        self._now_tx("UPDATE commands SET status = ?, request_id = coalesce(?, request_id), result_value = ?, "
                   "t_done = ?, message = ? WHERE id = ?", (status, request_id, result_value, t_done, message, cmd_id))

    def command_row(self, cmd_id: int) -> dict | None:
        rows = self._query("SELECT id, node_id, command, param, value, request_id, status, result_value, message "
                           "FROM commands WHERE id = ?", (cmd_id,))
        if not rows:
            return None
        keys = ("id", "node_id", "command", "param", "value", "request_id", "status", "result_value", "message")
        return dict(zip(keys, rows[0]))

    # --- reading (replay, status, export) -----------------------------------------------------
    # A damaged record (a hand edit, a foreign tool, a disk error) is a StoreError naming it, never a
    # traceback from deep inside replay, status or export.
    def loads(self, text: Any, what: str, kind: type | None = None) -> Any:
        try:
            value = json.loads(text)
        except (TypeError, ValueError, RecursionError):
            raise StoreError(f"{self.path}: damaged record: {what} is not valid JSON") from None
        if kind is not None and not isinstance(value, kind):
            raise StoreError(f"{self.path}: damaged record: {what} is not a JSON {kind.__name__}")
        return value

    def _rx_row(self, row: tuple) -> tuple[int, float, str, str, bytes]:
        rid, t, link, kind, data = row
        if isinstance(t, int) and not isinstance(t, bool):
            t = float(t)
        if not isinstance(t, float) or t - t != 0 or not isinstance(link, str) or not isinstance(kind, str) \
                or not isinstance(data, bytes):
            raise StoreError(f"{self.path}: damaged record: rx row {rid} (t={t!r}, link={link!r}, kind={kind!r}, "
                             f"data of type {type(data).__name__})")
        return rid, t, link, kind, data

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise explain(exc, self.path) from None

    def meta(self, key: str, default: Any = None) -> Any:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return self.loads(rows[0][0], f"meta {key!r}") if rows else default

    def policy_json(self, policy_hash: str | None = None) -> str | None:
        policy_hash = policy_hash or self.meta("policy")
        rows = self._query("SELECT json FROM policies WHERE hash = ?", (policy_hash,))
        return rows[0][0] if rows else None

    def iter_rx(self, batch: int = 5000) -> Iterator[tuple[int, float, str, str, bytes]]:
        last = 0
        while True:
            rows = self._query("SELECT id, t, link, kind, data FROM rx WHERE id > ? ORDER BY id LIMIT ?", (last, batch))
            if not rows:
                return
            for row in rows:
                yield self._rx_row(row)
            last = rows[-1][0]

    def decisions(self) -> list[str]:
        return [r[0] for r in self._query("SELECT json FROM decisions ORDER BY id")]

    def last_decision(self) -> dict | None:
        rows = self._query("SELECT json FROM decisions WHERE event NOT IN ('ack_rejected', 'link_integrity') "
                           "ORDER BY id DESC LIMIT 1")
        return self.loads(rows[0][0], "the last decision", dict) if rows else None

    def link_events(self) -> list[tuple[float, str, str, str]]:
        return self._query("SELECT t, link, event, detail FROM link_events ORDER BY id")

    def count(self, table: str) -> int:
        if table not in ("rx", "decisions", "link_events", "node_configs", "acks", "commands", "depress"):
            raise ValueError(table)
        return int(self._query(f"SELECT count(*) FROM {table}")[0][0])

    def latest_node_configs(self) -> dict[int, dict]:
        rows = self._query("SELECT node_id, json FROM node_configs WHERE id IN "
                           "(SELECT max(id) FROM node_configs GROUP BY node_id) ORDER BY node_id")
        return {int(r[0]): self.loads(r[1], f"node {r[0]}'s config", dict) for r in rows}

    # --- authentication state (the replay guard survives restarts) and refused frames --------------
    def record_replay_guard(self, stream: int, epoch: int, counter: int) -> None:
        """Buffered like rx, so the guard and the frames it accepted are committed together."""
        self._exec("INSERT OR REPLACE INTO replay_guard (stream, epoch, counter) VALUES (?, ?, ?)",
                   (stream, epoch, counter))

    def _has(self, table: str) -> bool:
        return bool(self._query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)))

    def replay_guard(self) -> list[tuple[int, int, int]]:
        """[(stream, epoch, counter)] last accepted, to restore a monitor's ReplayGuard."""
        if not self._has("replay_guard"):
            return []
        return self._query("SELECT stream, epoch, counter FROM replay_guard ORDER BY stream")

    def record_refused(self, t: float, link: str, node_id: int, kind: str, count: int) -> None:
        self._exec("INSERT INTO refused (link, node_id, kind, count, last_t) VALUES (?, ?, ?, ?, ?) "
                   "ON CONFLICT (link, node_id, kind) DO UPDATE SET count = count + excluded.count, "
                   "last_t = excluded.last_t", (link, node_id, kind, count, t))

    def refused(self) -> list[tuple[str, int, str, int, float]]:
        """[(link, node_id, kind, count, last_t)]: frames refused (auth_failures, unknown_nodes, replays)."""
        if not self._has("refused"):
            return []
        return self._query("SELECT link, node_id, kind, count, last_t FROM refused ORDER BY link, node_id, kind")

    def last_integrity_decision(self) -> dict | None:
        """The last link_integrity decision (a burst of refused frames), or None."""
        rows = self._query("SELECT json FROM decisions WHERE event = 'link_integrity' ORDER BY id DESC LIMIT 1")
        return self.loads(rows[0][0], "the last link_integrity decision", dict) if rows else None

def _lease_row(row: tuple | None) -> tuple | None:
    """(pid, host, started, beat) if the lease row is well formed, else None."""
    if row is None:
        return None
    pid, host, started, beat = row
    ok = isinstance(pid, int) and isinstance(host, str) and all(
        isinstance(x, (int, float)) and x - x == 0 for x in (started, beat))
    return (pid, host, float(started), float(beat)) if ok else None


def _lease_alive(pid: int, host: str, age_s: float) -> bool:
    """A lease holder counts as alive while it writes; on this host, a dead pid frees it at once."""
    if age_s > LEASE_S:
        return False
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True
