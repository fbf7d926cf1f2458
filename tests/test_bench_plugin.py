"""The pytest plugin's fixtures, used as a lab would use them, on the virtual bench."""
import pytest

CHAMBER = "scenarios/chamber_rate_of_rise.toml"


@pytest.mark.slow
@pytest.mark.bench_scenario(CHAMBER)
def test_fixtures_drive_a_rate_of_rise_test(chamber, node, gauge, ground):
    chamber.valve("pump", True)
    chamber.wait(8)
    chamber.valve("pump", False)
    chamber.wait(60)                      # the nodes learn the level
    status, ref_pa = gauge.pressure_pa(1)
    assert status == 0 and 40000 < ref_pa < 60000
    assert node.frames > 0 and abs(node.pressure_pa - ref_pa) < 150
    assert node.state in ("NOMINAL", "SUSPECT")
    chamber.valve("leak", True)
    chamber.wait(30)
    assert node.state == "LEAK" and node.rate_pa_s > 1.0
    assert isinstance(ground.snapshot(), dict)


def test_plugin_registers_its_options(pytestconfig):
    assert pytestconfig.getoption("--bench-runtime") in ("micropython", "cpython")
    assert pytestconfig.getoption("--bench-node") == [] or pytestconfig.getoption("--bench-gauge")
