"""The VM runner itself: both runtimes, both directions of the pipe, errors surfaced."""
import pytest

from safehaven.hil.vm import VMError


def test_runtime_identifies_itself(runtime):
    assert runtime.exec("import sys; result = sys.implementation.name") == runtime.runtime


def test_bytes_round_trip_both_ways(runtime):
    seen = []

    def handler(data: bytes) -> bytes:
        seen.append(data)
        return bytes(reversed(data)) + b"\x00\xff"

    got = runtime.exec("from hil import vmlink\nresult = vmlink.call(b'\\x00\\x01abc')", handler=handler)
    assert seen == [b"\x00\x01abc"]
    assert got == b"cba\x01\x00\x00\xff"


def test_exception_in_vm_is_reported(runtime):
    with pytest.raises(VMError) as err:
        runtime.exec("raise ValueError('bad frame')")
    assert "ValueError" in str(err.value) and "bad frame" in str(err.value)
    # the VM survives and runs the next snippet
    assert runtime.exec("result = 2 + 2") == 4


def test_namespaces_are_fresh(runtime):
    runtime.exec("leak = 1\nresult = None")
    with pytest.raises(VMError):
        runtime.exec("result = leak")


def test_micropython_has_what_the_firmware_needs(mpy):
    got = mpy.exec(
        "import struct, binascii, hashlib, time, gc, micropython\n"
        "result = [binascii.crc32(b'123456789'), len(hashlib.sha256(b'').digest()),"
        " time.ticks_diff(time.ticks_add(0, 5), 0), callable(micropython.heap_lock)]"
    )
    assert got == [0xCBF43926, 32, 5, True]


def test_the_allocation_probe_sees_allocation(alloc_probe):
    """The shared probe (tests/conftest.py) on a step that builds a list: bytes counted, the lock trips."""
    grown, after, locked = alloc_probe("x = []\n", "x.append([1, 2])", n=10, locked=5, after="len(x)")
    assert grown > 0 and after == 30 and locked is False
    grown, after, locked = alloc_probe("x = bytearray(4)\n", "x[0] = 1", n=10, locked=5)
    assert grown == 0 and after is None and locked is True
