"""Adding a kernel is one derive() entry (issue 17): a throwaway profile derived from
6.12 boots and prints what 6.12 prints; a profile missing a table fails when built,
naming it."""

from __future__ import annotations

import dataclasses

import pytest

import kmemlab as km
from kmemlab import gfp, profiles, slab_common, slub


@pytest.fixture
def registered():
    """register() a profile for one test and take it out again afterwards."""
    tables = (profiles.PROFILES, gfp.TABLES, slub.SLUB_RULES,
              slab_common.SLAB_FLAGS_BY_VERSION, slab_common.SLAB_MERGE_SAME)
    saved = [dict(t) for t in tables]
    yield profiles.register
    for t, old in zip(tables, saved):
        t.clear()
        t.update(old)


def test_derived_profile_boots_like_its_base(registered):
    base = km.get_profile("6.12", "x86_64")
    new = registered(profiles.derive(base, version="9.99"))
    assert new.description == "Linux 9.99 on x86_64 (derived from 6.12)"
    assert new.slub_rules.version == "9.99" and new.gfp.version == "9.99"
    k_new = km.Kernel(version="9.99", ram="1G", cpus=2)
    k_old = km.Kernel(version="6.12", ram="1G", cpus=2)
    for f in ("buddyinfo", "zoneinfo", "meminfo", "slabinfo", "pagetypeinfo"):
        assert k_new.proc(f) == k_old.proc(f), f
    a, b = k_new.kmalloc(100, km.GFP_KERNEL), k_old.kmalloc(100, km.GFP_KERNEL)
    assert a == b
    assert "9.99.0-kmemlab" in k_new.cpu_line() and "UID: 0" in k_new.cpu_line()
    assert "version=9.99" in str(km.known_profiles()) or "9.99/x86_64" in km.known_profiles()


def test_derive_changes_only_the_named_features(registered):
    base = km.get_profile("6.12", "x86_64")
    new = registered(profiles.derive(base, version="9.98", dump_stack_prints_uid=False,
                                     zoneinfo_promo=False))
    k = km.Kernel(version="9.98", ram="512M")
    assert "UID:" not in k.cpu_line()
    assert "\n        promo " not in k.proc("zoneinfo")
    assert "\n        promo " in km.Kernel(version="6.12", ram="512M").proc("zoneinfo")
    assert new.pcp_high_rule == base.pcp_high_rule


def test_derive_rejects_an_unknown_feature():
    with pytest.raises(TypeError, match="no field dump_stack_prints_gid"):
        profiles.derive(km.get_profile(), version="9.97", dump_stack_prints_gid=True)


@pytest.mark.parametrize("table", ["gfp_table", "slub_rules", "slab_flag_names",
                                   "order_warn_site", "might_sleep_sites", "zone_stat_names"])
def test_a_missing_table_fails_when_the_profile_is_built(table):
    with pytest.raises(ValueError, match=f"missing {table}"):
        dataclasses.replace(km.get_profile(), version="9.96", **{table: None})


def test_an_unknown_strategy_name_fails_when_the_profile_is_built():
    with pytest.raises(ValueError, match="pcp_high_rule='sometimes'; known:"):
        profiles.derive(km.get_profile(), version="9.95", pcp_high_rule="sometimes")
    with pytest.raises(ValueError, match="might_sleep_sites needs exactly"):
        profiles.derive(km.get_profile(), version="9.95", might_sleep_sites={"slab": ("x", 1)})


def test_quiz_schema_lists_every_profile_version():
    from kmemlab.quiz.schema import SCHEMA
    enum = SCHEMA["$defs"]["kernel"]["properties"]["version"]["enum"]
    assert enum == profiles.versions()
    assert set(enum) == {v for v, _a in km.PROFILES}
