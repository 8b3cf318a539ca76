"""Fidelity: the process model's RSS against this machine's kernel and glibc.

A C child (compiled with the system ``cc``; skipped without one) runs the same steps as
the model and prints the change of its anonymous resident pages after each, read from
its own ``/proc/self/statm`` (resident − shared) with open/read, so that reading does
not allocate. Transparent huge pages are switched off for the mapping
(``MADV_NOHUGEPAGE``), as the model has none.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

import pytest

import kmemlab as km

pytestmark = pytest.mark.fidelity

PAGE = 4096
NPAGES = 4096  # 16 MiB

SOURCE = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static char buf[256];
static long anon(void) {
    long size, res, shared;
    int fd = open("/proc/self/statm", O_RDONLY);
    int n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    sscanf(buf, "%ld %ld %ld", &size, &res, &shared);
    return res - shared;
}
static long vsz(void) { long s; sscanf(buf, "%ld", &s); return s; }

int main(void) {
    long r[16], v[4];
    int i = 0;
    const long n = %NPAGES%, ps = 4096;
    r[i++] = anon(); v[0] = vsz();
    volatile char *m = mmap(NULL, n * ps, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    madvise((void *)m, n * ps, MADV_NOHUGEPAGE);
    r[i++] = anon(); v[1] = vsz();
    long sum = 0;
    for (long p = 0; p < n; p++) sum += m[p * ps];
    r[i++] = anon();
    for (long p = 0; p < n; p += 16) m[p * ps] = 1;
    r[i++] = anon();
    for (long p = 0; p < n; p++) m[p * ps] = 1;
    r[i++] = anon();
    munmap((void *)m, n * ps);
    r[i++] = anon();
    volatile char *a = malloc(100); r[i++] = anon();
    char *b = malloc(200000); r[i++] = anon();
    char *c = malloc(100000); r[i++] = anon();
    free(c); r[i++] = anon();
    char *d = calloc(1, 50000); r[i++] = anon();
    free(b); r[i++] = anon();
    printf("%ld", v[1] - v[0]);
    for (int k = 1; k < i; k++) printf(" %ld", r[k] - r[k - 1]);
    printf(" %ld\n", sum + (long)(a != 0) * 0 + (long)(d != 0) * 0);
    return 0;
}
"""


def model_steps(k) -> list[int]:
    p = k.spawn("fidelity")
    out = []
    r = p.rss_pages
    v0 = p.total_vm
    m = p.mmap(NPAGES * PAGE)
    out.append(p.total_vm - v0)

    def step() -> None:
        nonlocal r
        out.append(p.rss_pages - r)
        r = p.rss_pages

    step()
    p.touch(m, NPAGES * PAGE, write=False)
    step()
    for i in range(0, NPAGES, 16):
        p.touch(m + i * PAGE, 1)
    step()
    p.touch(m, NPAGES * PAGE)
    step()
    p.munmap(m, NPAGES * PAGE)
    step()
    p.malloc(100)
    step()
    b = p.malloc(200000)
    step()
    c = p.malloc(100000)
    step()
    p.free(c)
    step()
    p.calloc(1, 50000)
    step()
    p.free(b)
    step()
    p.exit()
    return out


@pytest.fixture(scope="module")
def real_steps(tmp_path_factory) -> list[int]:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None or platform.system() != "Linux" or platform.machine() != "x86_64":
        pytest.skip("needs Linux x86_64 with a C compiler")
    if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
        pytest.skip("needs glibc")
    d: Path = tmp_path_factory.mktemp("statm")
    src = d / "statm.c"
    src.write_text(SOURCE.replace("%NPAGES%", str(NPAGES)))
    exe = d / "statm"
    subprocess.run([cc, "-O0", "-o", str(exe), str(src)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GLIBC_", "MALLOC_"))}
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True, env=env)
    values = [int(x) for x in out.stdout.split()]
    return values[:-1]


def test_demand_paging_and_malloc_rss_match_this_machine(real_steps):
    """VSZ +16 MiB at mmap with RSS +0; reads +0; every 16th page +256; all +4096;
    munmap gives them back; malloc(100) +1, malloc(200000) +1 (mmapped: the first
    page), malloc(100000) +1 (the new top header), free +0, calloc(1, 50000) +12
    (memset of reused top), free of the mmapped block −1."""
    model = model_steps(km.Kernel(version="6.12", ram="1G"))
    assert model == real_steps
    assert model[:6] == [NPAGES, 0, 0, NPAGES // 16, NPAGES - NPAGES // 16, -NPAGES]
