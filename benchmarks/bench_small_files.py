"""What writing many small new files costs on this host, folder after folder.

``bench_schedule.py``'s plain side is mostly this: 15,000 new files of about 6.6 KB, written
as ``publish_schedule`` writes them. Some hosts charge very different amounts for the same
writes from one run to the next (seen on a 2-core VM on ext4: 0.4 s, 3.5 s or 7 s of CPU,
all in the kernel, for the same 15,000 files), so a single plain run is a noisy yardstick;
this script shows how noisy it is on the host at hand. Each run writes ``--files`` files of
``--size`` bytes into a new folder with ``os.open``/``os.write``, then the same number again
into the same folder, and prints the CPU (user + system) of each; ``--empty`` adds a run of
empty files (the file system's cost of creating a name alone).

    python3 benchmarks/bench_small_files.py --folders 6
    BENCH_TMPDIR=/path/on/another/disk python3 benchmarks/bench_small_files.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time


def write_files(folder: str, prefix: str, count: int, data: bytes) -> float:
    """CPU seconds to create ``count`` new files in ``folder``, each holding ``data``."""
    began = time.process_time()
    for i in range(count):
        fd = os.open(os.path.join(folder, f"{prefix}{i}.ics"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    return time.process_time() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=int, default=6)
    parser.add_argument("--files", type=int, default=15_000)
    parser.add_argument("--size", type=int, default=6_600)
    parser.add_argument("--empty", action="store_true", help="also time creating empty files")
    args = parser.parse_args()
    data = os.urandom(args.size)
    base = tempfile.mkdtemp(dir=os.environ.get("BENCH_TMPDIR") or None)
    try:
        print(f"| new folder ({args.files:,} files of {args.size:,} bytes) | CPU s, first | CPU s, again in the same folder |")
        print("|---|---:|---:|")
        for n in range(1, args.folders + 1):
            folder = os.path.join(base, f"folder{n}")
            os.mkdir(folder)
            first = write_files(folder, "a", args.files, data)
            again = write_files(folder, "b", args.files, data)
            print(f"| {n} | {first:.2f} | {again:.2f} |", flush=True)
        if args.empty:
            folder = os.path.join(base, "empty")
            os.mkdir(folder)
            print(f"\n{args.files:,} empty files: {write_files(folder, 'e', args.files, b''):.2f} s CPU")
    finally:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
