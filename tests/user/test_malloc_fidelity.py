"""Fidelity: the malloc model against the real glibc of this machine.

A small C program (compiled here with the system ``cc``) runs scripted
malloc/free/realloc/calloc sequences and prints, for each result, its offset from the
initial program break, ``malloc_usable_size`` and the raw size word (flags included);
mmapped chunks only as usable size + flags, since where the kernel puts a mapping is not
malloc's doing. The model runs the same script and must print the same lines, with the
default tunables and with ``GLIBC_TUNABLES=glibc.malloc.tcache_count=0``.

The program does no allocation of its own before the script: it reads its input with
read(2) into a static buffer and writes with write(2) from stack buffers.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

import pytest

from kmemlab.user.malloc import IS_MMAPPED, SIZE_BITS, GlibcMalloc

pytestmark = pytest.mark.fidelity

DRIVER_SOURCE = r"""
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* No malloc before the script: static buffers, write(2), no stdio streams. */
static char in[1 << 16];
static void *ptr[256];
static char *heap0;

static void out(const char *s) { write(1, s, strlen(s)); }

static long num(char **s) {
  while (**s == ' ') (*s)++;
  int neg = 0;
  if (**s == '-') { neg = 1; (*s)++; }
  long v = 0;
  while (**s >= '0' && **s <= '9') { v = v * 10 + (**s - '0'); (*s)++; }
  return neg ? -v : v;
}

static void report(long i, void *p) {
  char buf[160];
  if (!p) { snprintf(buf, sizeof buf, "%ld NULL\n", i); out(buf); return; }
  size_t word = ((size_t *)p)[-1];
  if (word & 2)
    snprintf(buf, sizeof buf, "%ld MMAP %zu %zu\n", i, malloc_usable_size(p), word & 7);
  else
    snprintf(buf, sizeof buf, "%ld %ld %zu %zu\n", i, (long)((char *)p - heap0),
             malloc_usable_size(p), word);
  out(buf);
}

int main(void) {
  heap0 = sbrk(0);
  ssize_t n = 0, r;
  while ((r = read(0, in + n, sizeof in - 1 - n)) > 0) n += r;
  in[n] = 0;
  char *s = in;
  while (*s) {
    char op = *s++;
    long i, a, b;
    char buf[256];
    switch (op) {
    case 'm': i = num(&s); a = num(&s); ptr[i] = malloc(a); report(i, ptr[i]); break;
    case 'c': i = num(&s); a = num(&s); b = num(&s);
      ptr[i] = calloc(a, b); report(i, ptr[i]); break;
    case 'r': i = num(&s); a = num(&s); ptr[i] = realloc(ptr[i], a); report(i, ptr[i]); break;
    case 'f': i = num(&s); free(ptr[i]); break;
    case 'o': a = num(&s); b = num(&s);
      snprintf(buf, sizeof buf, "mallopt %d\n", mallopt(a, b)); out(buf); break;
    case 't': a = num(&s); snprintf(buf, sizeof buf, "trim %d\n", malloc_trim(a)); out(buf); break;
    case 'i': {
      struct mallinfo2 mi = mallinfo2();
      snprintf(buf, sizeof buf, "info %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu\n", mi.arena,
               mi.ordblks, mi.smblks, mi.hblks, mi.hblkhd, mi.usmblks, mi.fsmblks, mi.uordblks,
               mi.fordblks, mi.keepcost);
      out(buf); break;
    }
    default: break;
    }
    while (*s && *s != '\n' && *s != ';') s++;
    if (*s) s++;
  }
  return 0;
}
"""


TCACHE_OFF = "glibc.malloc.tcache_count=0"


def _guarded(size: int, n: int, first: int = 0) -> str:
    """n blocks of ``size``, each followed by a small guard so frees do not merge."""
    ops = []
    for k in range(n):
        ops.append(f"m {first + 2 * k} {size}")
        ops.append(f"m {first + 2 * k + 1} 8")
    return ";".join(ops)


def _frees(idxs: list[int]) -> str:
    return ";".join(f"f {i}" for i in idxs)


SCENARIOS: dict[str, str] = {
    "size_classes": ";".join(
        f"m {i} {n}"
        for i, n in enumerate(
            [0, 1, 24, 25, 40, 41, 56, 57, 100, 120, 121, 128, 500, 1000, 1016, 1032,
             1033, 1100, 4000, 10000, 65536, 131048, 131049, 500000, 1048576]
        )
    )
    + ";i",
    "tcache_lifo": "m 0 24;m 1 24;m 2 24;m 3 24;m 9 8;f 0;f 2;f 1;m 4 24;m 5 24;m 6 24;m 7 24;"
    "f 4;f 5;m 8 20;i",
    "tcache_sizes": _guarded(40, 4) + ";" + _guarded(200, 4, 10) + ";"
    + _frees([0, 2, 10, 12]) + ";m 20 40;m 21 200;m 22 36;m 23 190;m 24 40;i",
    "fastbins_after_tcache": _guarded(40, 10) + ";" + _frees(list(range(0, 20, 2)))
    + ";i;" + ";".join(f"m {30 + k} 40" for k in range(10)) + ";i",
    "fastbin_double_pattern": _guarded(100, 9) + ";" + _frees(list(range(0, 18, 2)))
    + ";i;" + ";".join(f"m {30 + k} 100" for k in range(9)) + ";i",
    "unsorted_exact_and_small": _guarded(200, 9) + ";" + _frees(list(range(0, 18, 2)))
    + ";i;m 40 300;i;" + ";".join(f"m {50 + k} 200" for k in range(9)) + ";i",
    "split_and_last_remainder": _guarded(2000, 3) + ";" + _frees([0, 2, 4])
    + ";i;m 10 100;m 11 100;m 12 300;i;m 13 1500;m 14 24;i",
    "large_best_fit": _guarded(1500, 1) + ";" + _guarded(2000, 1, 2) + ";"
    + _guarded(2500, 1, 4) + ";" + _guarded(1600, 1, 6) + ";" + _guarded(1700, 1, 8) + ";"
    + _guarded(5000, 1, 10) + ";" + _frees([0, 2, 4, 6, 8, 10])
    + ";m 20 3000;i;m 21 1550;i;m 22 1650;m 23 4000;i;m 24 1500;m 25 200;i",
    "large_same_size": ";".join(_guarded(1600, 1, k) for k in range(0, 12, 2)) + ";"
    + _frees([0, 2, 4, 6, 8, 10]) + ";m 20 5000;i;m 21 1600;m 22 1600;m 23 1590;i",
    "consolidate_into_top": "m 0 2000;m 1 3000;m 2 4000;i;f 1;f 0;i;f 2;i;m 3 100;i",
    "malloc_consolidate": _guarded(60, 10) + ";" + _frees(list(range(0, 20, 2)))
    + ";" + _frees(list(range(1, 20, 2))) + ";i;m 30 2000;i;m 31 60;m 32 60;i",
    "free_big_consolidates_fastbins": _guarded(60, 10) + ";m 40 70000;m 41 8;"
    + _frees(list(range(0, 20, 2))) + ";i;f 40;i",
    "mmap_threshold_dynamic": "m 0 200000;i;f 0;i;m 1 200000;i;m 2 300000;m 3 200000;"
    "f 2;i;m 4 250000;i",
    "mmap_threshold_exact": "m 0 131048;m 1 131049;m 2 131072;m 3 200000;i;f 3;m 4 131049;i",
    "trim": "m 0 100000;m 1 100000;m 2 100000;m 3 100000;i;f 3;i;f 2;i;f 1;i;f 0;i",
    "trim_threshold_after_raise": "m 0 400000;f 0;m 1 400000;m 2 400000;i;f 2;i;f 1;i",
    "realloc_in_place": "m 0 100;r 0 200;r 0 1000;r 0 5000;m 1 24;r 0 3000;i;r 0 6000;i",
    "realloc_move": "m 0 100;m 1 100;r 0 500;i;m 2 40;r 2 30;r 1 300;i;r 2 0;i",
    "realloc_into_next_free": _guarded(3000, 2) + ";f 2;m 10 50;r 0 5000;i;r 0 4000;i",
    "realloc_mmapped": "m 0 300000;r 0 600000;r 0 20000;i;m 1 200;r 1 400000;i;r 1 100;i",
    "realloc_null_and_zero": "r 0 100;r 1 0;m 2 50;r 2 0;i;m 3 50;i",
    "calloc": "c 0 10 10;c 1 1 0;m 2 24;f 2;c 3 3 8;c 4 1000 300;c 5 1000 3;i",
    "mallopt_mmap_threshold": "o -3 65536;m 0 70000;m 1 60000;i;f 0;m 2 70000;i",
    "mallopt_trim_and_top_pad": "o -2 0;m 0 1000;i;o -1 4096;m 1 100000;m 2 24;f 1;i",
    "mallopt_mxfast": "o 1 0;" + _guarded(40, 9) + ";" + _frees(list(range(0, 18, 2)))
    + ";i;o 1 160;" + _guarded(150, 9, 20) + ";" + _frees(list(range(20, 38, 2))) + ";i",
    "mallopt_mmap_max": "o -4 0;m 0 300000;i;f 0;i",
    "malloc_trim": _guarded(5000, 4) + ";" + _frees([0, 2, 4]) + ";t 0;i;m 10 50000;f 10;t 0;i",
    "many_mixed": ";".join(
        f"m {k} {((k * 7919) % 3000) + 1}" for k in range(60)
    ) + ";" + _frees(list(range(0, 60, 3))) + ";i;" + ";".join(
        f"m {60 + k} {((k * 104729) % 2500) + 1}" for k in range(40)
    ) + ";i;" + _frees(list(range(1, 60, 3))) + ";i;" + ";".join(
        f"r {k} {((k * 31) % 4000) + 8}" for k in range(2, 60, 3)
    ) + ";i",
}


def run_model(script: str, tunables: str = "") -> list[str]:
    """Run a driver script on the model; the output lines the C driver would print."""
    a = GlibcMalloc(tunables=tunables)
    ptr: dict[int, int | None] = {}
    heap0 = a.system.sbrk(0)
    lines: list[str] = []

    def report(i: int, p: int | None) -> None:
        if p is None:
            lines.append(f"{i} NULL")
            return
        word = a.words.get(p - 8, 0)
        if word & IS_MMAPPED:
            lines.append(f"{i} MMAP {a.malloc_usable_size(p)} {word & SIZE_BITS}")
        else:
            lines.append(f"{i} {p - heap0} {a.malloc_usable_size(p)} {word}")

    for op in script.replace("\n", ";").split(";"):
        f = op.split()
        if not f:
            continue
        args = [int(x) for x in f[1:]]
        if f[0] == "m":
            ptr[args[0]] = a.malloc(args[1])
            report(args[0], ptr[args[0]])
        elif f[0] == "c":
            ptr[args[0]] = a.calloc(args[1], args[2])
            report(args[0], ptr[args[0]])
        elif f[0] == "r":
            ptr[args[0]] = a.realloc(ptr.get(args[0]), args[1])
            report(args[0], ptr[args[0]])
        elif f[0] == "f":
            a.free(ptr.get(args[0]))
        elif f[0] == "o":
            lines.append(f"mallopt {a.mallopt(args[0], args[1])}")
        elif f[0] == "t":
            lines.append(f"trim {a.malloc_trim(args[0])}")
        elif f[0] == "i":
            mi = a.mallinfo2()
            lines.append(
                f"info {mi.arena} {mi.ordblks} {mi.smblks} {mi.hblks} {mi.hblkhd} "
                f"{mi.usmblks} {mi.fsmblks} {mi.uordblks} {mi.fordblks} {mi.keepcost}"
            )
    return lines


def _glibc_236() -> bool:
    try:
        ver = platform.libc_ver()
    except OSError:  # pragma: no cover
        return False
    return ver[0] == "glibc"


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler (cc) on this machine: cannot build the glibc driver")
    if not _glibc_236() or platform.machine() != "x86_64":
        pytest.skip("needs glibc on x86-64 (the model is of glibc 2.36, x86-64)")
    d = tmp_path_factory.mktemp("malloc_driver")
    src = d / "driver.c"
    src.write_text(DRIVER_SOURCE)
    exe = d / "driver"
    proc = subprocess.run([cc, "-O1", "-o", str(exe), str(src)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot compile the glibc driver: {proc.stderr.strip()[:300]}")
    return exe


def run_glibc(exe: Path, script: str, tunables: str = "") -> list[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if tunables:
        env["GLIBC_TUNABLES"] = tunables
    proc = subprocess.run(
        [str(exe)], input=script, capture_output=True, text=True, env=env, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


@pytest.mark.parametrize("tunables", ["", TCACHE_OFF], ids=["default", "tcache_count=0"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_matches_glibc(driver: Path, name: str, tunables: str) -> None:
    script = SCENARIOS[name]
    real = run_glibc(driver, script, tunables)
    model = run_model(script, tunables)
    assert model == real


def test_libc_is_236(driver: Path) -> None:
    """The scenarios were checked against glibc 2.36; say so if this machine differs."""
    out = subprocess.run(["ldd", "--version"], capture_output=True, text=True).stdout
    if "2.36" not in out.splitlines()[0]:
        pytest.skip(f"this machine's glibc is not 2.36: {out.splitlines()[0]}")


def random_script(seed: int, n: int = 400) -> str:
    """A reproducible random mix of malloc/calloc/free/realloc over all size classes."""
    import random

    r = random.Random(seed)
    live: list[int] = []
    ops: list[str] = []
    nxt = 0
    for _ in range(n):
        x = r.random()
        if x < 0.45 or not live:
            k = r.random()
            if k < 0.4:
                size = r.randint(0, 128)
            elif k < 0.7:
                size = r.randint(129, 1100)
            elif k < 0.95:
                size = r.randint(1100, 70000)
            else:
                size = r.randint(100000, 400000)
            i = nxt % 250
            nxt += 1
            if i in live:
                ops.append(f"f {i}")
                live.remove(i)
            if r.random() < 0.1:
                ops.append(f"c {i} {max(1, size // 8)} 8")
            else:
                ops.append(f"m {i} {size}")
            live.append(i)
        elif x < 0.85:
            i = r.choice(live)
            live.remove(i)
            ops.append(f"f {i}")
        elif x < 0.97:
            i = r.choice(live)
            k = r.random()
            if k < 0.4:
                size = r.randint(1, 200)
            elif k < 0.9:
                size = r.randint(200, 5000)
            else:
                size = r.randint(100000, 300000)
            ops.append(f"r {i} {size}")
        else:
            ops.append("i")
    ops.append("i")
    return ";".join(ops)


@pytest.mark.parametrize(
    "tunables",
    [
        "",
        TCACHE_OFF,
        "glibc.malloc.tcache_count=2:glibc.malloc.mxfast=64",
        "glibc.malloc.mmap_threshold=20000:glibc.malloc.top_pad=0",
        "glibc.malloc.tcache_max=100:glibc.malloc.trim_threshold=0",
        "glibc.malloc.tcache_count=100:glibc.malloc.tcache_unsorted_limit=3",
        "glibc.malloc.mmap_max=1:glibc.malloc.mxfast=160",
    ],
)
@pytest.mark.parametrize("seed", range(8))
def test_random_sequences_match_glibc(driver: Path, seed: int, tunables: str) -> None:
    script = random_script(seed)
    assert run_model(script, tunables) == run_glibc(driver, script, tunables)


def test_long_random_sequence_matches_glibc(driver: Path) -> None:
    script = random_script(1234, n=3000)
    for tunables in ("", TCACHE_OFF):
        assert run_model(script, tunables) == run_glibc(driver, script, tunables)
