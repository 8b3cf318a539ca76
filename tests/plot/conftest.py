"""Figures are drawn headless (Agg); the save_png fixture is in tests/conftest.py."""

import matplotlib

matplotlib.use("Agg")
