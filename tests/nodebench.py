"""The node's bench for tests: the CPython end of hil/simhw's sync contract, and helpers to read what
the node sent. Shared by the test_node*.py modules (test modules do not import each other).

NodeBench gives constant or scripted truth, faults and command bytes at chosen times; everything the
node wrote is decoded with the protocol's own decoder (wire integers), never with the node's code.
"""
import json
from pathlib import Path

from safehaven.protocol import messages as M
from safehaven.protocol.codec import Decoder, Encoder

REPO = Path(__file__).resolve().parents[1]
BOARD = json.loads((REPO / "boards" / "sim.json").read_text())
KEY = bytes(range(1, 33))
TRUTH = {"pressure_pa": 101325.0, "temperature_c": 22.0, "co2_ppm": 800.0, "rh_pct": 40.0}


class NodeBench:
    """CPython end of hil/simhw's sync: {"t_ms","tx"} in, {"until_ms","rx","truth","faults","stop"} out."""

    def __init__(self, stop_ms, step_ms=1000, truth=None, key=None, node_id=3):
        self.stop_ms = stop_ms
        self.step_ms = step_ms
        self.truth = truth or (lambda t_ms: TRUTH)
        self.tx = bytearray()
        self.at = []                 # (t_ms, kind, payload): "faults" dict or "rx" bytes
        self.syncs = []
        self.key = key
        self.ground = Encoder(node_id, key=key, epoch=7)
        self.node_id = node_id
        self.request = 0
        self.arrivals = []           # (t_ms, byte offset in tx) to time frames

    def command(self, t_ms, command, param=0, value=0, signed=None):
        """Queue a command from the ground at virtual time t_ms; returns its request id."""
        self.request += 1
        enc = self.ground if signed is None or signed == (self.key is not None) else Encoder(self.node_id)
        self.at.append((t_ms, "rx", bytes(enc.command(0, self.request, command, param, value))))
        return self.request

    def fault(self, t_ms, device, **kw):
        self.at.append((t_ms, "faults", {device: kw}))

    def handler(self, req: bytes) -> bytes:
        m = json.loads(req)
        t = m["t_ms"]
        self.syncs.append(t)
        self.tx += bytes.fromhex(m["tx"])
        self.arrivals.append((t, len(self.tx)))
        until = t + self.step_ms
        rx = b""
        faults: dict = {}
        for item in [a for a in self.at if a[0] <= t]:
            self.at.remove(item)
            if item[1] == "rx":
                rx += item[2]
            else:
                for dev, kw in item[2].items():
                    faults.setdefault(dev, {}).update(kw)
        return json.dumps({"until_ms": until, "rx": rx.hex(), "truth": self.truth(until), "faults": faults,
                           "stop": t >= self.stop_ms}).encode()

    def frames(self):
        """[(t_ms when the bench got it, msg_type, values tuple, authenticated)] from everything sent."""
        dec = Decoder(keys={self.node_id: self.key} if self.key else None, queue=100000)
        out = []
        start = 0
        for t, end in self.arrivals:
            dec.feed(bytes(self.tx[start:end]))
            start = end
            while True:
                f = dec.pop()
                if f is None:
                    break
                out.append((t, f[1], f[6], f[5]))
        self.decoder = dec
        return out


def config(**kw):
    cfg = {"node_id": 3, "zone": "B", "sample_period_ms": 200, "telemetry_period_ms": 1000,
           "heartbeat_period_ms": 10000}
    cfg.update(kw)
    return cfg


def run_node(vm, cfg, bench):
    code = "from hil import simhw\nresult = simhw.run_node(%r, %r)" % (cfg, BOARD)
    return vm.exec(code, handler=bench.handler)


def of_type(frames, msg_type):
    return [f for f in frames if f[1] == msg_type]


def named(values, msg_type):
    return dict(zip([f[0] for f in M.MESSAGES[msg_type][1]], values))


def answer_commands(dec: Decoder, enc: Encoder, write, t_ms: int) -> None:
    """What a node's command handler sends back, for a node played by a test on a live link: an
    unsigned command_ack per command decoded (request_status ok, anything else bad_arg; value 42)."""
    while True:
        f = dec.pop()
        if f is None:
            return
        request_id, command = f[6][0], f[6][1]
        result = M.ACK_OK if command == M.CMD_REQUEST_STATUS else M.ACK_BAD_ARG
        write(bytes(enc.command_ack(t_ms, request_id, command, result, 42)))
