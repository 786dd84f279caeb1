#!/usr/bin/env python3
"""Architecture rules as a test (after TigerBeetle's tidy.zig).

Fails when core/ or sim/ (outside core/net, the network host) reads a clock, sleeps, draws
unseeded randomness or includes Boost.Asio, or when any source carries a FIXME.
Usage: tidy.py PROJECT_ROOT
"""
import pathlib
import re
import sys

FORBIDDEN = [
    (re.compile(r"steady_clock::now|system_clock::now|high_resolution_clock::now"), "reads a clock"),
    (re.compile(r"(?<![\w.>])(std::)?time\s*\(|\bgettimeofday\b|\bclock_gettime\b"), "reads a clock"),
    (re.compile(r"\bstd::rand\b|(?<![\w:])rand\s*\(|\bsrand\b|\brandom_device\b|\bmt19937"), "unseeded or std randomness"),
    (re.compile(r"_distribution<"), "std distribution (implementation-defined output)"),
    (re.compile(r"\bsleep_for\b|\bsleep_until\b|\busleep\b|(?<![\w_])sleep\s*\("), "sleeps"),
    (re.compile(r"std::thread\b|std::jthread\b|pthread_create"), "starts a thread"),
]
ASIO = re.compile(r"#\s*include\s*[<\"]boost/(asio|beast)")
FIXME = re.compile(r"\bFIXME\b")
SOURCES = (".cpp", ".hpp", ".h", ".cc")


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    problems = []
    for top in ("core", "sim", "python/src"):
        for path in sorted((root / top).rglob("*")):
            if path.suffix not in SOURCES or not path.is_file():
                continue
            rel = path.relative_to(root).as_posix()
            in_net = rel.startswith("core/net/")
            text = path.read_text(encoding="utf-8", errors="replace")
            for lineno, line in enumerate(text.splitlines(), 1):
                code = line.split("//", 1)[0]
                if FIXME.search(line):
                    problems.append(f"{rel}:{lineno}: FIXME must become TODO(#issue) or be fixed")
                if ASIO.search(code) and not in_net:
                    problems.append(f"{rel}:{lineno}: includes Boost.Asio/Beast outside core/net")
                if in_net or rel.startswith("python/src"):
                    continue
                for pattern, why in FORBIDDEN:
                    if pattern.search(code):
                        problems.append(f"{rel}:{lineno}: {why}: {line.strip()}")
    for p in problems:
        print(p)
    print(f"tidy: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
