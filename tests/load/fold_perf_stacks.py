#!/usr/bin/env python3
"""Folds `perf script` output into one line per stack ("root;...;leaf COUNT"),
the input of flamegraph_svg.py, and optionally writes a summary of where the
samples went: the kernel's share, futexes, write(2), the shared objects the
samples landed in, and named parts of the broker's hot path.

usage: perf script -i perf.data | fold_perf_stacks.py [--summary FILE] > stacks.folded

The thread's name is the root of each stack. Kernel frames end in "_[k]".
"""
import argparse
import collections
import os
import re
import sys

# perf script prints a header line per sample, then one line per frame:
#   "\t    7f12a3b4c5d6 absl::Mutex::Lock()+0x16 (/usr/lib/.../libabsl_synchronization.so)"
FRAME = re.compile(r"^\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$")
OFFSET = re.compile(r"\+0x[0-9a-f]+$")

# Inclusive shares reported in the summary: a sample counts once for a name
# if any frame of its stack matches.
NAMED = [
    ("futex (any frame)", re.compile(r"futex", re.I)),
    ("write(2) (ksys_write)", re.compile(r"ksys_write|__x64_sys_write")),
    ("sendmsg (gRPC's socket writes)", re.compile(r"sys_sendmsg|__sys_sendmsg")),
    ("recvmsg (gRPC's socket reads)", re.compile(r"sys_recvmsg|__sys_recvmsg")),
    ("epoll_wait", re.compile(r"epoll_wait")),
    ("scheduler (schedule, try_to_wake_up)", re.compile(r"^(schedule|__schedule|try_to_wake_up)")),
    ("credbroker::BrokerService::IssueScriptSession",
     re.compile(r"credbroker::BrokerService::IssueScriptSession")),
    ("credbroker::CallerAuthorizer::Authorize",
     re.compile(r"credbroker::CallerAuthorizer::Authorize")),
    ("credbroker::MakeCallContext", re.compile(r"credbroker::MakeCallContext")),
    ("credbroker::ScriptSessions::Issue", re.compile(r"credbroker::ScriptSessions::Issue")),
    ("credbroker::TokenCache::GetOrFetch", re.compile(r"credbroker::TokenCache::GetOrFetch")),
    ("credbroker::WriteAudit (build + write the line)", re.compile(r"credbroker::WriteAudit")),
    ("credbroker::Logger::Log", re.compile(r"credbroker::Logger::Log")),
    ("nlohmann json (any frame)", re.compile(r"nlohmann")),
    ("absl::FormatTime", re.compile(r"absl::.*FormatTime")),
    ("credbroker::Sha256Hex", re.compile(r"credbroker::Sha256Hex")),
    ("Abseil deadlock detection (GraphCycles, DeadlockCheck)",
     re.compile(r"GraphCycles|DeadlockCheck|absl::.*Synch_GetAllLocks")),
    ("absl::Mutex", re.compile(r"absl::[a-z_0-9]*::?Mutex::|absl::Mutex::")),
    ("malloc/free", re.compile(r"^(malloc|free|_int_malloc|_int_free|cfree|operator new|"
                               r"operator delete|tcache)")),
    ("protobuf (any frame)", re.compile(r"google::protobuf")),
    ("grpc_core::chttp2 / transport", re.compile(r"chttp2|grpc_chttp2")),
]


def short_dso(dso):
    if dso.startswith("[") or not dso:
        return dso or "[unknown]"
    return os.path.basename(dso)


def read_samples(lines):
    """Yields (thread, [(symbol, dso), ...] leaf first) per sample."""
    thread, frames = None, []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if thread is not None and frames:
                yield thread, frames
            thread, frames = None, []
            continue
        if not line[0].isspace():
            # "comm  pid/tid  time:  period cpu-clock:" ; comm may hold spaces.
            head = re.split(r"\s+\d+(/\d+)?\s+", line, maxsplit=1)
            thread = head[0].strip().replace(";", ":") or "?"
            frames = []
            continue
        match = FRAME.match(line)
        if match:
            symbol, dso = match.group(1), match.group(2)
            symbol = OFFSET.sub("", symbol)
            if symbol in ("[unknown]", ""):
                symbol = "[" + short_dso(dso) + "]"
            frames.append((symbol.replace(";", ":"), dso))
    if thread is not None and frames:
        yield thread, frames


def with_inlined_dsos(samples):
    """An inlined frame shares its address with the frame below it (its
    caller): give it that frame's shared object."""
    for thread, frames in samples:
        fixed, below = [], "[unknown]"
        for symbol, dso in reversed(frames):
            if dso == "inlined":
                dso = below
            fixed.append((symbol, dso))
            below = dso
        yield thread, list(reversed(fixed))


def frame_name(symbol, dso):
    return symbol + "_[k]" if dso.startswith("[kernel") else symbol


def summarize(samples, out):
    total = len(samples)
    if total == 0:
        out.write("no samples\n")
        return

    def pct(n):
        return f"{100.0 * n / total:5.1f}%"

    kernel_leaf = sum(1 for _, f in samples if f[0][1].startswith("[kernel"))
    out.write(f"samples: {total}\n")
    out.write(f"leaf frame in the kernel: {pct(kernel_leaf)}\n")
    out.write("\nby thread (self):\n")
    for thread, n in collections.Counter(t for t, _ in samples).most_common(8):
        out.write(f"  {pct(n)}  {thread}\n")
    out.write("\nby shared object of the leaf frame (self):\n")
    for dso, n in collections.Counter(short_dso(f[0][1]) for _, f in samples).most_common(12):
        out.write(f"  {pct(n)}  {dso}\n")
    libcrypto = sum(1 for _, f in samples if any("libcrypto" in d for _, d in f))
    out.write(f"\nstacks through libcrypto (inclusive): {pct(libcrypto)}\n")
    out.write("\nnamed parts (inclusive: a sample counts once if any frame matches):\n")
    for name, pattern in NAMED:
        n = sum(1 for _, f in samples if any(pattern.search(s) for s, _ in f))
        out.write(f"  {pct(n)}  {name}\n")
    out.write("\ntop leaf symbols (self):\n")
    for symbol, n in collections.Counter(frame_name(*f[0]) for _, f in samples).most_common(20):
        out.write(f"  {pct(n)}  {symbol[:110]}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary", help="also write a summary of the samples to this file")
    args = parser.parse_args()
    samples = list(with_inlined_dsos(read_samples(sys.stdin)))
    folded = collections.Counter()
    for thread, frames in samples:
        path = [thread] + [frame_name(s, d) for s, d in reversed(frames)]
        folded[";".join(path)] += 1
    for stack, n in sorted(folded.items()):
        sys.stdout.write(f"{stack} {n}\n")
    if args.summary:
        with open(args.summary, "w") as out:
            summarize(samples, out)


if __name__ == "__main__":
    main()
