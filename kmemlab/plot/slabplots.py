"""SLUB: one cache's slabs object by object, and the /proc/slabinfo overview."""

from __future__ import annotations

from matplotlib.patches import Patch, Rectangle

from ..i18n import _
from ._style import STATE_COLORS, byte_ticks, fmt_bytes, new_figure, note

_WHERE = {"cpu": "CPU slab", "cpu_partial": "CPU partial", "partial": "node partial",
          "full": "full"}


def _cache(k, cache):
    if isinstance(cache, str):
        if cache not in k.slab_caches:
            raise ValueError(f"no slab cache named {cache!r}; see k.slab_caches for the names")
        return k.slab_caches[cache]
    return cache


def slab(k, cache="kmalloc-64", ax=None, *, max_slabs: int = 8):
    """Anatomy of a cache's slabs: each row one slab (its pages cut into objects),
    red = in use, cream = free with its place in the free list (1 = handed out next),
    grey = leftover bytes at the end of the slab. Rows are labelled with where the
    slab is (CPU slab, CPU partial, node partial, full)."""
    c = _cache(k, cache)
    fig, ax = new_figure(ax, figsize=(10, 1.6 + 0.5 * max(1, min(max_slabs, c.slabs))))
    views = c.slabs_view()
    ps = k.PAGE_SIZE
    slab_bytes = ps << c.order
    title = (f"slab cache {c.name}: object_size {c.object_size} B, slot {c.slab_size} B, "
             f"{c.objs_per_slab} objects per order-{c.order} slab ({fmt_bytes(slab_bytes)})")
    if not views:
        note(ax, "no slabs yet: the first allocation from this cache takes a page from "
                 "the buddy allocator")
        ax.set_title(title, fontsize=9)
        fig.kmemlab = {"used": 0, "free": 0, "slabs": 0}
        return fig
    shown = views[:max_slabs]
    used_total = free_total = 0
    label_free = c.objs_per_slab <= 32  # else only the next 9 on the free list
    for row, v in enumerate(shown):
        size = v["object_size"]
        rank = {idx: i + 1 for i, idx in enumerate(v["freelist_index"])}
        free = set(v["free"])
        for i in range(v["objects"]):
            is_free = i in free
            ax.add_patch(Rectangle((i * size, row + 0.1), size, 0.8,
                                   facecolor=STATE_COLORS["free" if is_free else "used"],
                                   edgecolor="#555555", lw=0.4))
            if is_free and rank.get(i, 99) <= (99 if label_free else 9):
                ax.text(i * size + size / 2, row + 0.5, str(rank[i]), ha="center",
                        va="center", fontsize=6 if v["objects"] > 16 else 7)
        used_total += v["objects"] - len(free)
        free_total += len(free)
        end = v["objects"] * size
        if end < slab_bytes:
            ax.add_patch(Rectangle((end, row + 0.1), slab_bytes - end, 0.8,
                                   facecolor=STATE_COLORS["leftover"], edgecolor="#555555",
                                   lw=0.4, hatch="//"))
    ax.set_xlim(0, slab_bytes)
    ax.set_ylim(len(shown), 0)
    ax.set_yticks([r + 0.5 for r in range(len(shown))],
                  [f"{v['base']:#x}\n{_WHERE.get(v['where'], v['where'])}"
                   + (f" {v['cpu']}" if v.get("cpu") is not None else "")
                   + f", {v['inuse']}/{v['objects']} used" for v in shown], fontsize=7)
    ticks = [slab_bytes * f for f in (0, 0.25, 0.5, 0.75, 1)]
    ax.set_xticks(ticks, [fmt_bytes(t) for t in ticks], fontsize=7)
    ax.set_xlabel(_("offset in slab"))
    more = f" (first {len(shown)} of {len(views)} slabs)" if len(views) > len(shown) else ""
    ax.set_title(title + more, fontsize=9)
    ax.legend(handles=[Patch(facecolor=STATE_COLORS["used"], label="object in use"),
                       Patch(facecolor=STATE_COLORS["free"], edgecolor="#555555",
                             label="free (n = n-th on the free list)"),
                       Patch(facecolor=STATE_COLORS["leftover"], hatch="//",
                             label="leftover (wasted)")],
              loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    fig.kmemlab = {"used": used_total, "free": free_total, "slabs": len(views)}
    return fig


def slabinfo_rows(k, *, top: int = 15, include_empty: bool = False) -> list[dict]:
    """/proc/slabinfo numbers per cache, biggest memory first."""
    ps = k.PAGE_SIZE
    rows = []
    seen = set()
    for c in k.slab_caches.values():
        if id(c) in seen:
            continue  # merged aliases point at one cache
        seen.add(id(c))
        if not c.slabs and not include_empty:
            continue
        mem = c.slabs * (ps << c.order)
        rows.append({"name": c.name, "active_objs": c.objects, "num_objs": c.total_objects,
                     "objsize": c.slab_size, "slabs": c.slabs, "order": c.order,
                     "memory": mem, "used": c.objects * c.slab_size,
                     "free_slots": (c.total_objects - c.objects) * c.slab_size,
                     "leftover": mem - c.total_objects * c.slab_size})
    rows.sort(key=lambda r: (-r["memory"], r["name"]))
    return rows[:top]


def slabinfo(k, ax=None, *, top: int = 15):
    """/proc/slabinfo as bars: the memory of each cache split into objects in use,
    free slots and leftover bytes (the waste at the end of each slab)."""
    rows = slabinfo_rows(k, top=top)
    fig, ax = new_figure(ax, figsize=(9.5, 1.5 + 0.32 * max(len(rows), 3)))
    if not rows:
        note(ax, "no slab has been allocated yet")
        ax.set_title(_("/proc/slabinfo"))
        fig.kmemlab = {"rows": rows}
        return fig
    names = [r["name"] for r in rows]
    y = range(len(rows))
    left = [0] * len(rows)
    for key, color, label in (("used", STATE_COLORS["used"], "objects in use (active_objs)"),
                              ("free_slots", STATE_COLORS["free"], "free object slots"),
                              ("leftover", STATE_COLORS["leftover"], "leftover per slab")):
        vals = [r[key] for r in rows]
        ax.barh(list(y), vals, left=left, color=color, edgecolor="#555555", lw=0.4,
                label=label)
        left = [a + b for a, b in zip(left, vals, strict=True)]
    for i, r in enumerate(rows):
        ax.text(left[i], i, f"  {r['active_objs']}/{r['num_objs']} objs × {r['objsize']} B, "
                f"{r['slabs']} slab{'s' if r['slabs'] != 1 else ''} of order {r['order']}",
                va="center", fontsize=7)
    ax.set_yticks(list(y), names, fontsize=8)
    ax.invert_yaxis()
    xmax = max(left) * 1.8
    ticks = byte_ticks(xmax)
    ax.set_xticks(ticks, [fmt_bytes(t) for t in ticks], fontsize=7)
    ax.set_xlim(0, xmax)
    ax.set_xlabel(_("memory in slabs"))
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"/proc/slabinfo: the {len(rows)} caches holding most memory "
                 f"({k.profile.name})", fontsize=9)
    fig.kmemlab = {"rows": rows}
    return fig
