"""A link outage in the first seconds of a real depressurisation (checked by the red team after the link-noise fix
7cb1b4b: a USB hub resetting, a serial cable reconnected, or a burst of noise that takes whole frames). Issue 9
item 4: SHELTER within 2 s of the onset of a sustained fall of 10 Pa/s or more once 2 of 3 nodes agree.
scenarios/rapid_leak_reserve.toml (15 mm in 100 m3 at 90 s, 3 nodes) through `safehaven sim`; the raw node streams
(node-N.bin) with every frame of nodes 2 and 3 sent between 90.5 and 93.5 s taken out (their RAPID events and
three telemetry frames), replayed by `safehaven replay` as the ground would have heard them.

Measured on main 7cb1b4b: from 94.0 s the ground hears nodes 2 and 3's telemetry in state RAPID (its zone shows
"3 of 3" from 95.0 s), but its rapid condition stays false until 99.0 s (the nodes whose RAPID event it did not
hear count as a transient, at most SUSPECT) and SHELTER comes at 99.5 s: 5.5 s after 2 of 3 nodes agree, 9.5 s
after the onset. The same outage of node 3's link alone (the control: nodes 1 and 2's events heard): SHELTER at
91.27 s. With bits flipped in 2 % of the bytes (about half the frames decode), seeds 1 and 3 of
test_redteam_noisy_link.flip_bits: SHELTER at 103.5 / 102.5 s, the same cause. The strict xfail goes when a
node's RAPID state in its telemetry counts as its lost event would have. Tried by the lead (d09f219, reverted):
that made SHELTER come within 2 s here, but the ground then never broke a node's pressure series at a rapid fall's
start, and test_ground_physics' series rate through a transient-flagged fall read -18.4 for -20.8 Pa/s (-11 %:
the pre-onset level in the fit). Breaking the series where a node enters RAPID is the likely fix; not built."""
import json

import pytest

from safehaven.ground.wire import StreamDecoder
from safehaven.protocol.link import ReplayGuard

REPO_SCENARIO = "scenarios/rapid_leak_reserve.toml"
OUTAGE = (90.5, 93.5)


def without_frames(data, node_id, t_from, t_to):
    """The stream with every frame sent between t_from and t_to (node uptime) taken out."""
    dec = StreamDecoder({}, [node_id], ReplayGuard())
    kept, start = bytearray(), 0
    for i in range(len(data)):
        for frame in dec.feed(data[i:i + 1]):
            if not t_from <= frame.uptime_ms / 1000.0 <= t_to:
                kept += data[start:i + 1]
            start = i + 1
    return bytes(kept + data[start:])


def shelter_times(sh, tmp_path, cut_nodes):
    run = tmp_path / "run"
    ran = sh("sim", REPO_SCENARIO, "--runtime", "cpython", "--out", str(run), "--quiet")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    bins = []
    for n in (1, 2, 3):
        data = (run / f"node-{n}.bin").read_bytes()
        path = tmp_path / f"node-{n}.bin"
        path.write_bytes(without_frames(data, n, *OUTAGE) if n in cut_nodes else data)
        bins.append(str(path))
    ran = sh("replay", *bins, "--zone", "1=lab", "--zone", "2=lab", "--zone", "3=lab", "--json")
    assert ran.returncode == 0, ran.stderr
    decisions = [json.loads(line) for line in ran.stdout.splitlines() if line.strip()]
    return [d["t"] for d in decisions if d["event"] == "state" and d["state"] in ("SHELTER", "SHELTERED")]


def test_shelter_follows_the_nodes_rapid_state_after_a_link_outage(sh, tmp_path):
    times = shelter_times(sh, tmp_path, (2, 3))
    assert times and times[0] <= OUTAGE[1] + 0.5 + 2.0, times


def test_shelter_within_2_s_when_one_link_is_out(sh, tmp_path):
    # the control: the same outage on node 3's link only (two RAPID events heard)
    times = shelter_times(sh, tmp_path, (3,))
    assert times and times[0] <= 92.0, times
