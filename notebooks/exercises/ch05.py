"""Chapter 5: large physically contiguous memory (buddy orders, memblock, CMA)."""

from __future__ import annotations

import kmemlab as km

from . import Exercise, fmt_size, rng_for

CHAPTER = 5


def exercises(student: str) -> list[Exercise]:
    out = []

    r = rng_for(student, CHAPTER, 1)
    size = r.choice([6000, 12 * 1024, 50_000, 65536, 100_000, 200 * 1024, 1 << 20, 3_000_000])

    def e1(size=size):
        k = km.Kernel(version="6.12")
        o = k.get_order(size)
        return o, (f"k.get_order({size}) = {o}: 2^{o} pages = {fmt_size(4096 << o)} ≥ {size} bytes; "
                   f"{(4096 << o) - size} bytes of the block are unused.")
    out.append(Exercise(CHAPTER, 1, "order for a buffer",
                        f"A driver needs a physically contiguous buffer of {size} bytes from "
                        f"`__get_free_pages`. Which `order` does it pass?", e1,
                        hint="order = get_order(size)."))

    r = rng_for(student, CHAPTER, 2)
    order = r.randrange(0, 9)
    ram = r.choice(["512M", "1G"])

    def e2(order=order, ram=ram):
        k = km.Kernel(version="6.12", ram=ram, pcp=False)
        before = k.buddyinfo()["DMA32"]
        k.get_free_pages(km.GFP_KERNEL, order)
        after = k.buddyinfo()["DMA32"]
        n = sum(after)
        return n, (f"DMA32 free blocks per order before: {before}\n"
                   f"after __get_free_pages(GFP_KERNEL, {order}): {after}\n"
                   f"The smallest free block big enough (order {next(i for i in range(order, 11) if before[i])}) "
                   f"was split in halves down to order {order}: one half per order stays free. "
                   f"Total free blocks now: {n}.\n{k.trace.last.why}")
    out.append(Exercise(CHAPTER, 2, "splitting a block",
                        f'Boot `km.Kernel(version="6.12", ram="{ram}", pcp=False)` and call '
                        f"`get_free_pages(GFP_KERNEL, {order})` once. How many free blocks (all "
                        f"orders together) does the DMA32 line of /proc/buddyinfo show afterwards?", e2,
                        hint="print k.buddyinfo()['DMA32'] before and after; a split leaves one "
                             "free half at every order it passes."))

    r = rng_for(student, CHAPTER, 3)
    mib = r.choice([8, 16, 24, 32, 48, 64, 100])
    ram3 = r.choice(["1G", "2G"])

    def e3(mib=mib, ram=ram3):
        found = {}

        def pf_buf_len(k, value):   # early_param("pf_buf_len", ...) with memblock
            size = km.memparse(value)
            found["phys"] = k.virt_to_phys(k.memblock_alloc(size, k.PAGE_SIZE))

        k = km.Kernel(version="6.12", ram=ram, cmdline=f"pf_buf_len={mib}M",
                      early_params={"pf_buf_len": pf_buf_len})
        phys = found["phys"]
        return hex(phys), (f"memblock allocates top-down below memblock.current_limit "
                           f"({k.memblock.current_limit:#x}): the highest free {mib} MiB range "
                           f"starts at {phys:#x}.")
    out.append(Exercise(CHAPTER, 3, "where memblock puts it",
                        f"Linux 6.12 x86_64 with {ram3} RAM boots with `pf_buf_len={mib}M`; the "
                        f"handler reserves the buffer with memblock (page aligned). At which "
                        f"physical address does the buffer start? (hex)", e3,
                        hint="memblock allocates top-down; boot a Kernel with early_params= whose "
                             "handler calls k.memblock_alloc, then k.virt_to_phys."))
    return out
