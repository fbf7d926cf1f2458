"""Ingest on real pyserial ports: loop://, socket:// against a local server thread, pty pairs, and links
that vanish and come back without disturbing the others."""
import os
import socket
import threading
import time

import pytest

from safehaven.ground.ingest import Ingest, LinkError, LinkReader, classify
from safehaven.ground.ptys import pty_pair


def drain(ingest, want: dict[str, int], timeout_s=3.0) -> dict[str, bytes]:
    got = {k: b"" for k in want}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(len(got[k]) < n for k, n in want.items()):
        for link, data in ingest.poll(0.05):
            got[link] = got.get(link, b"") + data
    return got


class Server:
    """A TCP server that sends what it is told to its current client; can drop and re-accept."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.client = None
        self.ready = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        try:
            self.client, _ = self.sock.accept()
            self.ready.set()
        except OSError:
            pass

    def send(self, data):
        assert self.ready.wait(3)
        self.client.sendall(data)

    def drop_and_relisten(self):
        self.ready.clear()
        self.client.close()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        if self.client:
            self.client.close()
        self.sock.close()


def test_loop_url_echoes_what_is_written():
    ing = Ingest({"a": "loop://"})
    assert ing.open_all() == []
    ing.readers["a"].write(b"\x01\x02\x00")
    assert drain(ing, {"a": 3})["a"] == b"\x01\x02\x00"
    ing.close()


def test_socket_and_pty_links_side_by_side():
    srv = Server()
    master, path = pty_pair()
    ing = Ingest({"tcp": f"socket://127.0.0.1:{srv.port}", "pty": path})
    assert ing.open_all() == []
    payload = bytes(range(256)) * 20
    srv.send(payload)
    os.write(master, payload[::-1])
    got = drain(ing, {"tcp": len(payload), "pty": len(payload)})
    assert got["tcp"] == payload and got["pty"] == payload[::-1]
    # and the other way: commands written by the ground reach the node end
    ing.readers["pty"].write(b"cmd\x00")
    assert os.read(master, 16) == b"cmd\x00"
    ing.close()
    os.close(master)
    srv.close()


def test_socket_link_vanishes_and_comes_back_without_disturbing_others():
    srv = Server()
    master, path = pty_pair()
    events = []
    ing = Ingest({"tcp": f"socket://127.0.0.1:{srv.port}", "pty": path}, reopen_s=0.1,
                 on_event=lambda link, ev, detail: events.append((link, ev)))
    ing.open_all()
    srv.send(b"one")
    assert drain(ing, {"tcp": 3})["tcp"] == b"one"
    srv.drop_and_relisten()
    os.write(master, b"still here")
    got = drain(ing, {"pty": 10})
    assert got["pty"] == b"still here"
    deadline = time.monotonic() + 3
    while ("tcp", "reopened") not in events and time.monotonic() < deadline:
        ing.poll(0.05)
    assert ("tcp", "lost") in events and ("tcp", "reopened") in events
    srv.send(b"two")
    assert drain(ing, {"tcp": 3})["tcp"] == b"two"
    assert not any(link == "pty" and ev != "opened" for link, ev in events)
    ing.close()
    os.close(master)
    srv.close()


def test_usb_unplug_replug_on_a_stable_path(tmp_path):
    """A device path (like /dev/serial/by-id/...) that disappears and reappears on a new pty."""
    link = tmp_path / "ttyNODE"
    master, path = pty_pair()
    os.symlink(path, link)
    events = []
    r = LinkReader("n1", str(link), reopen_s=0.05, on_event=lambda *e: events.append(e[1]))
    r.open()
    os.write(master, b"abc")
    time.sleep(0.05)
    assert r.read() == b"abc"
    os.close(master)          # unplugged: the node end is gone
    link.unlink()
    deadline = time.monotonic() + 2
    while "lost" not in events and time.monotonic() < deadline:
        r.read()
        time.sleep(0.01)
    assert "lost" in events and not r.is_open
    assert r.read() == b""    # the device is not there: retried quietly
    master2, path2 = pty_pair()  # plugged back in
    os.symlink(path2, link)
    deadline = time.monotonic() + 2
    while not r.is_open and time.monotonic() < deadline:
        r.read()
        time.sleep(0.02)
    assert events.count("reopened") == 1
    os.write(master2, b"xyz")
    time.sleep(0.05)
    assert r.read() == b"xyz"
    r.close()
    os.close(master2)


def test_clear_open_errors(tmp_path):
    with pytest.raises(LinkError, match="no such device"):
        LinkReader("x", str(tmp_path / "nope")).open()
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    free = port.getsockname()[1]
    port.close()
    with pytest.raises(LinkError, match="refused"):
        LinkReader("x", f"socket://127.0.0.1:{free}").open()
    assert "no permission" in classify("/dev/ttyACM0", PermissionError(13, "Permission denied"))
    assert "busy" in classify("/dev/ttyACM0", OSError(16, "Device or resource busy"))


def test_second_open_of_a_device_is_refused_as_busy():
    master, path = pty_pair()
    first = LinkReader("a", path)
    first.open()
    with pytest.raises(LinkError, match="busy"):
        LinkReader("b", path).open()
    first.close()
    os.close(master)


def test_spy_url_wraps_a_port(tmp_path):
    log = tmp_path / "spy.txt"
    master, path = pty_pair()
    r = LinkReader("s", f"spy://{path}?file={log}")
    r.open()
    os.write(master, b"\x00\x05\x00")
    time.sleep(0.05)
    assert r.read() == b"\x00\x05\x00"
    r.close()
    os.close(master)
    assert "00 05 00" in log.read_text()  # the hexdump pyserial's spy:// writes
