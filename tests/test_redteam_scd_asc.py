"""The SCD4x's automatic self-calibration in a sealed habitat (issue 9: every number a person acts on, the CO2
time to the limit among them, holds against the truth; checked by the red team). Sensirion's SCD4x ships with ASC
enabled: over its first 44 hours of operation (the initial period), then every 156 hours (the standard period), it
takes the lowest CO2 it measured as 400 ppm, outdoor air, and shifts its offset so (SCD4x datasheet, "Automatic
self-calibration"; every driver that exposes it says the same: set_automatic_self_calibration, persist). A crewed
cabin never breathes outdoor air: the ISS runs at 2,000-4,000 ppm, the scenarios' capsule from 1,500 ppm. So 44 h
after a node powers up in a cabin whose lowest CO2 was 2,000 ppm, it reads 1,600 ppm low from then on, and the
safe haven's CO2 and its time to the 5,300 ppm limit (ground/co2.py) are that far optimistic: a capsule read at
1,900 ppm instead of 3,500 ppm, hours of margin that are not there, where the CO2 decides how long the crew can stay.
Nothing the ground votes can see it: all the nodes calibrate alike.

Measured on main 9c2dbc6: the node firmware (firmware/node.py, in CPython on hil/simhw.py's emulated parts, 30 s
of boot and periodic measurement, /tmp/redteam5/asc.py) never sends set_automatic_self_calibration (0x2416): the
emulated SCD4x's ASC setting is still 1, as it left the factory. The emulator stores the flag but does not model the
correction, so no `safehaven sim` run shows the drift; this is a configuration the datasheet makes wrong for a sealed
cabin. The control: the same boot does configure what the cabin needs of the same part, the ambient pressure for the
NDIR compensation (1013 hPa fed). Fixed (firmware/node.py scd_start): the node sends ASC off at every start unless its config says
`"scd4x": {"asc": true}`; the strict xfail is removed."""
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def booted_scd():
    """The emulated SCD4x after a node has booted and measured for 30 s (firmware in CPython, in this process)."""
    import board as boardfile
    import config as configfile
    import node
    from safehaven.hil import simhw

    def sync(msg):
        t = json.loads(msg)["t_ms"]
        return json.dumps({"until_ms": t + 1000, "stop": t >= 30000, "truth": {}}).encode()

    board = boardfile.validate(json.loads((ROOT / "boards" / "sim.json").read_text()), "board")
    cfg = configfile.validate({"node_id": 3}, "config")
    hw = simhw.make_hardware(board, cfg, sync=sync)
    summary = node.main(cfg, board, hw=hw)    # returns at the bench's stop
    assert hw.clock.t >= 30000 and summary["samples"] > 100, summary
    return hw.scd


def test_the_node_switches_the_co2_self_calibration_off(booted_scd):
    assert booted_scd.settings["asc"] == 0


def test_the_node_feeds_the_co2_sensor_the_ambient_pressure(booted_scd):
    # the control: what the cabin does need of the same part is set at the same boot
    assert booted_scd.ambient_hpa is not None and 990 <= booted_scd.ambient_hpa <= 1040
