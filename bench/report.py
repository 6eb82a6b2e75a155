#!/usr/bin/python3
"""report.py - writes docs/performance.md and its charts from bench/run.sh's results.

Run with Debian's /usr/bin/python3; standard library only, gnuplot for the charts.

    report.py --results results.tsv --out performance.md --charts DIR --command CMD
              --commit C --cpu MODEL --nproc N --mem M --load-before L --load-after L
              --seconds S --users N --fs TYPE --elapsed S

results.tsv has one row per figure: kind (ceiling, http, mailer, rss, setup), name,
connections, value, unit, p50_ms, p90_ms, p99_ms, other (unexpected answers), detail
(the measuring program's own line). Each Postern figure is set beside the ceiling
or peer it is bounded by, measured in the same run:

  jwks, authenticators     bare libmicrohttpd (same flags), same connections
  jwks_https               the same over TLS
  client_credentials,      1 / (1 / RSA signs/s + 1 / bare HTTP req/s): one
  mfa_oob                  signature plus one bare request of CPU each; and the peer
  password                 argon2id hashes/s on every core
  challenge                fsync'd SQLite commits/s
  mailers_N                the SMTP sink's own messages/s
"""

import argparse
import csv
import datetime
import os
import subprocess
import sys

PATHS = [
    # name, title, reference, what the reference is
    ("jwks", "GET /.well-known/jwks.json (HTTP)", "bare_http", "bare libmicrohttpd, same bytes"),
    ("jwks_https", "GET /.well-known/jwks.json (HTTPS)", "bare_https", "bare libmicrohttpd over TLS"),
    ("authenticators", "GET /mfa/authenticators (mfa_token)", "bare_http", "bare libmicrohttpd"),
    ("client_credentials", "client_credentials (RS256)", "rsa+http", "RSA-2048 signs on all cores + bare HTTP"),
    ("mfa_oob", "mfa-oob verification -> tokens", "rsa+http", "RSA-2048 signs on all cores + bare HTTP"),
    ("password", "password -> mfa_required (argon2id)", "argon2id", "argon2id on all cores, same cost"),
    ("challenge", "durable /mfa/challenge", "sqlite_commit", "fsync'd SQLite single-row commits"),
]
PEER_FOR = {"client_credentials": "peer_cc", "mfa_oob": "peer_cc"}
# A second ceiling for a path, in a summary row of its own: a verification must
# also commit (S5, S26), which the RSA + HTTP ceiling leaves out
SECOND_CEILINGS = [
    ("mfa_oob", "mfa-oob verification -> tokens, beside its commit", "rsa+http+commit",
     "RSA-2048 signs on all cores + bare HTTP + one fsync'd SQLite commit"),
]


def num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def fmt(value, digits=0):
    if value is None:
        return "-"
    if digits == 0:
        return "{:,.0f}".format(value)
    return "{:,.{}f}".format(value, digits)


def pct(part, whole):
    if part is None or not whole:
        return "-"
    return "{:.0f}%".format(100.0 * part / whole)


class Results:
    def __init__(self, path):
        with open(path, newline="") as f:
            self.rows = list(csv.DictReader(f, delimiter="\t"))

    def find(self, kind, name, connections=None):
        for row in self.rows:
            if row["kind"] == kind and row["name"] == name and (
                    connections is None or row["connections"] == str(connections)):
                return row
        return None

    def value(self, kind, name, connections=None):
        row = self.find(kind, name, connections)
        return num(row["value"]) if row else None

    def series(self, name):
        rows = [r for r in self.rows if r["kind"] == "http" and r["name"] == name]
        return sorted(rows, key=lambda r: int(r["connections"]))

    def connections(self):
        return sorted({int(r["connections"]) for r in self.rows if r["kind"] == "http"})

    def reference(self, ref, connections):
        """The ceiling a path is set beside, at that connection count."""
        if ref in ("bare_http", "bare_https"):
            return self.value("http", ref, connections)
        if ref == "rsa+http":
            rsa = self.value("ceiling", "rsa_sign")
            bare = self.value("http", "bare_http", connections)
            return 1.0 / (1.0 / rsa + 1.0 / bare) if rsa and bare else None
        if ref == "rsa+http+commit":
            both = self.reference("rsa+http", connections)
            commit = self.value("ceiling", "sqlite_commit")
            return 1.0 / (1.0 / both + 1.0 / commit) if both and commit else None
        if ref == "argon2id":
            return self.value("ceiling", "argon2id")
        if ref == "sqlite_commit":
            return self.value("ceiling", "sqlite_commit")
        return None


def chart(results, name, title, ref, ref_title, directory):
    """One PNG per path: throughput (with its ceiling and peer) and p50/p99 against
    connections. Returns the file name, or None when there is nothing to draw."""
    rows = results.series(name)
    if not rows:
        return None
    data = os.path.join(directory, name + ".dat")
    peer = PEER_FOR.get(name)
    with open(data, "w") as out:
        out.write("# connections req_s p50_ms p99_ms ceiling peer\n")
        for r in rows:
            c = int(r["connections"])
            ceiling = results.reference(ref, c)
            peer_value = results.value("http", peer, c) if peer else None
            out.write("%d %s %s %s %s %s\n" % (
                c, r["value"], r["p50_ms"], r["p99_ms"],
                "%.1f" % ceiling if ceiling else "NaN",
                "%.1f" % peer_value if peer_value else "NaN"))
    png = name + ".png"
    values = [num(r["value"]) or 0 for r in rows]
    refs = [results.reference(ref, int(r["connections"])) or 0 for r in rows]
    top = max(values + refs) or 1
    low = min([v for v in values if v > 0] or [1])
    log_y = top / low > 20
    script = """
set terminal pngcairo size 900,700 font "sans,10"
set output '{png}'
set multiplot layout 2,1 title "{title}"
set logscale x 2
set xlabel "connections (wrk, loopback)"
set grid
set key top left box opaque
set termoption noenhanced
{ylog}
set ylabel "answers / s"
set yrange [{ymin}:*]
plot '{data}' using 1:2 with linespoints lw 2 pt 7 title "Postern", \\
     '' using 1:5 with linespoints dt 2 title "{ref_title}"{peer_plot}
unset logscale y
set logscale y
set yrange [*:*]
set ylabel "latency, ms"
plot '{data}' using 1:3 with linespoints lw 2 pt 7 title "p50", \\
     '' using 1:4 with linespoints lw 2 pt 5 title "p99"
unset multiplot
""".format(png=os.path.join(directory, png), title=title.replace('"', "'"),
           ylog="set logscale y" if log_y else "unset logscale y",
           ymin="*" if log_y else "0", data=data, ref_title=ref_title,
           peer_plot=(", \\\n     '' using 1:6 with linespoints dt 3 title \"node oidc-provider (2 workers)\""
                      if peer else ""))
    result = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    os.unlink(data)
    if result.returncode != 0:
        print("report.py: gnuplot failed for %s: %s" % (name, result.stderr), file=sys.stderr)
        return None
    return png


def mailer_chart(results, directory):
    rows = [r for r in results.rows if r["kind"] == "mailer"]
    if not rows:
        return None
    data = os.path.join(directory, "mailer.dat")
    sink = results.value("ceiling", "smtp_sink")
    with open(data, "w") as out:
        for r in sorted(rows, key=lambda r: int(r["connections"])):
            out.write("%s %s %s %s %s\n" % (r["connections"], r["value"], r["p50_ms"], r["p99_ms"],
                                           "%.1f" % sink if sink else "NaN"))
    png = "mailer.png"
    script = """
set terminal pngcairo size 900,700 font "sans,10"
set output '{png}'
set multiplot layout 2,1 title "the mailer alone: jobs from a stand-in for mfa's socket to the SMTP sink"
set xlabel "mailer processes"
set xtics 1
set grid
set key top left box opaque
set termoption noenhanced
set ylabel "jobs / s"
set yrange [0:*]
plot '{data}' using 1:2 with linespoints lw 2 pt 7 title "mailer", \\
     '' using 1:5 with lines dt 2 title "SMTP sink alone"
set ylabel "job handed over -> sent, ms"
set logscale y
set yrange [*:*]
plot '{data}' using 1:3 with linespoints lw 2 pt 7 title "p50", \\
     '' using 1:4 with linespoints lw 2 pt 5 title "p99"
unset multiplot
""".format(png=os.path.join(directory, png), data=data)
    result = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    os.unlink(data)
    if result.returncode != 0:
        print("report.py: gnuplot failed for the mailer: %s" % result.stderr, file=sys.stderr)
        return None
    return png


def detail_word(row, key):
    for word in (row or {}).get("detail", "").split():
        if word.startswith(key + "="):
            return word[len(key) + 1:]
    return None


# The stack's processes in the order a request meets them (e2e names; replicas
# such as mfa-2 follow their first instance)
CPU_ORDER = ["gateway", "authn", "mfa", "mailer", "smtp"]
CPU_TITLE = {"smtp": "SMTP sink"}


def sink_is_postfix(results):
    return results.value("setup", "sink_postfix") == 1


def sink_title(results):
    """Which SMTP sink the run used (bench/smtp_sink.sh, or the tests' Python one)."""
    return ("postfix's smtp-sink" if sink_is_postfix(results) else
            "tests/support/smtp_sink.py, aiosmtpd under CPython")


def cpu_section(w, results, headline, cores):
    """Milliseconds of CPU per answer, by process, at the headline connection count:
    where each path's time goes, measured over its wrk run from /proc."""
    rows = []
    names = set()
    for name, title, _, _ in PATHS:
        row = results.find("http", name, headline) if headline is not None else None
        seconds = num(detail_word(row, "span_s") or detail_word(row, "seconds") or "")
        answers = num(row["value"]) * seconds if row and seconds else 0
        if not answers or detail_word(row, "busy") is None:
            continue
        spent, switched = {}, {}
        for word in row["detail"].split():
            for prefix, into in (("cpu_s.", spent), ("cs.", switched)):
                if word.startswith(prefix):
                    proc, _, value = word[len(prefix):].partition("=")
                    into[proc] = num(value) or 0.0
        names.update(spent)
        busy = num(detail_word(row, "busy"))
        window = num(detail_word(row, "seconds") or "")
        if detail_word(row, "span_s") and busy is not None and window:
            # single-use bodies: the busy share was taken over wrk's whole run, and
            # the answers all came in the span; the machine idled the rest of it
            busy = min(1.0, busy * window / seconds)
        rows.append((title, answers, seconds, spent, busy, switched))
    if not rows:
        return
    def rank(proc):
        base = proc.split("-")[0]
        return (CPU_ORDER.index(base) if base in CPU_ORDER else len(CPU_ORDER), proc)
    procs = sorted(names, key=rank)
    w("## Where the CPU goes at %d connections" % headline)
    w("")
    w("Milliseconds of CPU per expected answer, by process, from each process's user + "
      "system time (`/proc/PID/stat`) over the path's run. \"the rest\" is the machine's "
      "busy time (`/proc/stat`) not spent in these processes: wrk, the kernel's "
      "work for others, and whatever else the machine ran. A path whose machine was busy "
      "near 100% is bound by CPU, and this table says whose. A path of single-use "
      "answers (mfa-oob) is measured over the span its answers took: the machine's busy "
      "time over the whole wrk run is put on that span, where it was spent.")
    w("")
    w("| path | answers/s | %s | the rest | machine busy |" % " | ".join(
        CPU_TITLE.get(p, p) for p in procs))
    w("|---|---|%s---|---|" % ("---|" * len(procs)))
    for title, answers, seconds, spent, busy, _ in rows:
        total = (busy or 0) * (cores or 0) * seconds
        rest = max(total - sum(spent.values()), 0.0)
        cells = ["%.3f" % (spent.get(p, 0.0) * 1000 / answers) for p in procs]
        w("| %s | %s | %s | %.3f | %s |" % (title, fmt(answers / seconds), " | ".join(cells),
                                             rest * 1000 / answers, pct(busy, 1)))
    w("")
    if not any(switched for *_, switched in rows):
        return
    w("Context switches per answer, by process (all its threads, from "
      "`/proc/PID/task/*/status`): each hop of a request from one thread to another "
      "costs at least one, and on a virtual machine each costs more than on bare metal.")
    w("")
    w("| path | %s |" % " | ".join(CPU_TITLE.get(p, p) for p in procs))
    w("|---|%s" % ("---|" * len(procs)))
    for title, answers, _, _, _, switched in rows:
        w("| %s | %s |" % (title, " | ".join("%.1f" % (switched.get(p, 0.0) / answers)
                                             for p in procs)))
    w("")


def thread_section(w, results, headline, path="challenge"):
    """Milliseconds of CPU per answer of one path by thread name within each process
    (each of Postern's threads names itself: pst_actor_name), where a path that crosses
    several threads a process spends its time."""
    row = results.find("http", path, headline) if headline is not None else None
    seconds = num(detail_word(row, "span_s") or detail_word(row, "seconds") or "") if row else None
    answers = num(row["value"]) * seconds if row and seconds else 0
    if not answers:
        return
    spent = {}
    for word in row["detail"].split():
        if word.startswith("tcpu."):
            key, _, value = word[len("tcpu."):].partition("=")
            proc, _, thread = key.partition(".")
            spent.setdefault(proc, {})[thread] = num(value) or 0.0
    if not spent:
        return
    title = next(t for n, t, _, _ in PATHS if n == path)
    w("### The CPU of each process by thread: %s" % title)
    w("")
    w("Milliseconds of CPU per answer at %d connections, by thread name "
      "(`/proc/PID/task/*/comm` and `stat`; threads of one name summed, such as a "
      "service's workers), and each name's share of its process. ZeroMQ names its "
      "own I/O threads `ZMQbg`." % headline)
    w("")
    w("| process | thread | ms per answer | share of the process |")
    w("|---|---|---|---|")
    def rank(proc):
        base = proc.split("-")[0]
        return (CPU_ORDER.index(base) if base in CPU_ORDER else len(CPU_ORDER), proc)
    for proc in sorted(spent, key=rank):
        total = sum(spent[proc].values())
        for thread, cpu in sorted(spent[proc].items(), key=lambda item: -item[1]):
            w("| %s | %s | %.3f | %s |" % (CPU_TITLE.get(proc, proc), thread,
                                          cpu * 1000 / answers, pct(cpu, total)))
    w("")


PACED_TARGET_RATE = 1000      # half the 2,000/s target: where issue 10 sets p99 and mail
PACED_TARGET_P99_MS = 50
PACED_TARGET_MAIL_P99_MS = 1000


def paced_section(w, results):
    """/mfa/challenge at fixed rates (driver.py paced): latency at a set load rather
    than at wrk's closed-loop peak, and each email's arrival at the sink."""
    rows = sorted((r for r in results.rows if r["kind"] == "paced"),
                  key=lambda r: num(r["connections"]) or 0)
    if not rows:
        return
    w("### Durable `/mfa/challenge` at fixed rates")
    w("")
    w("`bench/driver.py paced` sends the challenges of one point in an open loop (request i "
      "is due at i / rate seconds, each to a different enrolled user, from `bench_paced`: "
      "libcurl's multi interface on one thread, at most %s connections) and "
      "times each from its due time, so a stack that falls behind shows as latency rather "
      "than as a lower rate. A request waits for a free connection when all are busy, so a "
      "send lag beyond a millisecond or two means the stack had that many requests in "
      "flight: it had fallen behind. It then reads each email's arrival time at the SMTP sink (%s) "
      "and subtracts the time its 200 reached the driver: a negative "
      "figure means the mail was stored before the answer came back. The target is a p99 of "
      "at most %d ms and an email p99 of at most %s ms at %s challenges/s, half the 2,000/s "
      "target." % (detail_word(rows[0], "connections") or "?",
                   "the mtime of smtp-sink's dump, to the kernel's file-time tick of a few ms"
                   if sink_is_postfix(results) else "the Python sink's `received_at`",
                   PACED_TARGET_P99_MS,
                   fmt(PACED_TARGET_MAIL_P99_MS), fmt(PACED_TARGET_RATE)))
    w("")
    w("| offered | answered | p50 / p90 / p99 ms | sender: send lag p99, CPU a request | email after the 200: p50 / p99 / max ms | other answers | target |")
    w("|---|---|---|---|---|---|---|")
    for r in rows:
        rate = num(r["connections"])
        p99 = num(r["p99_ms"])
        mail_p99 = num(detail_word(r, "mail_p99_ms") or "")
        target = "-"
        if rate == PACED_TARGET_RATE:
            met = (p99 is not None and p99 <= PACED_TARGET_P99_MS and mail_p99 is not None
                   and mail_p99 <= PACED_TARGET_MAIL_P99_MS and not num(r["other"])
                   and not num(detail_word(r, "missing") or "1"))
            target = "met" if met else "not met"
        w("| %s/s for %s requests | %s/s | %s / %s / %s | %s ms, %s ms | %s / %s / %s | %s | %s |" % (
            fmt(rate), detail_word(r, "requests") or "?", fmt(num(r["value"])), r["p50_ms"],
            r["p90_ms"], r["p99_ms"], detail_word(r, "lag_p99_ms") or "?",
            detail_word(r, "sender_cpu_ms") or "?",
            detail_word(r, "mail_p50_ms") or "?", detail_word(r, "mail_p99_ms") or "?",
            detail_word(r, "mail_max_ms") or "?", r["other"], target))
    w("")


def main():
    parser = argparse.ArgumentParser()
    for name in ("results", "out", "charts", "command", "commit", "cpu", "nproc", "mem",
                 "load-before", "load-after", "seconds", "users", "fs", "elapsed"):
        parser.add_argument("--" + name, required=True)
    args = parser.parse_args()
    results = Results(args.results)
    os.makedirs(args.charts, exist_ok=True)
    conns = results.connections()
    headline = 16 if 16 in conns else (conns[-1] if conns else None)
    charts_rel = os.path.relpath(args.charts, os.path.dirname(os.path.abspath(args.out)))

    load_before = num(args.load_before.split()[0])
    shared = load_before is not None and load_before > 0.5
    lines = []
    w = lines.append
    w("# Performance")
    w("")
    w("Written by `bench/run.sh` (see `bench/README.md`); do not edit by hand, run it again.")
    w("")
    w("| | |")
    w("|---|---|")
    w("| date | %s |" % datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    w("| commit | `%s` |" % args.commit)
    w("| command | `%s` (%s s per point, %s enrolled users; the run took %s s) |" % (
        args.command.strip(), args.seconds, args.users, args.elapsed))
    w("| machine | %s cores (`nproc`), %s, %s of memory; data directory on %s |" % (
        args.nproc, args.cpu, args.mem, args.fs))
    w("| load average | %s before the run, %s after it |" % (args.load_before, args.load_after))
    w("| load generator | wrk on the same machine over loopback (it takes CPU from the servers): "
      "1 thread for 1 connection, 2 threads otherwise |")
    w("")
    if shared:
        w("**The machine was shared with other work during this run** (load average %s before "
          "it started, on %s cores): absolute figures are low and noisy; the ratios, measured "
          "in the same minutes, are the figures to compare." % (args.load_before, args.nproc))
        w("")

    # --- Summary -----------------------------------------------------------------------------
    if headline is not None:
        w("## Summary at %d connections" % headline)
        w("")
        w("Postern over plain HTTP (the gateway's `POSTERN_HTTP_PORT`; the HTTPS row is the "
          "same path over TLS), each figure beside the ceiling it is bounded by, measured by a "
          "small program of `bench/` in the same run.")
        w("")
        w("| path | Postern | p50 / p99 | ceiling it is bounded by | ratio | peer |")
        w("|---|---|---|---|---|---|")
        for name, title, ref, ref_title in PATHS:
            row = results.find("http", name, headline)
            if not row:
                continue
            value = num(row["value"])
            ceiling = results.reference(ref, headline)
            peer = PEER_FOR.get(name)
            peer_value = results.value("http", peer, headline) if peer else None
            peer_text = "-"
            if peer_value:
                peer_text = "node oidc-provider, 2 workers: %s req/s → %.2f×" % (
                    fmt(peer_value), value / peer_value if value else 0)
            other = num(row["other"])
            extra = ""
            if other:
                extra = " (+%s other answers: %s)" % (fmt(other), detail_word(row, "status") or "non-2xx")
            w("| %s | %s req/s%s | %s / %s ms | %s: %s/s | %s | %s |" % (
                title, fmt(value), extra, fmt(num(row["p50_ms"]), 1), fmt(num(row["p99_ms"]), 1),
                ref_title, fmt(ceiling), pct(value, ceiling), peer_text))
        for name, title, ref, ref_title in SECOND_CEILINGS:
            row = results.find("http", name, headline)
            ceiling = results.reference(ref, headline)
            if row and ceiling:
                value = num(row["value"])
                w("| %s | %s req/s | %s / %s ms | %s: %s/s | %s | - |" % (
                    title, fmt(value), fmt(num(row["p50_ms"]), 1), fmt(num(row["p99_ms"]), 1),
                    ref_title, fmt(ceiling), pct(value, ceiling)))
        sink = results.value("ceiling", "smtp_sink")
        for r in sorted((r for r in results.rows if r["kind"] == "mailer"),
                        key=lambda r: int(r["connections"])):
            cores = ""
            if detail_word(r, "sink_cores"):
                cores = " (CPU: sink %s cores, mailers %s)" % (detail_word(r, "sink_cores"),
                                                             detail_word(r, "mailers_cores"))
            w("| the mailer alone, %s process(es) | %s jobs/s%s | %s / %s ms | the SMTP sink alone: %s msg/s | %s | - |" % (
                r["connections"], fmt(num(r["value"])), cores, fmt(num(r["p50_ms"]), 1),
                fmt(num(r["p99_ms"]), 1), fmt(sink), pct(num(r["value"]), sink)))
        w("")

    paced_section(w, results)

    # --- Where the CPU goes ------------------------------------------------------------------
    cpu_section(w, results, headline, num(args.nproc))
    thread_section(w, results, headline)

    # --- Ceilings ------------------------------------------------------------------------------
    w("## Ceilings")
    w("")
    w("| program | figure | what it measures |")
    w("|---|---|---|")
    what = {
        "rsa_sign": "`bench/rsa_sign.c`: RSA-2048 RS256 signatures (OpenSSL EVP), one thread per core",
        "argon2id": "`bench/argon2_rate.c`: argon2id m = 19 MiB, t = 2, p = 1 (libsodium, its memory on huge pages as in authn), one thread per core",
        "sqlite_commit": "`bench/sqlite_commit.c`: single-row INSERT commits, WAL, synchronous=FULL, in the data directory",
        "smtp_sink": "`bench/driver.py smtp-blast`: the SMTP sink alone (%s), 16 Python smtplib connections (4 mailers × 4 deliveries in flight)%s" % (
            sink_title(results), "; with smtp-sink, smtplib's CPU is the limit rather than the sink's" if sink_is_postfix(results) else ""),
    }
    for row in (r for r in results.rows if r["kind"] == "ceiling"):
        extra = ""
        if row["p50_ms"] not in ("", "-"):
            extra = " (p50 %s ms, p99 %s ms)" % (row["p50_ms"], row["p99_ms"])
        w("| %s | %s %s%s | %s |" % (row["name"], fmt(num(row["value"])), row["unit"], extra,
                                    what.get(row["name"], "")))
    for name, title in (("bare_http", "`bench/bare_http.c`: libmicrohttpd, the gateway's flags, the JWKS bytes"),
                        ("bare_https", "the same over TLS (the gateway's certificate and priorities)")):
        row = results.find("http", name, headline)
        if row:
            w("| %s | %s req/s at %d connections | %s |" % (name, fmt(num(row["value"])), headline, title))
    w("")

    # --- Everything ------------------------------------------------------------------------------
    w("## Every figure against connections")
    w("")
    w("Answers per second counts the expected answers only (2xx; 403 `mfa_required` for the "
      "password grant); \"other\" counts the rest (for `/mfa/challenge`: 429 when a user's send "
      "bucket is empty, 503 when the mailers' backlog is full). mfa-oob replays single-use "
      "verifications prepared beforehand, one per enrolled user per connection count, so each of "
      "its points is a short burst of %s requests." % args.users)
    w("")
    w("| path | connections | answers/s | p50 ms | p90 ms | p99 ms | other | ceiling at this count | ratio |")
    w("|---|---|---|---|---|---|---|---|---|")
    names = [p[0] for p in PATHS] + ["bare_http", "bare_https", "peer_cc"]
    refs = {p[0]: p[2] for p in PATHS}
    for name in names:
        for row in results.series(name):
            c = int(row["connections"])
            ceiling = results.reference(refs[name], c) if name in refs else None
            w("| %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
                name, c, fmt(num(row["value"])), row["p50_ms"], row["p90_ms"], row["p99_ms"],
                row["other"] or "0", fmt(ceiling), pct(num(row["value"]), ceiling)))
    w("")

    # --- RSS ------------------------------------------------------------------------------------
    w("## Memory (RSS per process)")
    w("")
    w("| process | idle after start | peak (VmHWM) | idle after the load |")
    w("|---|---|---|---|")
    for service in ("gateway", "authn", "mfa", "mailer", "peer worker"):
        cells = []
        for label in ("idle after start", "peak (VmHWM)", "idle after the load"):
            row = next((r for r in results.rows if r["kind"] == "rss" and r["name"] == service
                        and r["detail"] == label), None)
            cells.append("%.1f MiB" % (num(row["value"]) / 1024) if row and num(row["value"]) else "-")
        if any(c != "-" for c in cells):
            w("| %s | %s |" % (service, " | ".join(cells)))
    w("")
    w("authn's peak includes argon2id's 19 MiB per concurrent hash (libsodium maps it per "
      "call). The peer's row is one node worker at its peak.")
    w("")

    # --- Charts ---------------------------------------------------------------------------------
    w("## Charts")
    w("")
    drawn = []
    for name, title, ref, ref_title in PATHS + [("bare_http", "bare libmicrohttpd", None, "")]:
        if ref is None:
            continue
        png = chart(results, name, title, ref, ref_title, args.charts)
        if png:
            drawn.append(png)
            w("![%s](%s/%s)" % (title, charts_rel, png))
            w("")
    png = mailer_chart(results, args.charts)
    if png:
        drawn.append(png)
        w("![the mailer alone](%s/%s)" % (charts_rel, png))
        w("")
    w("The raw figures, with each measuring program's own output line, are in "
      "[`%s/results.tsv`](%s/results.tsv)." % (charts_rel, charts_rel))
    w("")

    # --- Notes ----------------------------------------------------------------------------------
    w("## Reading these figures")
    w("")
    notes = []
    sink = results.value("ceiling", "smtp_sink")
    # results from before the sink_fsync row came from a sink that fsynced
    sink_fsynced = results.value("setup", "sink_fsync") != 0
    sink_writes = ("one file per message without fsync" if sink_is_postfix(results) else
                   "writing and fsyncing two files per message" if sink_fsynced else
                   "writing two files per message without fsync")
    mailer_rows = [r for r in results.rows if r["kind"] == "mailer"]
    if mailer_rows:
        best = max(num(r["value"]) or 0 for r in mailer_rows)
        sink_cores = [num(detail_word(r, "sink_cores")) for r in mailer_rows]
        sink_cores = [c for c in sink_cores if c is not None]
        busy = max(sink_cores) if sink_cores else None
        # smtp-blast's figure is the Python client's own limit when the sink is smtp-sink,
        # so only the sink's CPU can tell whether it bounds the mailers
        sink_bounds = sink and best >= 0.7 * sink and not sink_is_postfix(results)
        if (busy is not None and busy >= 0.85) or sink_bounds:
            notes.append("**The SMTP sink is the bottleneck of the mailer figures.** It is %s, "
                         "one thread, %s; "
                         "during the mailer runs it used up to %s of a core, and Python's smtplib "
                         "alone gets %s msg/s out of it (the best mailer figure: %s jobs/s). More "
                         "mailer processes cannot go faster than the sink, so these figures are a "
                         "floor for the mailer, not its ceiling." % (sink_title(results), sink_writes,
                             "%.0f%%" % (100 * busy) if busy is not None else "?", fmt(sink), fmt(best)))
        else:
            notes.append("The SMTP sink does not bound the mailer figures: it took %s msg/s from "
                         "Python's smtplib alone (%s), and during the mailer runs it used at most %s "
                         "of a core%s. The mailers were not CPU-bound either (at most %s "
                         "cores together), so the limit is in the per-job path — outbox commits, "
                         "credit round trips, SMTP exchanges per delivery worker — and, on a busy "
                         "machine, in CPU time taken by other work; this run did not profile which." % (
                             fmt(sink),
                             "the client's limit rather than the sink's; the best mailer figure: %s "
                             "jobs/s" % fmt(best) if sink_is_postfix(results) else
                             "more than the best mailer figure, %s jobs/s" % fmt(best),
                             "%.0f%%" % (100 * busy) if busy is not None else "?",
                             "" if sink_is_postfix(results) else
                             " (fsyncs, when it makes them, block its one event loop without "
                             "showing as CPU, which is why the smtplib run is the check that counts)",
                             max((detail_word(r, "mailers_cores") or "?") for r in mailer_rows)))
    for name, title, _, _ in PATHS:
        if name == "challenge":
            continue
        odd = [r for r in results.series(name) if num(r["other"])]
        if odd:
            notes.append("%s had unexpected answers: %s.%s" % (
                title, "; ".join("%s at %s connections" % (detail_word(r, "status") or
                                                          "%s non-2xx" % r["other"], r["connections"])
                                 for r in odd),
                " A 503 there is the gateway's bus deadline (`POSTERN_BUS_TIMEOUT_MS`, 2 s) "
                "passing while sign-ins queue for argon2id: more connections than the cores can "
                "hash within 2 s." if name == "password" else ""))
    if results.series("mfa_oob"):
        notes.append("mfa-oob → tokens is more than a signature: mfa checks the code and, before "
                     "authn signs, writes the challenge and the mfa_token as used, the refilled "
                     "failure bucket and an audit row to mfa.db (synchronous=FULL), so the "
                     "durable-commit ceiling bounds it as well as RSA + HTTP does. Each of "
                     "its points is one burst of %s single-use verifications, so its figures are "
                     "noisier than the others'." % args.users)
    chal = results.series("challenge")
    if chal:
        others = sum(num(r["other"]) or 0 for r in chal)
        if others:
            notes.append("`/mfa/challenge` had %s other answers over its runs (%s): a 429 is a user's "
                         "send bucket (20, then 1/min) running dry, so raise `--users` when the path "
                         "gets faster; a 503 is the mailers' backlog (1,000 unsent jobs) being full "
                         "because the sink cannot take the mail as fast." % (
                             fmt(others), ", ".join(detail_word(r, "status") or "" for r in chal)))
    backlog = results.find("setup", "outbox_backlog")
    if backlog and num(backlog["value"]):
        notes.append("%s challenge emails were still waiting in the stack's outbox 2 s after the "
                     "challenge runs: the mail path (mailer → sink) is slower than the challenges "
                     "are accepted." % backlog["value"])
    notes.append("wrk runs on the same %s cores as the servers, so every figure includes its "
                 "CPU; bare libmicrohttpd and the peer are measured the same way, which keeps "
                 "the ratios fair." % args.nproc)
    if not sink_fsynced:
        notes.append("The SMTP sink (%s) stands in for a mail relay on another machine, so it "
                     "writes each message whole but without fsync: its fsyncs would otherwise queue "
                     "on the one disk with the stack's own commits. `BENCH_SINK_FSYNC=1` measures "
                     "with them (the Python sink); the sink's CPU is still in every figure%s." % (
                         sink_title(results),
                         ", which is why the bench uses postfix's smtp-sink, written in C, rather "
                         "than the tests' aiosmtpd sink, which took about as much CPU a message as "
                         "the mailer (`BENCH_SINK=python` runs that one)" if sink_is_postfix(results) else ""))
    notes.append("The client_credentials and mfa-oob ceiling adds the CPU of one RSA signature to "
                  "that of one bare HTTP request: 1 / (1/signs + 1/requests). A verification "
                  "must also commit before its tokens (S5, S26), so mfa-oob has a second row "
                  "whose ceiling adds one fsync'd SQLite commit: 1 / (1/signs + 1/requests + "
                  "1/commits). It is still generous: the commit waits for the disk rather than "
                  "the CPU, and the verification's reads, the bus hops and the second "
                  "service are in neither.")
    enrol = results.find("setup", "enrol")
    if enrol:
        notes.append("Setting up took %s s to enrol %s users through the API (each: user "
                     "creation, password grant, association, the mailed code, mfa-oob)." % (
                         enrol["value"], enrol["connections"]))
    populated = results.find("setup", "populate")
    if populated:
        sizes = {}
        for r in results.rows:
            if r["kind"] == "setup" and r["name"].startswith("db_"):
                sizes.setdefault(r["connections"], {})[r["detail"]] = num(r["value"])
        files = ", ".join("`%s` %s → %s MiB" % (
            name, fmt((sizes[name].get("populated") or 0) / 1048576.0),
            fmt((sizes[name].get("after the load") or 0) / 1048576.0)) for name in sorted(sizes))
        notes.append("The databases were populated first (`--populate %s`, %s s): %s more users, "
                     "as many email authenticators, and a day of sign-ins (mfa_tokens, challenges, "
                     "mail jobs, audit rows, sent mails); sizes populated → after the load: %s." % (
                         populated["connections"], populated["value"], populated["connections"],
                         files))
    for note in notes:
        w("- " + note)
    w("")
    w("Figures from before this command (wrk over HTTPS, `bench/grants.sh`) are kept in "
      "`bench/README.md` under \"Past figures\".")
    w("")
    with open(args.out, "w") as out:
        out.write("\n".join(lines))
    print("report.py: wrote %s and %d charts in %s" % (args.out, len(drawn), args.charts))


if __name__ == "__main__":
    main()
