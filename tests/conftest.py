"""Shared fixtures. `runtime` runs firmware-side code under CPython and under the real MicroPython VM."""
import pytest

from safehaven.hil.vm import CPythonVM, MicroPythonVM

_VMS: dict = {}


def _vm(kind: str):
    vm = _VMS.get(kind)
    if vm is None or vm.proc.poll() is not None:
        vm = MicroPythonVM() if kind == "micropython" else CPythonVM()
        _VMS[kind] = vm
    return vm


@pytest.fixture(params=["cpython", "micropython"])
def runtime(request):
    """A VM of each kind, shared per worker; `runtime.exec(code)` returns the snippet's `result`.

    A snippet that needs the parent passes handler=...; a fresh namespace is used for every exec.
    """
    return _vm(request.param)


@pytest.fixture
def mpy():
    """The MicroPython VM alone, for tests that only make sense there (heap, allocation)."""
    return _vm("micropython")


def pytest_sessionfinish(session, exitstatus):
    for vm in _VMS.values():
        vm.close()
    _VMS.clear()


# One allocation probe for every "allocates nothing" test: warm up, then count the bytes a number of
# steps allocates (gc.mem_alloc, inside a function so no new globals count), then run steps under
# micropython.heap_lock(), where any allocation raises MemoryError (names are bound before the lock, so
# raising it uses MicroPython's emergency buffer).
_ALLOC_PROBE = """
import gc, micropython
def _probe_steps(_n):
    for _i in range(_n):
%(step)s
def _probe_alloc(_n, _warm):
    _probe_steps(_warm)
    gc.collect()
    _m0 = gc.mem_alloc()
    _probe_steps(_n)
    return gc.mem_alloc() - _m0
def _probe_locked(_n):
    _ok = False
    micropython.heap_lock()
    try:
        _probe_steps(_n)
        _ok = True
    except MemoryError:
        pass
    micropython.heap_unlock()
    return _ok
_probe = _probe_alloc(%(n)d, %(warm)d)
_after = %(after)s
result = [_probe, _after, _probe_locked(%(locked)d) if %(locked)d else None]
"""


@pytest.fixture
def alloc_probe(mpy):
    """probe(setup, step, n=100, warm=20, locked=20, after="None") -> [bytes the n measured steps allocated,
    eval(after) right after them, whether `locked` more steps ran under heap_lock (None for locked=0)].

    In the MicroPython VM: `setup` runs first (the objects the step uses); `step` is one iteration's
    statements. A test that the probe can fail runs it on code that allocates.
    """
    def probe(setup: str, step: str, n: int = 100, warm: int = 20, locked: int = 20, after: str = "None"):
        body = "\n".join("        " + line for line in step.strip("\n").splitlines())
        return mpy.exec(setup + _ALLOC_PROBE % {"step": body, "n": n, "warm": warm, "after": after,
                                                "locked": locked})
    return probe


class Ran:
    """What an in-process CLI run gave: exit code and captured output."""
    def __init__(self, rc, out, err):
        self.returncode, self.stdout, self.stderr = rc, out, err


@pytest.fixture
def sh(capsys):
    """Run a CLI command in this process (stdout is not a terminal here, as in a pipe)."""
    from safehaven.ground.cli import main

    def run(*args):
        capsys.readouterr()
        rc = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return Ran(rc, out, err)
    return run


@pytest.fixture
def pty_node():
    """node_id -> the path of a pty behind which that node answers commands (nodebench.answer_commands),
    as `send --port` meets a node; the nodes stop after the test."""
    import os
    import threading
    import time

    from nodebench import answer_commands
    from safehaven.ground.ptys import pty_pair
    from safehaven.protocol.codec import Decoder, Encoder
    running = []

    def start(node_id: int) -> str:
        master, path = pty_pair()
        stop = threading.Event()

        def node():
            enc, dec = Encoder(node_id), Decoder(node_id=node_id)
            os.set_blocking(master, False)
            while not stop.is_set():
                try:
                    dec.feed(os.read(master, 256))
                except OSError:  # EAGAIN: nothing yet; EIO: nobody has the port open yet
                    time.sleep(0.01)
                    continue
                answer_commands(dec, enc, lambda b: os.write(master, b), 5)

        th = threading.Thread(target=node, daemon=True)
        th.start()
        running.append((stop, th, master))
        return path
    yield start
    for stop, th, master in running:
        stop.set()
        th.join(2)
        os.close(master)


@pytest.fixture
def short_scenario():
    """short_scenario(duration_s, nodes, expect, onset_s=10) -> the TOML of the short scenario both benches'
    command tests run (test_sim, test_wheel): a 30 m3 lab, a 25 mm hole at onset_s, the nodes in the lab."""
    import json

    def make(duration_s: int, nodes, expect, onset_s: int = 10) -> str:
        text = (f'[scenario]\nname = "short"\nduration_s = {duration_s}\nstep_ms = 200\n'
                f'expect = {json.dumps(list(expect))}\n\n'
                f'[[zone]]\nname = "lab"\nvolume_m3 = 30\n\n'
                f'[[leak]]\nzone = "lab"\nonset_s = {onset_s}\ndiameter_mm = 25\n')
        return text + "".join(f'\n[[node]]\nid = {n}\nzone = "lab"\n' for n in nodes)
    return make


@pytest.fixture
def high_fds():
    """Descriptor numbers pushed above FD_SETSIZE (1024), as a big station or the bench has them: what
    is opened during the test gets a number select() cannot wait on."""
    import gc
    import os
    # files an earlier test dropped are closed when the collector runs: collect now, so that their
    # descriptors are free before the holes are filled, not freed mid-test below 1024
    gc.collect()
    hold = []
    while not hold or hold[-1] <= 1100:
        hold.append(os.open(os.devnull, os.O_RDONLY))
    yield
    for fd in hold:
        os.close(fd)
