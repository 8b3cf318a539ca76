"""Chapter 1: kernel vs user memory (the 3G/1G split, lowmem, HighMem)."""

from __future__ import annotations

import kmemlab as km

from . import Exercise, rng_for

CHAPTER = 1


def exercises(student: str) -> list[Exercise]:
    out = []

    r = rng_for(student, CHAPTER, 1)
    ram = r.choice(["1G", "1280M", "1536M", "2G", "3G"])

    def e1(ram=ram):
        k = km.Kernel(version="3.15", arch="i386", ram=ram)
        mib = (k.zones["HighMem"].present * k.PAGE_SIZE) >> 20
        return mib, (f'k = km.Kernel(version="3.15", arch="i386", ram="{ram}"); '
                     f'k.zones["HighMem"].present = {k.zones["HighMem"].present} pages '
                     f"→ {mib} MiB (rounded down). Everything above lowmem "
                     f"({(k.max_low_pfn * k.PAGE_SIZE) >> 20} MiB) is HighMem.")
    out.append(Exercise(CHAPTER, 1, "how much HighMem",
                        f"A 32-bit (i386) Linux 3.15 machine has {ram} of RAM. How many MiB of it "
                        f"are in ZONE_HIGHMEM (present pages, rounded down to whole MiB)?", e1,
                        hint='boot it with km.Kernel(version="3.15", arch="i386", ram=...) and '
                             'look at k.zones["HighMem"].present.', tolerance=1))

    r = rng_for(student, CHAPTER, 2)
    vm = r.choice([64, 128, 192, 256, 320, 384])

    def e2(vm=vm):
        k = km.Kernel(version="3.15", arch="i386", ram="2G", cmdline=f"vmalloc={vm}M")
        mib = (k.max_low_pfn * k.PAGE_SIZE) >> 20
        return mib, (f'km.Kernel(version="3.15", arch="i386", ram="2G", cmdline="vmalloc={vm}M")'
                     f".max_low_pfn = {k.max_low_pfn:#x} → lowmem = {mib} MiB. The 1 GiB kernel "
                     f"window minus the vmalloc area ({vm} MiB + 8 MiB gap) minus the fixmap/pkmap "
                     f"area at the top is what can be mapped one-to-one.")
    out.append(Exercise(CHAPTER, 2, "lowmem after vmalloc=",
                        f"Boot i386 Linux 3.15 with 2 GiB RAM and the kernel parameter "
                        f"`vmalloc={vm}M`. How many MiB of lowmem (directly mapped RAM) are left?", e2,
                        hint="k.max_low_pfn is the first page frame that is *not* lowmem.",
                        tolerance=1))

    r = rng_for(student, CHAPTER, 3)
    phys = r.randrange(0x100, 0x8000) * 4096 + r.choice([0, 0x40, 0x800])
    version = r.choice(["3.15", "6.12"])

    def e3(phys=phys, version=version):
        k = km.Kernel(version=version, arch="x86_64", ram="1G")
        v = k.phys_to_virt(phys)
        return hex(v), (f'km.Kernel(version="{version}").phys_to_virt({phys:#x}) = {v:#x}: '
                        f"PAGE_OFFSET {k.profile.page_offset:#x} + the physical address.")
    out.append(Exercise(CHAPTER, 3, "the direct map",
                        f"On x86_64 Linux {version}, a kmalloc'ed object sits at physical address "
                        f"`{phys:#x}`. Which kernel virtual address does kmalloc return for it? "
                        f"(hex, e.g. `\"0xffff...\"`)", e3,
                        hint="k.phys_to_virt(phys), or add k.profile.page_offset."))

    r = rng_for(student, CHAPTER, 4)
    ram4 = r.choice(["1536M", "2G", "3G"])
    addr = r.randrange(600, 1400) << 20

    def e4(ram=ram4, addr=addr):
        k = km.Kernel(version="3.15", arch="i386", ram=ram)
        low = addr < k.max_low_pfn * k.PAGE_SIZE
        zone = next(z.name for z in k.zone_list
                    if z.present and z.zone_start_pfn <= addr >> 12 < z.zone_end_pfn)
        return low, (f"lowmem ends at {(k.max_low_pfn * k.PAGE_SIZE) >> 20} MiB; physical "
                     f"{addr >> 20} MiB is in zone {zone}, so it is "
                     f"{'directly mapped' if low else 'NOT directly mapped (kmap it first)'}.")
    out.append(Exercise(CHAPTER, 4, "lowmem or HighMem",
                        f"On i386 Linux 3.15 with {ram4} RAM, is the page at physical address "
                        f"{addr >> 20} MiB permanently mapped in the kernel's direct map? "
                        f"(True / False)", e4,
                        hint="compare with k.max_low_pfn * k.PAGE_SIZE."))
    return out
