#!/usr/bin/python3
"""driver.py - the parts of bench/run.sh that need state between requests.

Run with Debian's /usr/bin/python3; standard library only (and the mailbox reader
of tests/soak/soak.py). Talks plain HTTP to the gateway's POSTERN_HTTP_PORT on
127.0.0.1; reads codes from the SMTP sink's maildir, as a user reads a mailbox.

    driver.py enrol       --base URL --mgmt-token T --client-id ID --client-secret S
                          --password PW --prefix P --users N --maildir DIR --out FILE
    driver.py login       --base URL --client-id ID --client-secret S --password PW
                          --users FILE --out FILE
    driver.py prepare-oob --base URL --client-id ID --client-secret S --tokens FILE
                          --maildir DIR --out FILE
    driver.py paced       --base URL --client-id ID --client-secret S --tokens FILE
                          --maildir DIR --rate R --seconds S --sender BENCH_PACED
                          [--connections N]
    driver.py smtp-blast  --port P --messages N [--threads T]

enrol        creates N users and enrols each in the email factor (password grant,
             /mfa/associate, the mailed code, mfa-oob); writes their addresses.
login        one password grant per user: "address<TAB>mfa_token" lines.
prepare-oob  one /mfa/challenge per mfa_token and the code from its email: one
             urlencoded mfa-oob grant body per line, for wrk to replay once each.
paced        /mfa/challenge at a fixed rate (an open loop: request i is due at i/R s,
             whatever the answers before it), each to a different user, sent by
             bench_paced (bench/paced.c) on at most N connections; then waits
             for each answered challenge's email at the sink. Prints "paced rate=R
             ... per_s=... p99_ms=... mail_p99_ms=..." where per_s counts the 200s,
             a request's latency counts from its due time, and an email's from its
             200 (negative when the mail was stored before the 200 reached the
             driver).
smtp-blast   T SMTP connections of Python's smtplib, each sending messages back to
             back, N in all: the Python sink's own ceiling (for smtp-sink, the client's
             limit); prints "smtp_blast messages=N seconds=S per_s=R".

enrol, prepare-oob and paced take --sink python (the tests' sink: numbered .eml and
.json files, the default) or --sink postfix (smtp-sink's dumps, bench/smtp_sink.sh).

Every loop is bounded by the count it is given; every wait has a deadline. A
failure prints what failed and exits 1.
"""

import argparse
import concurrent.futures
import email
import http.client
import json
import math
import os
import re
import resource
import smtplib
import subprocess
import sys
import threading
import time
import urllib.parse
from email import policy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "soak"))
from soak import MailWatcher  # noqa: E402  (the soak's mailbox reader)

MAIL_TIMEOUT_S = 60.0
THREADS = 4
MGMT_RETRIES = 30
MFA_OOB = "http://auth0.com/oauth/grant-type/mfa-oob"


class Http:
    """One keep-alive connection per thread."""

    def __init__(self, base):
        url = urllib.parse.urlsplit(base)
        if url.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("driver.py: loopback only (got %s)" % url.hostname)
        self.host, self.port = url.hostname, url.port
        self.local = threading.local()

    def request(self, method, path, body=None, headers=None):
        for attempt in (1, 2):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                conn.request(method, path, body=body, headers=headers or {})
                response = conn.getresponse()
                data = response.read()
                try:
                    value = json.loads(data) if data else {}
                except ValueError:
                    value = {}
                return response.status, value if isinstance(value, dict) else {}
            except (ConnectionError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    raise

    def form(self, path, fields):
        return self.request("POST", path, urllib.parse.urlencode(fields),
                            {"content-type": "application/x-www-form-urlencoded"})

    def json(self, path, value, token=None):
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = "Bearer " + token
        return self.request("POST", path, json.dumps(value), headers)


class Failure(Exception):
    pass


def expect(what, status, value, want):
    if status != want:
        raise Failure("%s: want %d, got %d %s" % (what, want, status, json.dumps(value)[:300]))


def password_grant(http, args, address):
    status, value = http.form("/oauth/token", {
        "grant_type": "password", "username": address, "password": args.password,
        "client_id": args.client_id, "client_secret": args.client_secret})
    if status != 403 or value.get("error") != "mfa_required" or not value.get("mfa_token"):
        raise Failure("password grant for %s: %d %s" % (address, status, json.dumps(value)[:300]))
    return value["mfa_token"]


def mailed_code(mail, address, seen):
    code = mail.wait_new(address, seen, MAIL_TIMEOUT_S)
    if not code:
        raise Failure("no email with a code for %s within %.0f s" % (address, MAIL_TIMEOUT_S))
    return code


def run_all(items, work, threads=THREADS):
    """work(item) for every item on a few threads; the results in order, or exit 1."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(work, item) for item in items]
        results = []
        for future in futures:
            try:
                results.append(future.result())
            except Failure as exc:
                for other in futures:
                    other.cancel()
                print("driver.py: %s" % exc, file=sys.stderr)
                sys.exit(1)
    return results


def read_dump(path):
    """(recipients, code) of one message dumped by postfix's smtp-sink (bench/smtp_sink.sh),
    or None while it is still being received: smtp-sink creates the file at MAIL FROM
    and writes the message when it ends, with an empty line after it."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.endswith(b"\n\n"):
        return None
    msg = email.message_from_bytes(data, policy=policy.default)
    # smtp-sink writes through a 4 KiB buffer: a longer message can be seen part
    # written, and a part may end in an empty line; a multipart one is whole only
    # with its closing boundary
    boundary = msg.get_boundary()
    if msg.is_multipart() and boundary and ("--%s--" % boundary).encode() not in data:
        return None
    rcpts = re.findall(r"<([^<>]*)>", " ".join(msg.get_all("X-Rcpt-Args", [])))
    body = msg.get_body(preferencelist=("plain",))
    codes = re.findall(r"\b\d{6}\b", body.get_content() if body else "")
    return rcpts, codes[0] if codes else ""


class DumpWatcher(MailWatcher):
    """MailWatcher for smtp-sink's dumps: the codes per recipient, in the order the
    sink finished the messages (their mtimes)."""

    def __init__(self, maildir, stop):
        super().__init__(maildir, stop)
        self.done = set(os.listdir(maildir))

    def run(self):
        while not self.stop.is_set():
            found = []
            for name in set(os.listdir(self.maildir)) - self.done:
                path = os.path.join(self.maildir, name)
                try:
                    mail = read_dump(path)
                    if mail:
                        found.append((os.stat(path).st_mtime_ns, name, mail))
                except (OSError, ValueError) as exc:
                    print("driver.py: unreadable message %s: %s" % (path, exc), file=sys.stderr)
                    self.done.add(name)
            found.sort()
            self.done.update(name for _, name, _ in found)
            self.record([mail for _, _, mail in found])
            time.sleep(0.02)


def watch(args):
    stop = threading.Event()
    mail = (DumpWatcher if args.sink == "postfix" else MailWatcher)(args.maildir, stop)
    mail.start()
    return mail, stop


def cmd_enrol(args):
    http = Http(args.base)
    mail, stop = watch(args)

    def enrol(i):
        address = "%s-%d@example.com" % (args.prefix, i)
        # the Management API's rate limit (a bucket of 100, 50/s back) can run dry when
        # enrolment outpaces it: wait and retry, as a client honouring Retry-After does
        for _ in range(MGMT_RETRIES):
            status, value = http.json("/api/v2/users", {
                "email": address, "password": args.password, "email_verified": True,
                "connection": "Username-Password-Authentication"}, args.mgmt_token)
            if status != 429:
                break
            time.sleep(1.0)
        expect("create user %s" % address, status, value, 201)
        token = password_grant(http, args, address)
        seen = mail.count(address)
        status, value = http.json("/mfa/associate", {"authenticator_types": ["oob"],
                                                     "oob_channels": ["email"]}, token)
        expect("associate %s" % address, status, value, 200)
        code = mailed_code(mail, address, seen)
        status, value = http.form("/oauth/token", {
            "grant_type": MFA_OOB, "mfa_token": token, "oob_code": value.get("oob_code", ""),
            "binding_code": code, "client_id": args.client_id, "client_secret": args.client_secret})
        expect("confirm %s" % address, status, value, 200)
        return address

    addresses = run_all(range(1, args.users + 1), enrol)
    stop.set()
    with open(args.out, "w") as out:
        out.write("".join(a + "\n" for a in addresses))


def cmd_login(args):
    http = Http(args.base)
    with open(args.users) as f:
        addresses = [line.strip() for line in f if line.strip()]
    tokens = run_all(addresses, lambda a: (a, password_grant(http, args, a)))
    with open(args.out, "w") as out:
        out.write("".join("%s\t%s\n" % pair for pair in tokens))


def cmd_prepare_oob(args):
    http = Http(args.base)
    mail, stop = watch(args)
    with open(args.tokens) as f:
        pairs = [line.rstrip("\n").split("\t") for line in f if line.strip()]

    def prepare(pair):
        address, token = pair
        seen = mail.count(address)
        status, value = http.json("/mfa/challenge", {
            "mfa_token": token, "challenge_type": "oob", "client_id": args.client_id,
            "client_secret": args.client_secret})
        expect("challenge for %s" % address, status, value, 200)
        code = mailed_code(mail, address, seen)
        return urllib.parse.urlencode({
            "grant_type": MFA_OOB, "mfa_token": token, "oob_code": value.get("oob_code", ""),
            "binding_code": code, "client_id": args.client_id, "client_secret": args.client_secret})

    bodies = run_all(pairs, prepare)
    stop.set()
    with open(args.out, "w") as out:
        out.write("".join(b + "\n" for b in bodies))


def percentile(values, share):
    """The nearest-rank percentile of a list: the ceil(share * n)-th smallest (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(share * len(ordered)))) - 1]


def sink_marker(args):
    """What sink_receipts counts from: the highest message number (Python sink), or
    the names already there (smtp-sink)."""
    names = os.listdir(args.maildir)
    if args.sink == "postfix":
        return set(names)
    return max((int(n[:-5]) for n in names if n.endswith(".json") and n[:-5].isdigit()), default=0)


def dump_receipts(maildir, before):
    """{recipient: received_at} of each recipient's first message not in `before`,
    from smtp-sink's dumps; a dump's mtime is when its last byte was written, to the
    kernel's file-time granularity (a few ms)."""
    seen = {}
    for name in set(os.listdir(maildir)) - before:
        path = os.path.join(maildir, name)
        try:
            mail = read_dump(path)
            stamp = os.stat(path).st_mtime_ns / 1e9
        except (OSError, ValueError):
            continue
        for rcpt in mail[0] if mail else ():
            seen[rcpt] = min(seen.get(rcpt, stamp), stamp)
    return seen


def sink_receipts(args, marker):
    """{recipient: received_at} of each recipient's first message since sink_marker."""
    if args.sink == "postfix":
        return dump_receipts(args.maildir, marker)
    return numbered_receipts(args.maildir, marker)


def numbered_receipts(maildir, after):
    """{recipient: received_at} of each recipient's first message numbered above
    `after`, from the Python sink's sidecars (each <n>.json is renamed into place
    whole, so a listed one is complete)."""
    numbers = sorted(int(n[:-5]) for n in os.listdir(maildir)
                     if n.endswith(".json") and n[:-5].isdigit() and int(n[:-5]) > after)
    seen = {}
    for number in numbers:
        try:
            with open(os.path.join(maildir, "%d.json" % number)) as f:
                sidecar = json.load(f)
        except (OSError, ValueError):
            continue
        for rcpt in sidecar.get("rcpt_tos", []):
            if "received_at" in sidecar:
                seen.setdefault(rcpt, sidecar["received_at"])
    return seen


def cmd_paced(args):
    with open(args.tokens) as f:
        pairs = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    count = min(len(pairs), int(args.rate * args.seconds))
    if count < 1:
        raise SystemExit("driver.py paced: no request to send (rate %.1f, %.1f s, %d users)"
                         % (args.rate, args.seconds, len(pairs)))
    pairs = pairs[:count]
    marker = sink_marker(args)
    # The schedule runs in bench_paced (C, libcurl's multi interface, one
    # thread): 64 Python threads took enough of two cores from the stack that
    # the driver fell behind at 1,000/s. It writes, a request a line in order,
    # "status due-to-answer-s due-to-send-s wall-clock-of-the-answer".
    work = os.path.dirname(os.path.abspath(args.tokens))
    bodies_path = os.path.join(work, "paced-bodies.jsonl")
    results_path = os.path.join(work, "paced-results.txt")
    with open(bodies_path, "w") as f:
        for address, token in pairs:
            f.write(json.dumps({"mfa_token": token, "challenge_type": "oob",
                                "client_id": args.client_id,
                                "client_secret": args.client_secret}) + "\n")
    try:
        sent = subprocess.run([args.sender, args.base.rstrip("/") + "/mfa/challenge",
                               repr(args.rate), bodies_path, results_path,
                               "--connections", str(args.connections)],
                              timeout=args.seconds + 180)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SystemExit("driver.py paced: %s did not run: %s" % (args.sender, error))
    if sent.returncode != 0:
        raise SystemExit("driver.py paced: %s failed (exit %d)" % (args.sender, sent.returncode))
    # The sender's own CPU, which it takes from the stack on the same cores
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    sender_cpu_ms = (used.ru_utime + used.ru_stime) * 1000.0 / count
    results = []
    with open(results_path) as f:
        for line in f:
            status, answer, send, wall = line.split()
            results.append((int(status), float(answer), float(send), float(wall)))
    if len(results) != count:
        raise SystemExit("driver.py paced: %d results for %d requests" % (len(results), count))
    elapsed = max(i / args.rate + r[1] for i, r in enumerate(results))
    answered = {pairs[i][0]: r[3] for i, r in enumerate(results) if r[0] == 200}
    deadline = time.monotonic() + args.mail_wait
    while True:
        received = sink_receipts(args, marker)
        if all(a in received for a in answered) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    mail = [received[a] - t for a, t in answered.items() if a in received]
    latency = [r[1] for r in results]
    lag = [r[2] for r in results]
    ms = lambda v: "-" if v is None else "%.1f" % (v * 1000)
    print("paced rate=%.1f requests=%d ok=%d other=%d seconds=%.3f per_s=%.1f p50_ms=%s p90_ms=%s "
          "p99_ms=%s lag_p99_ms=%s mail=%d missing=%d mail_p50_ms=%s mail_p99_ms=%s mail_max_ms=%s "
          "connections=%d sender_cpu_ms=%.3f" % (
              args.rate, count, len(answered), count - len(answered), elapsed, len(answered) / elapsed,
              ms(percentile(latency, 0.5)), ms(percentile(latency, 0.9)), ms(percentile(latency, 0.99)),
              ms(percentile(lag, 0.99)), len(mail), len(answered) - len(mail),
              ms(percentile(mail, 0.5)), ms(percentile(mail, 0.99)), ms(max(mail, default=None)),
              args.connections, sender_cpu_ms))


def cmd_smtp_blast(args):
    per_thread = [args.messages // args.threads + (1 if i < args.messages % args.threads else 0)
                  for i in range(args.threads)]
    message = ("From: bench@postern.test\r\nTo: blast@example.com\r\nSubject: Your code\r\n"
               "\r\nYour verification code is 123456.\r\n")

    def blast(count):
        with smtplib.SMTP("127.0.0.1", args.port, timeout=30) as smtp:
            for _ in range(count):
                smtp.sendmail("bench@postern.test", ["blast@example.com"], message)
        return count

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.threads) as pool:
        sent = sum(pool.map(blast, per_thread))
    seconds = time.monotonic() - start
    print("smtp_blast messages=%d seconds=%.3f per_s=%.1f threads=%d"
          % (sent, seconds, sent / seconds, args.threads))


def main():
    parser = argparse.ArgumentParser(description="bench/run.sh's stateful steps")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--base", required=True)
    common.add_argument("--client-id", required=True)
    common.add_argument("--client-secret", required=True)
    common.add_argument("--sink", choices=("python", "postfix"), default="python",
                        help="the SMTP sink whose --maildir is read (bench/smtp_sink.sh: postfix)")
    p = sub.add_parser("enrol", parents=[common])
    p.add_argument("--mgmt-token", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--prefix", required=True)
    p.add_argument("--users", type=int, required=True)
    p.add_argument("--maildir", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("login", parents=[common])
    p.add_argument("--password", required=True)
    p.add_argument("--users", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("prepare-oob", parents=[common])
    p.add_argument("--tokens", required=True)
    p.add_argument("--maildir", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("paced", parents=[common])
    p.add_argument("--tokens", required=True)
    p.add_argument("--maildir", required=True)
    p.add_argument("--rate", type=float, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--sender", required=True, help="bench_paced, built with the bench")
    # An open loop needs more connections than requests in flight: at 1,000/s
    # with answers of 30-40 ms that is 30-40; 64 is the gateway's default limit
    # of one address's connections
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--mail-wait", type=float, default=30.0)
    p = sub.add_parser("smtp-blast")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--messages", type=int, required=True)
    p.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    {"enrol": cmd_enrol, "login": cmd_login, "prepare-oob": cmd_prepare_oob,
     "paced": cmd_paced, "smtp-blast": cmd_smtp_blast}[args.command](args)


if __name__ == "__main__":
    main()
