"""A good node that finds a real leak a little later than the others (checked by the red team; issue 9 item 4: a
disagreement between a node's rate and the zone's is a health signal, so it must mean something). 20 kg/day in a
100 m3 module (0.2 Pa/s) from 120 s, on the orbit with a 3 Pa fan, 3 nodes, every per-part error on, `safehaven sim
--runtime cpython`. Each node's detector calls the leak when its own noise lets it; until then it is NOMINAL with
rate 0, which is what its detector says, not a fault.

Measured on main 1832e19: nodes 1 and 3 LEAK at 158-159 s (rates -0.44 / -0.46 Pa/s, the alarm's provisional rate);
node 2 still NOMINAL, rate 0.0 at 169 s: the ground ISOLATEs the zone (2 of 3) and in the same second isolates node 2
from the vote ("rate_pa_s off the zone median by +0.4591 (tolerance 0.1648); 10 s of disagreement"), readmitted only
at 278 s, 109 s later, although it reported LEAK itself soon after. The operator is told a good node is faulty at the
moment a leak is confirmed, and the vote loses a node for two minutes. 10 kg/day: node 2 isolated at 231.8 s the same
way (/tmp/redteam5/iso). The control: the same leak seen by nodes 4-6 (other parts), who call it within a second of
each other: nobody isolated, ISOLATE at 169 s 3 of 3.

Fixed in ground/voting.py (_falls_with_zone): a node whose rate says less fall than the zone's while its own
pressure series falls as the other nodes' series do is not isolated for it (node 2's series -0.11 Pa/s beside
the others' -0.05; their reported rates -0.46/-0.50): the strict xfail passes and is removed."""

SCENARIO = """[scenario]
name = "late_node"
description = "100 m3, orbit, 3 Pa fan; a 20 kg/day leak from 120 s"
duration_s = 300
step_ms = 250
expect = ["ISOLATE by t=200", %s]

[[zone]]
name = "lab"
volume_m3 = 100
temperature_c = 22.0
temp_amplitude_c = 0.6
temp_period_s = 5580
fan_amplitude_pa = 3.0
fan_period_s = 60

[[leak]]
zone = "lab"
onset_s = 120
rate_kg_day = 20.0
"""


def run(sh, tmp_path, nodes):
    text = SCENARIO % ", ".join(f'"node {n} never isolated"' for n in nodes)
    text += "".join(f'\n[[node]]\nid = {n}\nzone = "lab"\n' for n in nodes)
    path = tmp_path / "s.toml"
    path.write_text(text)
    return sh("sim", path, "--runtime", "cpython", "--out", tmp_path / "out", "--quiet")


def test_a_node_finding_a_leak_later_is_not_isolated(tmp_path, sh):
    ran = run(sh, tmp_path, (1, 2, 3))
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_nodes_finding_a_leak_together_are_not_isolated(tmp_path, sh):
    # the control: the same leak, nodes 4-6
    ran = run(sh, tmp_path, (4, 5, 6))
    assert ran.returncode == 0, ran.stdout + ran.stderr
