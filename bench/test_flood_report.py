"""Tests of bench/flood_report.py's table: which reference each ratio is taken against.

  python3 -m unittest discover -s bench -p 'test_*.py'   (scripts/test runs it)
"""

import contextlib
import io
import os
import tempfile
import unittest

import flood_report


def run(lines):
    """The table printed for these results lines, and the exit code."""
    with tempfile.NamedTemporaryFile("w", suffix=".results", delete=False) as f:
        f.write("\n".join(lines) + "\n")
    try:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = flood_report.table(f.name)
        return out.getvalue(), code
    finally:
        os.unlink(f.name)


def row(table, phase):
    """The cells of the table's row for this phase."""
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) > 1 and cells[1] == phase:
            return cells
    raise AssertionError("no row %r in:\n%s" % (phase, table))


def wrk(rps, answered=1000, expected=None, socket_errors=0):
    expected = answered if expected is None else expected
    return ("rps=%s p50_ms=1 p99_ms=2 answered=%d expected=%d socket_errors=%d c200=%d"
            % (rps, answered, expected, socket_errors, expected))


VERSUS = 7  # the "vs reference" column


class Ratios(unittest.TestCase):
    def test_refusals_are_a_share_of_the_mean_of_the_relay_runs_around_them(self):
        table, code = run([
            "backend=sqlite phase=relay role=before " + wrk(20000),
            "backend=sqlite phase=refusals role=main " + wrk(5000),
            "backend=sqlite phase=relay role=after " + wrk(30000),
        ])
        self.assertEqual(code, 0)
        # 5,000 of the mean 25,000: not of the run before (25 %) nor after (16.7 %).
        self.assertEqual(row(table, "refusals (bot + dup)")[VERSUS], "20.0 % of relay")
        self.assertEqual(row(table, "relay (nginx, 1 GET), before")[2], "20000")
        self.assertEqual(row(table, "relay (nginx, 1 GET), after")[2], "30000")

    def test_new_devices_are_a_share_of_the_mean_argon2id_rate_around_them(self):
        table, _ = run([
            "backend=postgres phase=argon2 role=before threads=2 hashes_per_s=120.0",
            "backend=postgres phase=new role=main " + wrk(90),
            "backend=postgres phase=argon2 role=after threads=2 hashes_per_s=80.0",
        ])
        self.assertEqual(row(table, "new devices")[VERSUS], "90.0 % of Argon2id")
        self.assertEqual(row(table, "raw Argon2id, 2 threads, after")[2], "80.0")

    def test_each_backend_is_compared_with_its_own_references(self):
        table, _ = run([
            "backend=sqlite phase=relay role=before " + wrk(10000),
            "backend=sqlite phase=refusals role=main " + wrk(2000),
            "backend=sqlite phase=relay role=after " + wrk(10000),
            "backend=postgres phase=relay role=before " + wrk(40000),
            "backend=postgres phase=refusals role=main " + wrk(2000),
            "backend=postgres phase=relay role=after " + wrk(40000),
        ])
        ratios = [line for line in table.splitlines() if "% of relay" in line]
        self.assertEqual(len(ratios), 2)
        self.assertIn("20.0 % of relay", ratios[0])
        self.assertIn("5.0 % of relay", ratios[1])

    def test_a_failed_relay_run_leaves_the_ratio_uncomputed_and_the_run_invalid(self):
        table, code = run([
            "backend=sqlite phase=relay role=before " + wrk(20000),
            "backend=sqlite phase=refusals role=main " + wrk(5000),
            "backend=sqlite phase=relay role=after " + wrk(30000, expected=100),
        ])
        self.assertEqual(code, 1)
        self.assertEqual(row(table, "refusals (bot + dup)")[VERSUS], "-")
        self.assertIn("INVALID", table)

    def test_one_reference_run_is_its_own_mean(self):
        table, _ = run([
            "backend=sqlite phase=relay role=before " + wrk(25000),
            "backend=sqlite phase=refusals role=main " + wrk(5000),
        ])
        self.assertEqual(row(table, "refusals (bot + dup)")[VERSUS], "20.0 % of relay")


CPU = 10  # the service's CPU column


class BotCost(unittest.TestCase):
    def flood(self, users_cpu="cpu_svc=170 cpu_hash=120"):
        return run([
            "backend=sqlite phase=new role=main cpu_svc=190 cpu_hash=170 " + wrk(50),
            "backend=sqlite phase=flood role=users %s %s" % (users_cpu, wrk(25)),
            "backend=sqlite phase=flood role=bots rate=1000 conns=50 " + wrk(1000, answered=10000),
        ])

    def test_a_bot_costs_the_cpu_outside_the_hashes_less_the_users_own(self):
        table, code = self.flood()
        self.assertEqual(code, 0)
        # Unloaded, a user costs (190 - 170) / 50 = 0.4 % of a core outside its hash. Beside
        # the flood the service had 170 - 120 = 50 % outside the hashes, 25 x 0.4 = 10 of it
        # the users': 40 % of a core, 400,000 µs a second, over 1,000 bots.
        self.assertEqual(row(table, "flood: bots (target 1000/s)")[CPU], "400 µs a bot")
        self.assertEqual(row(table, "flood: real users")[CPU], "170% (hashing 120%)")

    def test_without_the_threads_cpu_there_is_no_bot_cost(self):
        table, _ = self.flood(users_cpu="cpu_svc=170")
        self.assertEqual(row(table, "flood: bots (target 1000/s)")[CPU], "-")


if __name__ == "__main__":
    unittest.main()
