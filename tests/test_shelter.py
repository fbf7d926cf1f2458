"""The shelter state machine on constructed zone figures: escalation, persistence, hysteresis, latching,
reserve time, SHELTERED and ALL_CLEAR, and the policy file."""
import math

import pytest

from safehaven.ground.policy import DEFAULTS, PolicyError, load_policy, policy_from_dict
from safehaven.ground.shelter import Shelter, ZoneFigures

P0 = 101000.0


def fig(zone="lab", p=P0, rate=0.0, **kw):
    return ZoneFigures(zone, pressure_pa=p, rate_pa_s=rate, temperature_c=21.0, **kw)


def drive(shelter, figures_at, t0, t1, dt=1.0):
    out = []
    t = t0
    while t <= t1:
        tr = shelter.evaluate(t, figures_at(t))
        if tr:
            out.append(tr)
        t += dt
    return out


def test_default_toml_equals_builtin_defaults():
    assert load_policy("policies/default.toml").data == load_policy(None).data


def test_policy_errors_name_file_and_field(tmp_path):
    bad = tmp_path / "p.toml"
    bad.write_text("[shelter]\nevacuaton_s = 3\n")
    with pytest.raises(PolicyError, match=r"p.toml:2: shelter.evacuaton_s: unknown field"):
        load_policy(bad)
    bad.write_text("[shelter]\nevacuation_s = 'long'\n")
    with pytest.raises(PolicyError, match=r"p.toml:2: shelter.evacuation_s: must be a number"):
        load_policy(bad)
    bad.write_text("[shelter\n")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(bad)
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "missing.toml")


def test_policy_hash_changes_with_any_number():
    a = policy_from_dict({})
    b = policy_from_dict({"shelter": {"margin_s": 301}})
    assert a.hash != b.hash and a.hash == policy_from_dict({}).hash


def test_reserve_time_and_mass_rate():
    # a choked hole: p(t) = p0 e^(-t/tau), tau = p/|dp/dt|; 15 mm in 100 m3 at 1 atm loses 21.4 Pa/s and
    # takes 2,083 s to 65 kPa (hil.physics); the straight line would say 1,697 s
    z = fig(p=101325.0, rate=-21.4)
    assert z.reserve_s(65000.0) == pytest.approx(101325.0 / 21.4 * math.log(101325.0 / 65000.0))
    assert z.reserve_s(65000.0) == pytest.approx(2083.0, rel=0.02)
    assert fig(p=64000.0, rate=-0.5).reserve_s(65000.0) == 0.0
    assert fig(rate=0.1).reserve_s(65000.0) is None
    # REFERENCE: on the ISS, 1 kg/day ~ 1.07e-3 Pa/s
    assert fig(rate=-1.07e-3, volume_m3=916.0).kg_per_day() == pytest.approx(1.0, rel=0.05)


def test_slow_leak_monitor_needs_persistence_and_clears_with_hysteresis():
    sh = Shelter(load_policy())
    rate = {"v": -0.006}
    trs = drive(sh, lambda t: [fig(rate=rate["v"])], 0, 29)
    assert trs == []  # persist_monitor_s = 30
    trs = drive(sh, lambda t: [fig(rate=rate["v"])], 30, 31)
    assert [t.state for t in trs] == ["MONITOR"] and "slow leak suspected" in trs[0].reasons[0]
    rate["v"] = -0.003  # above the entry threshold but inside the hysteresis band (0.0025)
    assert drive(sh, lambda t: [fig(rate=rate["v"])], 32, 200) == []
    rate["v"] = -0.001
    trs = drive(sh, lambda t: [fig(rate=rate["v"])], 201, 300)
    assert [(t.state, t.time) for t in trs] == [("NOMINAL", 261)]


def test_isolate_latches_and_ranks_zones():
    sh = Shelter(load_policy())
    trs = drive(sh, lambda t: [fig("lab", rate=-0.03), fig("node2", rate=-0.05), fig("dragon")], 0, 40)
    assert [t.state for t in trs] == ["ISOLATE"]
    rank = trs[0].reasons[-1]
    assert rank.index("node2") < rank.index("lab") and "dragon" not in rank
    assert drive(sh, lambda t: [fig("lab"), fig("node2"), fig("dragon")], 41, 400) == []  # latched
    tr, msg = sh.acknowledge(401.0)
    assert tr.state == "ALL_CLEAR" and msg == "ok"
    trs = drive(sh, lambda t: [fig("lab")], 402, 470)
    assert [(t.state, t.time) for t in trs] == [("NOMINAL", 461)]


def test_ack_rejected_while_conditions_active():
    sh = Shelter(load_policy())
    drive(sh, lambda t: [fig(rate=-0.05)], 0, 20)
    tr, msg = sh.acknowledge(21.0)
    assert tr is None and "not clear" in msg and sh.state == "ISOLATE"


def test_reserve_time_shelter_and_timed_sheltered():
    pol = policy_from_dict({"shelter": {"sheltered_after_s": 120}})
    # 700 s of reserve at -0.9 Pa/s: more than evacuation 300 s + margin 300 s -> ISOLATE only
    sh = Shelter(pol)
    trs = drive(sh, lambda t: [fig(p=65000 + 0.9 * 700, rate=-0.9)], 0, 200)
    assert [t.state for t in trs] == ["ISOLATE"]
    # 500 s of reserve: SHELTER after persist_shelter_s (5 s), then SHELTERED 120 s later
    sh = Shelter(pol)
    trs = drive(sh, lambda t: [fig(p=65000 + 0.9 * 500, rate=-0.9)], 0, 200)
    assert [(t.state, t.time) for t in trs] == [("SHELTER", 5.0), ("SHELTERED", 125.0)]
    assert any("reserve 8.4 min" in r for r in trs[0].reasons)


def test_rapid_depressurisation_shelters_fast():
    sh = Shelter(load_policy())
    trs = drive(sh, lambda t: [fig(rate=-5.0 if t >= 10 else 0.0)], 0, 20, dt=0.5)
    assert trs[0].state == "SHELTER" and trs[0].time == pytest.approx(10.0 + DEFAULTS["shelter"]["persist_rapid_s"])
    assert any("rapid depressurisation" in r for r in trs[0].reasons)


def test_operator_confirms_sheltered():
    sh = Shelter(policy_from_dict({"shelter": {"sheltered_after_s": 0}}))
    drive(sh, lambda t: [fig(rate=-5.0)], 0, 1000)
    assert sh.state == "SHELTER"  # no timed assumption with sheltered_after_s = 0
    tr, _ = sh.acknowledge(1001.0, "cdr", sheltered=True)
    assert tr.state == "SHELTERED" and "cdr confirmed" in tr.reasons[0]


def test_safe_haven_leaking_is_called_out():
    sh = Shelter(load_policy())
    trs = drive(sh, lambda t: [fig("dragon", rate=-0.05)], 0, 30)
    assert any("safe haven dragon itself" in r for r in trs[0].reasons)


def test_two_disagreeing_nodes_use_the_calm_value():
    z = ZoneFigures("lab", pressure_pa=P0, rate_pa_s=-2.5, alarm_rate_pa_s=0.0)
    sh = Shelter(load_policy())
    assert drive(sh, lambda t: [z], 0, 100) == []


def test_defaults_are_sane():
    s = DEFAULTS["shelter"]
    assert s["suspect_rate_pa_s"] < s["leak_rate_pa_s"] < s["rapid_rate_pa_s"]


def test_reserve_is_shown_in_units_a_crew_reads():
    from safehaven.ground.shelter import fmt_s
    assert fmt_s(None) == "none" and fmt_s(float("inf")) == "none"
    assert fmt_s(42.4) == "42 s" and fmt_s(9.3 * 60) == "9.3 min" and fmt_s(30.2 * 3600) == "30.2 h" and fmt_s(69.6 * 3600) == "2.9 d"
    assert fmt_s(3.5 * 86400) == "3.5 d"
    # the never-0 floor of a node's rate (1e-5 Pa/s) made 1,191,367 h in the demo
    assert fmt_s(1191367.4 * 3600) == "> 30 d"
