"""Helpers of bench/attempt_rows.sh: the pgbench script, the PostgreSQL server's CPU ticks and
its round's line, and the SQLite round (the standard library's sqlite3 module is all it
needs)."""

import os
import random
import sqlite3
import sys
import time

COLUMNS = ("event_id, visitor_id, ip, username, verdict, code, codes, signals, policy_hash, "
           "shadow, account_id, created_at, endpoint, decision_id, account_ref, delivery_id")
ROWS = 8


def snapshot(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def pgbench_script():
    """One statement of 8 bot rows, each with a fresh id, device, address and name. The
    snapshot comes from a side table: pgbench would read the colons of JSON as variables."""
    row = ("('ev' || random() || '_{k}', 'v-' || (random() * 1e9)::bigint, "
           "'10.0.' || (random() * 250)::int || '.' || (random() * 250)::int, "
           "'bot' || random(), 'block', 'bot_detected', '[\"bot_detected\"]', "
           "(SELECT body FROM bench_snapshot) || random(), '0123abcd4567', 0, NULL, "
           "(extract(epoch from clock_timestamp()) * 1000)::bigint, 'signup', "
           "'d-' || random(), NULL, NULL)")
    values = ",\n".join(row.format(k=k) for k in range(ROWS))
    print(f"INSERT INTO attempts ({COLUMNS}) VALUES\n{values};")


def server_ticks():
    """CPU ticks of every postgres process, with the reaped backends' in their parent's."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                stat = f.read()
        except OSError:
            continue
        if not stat[stat.index("(") + 1:].startswith("postgres"):
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        total += sum(int(v) for v in fields[11:15])
    print(total)


def postgres_report(round_, rows, wal, ticks_before, ticks_after, indexes):
    """One line for a PostgreSQL round, from what psql and `server-ticks` read around it."""
    rows = int(rows)
    cpu_us = (int(ticks_after) - int(ticks_before)) / os.sysconf("SC_CLK_TCK") * 1e6 / rows
    print(f"round {round_} postgres: {float(wal) / rows:,.0f} WAL bytes a row, server CPU "
          f"{cpu_us:.1f} us a row, indexes {int(indexes) / rows:.0f} bytes a row")


def sqlite_round(schema, transactions, event_path, round_):
    """The same rows, twice, into copies of the migrated file: with `synchronous = FULL`, as
    the service writes, to count the pages the commits wrote; and without syncing, for the CPU
    the statements took (fsync's kernel time would drown a schema's difference)."""
    signals = snapshot(event_path)

    def batches():
        rng = random.Random(round_)
        for t in range(transactions):
            yield [(f"ev{rng.random()}", f"v-{rng.randrange(10**9)}",
                    f"10.0.{rng.randrange(250)}.{rng.randrange(250)}", f"bot{rng.random()}",
                    "block", "bot_detected", '["bot_detected"]', signals + str(rng.random()),
                    "0123abcd4567", 0, None, 1_760_000_000_000 + t, "signup",
                    f"d-{rng.random()}", None, None)
                   for _ in range(ROWS)]

    frames, _ = sqlite_write(schema, "FULL", batches())
    _, cpu = sqlite_write(schema, "OFF", batches())
    rows = transactions * ROWS
    print(f"round {round_} sqlite: {frames / rows:.2f} pages written a row, "
          f"CPU {cpu / rows * 1e6:.1f} us a row")


def sqlite_write(schema, synchronous, batches):
    """Writes the batches into a fresh copy of the schema, a commit each: the WAL's frames and
    the CPU seconds spent in the statements (the rows are made outside the clock)."""
    path = schema + ".round"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    with sqlite3.connect(schema) as source, sqlite3.connect(path) as copy:
        source.backup(copy)
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode = WAL", f"synchronous = {synchronous}",
                   "wal_autocheckpoint = 0"):
        db.execute(f"PRAGMA {pragma}").fetchall()
    marks = "?, " * 15 + "?"
    cpu = 0.0
    for batch in batches:
        start = time.process_time()
        db.execute("BEGIN")
        db.executemany(f"INSERT INTO attempts ({COLUMNS}) VALUES ({marks})", batch)
        db.execute("COMMIT")
        cpu += time.process_time() - start
    _, frames, _ = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    db.close()
    return frames, cpu


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "pgbench-script":
        pgbench_script()
    elif command == "server-ticks":
        server_ticks()
    elif command == "postgres-report":
        postgres_report(*args)
    elif command == "sqlite":
        sqlite_round(args[0], int(args[1]), args[2], int(args[3]))
    else:
        sys.exit(f"unknown command {command}")
