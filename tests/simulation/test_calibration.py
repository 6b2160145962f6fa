"""The calibration constants match a fresh fit of the shared CSVs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from fourflow.simulation import calibration

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"


def _calibrate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("calibrate", ROOT / "tools" / "calibrate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_constants_match_the_fit_of_the_shared_data() -> None:
    assert DATA.is_dir(), f"{DATA} is missing: the shared data must sit beside the project"
    fitted = _calibrate().fit(DATA)
    assert fitted, "the fit returned nothing"
    for name, value in fitted.items():
        assert getattr(calibration, name) == pytest.approx(value, rel=1e-3, abs=1e-3), name


def test_shares_are_probabilities() -> None:
    assert 0 < calibration.PAID_LATE_SHARE + calibration.PAID_ON_DUE_SHARE < 1
    assert 0 < calibration.DELIVERY_LATE_SHARE + calibration.DELIVERY_EARLY_SHARE < 1
    for weights in calibration.TERMS_WEIGHTS.values():
        assert sum(w for _, w in weights) == pytest.approx(1.0)
