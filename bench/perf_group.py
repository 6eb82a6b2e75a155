#!/usr/bin/env python3
"""Groups a `perf record --call-graph dwarf` profile of one Postern service by
its own functions, so that a profile says which handler step the time is under
even when the leaf is inside a library without symbols.

    perf record -F 999 --call-graph dwarf,16384 -p PID -o FILE -- sleep 5
    perf script -i FILE -F comm,ip,sym,dso > FILE.txt
    bench/perf_group.py FILE.txt [THREAD] [--top N]

Prints the share of all samples per thread name; then, for THREAD (every
thread when omitted), the share of samples under each function of a postern-*
binary (inclusive: a sample counts once for every function on its stack), and
the share by innermost postern function and the library its leaf is in. Every
share is of all the profile's samples, THREAD's or not, so that the figures of
several threads add up. Standard library only; reads the text once, line by line.
"""
import argparse
import collections
import sys

MAX_FRAMES = 512        # frames kept per sample: perf's own limit is lower


def samples(path):
    """(thread, [(symbol, dso), ...] leaf first) for each sample of perf script."""
    thread, frames = None, None
    with open(path, errors="replace") as text:
        for line in text:
            if not line.strip():
                if frames is not None:
                    yield thread, frames
                thread, frames = None, None
                continue
            if line[0] not in " \t":
                # header: the thread's name alone, as -F comm,ip,sym,dso prints
                # it; a sample not ended by a blank line ends here
                if frames is not None:
                    yield thread, frames
                thread, frames = line.strip() or "?", []
                continue
            if frames is None or len(frames) >= MAX_FRAMES:
                continue
            parts = line.split(None, 1)
            if len(parts) < 2:
                continue
            rest = parts[1].strip()
            # a binary replaced while it ran
            if rest.endswith(" (deleted))"):
                rest = rest[:-len(" (deleted))")] + ")"
            symbol = rest.split(" (")[0].split("+")[0]
            dso = rest[rest.rfind("(") + 1:-1] if rest.endswith(")") else ""
            frames.append((symbol, dso))
    if frames is not None:
        yield thread, frames


def main(argv):
    parser = argparse.ArgumentParser(
        description="Groups perf script output by Postern's own functions.")
    parser.add_argument("profile", help="perf script -F comm,ip,sym,dso output")
    parser.add_argument("thread", nargs="?", help="only this thread name's samples")
    parser.add_argument("--top", type=int, default=40, help="lines per table (default 40)")
    args = parser.parse_args(argv[1:])
    wanted = args.thread
    top = max(args.top, 1)
    threads = collections.Counter()
    inclusive = collections.Counter()
    innermost = collections.Counter()
    total = 0
    for thread, frames in samples(args.profile):
        total += 1
        threads[thread] += 1
        if wanted and thread != wanted:
            continue
        ours = [symbol for symbol, dso in frames if "/postern-" in dso]
        for symbol in set(ours):
            inclusive[symbol] += 1
        leaf = frames[0][1].rsplit("/", 1)[-1] if frames else "?"
        innermost[(ours[0] if ours else "-", leaf)] += 1
    if total == 0:
        print("no samples", file=sys.stderr)
        return 1
    print("samples %d (every share below is of all of them)" % total)
    print("by thread")
    for name, count in threads.most_common():
        print("  %5.1f%% %s" % (100.0 * count / total, name))
    print("under each postern function%s (inclusive)" % (" of " + wanted if wanted else ""))
    for name, count in inclusive.most_common(top):
        print("  %5.1f%% %s" % (100.0 * count / total, name))
    print("innermost postern function <- the leaf's library")
    for (name, leaf), count in innermost.most_common(top):
        print("  %5.1f%% %s <- %s" % (100.0 * count / total, name, leaf))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
