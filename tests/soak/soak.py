#!/usr/bin/python3
"""soak.py - load generator and analysis for the F13 soak (f13_sustained_load.sh).

Run with Debian's /usr/bin/python3; standard library only.

    soak.py load   --host H:P --ca CA --duration S --out REQUESTS.tsv --maildir DIR
                   --client-id ID --client-secret S --m2m-id ID --m2m-secret S
                   --audience URL --password PW --users FILE [--rate-* R] [--threads-* N]
    soak.py report --requests REQUESTS.tsv --samples SAMPLES.tsv --verdict OUT.json
                   [--warmup-fraction F] [--rss-floor-kib K] [--rss-fraction F]

load drives the real HTTPS API at fixed rates for --duration seconds. Each kind of
traffic has its own worker threads; each thread works on a fixed schedule (one
operation every threads/rate seconds; a slot missed because the previous operation
ran late is skipped, never made up in a burst), so the offered load is steady and
the same whatever the latency:

  jwks               GET /.well-known/jwks.json                         200 + keys
  client_credentials POST /oauth/token client_credentials (an M2M app)  200 + access_token
  password           POST /oauth/token password (an abandoned sign-in)  403 mfa_required
  flow               a complete email-MFA sign-in, recorded step by step:
    flow_password    POST /oauth/token password                         403 mfa_required
    flow_challenge   POST /mfa/challenge (oob, email)                   200 + oob_code
    flow_mail        the code's email reaches the SMTP sink (read from the sink's
                     maildir, as a user reads a mailbox)                within 30 s
    flow_mfa_oob     POST /oauth/token mfa-oob with the mailed code     200 + access_token

Every thread keeps one HTTPS connection (keep-alive, as SDKs do) and opens a new
one every --reconnect-every requests, after any error and when it sat idle longer
than 5 s (the gateway closes idle connections after 15 s), so TLS handshakes and
connection teardown are part of the load too. Flow threads own disjoint slices of
the user list, so a user never has two sign-ins in flight.

Output: one TSV line per operation, "t_rel kind status latency_ms ok detail", between
a first line "# header JSON" (start epoch, duration, rates, threads) and a last line
"# footer JSON" (schedule slots skipped per kind, HTTPS connections opened, the
generator's own CPU time), which report reads.

report reads the operations and the process samples from the shell sampler: lines
"EPOCH NAME PID RSS_MIN_KIB RSS_MAX_KIB CPU_TICKS" per process and sampling period
(the lowest and highest of the VmRSS readings taken within the period) and
"EPOCH cpu - - BUSY_TICKS TOTAL_TICKS" for the machine. It prints the summary and
writes the figures the shell script asserts on.

The RSS trend is fitted to each period's lowest reading: authn maps argon2id's
19 MiB anew for every password check (libsodium mmaps and unmaps it), so a single
reading lands on one or two of those buffers about a fifth of the time at the default
rates, and such spikes would swamp a least-squares fit. A leak raises the floor
that the lowest reading tracks; transient buffers do not.
"""

import argparse
import email
import http.client
import json
import math
import os
import random
import re
import ssl
import sys
import threading
import time
import urllib.parse
from email import policy

KINDS = ("jwks", "client_credentials", "password",
         "flow_password", "flow_challenge", "flow_mail", "flow_mfa_oob")
PROCESSES = ("gateway", "authn", "mfa", "mailer")
IDLE_RECONNECT_S = 5.0
MAIL_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 20.0


# --- load ------------------------------------------------------------------------------

class Recorder:
    def __init__(self, path, start, header):
        self.out = open(path, "w", buffering=1)
        self.start = start
        self.lock = threading.Lock()
        self.out.write("# " + header + "\n")

    def record(self, t_started, kind, status, latency_s, ok, detail=""):
        detail = re.sub(r"[\t\n\r]", " ", detail)[:300]
        line = "%.3f\t%s\t%s\t%.2f\t%d\t%s\n" % (
            t_started - self.start, kind, status, latency_s * 1000.0, 1 if ok else 0, detail)
        with self.lock:
            self.out.write(line)

    def close(self):
        with self.lock:
            self.out.close()


class MailWatcher(threading.Thread):
    """Follows the sink's numbered messages (<n>.json then <n>.eml) and keeps the
    codes per recipient."""

    def __init__(self, maildir, stop):
        super().__init__(daemon=True)
        self.maildir = maildir
        self.stop = stop
        self.cond = threading.Condition()
        self.by_rcpt = {}
        numbers = [int(m.group(1)) for m in
                   (re.fullmatch(r"(\d+)\.eml", n) for n in os.listdir(maildir)) if m]
        self.next = max(numbers, default=0) + 1

    def count(self, address):
        with self.cond:
            return len(self.by_rcpt.get(address, ()))

    def wait_new(self, address, seen, timeout):
        """The code of the first message to address after the first `seen` ones."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.by_rcpt.get(address, ())) <= seen:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.by_rcpt[address][seen]

    def run(self):
        while not self.stop.is_set():
            base = os.path.join(self.maildir, str(self.next))
            if not os.path.exists(base + ".eml"):
                time.sleep(0.02)
                continue
            try:
                with open(base + ".json") as f:
                    rcpts = json.load(f).get("rcpt_tos", [])
                with open(base + ".eml", "rb") as f:
                    msg = email.message_from_binary_file(f, policy=policy.default)
                body = msg.get_body(preferencelist=("plain",))
                codes = re.findall(r"\b\d{6}\b", body.get_content() if body else "")
                code = codes[0] if codes else ""
            except Exception as exc:  # the flow waiting for it records the error
                print("soak: unreadable message %s: %s" % (base, exc), file=sys.stderr)
                rcpts, code = [], ""
            self.record([(rcpts, code)])
            self.next += 1

    def record(self, mails):
        """Files each (recipients, code) in arrival order and wakes the waiters."""
        with self.cond:
            for rcpts, code in mails:
                for rcpt in rcpts:
                    self.by_rcpt.setdefault(rcpt, []).append(code)
            self.cond.notify_all()


class FsyncProbe(threading.Thread):
    """Diagnostic, not load: every 0.25 s writes 4 KiB to a file beside the services'
    databases and fsyncs it, so that errors can be told apart from a stalled disk
    (every SQLite commit of authn and mfa waits for an fsync: synchronous=FULL)."""

    def __init__(self, directory, stop, start):
        super().__init__(daemon=True)
        self.path = os.path.join(directory, "soak-fsync-probe")
        self.stop = stop
        self.start_epoch = start
        self.samples = []   # (t_rel, seconds)

    def run(self):
        block = os.urandom(4096)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            while not self.stop.wait(0.25):
                t0, m0 = time.time(), time.monotonic()
                os.pwrite(fd, block, 0)
                os.fsync(fd)
                self.samples.append((t0 - self.start_epoch, time.monotonic() - m0))
        finally:
            os.close(fd)
            os.unlink(self.path)


class Client:
    """One HTTPS connection of one worker thread."""

    def __init__(self, host, port, ssl_context, reconnect_every):
        self.host, self.port = host, port
        self.ssl_context = ssl_context
        self.reconnect_every = reconnect_every
        self.conn = None
        self.used = 0
        self.last = 0.0
        self.connections = 0

    def close(self):
        if self.conn:
            self.conn.close()
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        """(status, body) or raises; closes the connection on any exception"""
        now = time.monotonic()
        if self.conn and (self.used >= self.reconnect_every or now - self.last > IDLE_RECONNECT_S):
            self.close()
        if not self.conn:
            self.conn = http.client.HTTPSConnection(self.host, self.port, timeout=REQUEST_TIMEOUT_S,
                                                    context=self.ssl_context)
            self.used = 0
            self.connections += 1
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            response = self.conn.getresponse()
            data = response.read()
            if response.getheader("connection", "").lower() == "close":
                self.close()
        except BaseException:
            self.close()
            raise
        self.used += 1
        self.last = time.monotonic()
        return response.status, data


def parse_json(data):
    try:
        value = json.loads(data)
        return value if isinstance(value, dict) else {}
    except ValueError:
        return {}


class Load:
    def __init__(self, args):
        self.args = args
        host, _, port = args.host.rpartition(":")
        self.host, self.port = host, int(port)
        self.ssl_context = ssl.create_default_context(cafile=args.ca)
        self.stop = threading.Event()
        with open(args.users) as f:
            self.users = [line.strip() for line in f if line.strip()]
        self.rates = {"jwks": args.rate_jwks, "client_credentials": args.rate_cc,
                      "password": args.rate_password, "flow": args.rate_flow}
        self.threads = {"jwks": args.threads_jwks, "client_credentials": args.threads_cc,
                        "password": args.threads_password, "flow": args.threads_flow}
        self.start = time.time()
        self.start_mono = time.monotonic()
        self.end_mono = self.start_mono + args.duration
        self.rec = Recorder(args.out, self.start, "header " + json.dumps({
            "start": self.start, "duration": args.duration, "rates": self.rates,
            "threads": self.threads}))
        self.mail = MailWatcher(args.maildir, self.stop)
        self.probe = FsyncProbe(args.probe_dir, self.stop, self.start) if args.probe_dir else None
        self.skipped = {k: 0 for k in self.rates}
        self.skipped_lock = threading.Lock()
        self.clients = []

    def now(self):
        return time.time()

    # one HTTP call, recorded; returns the parsed body when it was the expected answer
    def call(self, client, kind, method, path, body, headers, check):
        t0 = self.now()
        m0 = time.monotonic()
        try:
            status, data = client.request(method, path, body, headers)
        except Exception as exc:  # curl-like transport errors: timeouts, resets, TLS
            self.rec.record(t0, kind, "ERR", time.monotonic() - m0, False,
                            "%s: %s" % (type(exc).__name__, exc))
            return None
        latency = time.monotonic() - m0
        value = parse_json(data)
        problem = check(status, value)
        self.rec.record(t0, kind, str(status), latency, problem is None,
                        "" if problem is None else "%s; body %s" % (problem, data[:200].decode("utf-8", "replace")))
        return value if problem is None else None

    def form(self, fields):
        return urllib.parse.urlencode(fields), {"content-type": "application/x-www-form-urlencoded"}

    @staticmethod
    def expect(status_wanted, *fields, error=None):
        def check(status, value):
            if status != status_wanted:
                return "want %d" % status_wanted
            if error is not None and value.get("error") != error:
                return "want error %s" % error
            for field in fields:
                if not value.get(field):
                    return "no %s" % field
            return None
        return check

    def op_jwks(self, client, _index, _count):
        self.call(client, "jwks", "GET", "/.well-known/jwks.json", None, None,
                  self.expect(200, "keys"))

    def op_cc(self, client, _index, _count):
        body, headers = self.form({"grant_type": "client_credentials", "client_id": self.args.m2m_id,
                                   "client_secret": self.args.m2m_secret,
                                   "audience": self.args.audience})
        self.call(client, "client_credentials", "POST", "/oauth/token", body, headers,
                  self.expect(200, "access_token"))

    def password_grant(self, client, kind, user):
        body, headers = self.form({"grant_type": "password", "username": user,
                                   "password": self.args.password, "audience": self.args.audience,
                                   "client_id": self.args.client_id,
                                   "client_secret": self.args.client_secret})
        value = self.call(client, kind, "POST", "/oauth/token", body, headers,
                          self.expect(403, "mfa_token", error="mfa_required"))
        return value["mfa_token"] if value else None

    def op_password(self, client, index, count):
        # the threads interleave over the whole user list
        slot = index + count * self.threads["password"]
        self.password_grant(client, "password", self.users[slot % len(self.users)])

    def op_flow(self, client, index, count):
        # flow thread i owns users i, i + n, i + 2n...: one sign-in at a time per user
        users = self.users[index::self.threads["flow"]]
        user = users[count % len(users)]
        mfa_token = self.password_grant(client, "flow_password", user)
        if not mfa_token:
            return
        seen = self.mail.count(user)
        value = self.call(client, "flow_challenge", "POST", "/mfa/challenge",
                          json.dumps({"mfa_token": mfa_token, "challenge_type": "oob",
                                      "client_id": self.args.client_id,
                                      "client_secret": self.args.client_secret}),
                          {"content-type": "application/json"}, self.expect(200, "oob_code"))
        if not value:
            return
        t0, m0 = self.now(), time.monotonic()
        code = self.mail.wait_new(user, seen, MAIL_TIMEOUT_S)
        if not code:
            self.rec.record(t0, "flow_mail", "timeout" if code is None else "nocode",
                            time.monotonic() - m0, False, "no email with a code for %s" % user)
            return
        self.rec.record(t0, "flow_mail", "mail", time.monotonic() - m0, True)
        body, headers = self.form({"grant_type": "http://auth0.com/oauth/grant-type/mfa-oob",
                                   "mfa_token": mfa_token, "oob_code": value["oob_code"],
                                   "binding_code": code, "client_id": self.args.client_id,
                                   "client_secret": self.args.client_secret})
        self.call(client, "flow_mfa_oob", "POST", "/oauth/token", body, headers,
                  self.expect(200, "access_token"))

    def worker(self, name, index, op):
        rate, threads = self.rates[name], self.threads[name]
        interval = threads / rate
        client = Client(self.host, self.port, self.ssl_context, self.args.reconnect_every)
        self.clients.append(client)
        rng = random.Random("%s-%d" % (name, index))
        next_at = self.start_mono + rng.uniform(0, interval)
        count = 0
        while not self.stop.is_set():
            now = time.monotonic()
            if next_at >= self.end_mono:
                break
            if next_at > now:
                self.stop.wait(next_at - now)
                continue
            op(client, index, count)
            count += 1
            next_at += interval
            behind = time.monotonic() - next_at
            if behind > interval:  # ran late: skip the missed slots, never burst
                missed = int(behind / interval)
                next_at += missed * interval
                with self.skipped_lock:
                    self.skipped[name] += missed
        client.close()

    def run(self):
        self.mail.start()
        if self.probe:
            self.probe.start()
        workers = []
        ops = {"jwks": self.op_jwks, "client_credentials": self.op_cc,
               "password": self.op_password, "flow": self.op_flow}
        for name, op in ops.items():
            for i in range(self.threads[name]):
                workers.append(threading.Thread(target=self.worker, args=(name, i, op), daemon=True))
        for w in workers:
            w.start()
        for w in workers:
            w.join(self.args.duration + 120)
        self.stop.set()
        fsync = []
        if self.probe:
            self.probe.join(5)
            fsync = sorted(d for _, d in self.probe.samples)
        times = os.times()
        footer = {"skipped": self.skipped, "cpu_s": times.user + times.system,
                  "elapsed_s": time.monotonic() - self.start_mono,
                  "connections": sum(c.connections for c in self.clients),
                  "fsync": {"n": len(fsync), "p50_ms": 1000 * percentile(fsync, 50),
                            "p99_ms": 1000 * percentile(fsync, 99),
                            "max_ms": 1000 * fsync[-1] if fsync else None,
                            "stalls": [[round(t, 1), round(1000 * d)] for t, d in
                                       (self.probe.samples if self.probe else []) if d >= 0.5]}}
        with self.rec.lock:
            self.rec.out.write("# footer %s\n" % json.dumps(footer))
        self.rec.close()
        print("soak: load ended after %.1f s" % footer["elapsed_s"], file=sys.stderr)


# --- report ----------------------------------------------------------------------------

def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    # nearest rank
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100.0 * len(sorted_values)) - 1))
    return sorted_values[k]


def least_squares(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    slope = sxy / sxx if sxx else 0.0
    return slope, my - slope * mx


def report(args):
    # operations
    header = {}
    footer = {}
    rows = []
    with open(args.requests) as f:
        for line in f:
            if line.startswith("# footer "):
                footer = json.loads(line[len("# footer "):])
                continue
            if line.startswith("# header "):
                header = json.loads(line[len("# header "):])
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 5:
                rows.append((float(parts[0]), parts[1], parts[2], float(parts[3]),
                             parts[4] == "1", parts[5] if len(parts) > 5 else ""))
    start, duration = header["start"], header["duration"]
    last_t = max((r[0] for r in rows), default=0.0)

    by_kind = {k: {"n": 0, "errors": 0, "statuses": {}, "lat": []} for k in KINDS}
    errors = []
    for t, kind, status, latency, ok, detail in rows:
        k = by_kind.setdefault(kind, {"n": 0, "errors": 0, "statuses": {}, "lat": []})
        k["n"] += 1
        k["statuses"][status] = k["statuses"].get(status, 0) + 1
        k["lat"].append(latency)
        if not ok:
            k["errors"] += 1
            errors.append((t, kind, status, latency, detail))
    total = len(rows)
    n_errors = len(errors)
    http_total = sum(v["n"] for k, v in by_kind.items() if k != "flow_mail")
    flows_done = by_kind["flow_mfa_oob"]["statuses"].get("200", 0)
    rates, threads = header["rates"], header["threads"]
    planned_http = duration * (rates["jwks"] + rates["client_credentials"] + rates["password"]
                               + 3 * rates["flow"])
    planned_flows = duration * rates["flow"]

    print("== F13 soak summary")
    print("duration %.0f s (last operation started at %.1f s); offered rates per second: %s; "
          "threads: %s" % (duration, last_t, json.dumps(rates), json.dumps(threads)))
    print("%-19s %7s %8s %6s  %9s %9s %9s  %s" % ("kind", "count", "per s", "errors", "p50 ms",
                                                 "p99 ms", "max ms", "statuses"))
    for kind in KINDS:
        k = by_kind[kind]
        lat = sorted(k["lat"])
        print("%-19s %7d %8.2f %6d  %9.1f %9.1f %9.1f  %s" % (
            kind, k["n"], k["n"] / duration, k["errors"], percentile(lat, 50), percentile(lat, 99),
            lat[-1] if lat else float("nan"),
            " ".join("%s:%d" % s for s in sorted(k["statuses"].items()))))
        k["p50"], k["p99"] = percentile(lat, 50), percentile(lat, 99)
    error_rate = n_errors / total if total else 1.0
    print("operations %d (HTTP requests %d, planned about %.0f; emails read %d); complete MFA "
          "sign-ins %d (planned about %.0f)" % (total, http_total, planned_http,
                                                by_kind["flow_mail"]["n"], flows_done, planned_flows))
    skipped = footer.get("skipped")
    print("errors %d, error rate %.4f%%" % (n_errors, 100.0 * error_rate))
    if footer:
        print("load generator: %d HTTPS connections opened, %.0f s of CPU (%.0f%% of a core); "
              "schedule slots skipped because a thread ran late: %s" % (
                  footer["connections"], footer["cpu_s"], 100.0 * footer["cpu_s"] / footer["elapsed_s"],
                  json.dumps(skipped)))
        fs = footer.get("fsync")
        if fs and fs["n"]:
            print("disk (fsync probe beside the databases, 4 KiB every 0.25 s): p50 %.1f ms, "
                  "p99 %.1f ms, max %.0f ms; fsyncs of 0.5 s or more (t s, ms): %s" % (
                      fs["p50_ms"], fs["p99_ms"], fs["max_ms"],
                      json.dumps(fs["stalls"][:20]) + (" ..." if len(fs["stalls"]) > 20 else "")))
    else:
        print("load generator: no footer (it did not finish)")
    for t, kind, status, latency, detail in errors[:25]:
        print("  error at %7.1f s  %-15s %-7s %8.1f ms  %s" % (t, kind, status, latency, detail))
    if n_errors > 25:
        print("  ... %d more errors" % (n_errors - 25))

    # process samples
    samples = {p: [] for p in PROCESSES}
    pids = {p: set() for p in PROCESSES}
    machine = []
    with open(args.samples) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 6:
                continue
            epoch, name = float(parts[0]), parts[1]
            if name == "cpu":
                machine.append((epoch, int(parts[4]), int(parts[5])))
            elif name in samples and parts[3].isdigit() and parts[4].isdigit():
                # (epoch, lowest RSS, CPU ticks, highest RSS)
                samples[name].append((epoch, int(parts[3]), int(parts[5]), int(parts[4])))
                pids[name].add(parts[2])
    load_end = start + duration
    warm_end = start + args.warmup_fraction * duration
    hz = os.sysconf("SC_CLK_TCK")

    def cpu_share(series, t0, t1):
        inside = [s for s in series if t0 <= s[0] <= t1]
        if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
            return float("nan")
        return (inside[-1][2] - inside[0][2]) / hz / (inside[-1][0] - inside[0][0])

    inside_m = [m for m in machine if start <= m[0] <= load_end]
    busy = float("nan")
    if len(inside_m) >= 2 and inside_m[-1][2] > inside_m[0][2]:
        busy = (inside_m[-1][1] - inside_m[0][1]) / (inside_m[-1][2] - inside_m[0][2])
    print("machine CPU busy during the load: %.0f%% of %d cores (all processes, this test's "
          "load generator and anything else running)" % (100.0 * busy, os.cpu_count()))

    print("RSS: warm-up %.0f s ignored; least-squares line over the %.0f s after it; a process "
          "fails when its projected growth over that window exceeds max(%d KiB, %.0f%% of its "
          "mean RSS)" % (args.warmup_fraction * duration, load_end - warm_end, args.rss_floor_kib,
                         100.0 * args.rss_fraction))
    print("(per sampling period the lowest VmRSS reading; 'peak' is the highest single reading)")
    print("%-8s %8s %5s %9s %9s %9s %9s %9s %9s %11s %10s %10s %6s  %s" % (
        "process", "pid", "n", "start KiB", "warm KiB", "end KiB", "min KiB", "max KiB",
        "peak KiB", "slope KiB/m", "growth KiB", "limit KiB", "cpu", "verdict"))
    rss = {}
    for name in PROCESSES:
        series = samples[name]
        window = [s for s in series if warm_end <= s[0] <= load_end]
        entry = {"pids": sorted(pids[name]), "samples": len(series), "window_samples": len(window)}
        if len(pids[name]) != 1:
            entry["problem"] = "process changed or was not sampled (pids %s)" % sorted(pids[name])
        if len(window) < 5:
            entry["problem"] = "only %d samples after the warm-up" % len(window)
        if series and len(window) >= 2:
            xs = [(s[0] - warm_end) / 60.0 for s in window]
            ys = [float(s[1]) for s in window]
            slope, _ = least_squares(xs, ys)
            span_min = (window[-1][0] - window[0][0]) / 60.0
            mean = sum(ys) / len(ys)
            growth = slope * span_min
            limit = max(args.rss_floor_kib, args.rss_fraction * mean)
            entry.update({
                "start_kib": series[0][1], "warm_kib": window[0][1], "end_kib": window[-1][1],
                "min_kib": min(ys), "max_kib": max(ys), "mean_kib": mean,
                "slope_kib_per_min": slope, "window_min": span_min,
                "projected_growth_kib": growth, "limit_kib": limit,
                "cpu_cores": cpu_share(series, start, load_end),
                "growth_ok": growth <= limit and "problem" not in entry})
            entry["peak_kib"] = max(s[3] for s in series)
            print("%-8s %8s %5d %9d %9d %9d %9d %9d %9d %11.1f %10.0f %10.0f %5.0f%%  %s" % (
                name, ",".join(entry["pids"]), len(window), series[0][1], window[0][1],
                window[-1][1], min(ys), max(ys), entry["peak_kib"], slope, growth, limit,
                100.0 * entry["cpu_cores"],
                ("not judged: " + args.not_judged) if args.not_judged
                else "ok" if entry["growth_ok"] else "GROWS"))
        else:
            entry["growth_ok"] = False
            print("%-8s %s" % (name, entry.get("problem", "no samples")))
        rss[name] = entry

    if args.series:
        # the samples themselves, one line per minute of the run, for the log
        print("RSS in KiB, about once a minute (t = seconds since the load began):")
        print("%7s %s" % ("t", " ".join("%9s" % p for p in PROCESSES)))
        t = 0.0
        while t <= duration + 1:
            cells = []
            for name in PROCESSES:
                near = [s for s in samples[name] if abs(s[0] - start - t) <= 30]
                best = min(near, key=lambda s: abs(s[0] - start - t)) if near else None
                cells.append("%9s" % (best[1] if best else "-"))
            print("%7.0f %s" % (t, " ".join(cells)))
            t += 60.0 if duration >= 300 else max(5.0, duration / 10.0)

    verdict = {"duration_s": duration, "operations": total, "http_requests": http_total,
               "planned_http_requests": planned_http, "errors": n_errors, "error_rate": error_rate,
               "flows_completed": flows_done, "planned_flows": planned_flows,
               "machine_busy": busy, "skipped_slots": skipped, "fsync": footer.get("fsync"),
               "kinds": {k: {"n": v["n"], "errors": v["errors"], "statuses": v["statuses"],
                             "p50_ms": v["p50"], "p99_ms": v["p99"]} for k, v in by_kind.items()},
               "rss": rss}
    with open(args.verdict, "w") as f:
        json.dump(verdict, f, indent=1, allow_nan=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    load = sub.add_parser("load")
    load.add_argument("--host", required=True, help="host:port of the gateway")
    load.add_argument("--ca", required=True)
    load.add_argument("--duration", type=float, required=True)
    load.add_argument("--out", required=True)
    load.add_argument("--maildir", required=True)
    load.add_argument("--client-id", required=True)
    load.add_argument("--client-secret", required=True)
    load.add_argument("--m2m-id", required=True)
    load.add_argument("--m2m-secret", required=True)
    load.add_argument("--audience", required=True)
    load.add_argument("--password", required=True)
    load.add_argument("--users", required=True, help="file: one enrolled user's email per line")
    load.add_argument("--rate-jwks", type=float, default=40)
    load.add_argument("--rate-cc", type=float, default=30)
    load.add_argument("--rate-password", type=float, default=4)
    load.add_argument("--rate-flow", type=float, default=0.5)
    load.add_argument("--threads-jwks", type=int, default=2)
    load.add_argument("--threads-cc", type=int, default=2)
    load.add_argument("--threads-password", type=int, default=2)
    load.add_argument("--threads-flow", type=int, default=2)
    load.add_argument("--reconnect-every", type=int, default=25)
    load.add_argument("--probe-dir", help="diagnostic: time a 4 KiB write + fsync here every 0.25 s")
    rep = sub.add_parser("report")
    rep.add_argument("--requests", required=True)
    rep.add_argument("--samples", required=True)
    rep.add_argument("--verdict", required=True)
    rep.add_argument("--warmup-fraction", type=float, default=0.2)
    rep.add_argument("--rss-floor-kib", type=int, default=4096)
    rep.add_argument("--rss-fraction", type=float, default=0.05)
    rep.add_argument("--series", action="store_true", help="print the RSS samples once a minute")
    rep.add_argument("--not-judged", default="",
                     help="print the RSS figures as information only, giving this reason")
    args = parser.parse_args()
    if args.command == "load":
        Load(args).run()
    else:
        report(args)


if __name__ == "__main__":
    main()
