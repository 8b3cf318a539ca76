"""中文版章节用的 ``exercises``: 就是 notebooks/exercises 这个包本身, 只是先把 kmemlab 的
语言设为中文.

The Chinese chapters have exactly the English code cells (``from exercises import ...``);
run from notebooks/zh/, that import finds this shim, which switches kmemlab to Chinese
(``km.set_language("zh")``) and then loads the one real package, ../../exercises, under
the name ``exercises`` (so ``from exercises import ch02`` works as in English).
"""

import importlib.util
import sys
from pathlib import Path

import kmemlab

kmemlab.set_language("zh")

_real = Path(__file__).resolve().parent.parent.parent / "exercises"
_spec = importlib.util.spec_from_file_location(
    __name__, _real / "__init__.py", submodule_search_locations=[str(_real)])
_module = importlib.util.module_from_spec(_spec)
sys.modules[__name__] = _module     # the import statement returns this module
_spec.loader.exec_module(_module)
