"""Seeds bench/console.sh's audit trail: copies of the real signups' attempts in a SQLite file,
shaped as a week of traffic or an hour of a refusal flood, into that file or a CSV for psql."""

import csv
import random
import sqlite3
import sys
import time

COLUMNS = ("event_id", "visitor_id", "ip", "username", "verdict", "code", "codes", "signals",
           "policy_hash", "created_at")
FLOOD_IP = "198.51.100.23"
HOUR = 3600 * 1000
WEEK = 7 * 24 * HOUR


def templates(con):
    return con.execute("SELECT event_id, visitor_id, verdict, code, codes, signals, policy_hash "
                       "FROM attempts ORDER BY id").fetchall()


def week(seeds, total, now):
    """Every seed in turn, over the last week, from 5,000 devices and varied addresses."""
    for n in range(total):
        e, v, verdict, code, codes, signals, h = seeds[n % len(seeds)]
        yield (f"{e}-{n}", f"{v}{n % 5000}", f"10.{n % 200}.{n // 200 % 250}.{n % 7}",
               f"bench{n}@example.org", verdict, code, codes, signals, h,
               now - WEEK + n * WEEK // total)


def flood(seeds, total, now):
    """The last hour of a refusal flood: bad bots, devices over their limit, a few users."""
    bot = next(s for s in seeds if s[3] == "bot_detected")
    user = next(s for s in seeds if s[3] == "created")
    rng = random.Random(7)
    for n in range(total):
        r = rng.random()
        if r < 0.002:
            _, _, verdict, code, codes, signals, h = user
            visitor, ip = f"real-{n}", f"10.{n % 200}.{n // 200 % 250}.{n % 7}"
        elif r < 0.6:
            _, _, verdict, code, codes, signals, h = bot
            visitor = f"v-bot-{n}"
            ip = FLOOD_IP if r < 0.55 else f"172.16.{n % 250}.{n // 250 % 250}"
        else:
            verdict, code, codes, signals, h = ("block", "device_limit", '["device_limit"]',
                                                user[5], user[6])
            visitor, ip = f"bench-device-{n % 25}", FLOOD_IP
        yield (f"flood-{n}", visitor, ip, f"u{n}@example.org", verdict, code, codes, signals, h,
               now - HOUR + n * HOUR // total)


def main():
    shape, seed_db, total, target = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    con = sqlite3.connect(seed_db)
    rows = {"week": week, "flood": flood}[shape](templates(con), total, int(time.time() * 1000))
    if target == "sqlite":
        marks = ", ".join("?" * len(COLUMNS))
        con.executemany(f"INSERT INTO attempts ({', '.join(COLUMNS)}) VALUES ({marks})", rows)
        con.commit()
        con.execute("ANALYZE")
        con.commit()
    else:
        with open(sys.argv[5], "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows)


if __name__ == "__main__":
    main()
