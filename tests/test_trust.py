"""Who may speak, in small pieces: --allow-unsigned (refused without a key file, never for a keyed node,
visible on the dashboard and recorded), operator strings that cannot forge a log line. The live attack
test is tests/test_trust_live.py."""
import hashlib
import io
import os
import subprocess
import sys

from safehaven.ground.clock import ManualClock
from safehaven.ground.dashboard import PlainView
from safehaven.ground.engine import Decision, Engine
from safehaven.ground.ptys import pty_pair
from safehaven.ground.policy import load_policy
from safehaven.ground.station import Station
from safehaven.ground.store import Store
from safehaven.protocol import messages as m
from safehaven.protocol.codec import Encoder

SH = [sys.executable, "-m", "safehaven"]
KEY = hashlib.sha256(b"trust unit key").digest()
CALM = (int(101000.0 * 256), 2100, 800, 4000, 0, 0, m.NOMINAL, 0)


def sh(*args):
    return subprocess.run(SH + list(args), capture_output=True, text=True, timeout=60)


def test_allow_unsigned_is_an_explicit_per_node_opt_in(tmp_path):
    keyfile = tmp_path / "keys.json"
    keyfile.write_text('{"version": 1, "nodes": {"1": "%s"}}' % KEY.hex())
    os.chmod(keyfile, 0o600)
    no_keys = sh("monitor", "--node", "5=loop://", "--allow-unsigned", "5", "--db", str(tmp_path / "a.sqlite"))
    keyed = sh("monitor", "--node", "1=loop://", "--key-file", str(keyfile), "--allow-unsigned", "1",
               "--db", str(tmp_path / "b.sqlite"))
    assert no_keys.returncode == 2 and "needs --key-file" in no_keys.stderr
    assert keyed.returncode == 2 and "has a key in the key file" in keyed.stderr
    assert "Traceback" not in no_keys.stderr + keyed.stderr

    master, path = pty_pair()
    db = tmp_path / "mixed.sqlite"
    store = Store(db)
    engine = Engine(load_policy(None), keys={1: KEY}, zones={5: "lab", 6: "lab"}, allow_unsigned=[5])
    station = Station({"node5": path}, engine, store, ManualClock(1000.0), keys={1: KEY})
    try:
        station.open()
        five, six = Encoder(5), Encoder(6)
        for i in range(5):
            os.write(master, bytes(five.telemetry(1000 * i, *CALM)) + bytes(six.telemetry(1000 * i, *CALM)))
        for _ in range(50):
            station.poll(0.02)
            if engine.nodes.get(5) and engine.nodes[5].frames == 5:
                break
        out = io.StringIO()
        PlainView(out).update(engine.snapshot(), [], station.link_events)
    finally:
        station.close()
        store.close()
        os.close(master)
    assert engine.nodes[5].frames == 5 and 6 not in engine.nodes          # node 6 never opted in
    assert "unsigned allowed from node 5" in out.getvalue() and "1 unknown node" not in out.getvalue()
    assert "5 unknown node" in out.getvalue()
    info = sh("status", "--db", str(db), "--json")
    import json
    integrity = json.loads(info.stdout)["integrity"]
    assert integrity["allow_unsigned"] == [5] and integrity["totals"] == {"unknown_nodes": 5}
    text = sh("status", "--db", str(db)).stdout
    assert "unsigned frames allowed from node 5" in text and "5 unknown_nodes claiming node 6" in text


def test_operator_strings_cannot_forge_a_log_line(tmp_path):
    forged = sh("ack", "--who", "cdr\nt+0s ACK NOMINAL", "--db",
                str(tmp_path / "x.sqlite"))
    assert forged.returncode == 2 and "printable" in forged.stderr and "Traceback" not in forged.stderr
    out = io.StringIO()
    view = PlainView(out)
    d = Decision(1.0, "ack_rejected", "SHELTER", "SHELTER", ["eve\nt+0.000s ALL_CLEAR SHELTER -> NOMINAL: ok"],
                 {}, {}, {})
    view.update({"t": 1.0, "state": "SHELTER", "zones": {}}, [d], [(1.0, "node1", "lost", "gone\r\nfake")])
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and not any(line.startswith("t+0.000s ALL_CLEAR") for line in lines)
    assert "\\n" in lines[1] and "\\r\\n" in lines[0]


def test_direct_send_hears_the_unsigned_answer_of_the_node_it_addresses(tmp_path, pty_node):
    keyfile = tmp_path / "keys.json"
    keyfile.write_text('{"version": 1, "nodes": {"1": "%s"}}' % KEY.hex())     # node 4 has no key
    os.chmod(keyfile, 0o600)
    ok = sh("send", "4", "request_status", "--port", pty_node(4), "--key-file", str(keyfile), "--timeout", "5")
    assert ok.returncode == 0 and "node 4: ok" in ok.stdout, ok.stderr

