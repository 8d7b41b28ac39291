"""Thermal modes of ``twin run`` (:mod:`twin.loop.modes`): one registry whose names the
settings and the CLI offer, and the loop state's restart record. Fast: nothing is solved."""
from __future__ import annotations

import numpy as np
import pytest

from common.errors import InputError
from twin.loop.modes import MODES, THERMAL_MODES, LoopState, ThermalMode, mode_for
from twin.loop.settings import RunSettings
from twin.loop.settings import THERMAL_MODES as SETTINGS_MODES


def test_one_registry_of_modes():
    assert THERMAL_MODES == SETTINGS_MODES == ("linear", "direct", "transient")
    for name in THERMAL_MODES:
        mode = mode_for(name)
        assert isinstance(mode, ThermalMode) and mode.name == name and MODES[name] is mode
    # the flow states of a direct or transient step replace the kept ones
    assert [MODES[n].replaces_states for n in THERMAL_MODES] == [False, True, True]
    with pytest.raises(InputError, match="linear, direct, transient"):
        RunSettings(thermal="implicit")


def test_loop_state_restart_record():
    st = LoopState(tin=np.array([20.0, 21.5]), ts_set=np.array([18.0]), ts_deliv=np.array([18.5]),
                   coolant=np.array([30.0, 30.0]), active="abc", last_verify_h=-np.inf,
                   lim_checked=np.array([True]), verify_interval_h=6.0)
    tree = st.to_tree()
    assert list(tree) == ["tin", "ts_set", "ts_deliv", "coolant", "active", "last_verify_h",
                          "lim_checked", "verify_interval_h"]
    assert tree["last_verify_h"] == -1e300 and tree["lim_checked"].dtype == np.uint8
    back = LoopState.from_tree(tree, n_c=1, verify_every_h=3.0)
    assert back.last_verify_h == -np.inf and back.lim_checked.tolist() == [True]
    for name in ("tin", "ts_set", "ts_deliv", "coolant"):
        np.testing.assert_array_equal(getattr(back, name), getattr(st, name))
    # an older record without the check fields
    old = {k: v for k, v in tree.items() if k not in ("lim_checked", "verify_interval_h")}
    back = LoopState.from_tree(old, n_c=1, verify_every_h=3.0)
    assert back.lim_checked.tolist() == [False] and back.verify_interval_h == 3.0
    # a working copy leaves the committed arrays alone
    cur = st.working_copy()
    cur.tin[0] = 99.0
    assert st.tin[0] == 20.0
