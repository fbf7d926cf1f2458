"""How the node starts the SCD4x (firmware/node.py scd_start), on the emulated part in CPython: the automatic
self-calibration is set at every start, off unless the config asks (a crewed cabin never breathes the 400 ppm
outdoor air ASC assumes; tests/test_redteam_scd_asc.py), also when an MCU reset left the sensor measuring."""
import json
from pathlib import Path

import pytest

from safehaven.hil.emu.scd4x import PERIODIC

ROOT = Path(__file__).resolve().parents[1]


def boot(scd4x_config, measuring_before=False):
    """The emulated SCD4x after a node has booted and measured for 20 s."""
    import board as boardfile
    import config as configfile
    import node
    from safehaven.hil import simhw

    def sync(msg):
        t = json.loads(msg)["t_ms"]
        return json.dumps({"until_ms": t + 1000, "stop": t >= 20000, "truth": {}}).encode()

    board = boardfile.validate(json.loads((ROOT / "boards" / "sim.json").read_text()), "board")
    cfg = configfile.validate({"node_id": 2, "scd4x": scd4x_config}, "config")
    hw = simhw.make_hardware(board, cfg, sync=sync)
    if measuring_before:
        hw.scd._execute(0x21B1, (), 0)  # started before an MCU reset, which does not power-cycle the sensor
    summary = node.main(cfg, board, hw=hw)
    return hw.scd, summary


@pytest.mark.parametrize("asked, expected", [({}, 0), ({"asc": True}, 1), ({"asc": False}, 0)])
def test_the_self_calibration_is_what_the_config_asks(asked, expected):
    scd, summary = boot(asked)
    assert scd.settings["asc"] == expected
    assert scd.state == PERIODIC and summary["samples"] > 100


def test_a_sensor_still_measuring_after_an_mcu_reset_is_stopped_then_set():
    scd, _ = boot({}, measuring_before=True)
    assert scd.settings["asc"] == 0
    assert scd.state == PERIODIC
