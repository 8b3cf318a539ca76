"""GFP flags: values per version, printing, parsing, errors (facts sheet section 1)."""

import pytest

import kmemlab as km
from kmemlab import gfp


@pytest.mark.parametrize("version,name,value", [
    ("3.15", "GFP_KERNEL", 0xD0), ("6.1", "GFP_KERNEL", 0xCC0), ("6.12", "GFP_KERNEL", 0xCC0),
    ("3.15", "GFP_ATOMIC", 0x20), ("6.1", "GFP_ATOMIC", 0xA20), ("6.12", "GFP_ATOMIC", 0x820),
    ("3.15", "GFP_NOWAIT", 0x0), ("6.1", "GFP_NOWAIT", 0x800), ("6.12", "GFP_NOWAIT", 0x2800),
    ("3.15", "GFP_NOIO", 0x10), ("6.1", "GFP_NOIO", 0xC00),
    ("3.15", "GFP_NOFS", 0x50), ("6.12", "GFP_NOFS", 0xC40),
    ("3.15", "GFP_USER", 0x200D0), ("6.1", "GFP_USER", 0x100CC0),
    ("3.15", "GFP_HIGHUSER_MOVABLE", 0x200DA), ("6.12", "GFP_HIGHUSER_MOVABLE", 0x100CCA),
    ("3.15", "GFP_TEMPORARY", 0x800D0), ("3.15", "GFP_TRANSHUGE", 0x4352DA),
    ("6.1", "GFP_KERNEL_ACCOUNT", 0x400CC0), ("6.1", "GFP_TRANSHUGE_LIGHT", 0x1C20CA),
    ("6.1", "GFP_TRANSHUGE", 0x1C24CA), ("6.12", "__GFP_ZERO", 0x100),
    ("3.15", "__GFP_ZERO", 0x8000), ("6.12", "__GFP_COMP", 0x40000),
])
def test_values_match_facts_sheet(version, name, value):
    assert gfp.table(version).value(gfp.flag(name)) == value


@pytest.mark.parametrize("version,value,text", [
    ("3.15", 0xD0 | 0x8000, "GFP_KERNEL|GFP_ZERO"),
    ("6.1", 0xCC0 | 0x100, "GFP_KERNEL|__GFP_ZERO"),
    ("6.12", 0xCC0 | 0x100, "GFP_KERNEL|__GFP_ZERO"),
    ("3.15", 0xD0 | 0x1, "GFP_KERNEL|0x1"),
    ("6.1", 0x8C0, "GFP_NOWAIT|__GFP_IO|__GFP_FS"),
    ("6.12", 0x8C0, "__GFP_IO|__GFP_FS|__GFP_KSWAPD_RECLAIM"),
    ("3.15", 0, "GFP_NOWAIT"), ("6.12", 0, "none"),
    ("6.12", 0xCC0 | 0x4000 | 0x100, "GFP_KERNEL|__GFP_RETRY_MAYFAIL|__GFP_ZERO"),
    ("6.12", 0xCC0 | 0x40000 | 0x100 | 0x4000,
     "GFP_KERNEL|__GFP_RETRY_MAYFAIL|__GFP_COMP|__GFP_ZERO"),
    ("6.12", 0x80000000, "0x80000000"),
])
def test_show_gfp_flags(version, value, text):
    assert gfp.table(version).show(value) == text


def test_symbolic_printing_and_combination():
    f = km.GFP_KERNEL | km.gfp.flag("__GFP_ZERO")
    assert str(f) == "GFP_KERNEL|__GFP_ZERO"
    assert repr(f) == "GFP(GFP_KERNEL|__GFP_ZERO)"
    nowait = km.GFP_KERNEL & ~km.gfp.flag("__GFP_DIRECT_RECLAIM")
    assert str(nowait) == "GFP_KERNEL & ~__GFP_DIRECT_RECLAIM"
    assert gfp.table("6.12").value(nowait) == 0x8C0
    assert getattr(km, "__GFP_ZERO") is km.gfp.flag("__GFP_ZERO")
    assert (km.GFP_KERNEL - km.gfp.flag("__GFP_FS")) == km.GFP_KERNEL & ~km.gfp.flag("__GFP_FS")


def test_parse_names_expressions_and_hex():
    assert gfp.table("6.12").value(gfp.parse("GFP_KERNEL|__GFP_ZERO")) == 0xDC0
    assert gfp.table("6.12").value(gfp.parse("0xcc0")) == 0xCC0
    assert gfp.table("6.12").value(gfp.parse("GFP_KERNEL & ~__GFP_DIRECT_RECLAIM")) == 0x8C0
    # 3.15 trace spelling without underscores parses back
    assert gfp.table("3.15").value(gfp.parse("GFP_KERNEL|GFP_ZERO")) == 0x80D0
    assert gfp.table("6.12").value(gfp.parse("none")) == 0


def test_every_printed_string_parses_back_to_the_same_value():
    for version in ("3.15", "6.1", "6.12"):
        t = gfp.table(version)
        for name in t.names():
            v = t.values[name]
            if v:
                assert t.value(gfp.parse(t.show(v))) == v, (version, name)


def test_missing_flag_names_the_flag_and_the_change():
    with pytest.raises(ValueError, match="__GFP_WAIT does not exist in Linux 6.12.*__GFP_DIRECT"):
        gfp.table("6.12").value(gfp.flag("__GFP_WAIT"))
    with pytest.raises(ValueError, match="__GFP_DIRECT_RECLAIM does not exist in Linux 3.15"):
        gfp.table("3.15").value(gfp.flag("__GFP_DIRECT_RECLAIM"))
    with pytest.raises(ValueError, match="__GFP_ATOMIC does not exist in Linux 6.12"):
        km.Kernel(version="6.12").gfp_value("__GFP_ATOMIC")


def test_illegal_zone_combination():
    with pytest.raises(ValueError, match="__GFP_DMA and __GFP_HIGHMEM.*illegal zone"):
        gfp.table("6.12").value(km.GFP_DMA | km.gfp.flag("__GFP_HIGHMEM"))


def test_bad_input_messages():
    with pytest.raises(ValueError, match="unknown GFP flag name 'GFP_KERNAL'"):
        gfp.flag("GFP_KERNAL")
    with pytest.raises(ValueError, match="unknown GFP flag"):
        gfp.parse("GFP_KERNEL|NOPE")
    with pytest.raises(TypeError):
        gfp.coerce(1.5)
    with pytest.raises(ValueError):
        gfp.coerce(-1)
    with pytest.raises(ValueError, match="empty"):
        gfp.parse("  ")
    with pytest.raises(ValueError):
        gfp.parse("GFP_KERNEL |")


def test_gfp_zone_table():
    k64 = km.Kernel(version="6.12", ram="256M")
    k32 = km.Kernel(version="3.15", arch="i386", ram="256M")
    assert k64.gfp_zone(km.GFP_KERNEL) == "Normal"
    assert k64.gfp_zone(km.GFP_DMA) == "DMA"
    assert k64.gfp_zone(km.GFP_DMA32) == "DMA32"
    assert k64.gfp_zone(km.GFP_HIGHUSER) == "Normal"
    assert k64.gfp_zone(km.GFP_HIGHUSER_MOVABLE) == "Movable"
    assert k32.gfp_zone(km.GFP_HIGHUSER) == "HighMem"
    assert k32.gfp_zone(km.GFP_DMA32) == "Normal"


def test_may_block_per_version():
    k315 = km.Kernel(version="3.15", ram="256M")
    k612 = km.Kernel(version="6.12", ram="256M")
    assert k315.gfpflags_allow_blocking(km.GFP_KERNEL)
    assert not k315.gfpflags_allow_blocking(km.GFP_ATOMIC)
    assert not k315.gfpflags_allow_blocking(km.GFP_NOWAIT)
    assert k612.gfpflags_allow_blocking(km.GFP_NOIO)
    assert not k612.gfpflags_allow_blocking(km.GFP_NOWAIT)
    assert k612.profile.may_block_flag == "__GFP_DIRECT_RECLAIM"


def test_gfp_constructor_takes_names_or_numbers_and_refuses_the_rest():
    """km.GFP("__GFP_MOVABLE") used to build a mask that failed only when evaluated,
    with an AssertionError from deep inside gfp.py."""
    k = km.Kernel(version="6.12", ram="256M")
    assert k.gfp_value(km.GFP("GFP_KERNEL | __GFP_ZERO")) == \
        k.gfp_value(km.GFP_KERNEL | km.__GFP_ZERO)
    assert k.gfp_value(km.GFP(0x10)) == 0x10
    for bad in (None, 1.5, ("x",), [1]):
        with pytest.raises(TypeError, match="GFP"):
            km.GFP(bad)
    with pytest.raises(TypeError):
        km.GFP(True)
    with pytest.raises(ValueError, match="unknown GFP flag name"):
        km.GFP("__GFP_NOPE")


@pytest.mark.parametrize("version", ["3.15", "6.1", "6.12", "6.18"])
def test_remembered_may_block_equals_the_bits(version):
    """gfpflags_allow_blocking remembers its answer per mask (GfpTable.has_flag): the
    answer is still the bit test, for every symbol, int masks and strings, asked twice."""
    k = km.Kernel(version=version, ram="256M")
    table, bit = k.profile.gfp_table, k.profile.gfp_table.values[k.profile.may_block_flag]
    names = [n for n in table.names() if n.startswith("GFP_")]
    for _ in range(2):
        for name in names:
            want = bool(bit) and table.value(gfp.coerce(name)) & bit == bit
            assert k.gfpflags_allow_blocking(gfp.coerce(name)) is want, name
            assert k.gfpflags_allow_blocking(name) is want, name
        for mask in (0, bit, bit | 0x40, 0x40):
            assert k.gfpflags_allow_blocking(mask) is bool(mask & bit)


def test_a_mask_a_version_lacks_is_refused_every_time():
    k = km.Kernel(version="3.15", ram="256M")
    for _ in range(2):   # an error is not remembered as an answer
        with pytest.raises(ValueError):
            k.gfpflags_allow_blocking(km.__GFP_DIRECT_RECLAIM | km.GFP_KERNEL)
        with pytest.raises(ValueError, match="negative"):
            k.gfpflags_allow_blocking(-1)
