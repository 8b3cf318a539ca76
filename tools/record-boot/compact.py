#!/usr/bin/env python3
"""Turn one recorded boot (record-boot.sh's OUTDIR/<version>/) into kmemlab's bundled data.

    python3 tools/record-boot/compact.py /var/tmp/kmemlab-boots/6.12 kmemlab/data/boots/6.12

Writes, in the destination folder:

* ``manifest.txt`` — package versions, command line, wall time (copied);
* ``trace.txt.gz`` — /sys/kernel/tracing/trace as the guest printed it;
* ``boot.json.gz`` — everything else, as JSON:

  - ``proc``: the real /proc files (buddyinfo, pagetypeinfo, zoneinfo, meminfo,
    slabinfo, vmstat, vmallocinfo, iomem, cmdline, version);
  - ``slab``: /sys/kernel/slab/<cache>/ attributes per root cache, ``aliases``:
    alias name → root cache (the sysfs symlinks);
  - ``frames``: what each page frame holds at the end, run-length coded
    (``[[start_pfn, count, kind], ...]``, kinds in ``KINDS``), from /proc/kpageflags;
  - ``free``: the free buddy blocks ``[[pfn, order], ...]``: /proc/kpageflags marks every
    page of a free block (fs/proc/page.c: is_free_buddy_page); runs of such pages are
    cut into maximal aligned blocks, as __free_one_page leaves them fully merged;
  - ``blocks``: ``[[pfn, order, kind], ...]`` of compound blocks (slabs, large kmalloc)
    from the KPF_COMPOUND_HEAD/TAIL runs; order-0 slabs are single pages;
  - ``pcp``: ``[[pfn, cpu], ...]`` order-0 pages the trace freed last that are not in the
    buddy lists at the end: they sit on a per-CPU list;
  - ``pageblock``: one letter per pageblock (U, M, R, H), see ``pageblock_types``;
  - ``callsites``: kmem_cache_alloc call site (``func+0x1c/0x80``, and ``func`` where
    all of its sites agree) → cache name, from the trace (the alloc's pointer freed by a
    ``kmem_cache_free`` that names its cache; for sites never freed, the one unmerged
    cache with that object_size and slab_size, see ``sites_by_size``).

Only the standard library and numpy (and kmemlab's trace parser).
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from kmemlab import traceparse as tp  # noqa: E402

PROC = ("buddyinfo", "pagetypeinfo", "zoneinfo", "meminfo", "slabinfo", "vmstat",
        "vmallocinfo", "iomem", "cmdline", "version")
SLAB_ATTRS = ("object_size", "slab_size", "align", "order", "objs_per_slab", "objects",
              "total_objects", "slabs", "partial", "cpu_slabs", "aliases", "ctor",
              "reclaim_account", "hwcache_align", "cache_dma", "destroy_by_rcu", "poison",
              "min_partial", "cpu_partial", "usersize", "objects_partial")
# include/uapi/linux/kernel-page-flags.h (+ KPF_RESERVED, fs/proc/page.c)
KPF = dict(LRU=5, SLAB=7, BUDDY=10, ANON=12, SWAPBACKED=14, HEAD=15, TAIL=16, NOPAGE=20,
           PGTABLE=26, RESERVED=32)
KINDS = ("hole", "reserved", "free", "slab", "pagecache", "anon", "pgtable", "kernel",
         "compound")
K = {n: i for i, n in enumerate(KINDS)}
PAGEBLOCK_ORDER = 9
MT_LETTER = {0: "U", 1: "M", 2: "R", 3: "H"}


def bit(a: np.ndarray, name: str) -> np.ndarray:
    return (a >> np.uint64(KPF[name])) & np.uint64(1) == 1


def classify(flags: np.ndarray) -> np.ndarray:
    kind = np.full(len(flags), K["kernel"], dtype=np.uint8)
    kind[bit(flags, "HEAD") | bit(flags, "TAIL")] = K["compound"]
    kind[bit(flags, "LRU") | bit(flags, "SWAPBACKED")] = K["pagecache"]
    kind[bit(flags, "ANON")] = K["anon"]
    kind[bit(flags, "PGTABLE")] = K["pgtable"]
    kind[bit(flags, "SLAB")] = K["slab"]
    kind[bit(flags, "RESERVED")] = K["reserved"]
    kind[bit(flags, "BUDDY")] = K["free"]
    kind[bit(flags, "NOPAGE")] = K["hole"]
    return kind


def rle(kind: np.ndarray) -> list[list[int]]:
    edges = np.flatnonzero(np.diff(kind.astype(np.int16))) + 1
    starts = np.concatenate(([0], edges))
    ends = np.concatenate((edges, [len(kind)]))
    return [[int(s), int(e - s), int(kind[s])] for s, e in zip(starts, ends)]


def buddy_blocks(kind: np.ndarray, max_order: int = 10) -> list[list[int]]:
    out = []
    for s, n, k in rle(kind):
        if k != K["free"]:
            continue
        pfn, end = s, s + n
        while pfn < end:
            order = max_order
            while order and (pfn & ((1 << order) - 1) or pfn + (1 << order) > end):
                order -= 1
            out.append([pfn, order])
            pfn += 1 << order
    return out


def compound_blocks(flags: np.ndarray, kind: np.ndarray) -> list[list[int]]:
    head, tail = bit(flags, "HEAD"), bit(flags, "TAIL")
    out = []
    for pfn in np.flatnonzero(head):
        n = 1
        while pfn + n < len(flags) and tail[pfn + n]:
            n += 1
        order = max(n - 1, 0).bit_length()
        out.append([int(pfn), order, KINDS[kind[pfn]]])
    for pfn in np.flatnonzero((kind == K["slab"]) & ~head & ~tail):
        out.append([int(pfn), 0, "slab"])
    out.sort()
    return out


def parse_slab(rec: Path) -> tuple[dict, dict]:
    caches: dict[str, dict] = defaultdict(dict)
    for line in (rec / "slab-attrs").read_text(errors="replace").splitlines():
        m = re.match(r"/sys/kernel/slab/([^/]+)/([^:]+):(.*)", line)
        if not m or m.group(2) not in SLAB_ATTRS:
            continue
        val = m.group(3).strip()
        caches[m.group(1)][m.group(2)] = int(val.split()[0]) if re.match(r"^-?\d", val) \
            else val
    aliases = {}
    for line in (rec / "slab-links").read_text().splitlines():
        m = re.search(r" (\S+) -> (\S+)$", line)
        if m:
            aliases[m.group(1)] = m.group(2).rsplit("/", 1)[-1]
    return dict(caches), aliases


def fn_of(call_site: str | None) -> str:
    return (call_site or "").split("+", 1)[0]


def walk_trace(path: Path, nr_pfns: int) -> dict:
    """One pass over the trace: call site → cache name, the page-level history that
    ``pageblock_types`` and ``pcp`` use."""
    alloc_site: dict[int, str] = {}
    site_names: dict[str, Counter] = defaultdict(Counter)
    site_sizes: dict[str, tuple] = {}
    last_mt = np.full(nr_pfns >> PAGEBLOCK_ORDER, -1, dtype=np.int8)
    claimed = np.full(nr_pfns >> PAGEBLOCK_ORDER, -1, dtype=np.int8)
    live: dict[int, tuple[int, int]] = {}
    last_free: dict[int, int] = {}      # pfn -> cpu, order-0 frees not reallocated
    report = tp.ParseReport()
    for r in tp.iter_records(str(path), report):
        ev = r.event
        if ev in ("kmem_cache_alloc", "kmem_cache_alloc_node"):
            if r.ptr:
                alloc_site[r.ptr] = r.call_site or ""
                site_sizes[r.call_site or ""] = (r.bytes_req, r.bytes_alloc)
        elif ev == "kmem_cache_free":
            site = alloc_site.pop(r.ptr, None) if r.ptr else None
            if site and r.name:
                site_names[site][r.name] += 1
        elif ev in ("mm_page_alloc", "mm_page_alloc_zone_locked"):
            pfn = r.pfn
            if not r.page or pfn is None or pfn >= nr_pfns:
                continue
            mt = r.migratetype
            if mt is not None and 0 <= mt <= 2:
                last_mt[pfn >> PAGEBLOCK_ORDER] = mt
            if ev == "mm_page_alloc":
                live[pfn] = (r.order or 0, mt if mt is not None else -1)
                for p in range(pfn, pfn + (1 << (r.order or 0))):
                    last_free.pop(p, None)
        elif ev == "mm_page_free":
            pfn = r.pfn
            if pfn is None or pfn >= nr_pfns:
                continue
            live.pop(pfn, None)
            if (r.order or 0) == 0:
                last_free[pfn] = r.cpu
            else:
                for p in range(pfn, pfn + (1 << r.order)):
                    last_free.pop(p, None)
        elif ev == "mm_page_alloc_extfrag":
            f = r.fields
            pfn = r.pfn
            if pfn is None or pfn >= nr_pfns:
                continue
            b = pfn >> PAGEBLOCK_ORDER
            if f.get("change_ownership") == "1":
                claimed[b] = int(f["alloc_migratetype"])
                last_mt[b] = int(f["alloc_migratetype"])
            else:   # took a fallback block without claiming it: it keeps its type
                last_mt[b] = int(f["fallback_migratetype"])
    # by the exact call site (function+offset/size: one allocation call in this build),
    # and by function where all of its sites agree
    callsites = {site: names.most_common(1)[0][0] for site, names in site_names.items()}
    by_fn: dict[str, set[str]] = defaultdict(set)
    for site, name in callsites.items():
        by_fn[fn_of(site)].add(name)
    callsites.update({fn: next(iter(names)) for fn, names in by_fn.items()
                      if len(names) == 1 and fn not in callsites})
    return {"callsites": callsites, "site_sizes": site_sizes, "last_mt": last_mt,
            "claimed": claimed, "live": live, "last_free": last_free}


def sites_by_size(site_sizes: dict[str, tuple], known: dict[str, str], caches: dict,
                  aliases: dict) -> dict[str, str]:
    """Call sites whose objects were never freed during the trace (so no
    kmem_cache_free named their cache): the cache whose object_size *and* slab_size are
    the event's bytes_req and bytes_alloc, when exactly one unmerged real cache has them
    (in the recorded build, kmem_cache_alloc prints s->object_size and s->size)."""
    names_of: dict[str, list[str]] = defaultdict(list)
    for alias, target in aliases.items():
        names_of[target].append(alias)
    by_sizes: dict[tuple, list[str | None]] = defaultdict(list)
    for d, attrs in caches.items():
        if "object_size" not in attrs:
            continue
        # a merged cache (aliases > 0) could be any of its names: no answer
        name = None if attrs.get("aliases", 1) != 0 else \
            d if not d.startswith(":") else \
            (names_of[d][0] if len(names_of[d]) == 1 else None)
        by_sizes[(attrs["object_size"], attrs["slab_size"])].append(name)
    out = {}
    for site, sizes in site_sizes.items():
        if site in known or fn_of(site) in known:
            continue
        names = by_sizes.get(sizes, [])
        if len(names) == 1 and names[0] is not None:
            out[site] = names[0]
    return out


def block_counts(pagetypeinfo: str) -> dict[str, dict[str, int]]:
    lines = pagetypeinfo.splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("Number of blocks type"))
    types = lines[i].split()[4:]
    out = {}
    for line in lines[i + 1:]:
        m = re.match(r"Node\s+\d+, zone\s+(\S+)\s+(.*)", line)
        if m:
            out[m.group(1)] = dict(zip(types, map(int, m.group(2).split())))
    return out


def free_type_counts(pagetypeinfo: str) -> dict[tuple[str, str], list[int]]:
    out = {}
    for line in pagetypeinfo.splitlines():
        m = re.match(r"Node\s+\d+, zone\s+(\S+), type\s+(\S+)\s+(.*)", line)
        if m:
            out[(m.group(1), m.group(2))] = [int(x) for x in m.group(3).split()]
    return out


def zone_spans(zoneinfo: str) -> dict[str, tuple[int, int]]:
    spans, zone = {}, None
    for line in zoneinfo.splitlines():
        m = re.match(r"Node \d+, zone\s+(\S+)", line)
        if m:
            zone = m.group(1)
        m = re.match(r"\s+start_pfn:\s+(\d+)", line)
        if m and zone:
            spans[zone] = int(m.group(1))
    out = {}
    for line in zoneinfo.splitlines():
        m = re.match(r"Node \d+, zone\s+(\S+)", line)
        if m:
            zone = m.group(1)
        m = re.match(r"\s+spanned\s+(\d+)", line)
        if m and zone in spans and int(m.group(1)):
            out[zone] = (spans[zone], spans[zone] + int(m.group(1)))
    return out


def pcp_counts(zoneinfo: str) -> dict[str, list[int]]:
    """zoneinfo's ``pagesets`` → {zone: [count of cpu 0, cpu 1, ...]}."""
    out: dict[str, list[int]] = {}
    zone = None
    for line in zoneinfo.splitlines():
        m = re.match(r"Node \d+, zone\s+(\S+)", line)
        if m:
            zone = m.group(1)
        m = re.match(r"\s+count:\s+(\d+)", line)
        if m and zone:
            out.setdefault(zone, []).append(int(m.group(1)))
    return out


def pcp_pages(last_free: dict[int, int], kind: np.ndarray, counts: dict[str, list[int]],
              spans: dict) -> list[list[int]]:
    """The pages on the per-CPU lists at the end, as far as the trace can tell.

    zoneinfo gives how many pages each CPU's list holds; the candidates are order-0
    pages the trace freed (mm_page_free) and never allocated again that are neither in
    the buddy lists nor anything else at the end. Most recently freed first (pcp lists
    are LIFO). Pages taken by __alloc_pages_bulk (vmalloc) emit no mm_page_alloc, so some
    candidates are in use: an approximation, fewer pages if candidates run out.
    """
    out = []
    for zone, per_cpu in counts.items():
        if zone not in spans:
            continue
        lo, hi = spans[zone]
        for cpu, n in enumerate(per_cpu):
            cands = [pfn for pfn, c in reversed(last_free.items())
                     if c == cpu and lo <= pfn < hi and kind[pfn] == K["kernel"]]
            out.extend([pfn, cpu] for pfn in cands[:n])
    return out


def pageblock_types(kind: np.ndarray, walk: dict, counts: dict, spans: dict,
                    slab_mt: dict[int, int], free_counts: dict | None = None,
                    free_blocks: list | None = None) -> tuple[str, dict]:
    """The migratetype of each pageblock at the end of the boot.

    The kernel does not export it per block (only /proc/pagetypeinfo's counts), so it is
    inferred, then fitted to the real counts per zone:

    1. evidence from the trace: the migratetype of the last allocation served from the
       block (mm_page_alloc / mm_page_alloc_zone_locked), corrected by
       mm_page_alloc_extfrag (a claim changes the block's type, a fallback without
       claim leaves it);
    2. evidence from the end state: pages of kernel memory (slab, page tables, other
       kernel pages) make a block Unmovable (Reclaimable for slabs of reclaimable
       caches), page-cache and anonymous pages make it Movable;
    3. per zone, the blocks are ranked by that evidence and the real number of
       Unmovable/Reclaimable blocks (/proc/pagetypeinfo) are given those types; the
       rest are Movable;
    4. wholly free pageblocks get the types that /proc/pagetypeinfo's free order-9/10
       counts give them. Returns the letters and what was decided by what.
    """
    nblocks = len(kind) >> PAGEBLOCK_ORDER
    per = kind[: nblocks << PAGEBLOCK_ORDER].reshape(nblocks, 1 << PAGEBLOCK_ORDER)
    kern = ((per == K["kernel"]) | (per == K["pgtable"]) | (per == K["compound"])).sum(1)
    slab = (per == K["slab"]).sum(1)
    user = ((per == K["pagecache"]) | (per == K["anon"])).sum(1)
    free = (per == K["free"]).sum(1)
    rec_slab = np.zeros(nblocks, dtype=np.int64)
    for pfn, mt in slab_mt.items():
        if mt == 2 and pfn < len(kind):
            rec_slab[pfn >> PAGEBLOCK_ORDER] += 1
    last = walk["last_mt"][:nblocks]
    letters = ["M"] * nblocks
    strength: dict[int, float] = {}
    stats = Counter()
    for zone, (start, end) in spans.items():
        want = counts.get(zone, {})
        blocks = list(range(start >> PAGEBLOCK_ORDER, min(nblocks, -(-end >> PAGEBLOCK_ORDER))))
        taken: set[int] = set()
        for mt, letter, name in ((2, "R", "Reclaimable"), (0, "U", "Unmovable")):
            n = want.get(name, 0)

            def score(b, mt=mt):
                # a block the kernel filled: kernel pages count, free and user pages
                # speak against (a claimed block keeps its type, but the real free
                # lists show that few non-movable blocks have much free)
                s = 1000.0 if last[b] == mt else 0.0
                if mt == 2:
                    s += rec_slab[b] * 4 - user[b] - free[b]
                else:
                    s += (kern[b] + slab[b] - rec_slab[b]) * 4 - user[b] - free[b]
                return s
            ranked = sorted((b for b in blocks if b not in taken), key=lambda b: -score(b))
            for b in ranked[:n]:
                strength[b] = score(b)
                letters[b] = letter
                taken.add(b)
                stats[f"{name}: trace" if last[b] == mt else f"{name}: content"] += 1
        # 4. whole free pageblocks: /proc/pagetypeinfo says how many free order-9/10
        #    blocks sit on each type's list; nothing else tells which, so that many
        #    wholly free blocks take the type, each from the type's weakest block
        for letter, name in (("R", "Reclaimable"), ("U", "Unmovable")):
            real = free_counts.get((zone, name))
            if not real:
                continue
            for order in range(PAGEBLOCK_ORDER, len(real)):
                span = 1 << (order - PAGEBLOCK_ORDER)
                heads = [pfn >> PAGEBLOCK_ORDER for pfn, o in free_blocks
                         if o == order and start <= pfn < end]
                have = [b for b in heads if letters[b] == letter]
                spare = [b for b in heads if letters[b] == "M"]
                for b in spare[: max(0, real[order] - len(have))]:
                    weakest = sorted((x for x in blocks if letters[x] == letter
                                      and x not in heads), key=lambda x: strength[x])
                    for x in weakest[:span]:
                        letters[x] = "M"
                    for x in range(b, b + span):
                        letters[x] = letter
                    stats[f"{name}: whole free block"] += span
    return "".join(letters), dict(stats)


def main(src: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    proc = {n: (src / n).read_text() for n in PROC if (src / n).exists()}
    caches, aliases = parse_slab(src)
    flags = np.fromfile(src / "kpageflags", dtype="<u8")
    kind = classify(flags)
    free = buddy_blocks(kind)
    blocks = compound_blocks(flags, kind)
    walk = walk_trace(src / "trace.gz", len(flags))
    # pages the trace allocated last as slab pages, with the allocation's migratetype
    slab_mt = {pfn: mt for pfn, (order, mt) in walk["live"].items() if kind[pfn] == K["slab"]}
    counts = block_counts(proc["pagetypeinfo"])
    spans = zone_spans(proc["zoneinfo"])
    pcp = pcp_pages(walk["last_free"], kind, pcp_counts(proc["zoneinfo"]), spans)
    letters, stats = pageblock_types(kind, walk, counts, spans, slab_mt,
                                     free_type_counts(proc["pagetypeinfo"]), free)
    data = {
        "format": 1,
        "proc": proc,
        "slab": caches,
        "aliases": aliases,
        "kinds": list(KINDS),
        "nr_pfns": len(flags),
        "frames": rle(kind),
        "free": free,
        "blocks": blocks,
        "pcp": pcp,
        "pageblock": letters,
        "pageblock_evidence": stats,
        "callsites": dict(sorted({**walk["callsites"], **sites_by_size(
            walk["site_sizes"], walk["callsites"], caches, aliases)}.items())),
    }
    with gzip.GzipFile(dest / "boot.json.gz", "wb", mtime=0) as f:
        f.write(json.dumps(data, separators=(",", ":"), sort_keys=True).encode())
    with gzip.open(src / "trace.gz", "rb") as fin, \
            gzip.GzipFile(dest / "trace.txt.gz", "wb", compresslevel=9, mtime=0) as fout:
        shutil.copyfileobj(fin, fout)
    shutil.copy(src / "manifest.txt", dest / "manifest.txt")
    free_pages = sum(1 << o for _p, o in free)
    print(f"{dest}: {len(free)} free blocks ({free_pages} pages), {len(blocks)} compound/slab "
          f"blocks, {len(pcp)} pcp pages, {len(walk['callsites'])} call sites; "
          f"pageblocks {Counter(letters)} {stats}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
