#!/usr/bin/env python3
"""Helpers for bench/flood.sh (standard library only).

  flood_report.py templates EVENT_JSON OUT_DIR   write the stand-in's persona templates
  flood_report.py check-event FILE               is FILE a fresh event from the stand-in?
  flood_report.py table RESULTS_FILE             print the table; exit 1 if a run is invalid
"""

import json
import sys
import time

# Placeholders nginx's sub_filter replaces in each answer.
EID, VID, TS = "@@EVENT_ID@@", "@@VISITOR_ID@@", "@@TIMESTAMP_MS@@"


def clean(event):
    """The full v4 event with every Smart Signal quiet: a real user on a real browser."""
    event["bot"] = "not_detected"
    event.pop("bot_type", None)
    event["suspect_score"] = 0
    for key in ("root_apps", "emulator", "proxy", "vpn", "incognito", "tampering", "cloned_app",
                "jailbroken", "simulator", "frida", "privacy_settings", "virtual_machine",
                "location_spoofing", "developer_tools", "mitm_attack", "replayed",
                "high_activity_device", "rare_device", "active_call"):
        if key in event:
            event[key] = False
    event.pop("proxy_details", None)
    for key in ("vpn_methods", "ip_blocklist"):
        event[key] = {k: False for k in event.get(key, {})}
    event["tampering_details"] = {"anomaly_score": 0.01, "anti_detect_browser": False}
    for key in ("proxy_ml_score", "vpn_ml_score", "tampering_ml_score", "virtual_machine_ml_score"):
        if key in event:
            event[key] = 0.01
    for family in event.get("ip_info", {}).values():
        if isinstance(family, dict):
            family["datacenter_result"] = False
            family["datacenter_name"] = ""
            family["asn_type"] = "isp"
    event.pop("rule_action", None)
    event["labels"] = []
    velocity = event.get("velocity", {})
    for counts in velocity.values():
        if isinstance(counts, dict):
            for window in counts:
                counts[window] = 1
    return event


def templates(source, out_dir):
    with open(source) as f:
        full = json.load(f)

    def write(name, event, found):
        event = json.loads(json.dumps(event))
        event["event_id"] = EID
        event["identification"]["visitor_id"] = VID
        event["identification"]["visitor_found"] = found
        event["timestamp"] = TS
        text = json.dumps(event, separators=(",", ":")).replace('"%s"' % TS, TS)
        with open("%s/%s.json" % (out_dir, name), "w") as f:
            f.write(text)

    write("bot", full, False)  # bot = bad, and everything else the full event carries
    write("dup", clean(json.loads(json.dumps(full))), True)
    write("new", clean(json.loads(json.dumps(full))), False)


def check_event(path):
    with open(path) as f:
        event = json.load(f)
    age_ms = time.time() * 1000 - event["timestamp"]
    if not -2000 < age_ms < 5000:
        sys.exit("the stand-in's timestamp is %.0f ms old" % age_ms)
    print(event["event_id"], event["identification"]["visitor_id"], event["bot"])


def read_results(path):
    rows = []
    with open(path) as f:
        for line in f:
            fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
            rows.append(fields)
    return rows


def num(row, key):
    return float(row.get(key, 0) or 0)


def valid(row):
    answered = num(row, "answered")
    return answered > 0 and num(row, "expected") >= 0.99 * answered \
        and num(row, "socket_errors") <= 0.01 * answered


def bot_cost_us(bots, users, unloaded):
    """The service's CPU per bot beside the real users, in µs: its CPU outside the hashing
    threads over the flood, less what the users' own requests cost outside their hashes when
    unloaded (the new-devices phase), over the bots' rate. None where a figure is missing."""
    rows = (bots, users, unloaded)
    if any(r is None or not valid(r) for r in rows) or \
            any(k not in r for r in (users, unloaded) for k in ("cpu_svc", "cpu_hash")) or \
            num(unloaded, "rps") <= 0 or num(bots, "rps") <= 0:
        return None
    own = (num(unloaded, "cpu_svc") - num(unloaded, "cpu_hash")) / num(unloaded, "rps")
    outside = num(users, "cpu_svc") - num(users, "cpu_hash") - num(users, "rps") * own
    return outside * 10000 / num(bots, "rps")  # 1 % of a core is 10,000 µs a second


def table(path):
    rows = read_results(path)
    find = lambda **kw: [r for r in rows if all(r.get(k) == v for k, v in kw.items())]
    invalid = []
    warnings = []

    header = ["backend", "phase", "req/s", "p50 ms", "p99 ms", "expected/answered", "codes",
              "vs reference", "/health p99", "RSS MiB", "CPU", "stand-in CPU"]
    out = [header]

    def codes(r):
        parts = ["%s:%s" % (c[1:], r[c]) for c in ("c200", "c403", "c429", "c409", "c503", "cother")
                 if r.get(c, "0") != "0"]
        if r.get("socket_errors", "0") != "0":
            parts.append("sock:%s" % r["socket_errors"])
        return " ".join(parts) or "-"

    def cpu(r, key):
        return "%s%%" % r[key] if key in r else "-"

    def service_cpu(r):
        # The hashing threads' share, where there were hashes to make: what real users got.
        if r.get("cpu_hash", "0") == "0":
            return cpu(r, "cpu_svc")
        return "%s (hashing %s%%)" % (cpu(r, "cpu_svc"), r["cpu_hash"])

    def line(r, phase, versus, health=None, rss="-"):
        ok = valid(r)
        if not ok:
            invalid.append("%s/%s" % (r["backend"], phase))
            versus = "INVALID"
        h = "%.1f ms" % num(health, "p99_ms") if health else "-"
        if health is not None and not valid(health):
            invalid.append("%s/%s /health" % (r["backend"], phase))
            h += " INVALID"
        out.append([r["backend"], phase, "%.0f" % num(r, "rps"), "%.1f" % num(r, "p50_ms"),
                    "%.1f" % num(r, "p99_ms"),
                    "%d/%d%s" % (num(r, "expected"), num(r, "answered"), "" if ok else " !"),
                    codes(r), versus, h, rss, service_cpu(r), cpu(r, "cpu_standin")])

    def around(b, phase, rate_key, checked):
        """A backend's reference runs around one of its phases, by when they ran, and their
        mean rate: 0 where there is none, or where `checked` and one of them failed."""
        runs = {when: find(backend=b, phase=phase, role=when) for when in ("before", "after")}
        both = runs["before"] + runs["after"]
        ok = both and (not checked or all(valid(r) for r in both))
        return runs, (sum(num(r, rate_key) for r in both) / len(both) if ok else 0)

    def relay_line(r):
        line(r, "relay (nginx, 1 GET), %s" % r["role"], "reference")

    def argon_line(r):
        phase = "raw Argon2id, %s threads, %s" % (r.get("threads", "?"), r["role"])
        out.append([r["backend"], phase, "%.1f" % num(r, "hashes_per_s"), "-", "-", "-", "-",
                    "reference", "-", "-", "-", "-"])

    backends = []
    for r in rows:
        if r["backend"] not in backends:
            backends.append(r["backend"])
    for b in backends:
        health = {r["phase"]: r for r in find(backend=b, role="health")}
        mib = lambda r, key: "%.0f" % (num(r, key) / 1024) if key in r else "-"
        relays, relay_rps = around(b, "relay", "rps", checked=True)
        for r in relays["before"]:
            relay_line(r)
        for r in find(backend=b, phase="refusals", role="main"):
            versus = "%.1f %% of relay" % (100 * num(r, "rps") / relay_rps) if relay_rps else "-"
            line(r, "refusals (bot + dup)", versus, health.get("refusals"),
                 "peak " + mib(r, "hwm_kib"))
        for r in relays["after"]:
            relay_line(r)
        argons, argon_rate = around(b, "argon2", "hashes_per_s", checked=False)
        for r in argons["before"]:
            argon_line(r)
        unloaded = None
        for r in find(backend=b, phase="new", role="main"):
            unloaded = r
            versus = "%.1f %% of Argon2id" % (100 * num(r, "rps") / argon_rate) if argon_rate else "-"
            line(r, "new devices", versus, health.get("new"), "peak " + mib(r, "hwm_kib"))
        for r in argons["after"]:
            argon_line(r)
        users = None
        for r in find(backend=b, phase="flood", role="users"):
            users = r
            versus = "-"
            if unloaded and valid(unloaded) and num(unloaded, "rps") > 0:
                versus = "%.1f %% of unloaded, p99 x%.2f" % (
                    100 * num(r, "rps") / num(unloaded, "rps"),
                    num(r, "p99_ms") / max(num(unloaded, "p99_ms"), 0.001))
            line(r, "flood: real users", versus, health.get("flood"), "peak " + mib(r, "hwm_kib"))
        for r in find(backend=b, phase="flood", role="bots"):
            target = num(r, "rate")
            share = 100 * num(r, "rps") / target if target else 0
            line(r, "flood: bots (target %s/s)" % r.get("rate", "?"), "%.0f %% of target" % share)
            cost = bot_cost_us(r, users, unloaded)
            if cost is not None:
                out[-1][header.index("CPU")] = "%.0f µs a bot" % cost
            if share < 90:
                warnings.append(
                    "%s: the bots reached only %.0f/s of %s/s: the service answered too slowly for "
                    "%s connections to carry the rate, so real users faced a lighter flood than "
                    "asked (FLOOD_CONNECTIONS raises the offered load)"
                    % (b, num(r, "rps"), r.get("rate"), r.get("conns", "?")))
        for r in find(backend=b, phase="idle", role="health"):
            out.append([b, "idle", "-", "-", "-", "-", "-", "-",
                        "%.1f ms%s" % (num(r, "p99_ms"), "" if valid(r) else " INVALID"),
                        "idle %s, peak %s" % (mib(r, "rss_kib"), mib(r, "hwm_kib")),
                        cpu(r, "cpu_svc"), "-"])
            if not valid(r):
                invalid.append("%s/idle /health" % b)

    widths = [max(len(str(row[i])) for row in out) for i in range(len(header))]
    fmt = lambda row: "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |"
    print(fmt(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in out[1:]:
        print(fmt(row))
    print()
    print("Each ratio is to the mean of its reference measured just before and just after the "
          "phase. req/s, p50, p99: wrk over the run. expected/answered: answers with the phase's "
          "expected status (refusals 403/429, new devices and users 200, bots 403, relay 200). RSS: VmHWM "
          "(peak since start) after each phase, VmRSS after idling; the larger of two instances "
          "on PostgreSQL. CPU: % of one core over the run, of the "
          "service (every instance together; the relay's nginx on the relay row) and of the "
          "nginx stand-in. A bot's CPU: the service's outside its hashing threads beside the "
          "flood, less the real users' own (as unloaded, in the new-devices phase), over the "
          "bots' rate.")
    for warning in warnings:
        print()
        print("WARNING: " + warning)
    if invalid:
        print()
        print("INVALID: these runs were answered mostly with unexpected codes or socket errors; "
              "their figures measure failures, not signups: " + ", ".join(invalid))
        return 1
    return 0


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "templates":
        templates(sys.argv[2], sys.argv[3])
    elif command == "check-event":
        check_event(sys.argv[2])
    elif command == "table":
        sys.exit(table(sys.argv[2]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
