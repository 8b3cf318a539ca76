"""``import kmemlab.plot`` is cheap: matplotlib loads with the first figure (issue 21)."""

from __future__ import annotations

import subprocess
import sys

import kmemlab.plot as P


def test_importing_plot_loads_no_matplotlib():
    code = ("import sys, kmemlab, kmemlab.plot as P; "
            "assert 'matplotlib' not in sys.modules, 'kmemlab.plot imported matplotlib'; "
            "P.memory_map; assert 'matplotlib.figure' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_public_name_is_its_module_s():
    import importlib
    for name in P.__all__:
        value = getattr(P, name)
        module = importlib.import_module(f"kmemlab.plot.{P._WHERE[name]}")
        assert value is (module if name == P._WHERE[name] else getattr(module, name)), name
    assert set(P.__all__) <= set(dir(P))


def test_the_modules_are_attributes_too():
    # the explorers read P.misc.free_pages_series: a submodule not imported yet must load
    code = ("import kmemlab.plot as P; "
            "assert callable(P.misc.free_pages_series) and P.vm.layout_regions and P._style")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_unknown_name_is_an_attribute_error():
    try:
        P.no_such_plot  # noqa: B018
    except AttributeError as e:
        assert "no_such_plot" in str(e)
    else:  # pragma: no cover
        raise AssertionError("no AttributeError")


def test_the_chapters_set_up_cell_loads_the_plots():
    # notebooks/exercises is what every chapter's first cell imports: matplotlib's ~0.3 s
    # import is paid there, not by the chapter's first figure
    code = ("import sys; sys.path.insert(0, 'notebooks'); import exercises; "
            "assert 'kmemlab.plot.physmem' in sys.modules and 'matplotlib.figure' in sys.modules")
    from pathlib import Path
    subprocess.run([sys.executable, "-c", code], check=True,
                   cwd=Path(__file__).resolve().parents[2])
