"""TPG 36x protocol: client against the emulator over real pyserial ports (pty pair and socket://)."""
import pytest
import serial

from safehaven.hil.gauge import (ACK, ENQ, NAK, GaugeError, PtyDevice, TcpDevice, TPG36x, TPG36xEmulator,
                       format_reading, parse_reading)


def emulator(pa=101325.0, status=0):
    return TPG36xEmulator(lambda gauge: (status, pa))


@pytest.fixture(params=["pty", "socket"])
def link(request):
    def open_(emu):
        dev = PtyDevice(emu.feed) if request.param == "pty" else TcpDevice(emu.feed)
        port = serial.serial_for_url(dev.port, baudrate=9600, timeout=1)
        opened.append((dev, port))
        return port
    opened = []
    yield open_
    for dev, port in opened:
        port.close()
        dev.close()


def test_reading_format_is_status_comma_mantissa_exponent():
    assert format_reading(0, 1013.26) == b"0,+1.0133E+03"
    assert format_reading(1, 0.0) == b"1,+0.0000E+00"
    assert parse_reading(b"0,+1.0133E+03\r\n") == (0, 1013.3)
    with pytest.raises(GaugeError):
        parse_reading(b"garbage")


def test_raw_exchange_ack_then_enq():
    emu = emulator(pa=250.0)
    assert emu.feed(b"PR1\r\n") == ACK + b"\r\n"
    assert emu.feed(ENQ) == b"0,+2.5000E+00\r\n"  # mbar by default
    assert emu.feed(b"XYZ\r") == NAK + b"\r\n"
    assert emu.feed(ENQ) == b""


def test_pressure_in_pascal_in_every_unit(link):
    emu = emulator(pa=12345.0)
    gauge = TPG36x(link(emu))
    for unit in (0, 1, 2):
        gauge.set_unit(unit)
        status, pa = gauge.pressure_pa(1)
        assert status == 0
        assert pa == pytest.approx(12345.0, rel=1e-4)  # 5 significant digits on the wire


def test_status_and_missing_sensor(link):
    gauge = TPG36x(link(emulator(pa=1e-3, status=1)))
    assert gauge.pressure(1)[0] == 1
    assert gauge.pressure(2)[0] == 5  # second channel has noSen
    assert gauge.ids() == ["PBR", "noSen"]


def test_nak_raises_clear_error(link):
    gauge = TPG36x(link(emulator()))
    with pytest.raises(GaugeError, match="NAK"):
        gauge.query("PR9")
    with pytest.raises(GaugeError, match="NAK"):
        gauge.query("UNI,9")


def test_silent_port_times_out_with_clear_error():
    port = serial.serial_for_url("loop://", timeout=0.1)
    port.write = lambda data: len(data)  # a cable to nowhere: nothing comes back
    with pytest.raises(GaugeError, match="did not answer"):
        TPG36x(port, retries=0).pressure(1)


def test_the_pty_device_serves_a_descriptor_select_cannot_wait_on(high_fds):
    """The emulated gauge's pty thread waited with select(), which fails above descriptor 1023."""
    import os
    import select
    import time
    dev = PtyDevice(lambda data: data.upper())
    client = os.open(dev.port, os.O_RDWR | os.O_NOCTTY)
    try:
        assert dev.master > 1024
        os.write(client, b"pr1\r")
        got, end, p = b"", time.monotonic() + 5, select.poll()
        p.register(client, select.POLLIN)
        while not got.endswith(b"\r") and time.monotonic() < end:
            if p.poll(100):
                got += os.read(client, 100)
        assert got == b"PR1\r" and dev._thread.is_alive()
    finally:
        os.close(client)
        dev.close()
