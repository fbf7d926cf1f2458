# Board files (boards/*.json): pins, buses, link, LED, button, watchdog, architecture. Data, validated on
# load with an error naming the file and the field. Portable (board, CPython, flash tool).
from jsonfile import load_object

ARCHS = ("armv6m", "armv7emsp", "xtensawin", "none")
LINKS = ("usb", "uart", "sim")
BOARD_CODES = {"rp2040": 1, "rp2350": 2, "esp32": 3, "esp32s3": 3, "virtual": 4}
_REQUIRED = ("name", "description", "mcu", "arch", "min_micropython", "i2c", "link", "led", "wdt_ms")


class BoardError(ValueError):
    pass


def _int(src, where, v, lo, hi):
    if not isinstance(v, int) or isinstance(v, bool) or v < lo or v > hi:
        raise BoardError("%s: field %r must be an integer %d..%d, got %r" % (src, where, lo, hi, v))


def _version(src, v):
    parts = v.split(".") if isinstance(v, str) else []
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        raise BoardError("%s: field 'min_micropython' must look like 1.22, got %r" % (src, v))
    return tuple(int(p) for p in parts)


def validate(b, src="board"):
    if not isinstance(b, dict):
        raise BoardError("%s: must hold a JSON object" % src)
    for k in _REQUIRED:
        if k not in b:
            raise BoardError("%s: missing field %r" % (src, k))
    if b["mcu"] not in BOARD_CODES:
        raise BoardError("%s: field 'mcu' must be one of %s" % (src, ", ".join(BOARD_CODES)))
    if b["arch"] not in ARCHS:
        raise BoardError("%s: field 'arch' must be one of %s" % (src, ", ".join(ARCHS)))
    _version(src, b["min_micropython"])
    i2c = b["i2c"]
    if not isinstance(i2c, dict):
        raise BoardError("%s: field 'i2c' must be an object" % src)
    for k in ("id", "sda", "scl", "freq"):
        if k not in i2c:
            raise BoardError("%s: missing field 'i2c.%s'" % (src, k))
    _int(src, "i2c.id", i2c["id"], 0, 3)
    _int(src, "i2c.sda", i2c["sda"], 0, 48)
    _int(src, "i2c.scl", i2c["scl"], 0, 48)
    _int(src, "i2c.freq", i2c["freq"], 10000, 1000000)
    link = b["link"]
    if not isinstance(link, dict) or link.get("kind") not in LINKS:
        raise BoardError("%s: field 'link.kind' must be one of %s" % (src, ", ".join(LINKS)))
    if link["kind"] == "uart":
        for k in ("id", "tx", "rx", "baud"):
            if k not in link:
                raise BoardError("%s: missing field 'link.%s'" % (src, k))
        _int(src, "link.id", link["id"], 0, 3)
        _int(src, "link.tx", link["tx"], 0, 48)
        _int(src, "link.rx", link["rx"], 0, 48)
        _int(src, "link.baud", link["baud"], 1200, 3000000)
    led = b["led"]
    if led is not None and not isinstance(led, (int, str)):
        raise BoardError("%s: field 'led' must be a pin number, a pin name or null" % src)
    button = b.get("button")      # held at power-up: maintenance mode (firmware/maintenance.py)
    if button is not None and button != "bootsel" and not isinstance(button, int):
        raise BoardError("%s: field 'button' must be \"bootsel\", a pin number or null" % src)
    _int(src, "wdt_ms", b["wdt_ms"], 0, 16777)
    if b["mcu"] == "rp2040" and b["wdt_ms"] > 8388:
        raise BoardError("%s: field 'wdt_ms' exceeds the RP2040 maximum of 8388" % src)
    b["board_code"] = BOARD_CODES[b["mcu"]]
    return b


def load(path):
    return validate(load_object(path, BoardError), path)
