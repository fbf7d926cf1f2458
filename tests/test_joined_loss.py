"""Zones joined by open hatches lose one volume's air (ground/joined.py, ground/shelter.py): `make demo`'s
SHELTER told the service module's 25 mm hole as 5,970 kg/day on svc (100 m3) and 555 kg/day on the docked
capsule (9.3 m3) at the same -58.5 Pa/s, each zone's own volume times the joined rate. And a reserve of None
(the zone not losing air) was printed "reserve none", which reads as no air left."""
import pytest

from safehaven.ground.joined import JoinedZones
from safehaven.ground.shelter import R_AIR, SECONDS_PER_DAY, ZoneFigures, fmt_reserve


def _falling(t: float, p0: float, rate: float, volume: float, zone: str) -> ZoneFigures:
    p = p0 + rate * t
    return ZoneFigures(zone, pressure_pa=p, rate_pa_s=rate, volume_m3=volume, temperature_c=21.85, rapid=True)


def test_joined_zones_tell_the_whole_volumes_loss():
    joined = JoinedZones(tolerance_pa=5.0)
    for t in range(0, 11):
        figures = [_falling(t, 101_325.0, -58.5, 100.0, "svc"), _falling(t, 101_300.0, -58.5, 9.3, "dragon"),
                   ZoneFigures("prk", pressure_pa=101_310.0, rate_pa_s=0.0, volume_m3=20.0)]
        groups = joined.update(float(t), figures)
    assert groups == [["dragon", "svc"]]
    svc, dragon, prk = figures
    truth = 58.5 * 109.3 / (R_AIR * 295.0) * SECONDS_PER_DAY
    assert svc.kg_per_day() == pytest.approx(truth, rel=1e-9)
    assert dragon.kg_per_day() == pytest.approx(truth, rel=1e-9)
    assert prk.kg_per_day() == 0.0 and prk.joined == ()


def test_a_zone_alone_tells_its_own_volumes_loss():
    z = ZoneFigures("svc", pressure_pa=101_325.0, rate_pa_s=-1.0, volume_m3=100.0, temperature_c=21.85)
    assert z.kg_per_day() == pytest.approx(100.0 / (R_AIR * 295.0) * SECONDS_PER_DAY)


def test_a_reserve_is_never_printed_as_none():
    assert fmt_reserve(None, 0.0) == "not losing air"
    assert fmt_reserve(None, None) == "-"
    assert fmt_reserve(768.0, -58.5) == "12.8 min"
