"""SLUB: one cache's slabs object by object, and the /proc/slabinfo overview."""

from __future__ import annotations

from matplotlib.colors import to_rgba
from matplotlib.patches import Patch, Rectangle

from ..i18n import _
from ._style import STATE_COLORS, byte_ticks, fmt_bytes, new_figure, note, put, same_width

_WHERE = {"cpu": "CPU slab", "cpu_partial": "CPU partial", "partial": "node partial",
          "full": "full"}


def _cache(k, cache):
    if isinstance(cache, str):
        if cache not in k.slab_caches:
            raise ValueError(f"no slab cache named {cache!r}; see k.slab_caches for the names")
        return k.slab_caches[cache]
    return cache


def slab(k, cache="kmalloc-64", ax=None, *, max_slabs: int = 8, title: str | None = None,
         legend: bool = True):
    """Anatomy of a cache's slabs: each row one slab (its pages cut into objects),
    red = in use, cream = free with its place in the free list (1 = handed out next),
    grey = leftover bytes at the end of the slab. Rows are labelled with where the
    slab is (CPU slab, CPU partial, node partial, full). ``title`` replaces the title
    (which names the cache and its geometry); ``legend=False`` leaves out the legend."""
    c = _cache(k, cache)
    fig, ax = new_figure(ax, figsize=(10, 1.6 + 0.5 * max(1, min(max_slabs, c.slabs))))
    views = c.slabs_view()
    ps = k.PAGE_SIZE
    slab_bytes = ps << c.order
    fixed_title = title
    title = (f"slab cache {c.name}: object_size {c.object_size} B, slot {c.slab_size} B, "
             f"{c.objs_per_slab} objects per order-{c.order} slab ({fmt_bytes(slab_bytes)})")
    if not views:
        note(ax, "no slabs yet: the first allocation from this cache takes a page from "
                 "the buddy allocator")
        ax.set_title(fixed_title or title, fontsize=9)
        fig.kmemlab = {"used": 0, "free": 0, "slabs": 0}
        return fig
    shown = views[:max_slabs]
    used_total = free_total = 0
    label_free = c.objs_per_slab <= 32  # else only the next 9 on the free list
    rects, ranks = {}, {}
    for row, v in enumerate(shown):
        size = v["object_size"]
        rank = {idx: i + 1 for i, idx in enumerate(v["freelist_index"])}
        free = set(v["free"])
        for i in range(v["objects"]):
            is_free = i in free
            rects[row, i] = put(ax, Rectangle(
                (i * size, row + 0.1), size, 0.8,
                facecolor=STATE_COLORS["free" if is_free else "used"],
                edgecolor="#555555", lw=0.4))
            if is_free and rank.get(i, 99) <= (99 if label_free else 9):
                ranks[row, i] = _rank_text(ax, v, row, i, rank[i])
        used_total += v["objects"] - len(free)
        free_total += len(free)
        end = v["objects"] * size
        if end < slab_bytes:
            put(ax, Rectangle((end, row + 0.1), slab_bytes - end, 0.8,
                                   facecolor=STATE_COLORS["leftover"], edgecolor="#555555",
                                   lw=0.4, hatch="//"))
    ax.set_xlim(0, slab_bytes)
    ax.set_ylim(len(shown), 0)
    ax.set_yticks([r + 0.5 for r in range(len(shown))], _row_labels(shown), fontsize=7)
    ticks = [slab_bytes * f for f in (0, 0.25, 0.5, 0.75, 1)]
    ax.set_xticks(ticks, [fmt_bytes(t) for t in ticks], fontsize=7)
    ax.set_xlabel(_("offset in slab"))
    ax.set_title(fixed_title or title + _more(shown, views), fontsize=9)
    if legend:
        ax.legend(handles=[Patch(facecolor=STATE_COLORS["used"], label="object in use"),
                           Patch(facecolor=STATE_COLORS["free"], edgecolor="#555555",
                                 label="free (n = n-th on the free list)"),
                           Patch(facecolor=STATE_COLORS["leftover"], hatch="//",
                                 label="leftover (wasted)")],
                  loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    # each Axes drawn by slab() keeps what update_slab needs (a figure may hold several)
    states = dict(getattr(fig, "kmemlab", None) or {}).get("slab_axes", {})
    states[ax] = {"cache": c.name, "max_slabs": max_slabs, "rows": _row_key(shown),
                  "title": title, "fixed_title": fixed_title, "rects": rects, "ranks": ranks}
    fig.kmemlab = {"used": used_total, "free": free_total, "slabs": len(views),
                   "slab_axes": states}
    return fig


def _rank_text(ax, v, row: int, i: int, rank: int):
    size = v["object_size"]
    return ax.text(i * size + size / 2, row + 0.5, str(rank), ha="center", va="center",
                   fontsize=6 if v["objects"] > 16 else 7)


def _row_labels(shown) -> list[str]:
    return [f"{v['base']:#x}\n{_WHERE.get(v['where'], v['where'])}"
            + (f" {v['cpu']}" if v.get("cpu") is not None else "")
            + f", {v['inuse']}/{v['objects']} used" for v in shown]


def _row_key(shown) -> list[tuple]:
    return [(v["base"], v["objects"], v["object_size"]) for v in shown]


def _more(shown, views) -> str:
    return f" (first {len(shown)} of {len(views)} slabs)" if len(views) > len(shown) else ""


def update_slab(fig, k, cache="kmalloc-64", ax=None):
    """Bring a figure drawn by :func:`slab` up to date in place: which objects are free,
    their places on the free list, the rows' labels (``ax``: the Axes slab() drew into,
    when it was given one). Returns the artists it changed (``[]``: nothing did), or
    None when the slabs shown are not the same ones (a slab came or went) or a label
    needs more room: then draw it anew."""
    info = getattr(fig, "kmemlab", None)
    states = info.get("slab_axes", {}) if info else {}
    if ax is None and len(states) == 1:
        ax = next(iter(states))
    st = states.get(ax)
    c = _cache(k, cache)
    if st is None or st["cache"] != c.name:
        return None
    views = c.slabs_view()
    shown = views[:st["max_slabs"]]
    if _row_key(shown) != st["rows"]:
        return None
    labels = _row_labels(shown)
    ticks = ax.yaxis.get_ticklabels()
    old_labels = [t.get_text() for t in ticks]
    title = st["fixed_title"] or st["title"] + _more(shown, views)
    if (len(old_labels) != len(labels)
            or not all(same_width(a, b) for a, b in zip(old_labels, labels))
            or not same_width(ax.get_title(), title)):
        return None
    changed = []
    label_free = c.objs_per_slab <= 32
    rects, ranks = st["rects"], st["ranks"]
    used_total = free_total = 0
    want = {}
    for row, v in enumerate(shown):
        rank = {idx: i + 1 for i, idx in enumerate(v["freelist_index"])}
        free = set(v["free"])
        for i in range(v["objects"]):
            is_free = i in free
            color = STATE_COLORS["free" if is_free else "used"]
            r = rects[row, i]
            if r.get_facecolor() != to_rgba(color):
                r.set_facecolor(color)
                changed.append(r)
            if is_free and rank.get(i, 99) <= (99 if label_free else 9):
                want[row, i] = (v, rank[i])
        used_total += v["objects"] - len(free)
        free_total += len(free)
    for key in list(ranks):
        if key not in want:
            t = ranks.pop(key)
            t.remove()
            changed.append(t)
    for key, (v, rank) in want.items():
        t = ranks.get(key)
        if t is None:
            ranks[key] = t = _rank_text(ax, v, key[0], key[1], rank)
            changed.append(t)
        elif t.get_text() != str(rank):
            t.set_text(str(rank))
            changed.append(t)
    if old_labels != labels:
        ax.set_yticks([r + 0.5 for r in range(len(shown))], labels, fontsize=7)
        changed += [t for t, old in zip(ax.yaxis.get_ticklabels(), old_labels)
                    if t.get_text() != old]
    if ax.get_title() != title:
        ax.set_title(title, fontsize=9)
        changed.append(ax.title)
    info.update(used=used_total, free=free_total, slabs=len(views))
    return changed


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
