import pytest

import kmemlab as km
from kmemlab.sizes import human, memparse


@pytest.mark.parametrize("text,value", [
    ("64M", 64 << 20), ("1G", 1 << 30), ("0x1000", 4096), ("512k", 512 << 10),
    ("4096", 4096), ("010", 8), ("2T", 2 << 40), (" 1g ", 1 << 30), (0, 0), (123, 123)])
def test_memparse(text, value):
    assert memparse(text) == value


@pytest.mark.parametrize("bad", ["", "64MB", "1.5G", "abc", "-1", "0x", "G"])
def test_memparse_rejects_garbage(bad):
    with pytest.raises(ValueError, match="cannot parse"):
        memparse(bad)


def test_memparse_types():
    with pytest.raises(TypeError):
        memparse(1.0)
    with pytest.raises(TypeError):
        memparse(True)
    with pytest.raises(ValueError):
        memparse(-5)


def test_human():
    assert human(4096) == "4 KiB"
    assert human(3 << 29) == "1.5 GiB"
    assert human(100) == "100 B"


def test_profiles_known_and_unknown():
    assert set(km.known_profiles()) == {f"{v}/{a}" for v, a in km.PROFILES} >= {
        "3.15/x86_64", "3.15/i386", "6.1/x86_64", "6.12/x86_64"}
    with pytest.raises(ValueError, match="known: .*'6.12'"):
        km.get_profile("5.4", "x86_64")
    with pytest.raises(ValueError, match="no profile for Linux 6.12 on arm64"):
        km.get_profile("6.12", "arm64")
    assert km.get_profile("3.15", "x86").arch == "i386"


def test_profile_numbers():
    for name in km.known_profiles():
        v, a = name.split("/")
        p = km.get_profile(v, a)
        assert p.page_size == 4096
        assert p.max_page_order == 10 and p.nr_page_orders == 11
    assert km.get_profile("6.12").max_order_constant.startswith("MAX_PAGE_ORDER = 10")
    assert km.get_profile("3.15").max_order_constant.startswith("MAX_ORDER = 11")
    assert km.get_profile("3.15", "i386").sizeof_struct_page == 32
    assert km.get_profile("3.15", "i386").pageblock_order == 10
    assert km.get_profile("6.1").pageblock_order == 9


def test_get_order():
    g = km.get_order
    assert [g(1), g(4096), g(4097), g(8192), g(8193), g(4 << 20), g((4 << 20) + 1)] == \
        [0, 0, 1, 1, 2, 10, 11]
    assert g("64K") == 4
    with pytest.raises(ValueError):
        g(0)
    with pytest.raises(ValueError):
        g(-3)


def test_size_arg():
    from kmemlab.sizes import size_arg
    assert size_arg("64M") == 64 << 20 and size_arg(0) == 0
    with pytest.raises(ValueError, match="must be > 0, not 0"):
        size_arg(0, minimum=1)
    with pytest.raises(ValueError, match="text must be ≥ 0, not -1"):
        size_arg(-1, "text")
    with pytest.raises(TypeError, match="size string"):
        size_arg(1.5)
    with pytest.raises(TypeError):
        size_arg(True)
