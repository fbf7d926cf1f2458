# Node configuration: defaults, loading config.json from the board's flash, validation.
# `safehaven flash` writes config.json; the virtual bench passes the same keys as a dict.
# Off the hot path: plain dicts and floats are fine here.
from jsonfile import load_object

DEFAULTS = {
    "node_id": 1,
    "zone": "A",
    "key": None,                  # 64 hex chars: frames signed, unsigned commands refused
    "mode": "habitat",            # or "chamber" (rate-of-rise)
    "volume_l": 916000.0,         # enclosed volume, for kg/day and hole size
    "sample_period_ms": 44,       # BMP280 x16/x2 normal mode: 43.2 ms max conversion
    "telemetry_period_ms": 1000,
    "heartbeat_period_ms": 30000,
    "ambient_period_ms": 60000,   # BMP280 pressure into the SCD4x at most this often
    "ambient_source": 0,          # AMBIENT_BMP / AMBIENT_FIXED / AMBIENT_NONE
    "ambient_fixed_pa": 101325,
    "scd_poll_ms": 1000,          # SCD4x data arrives every 5 s; poll for it this often
    "bmp280": {"address": 0x76, "osrs_p": 16, "osrs_t": 2, "iir": 0},
    "scd4x": {"address": 0x62, "enabled": True, "asc": False},
    "detector": {},               # keys of detector.DEFAULTS (noise_pa, drift_pa_s, ...)
    "epoch_file": "epoch",        # boot epoch for signed frames, bumped at each boot
    "sim": {},                    # virtual bench only (hil/simhw.py): seed, start_ticks_ms
}

_INTS = ("node_id", "sample_period_ms", "telemetry_period_ms", "heartbeat_period_ms",
         "ambient_period_ms", "ambient_source", "scd_poll_ms")
_LIMITS = {"node_id": (1, 254), "sample_period_ms": (5, 60000), "telemetry_period_ms": (20, 3600000),
           "heartbeat_period_ms": (1000, 3600000), "ambient_period_ms": (1000, 3600000),
           "ambient_source": (0, 2), "scd_poll_ms": (100, 60000)}
MODES = ("habitat", "chamber")


class ConfigError(ValueError):
    pass


def _merge(base, over):
    out = {}
    for k in base:
        out[k] = base[k]
    for k in over:
        if isinstance(out.get(k), dict) and isinstance(over[k], dict):
            out[k] = _merge(out[k], over[k])
        else:
            out[k] = over[k]
    return out


def _finite(v):
    # NaN differs from itself; inf - inf is NaN (math.isfinite is optional in MicroPython builds)
    return v == v and v - v == 0


def validate(cfg, source="config"):
    """Full config (defaults merged in) or ConfigError naming the source and the field."""
    for k in cfg:
        if k not in DEFAULTS:
            raise ConfigError("%s: unknown field %r" % (source, k))
    cfg = _merge(DEFAULTS, cfg)
    for k in _INTS:
        v = cfg[k]
        if not isinstance(v, int) or isinstance(v, bool):
            raise ConfigError("%s: field %r must be an integer, got %r" % (source, k, v))
        lo, hi = _LIMITS[k]
        if v < lo or v > hi:
            raise ConfigError("%s: field %r = %d outside %d..%d" % (source, k, v, lo, hi))
    amb = cfg["ambient_fixed_pa"]
    if not isinstance(amb, (int, float)) or isinstance(amb, bool) or not _finite(amb) or not 70000 <= amb <= 120000:
        # the range of protocol.messages AMBIENT_FIXED_PA (what set_ambient_source accepts)
        raise ConfigError("%s: field 'ambient_fixed_pa' must be a pressure in 70000..120000 Pa" % source)
    zone = cfg["zone"]
    if not isinstance(zone, str) or not 0 < len(zone) <= 8 or zone != zone.strip() \
            or not all(32 <= ord(c) < 127 for c in zone):
        raise ConfigError("%s: field 'zone' must be 1..8 ASCII characters" % source)
    if cfg["mode"] not in MODES:
        raise ConfigError("%s: field 'mode' must be one of %s" % (source, ", ".join(MODES)))
    key = cfg["key"]
    if key is not None:
        if not isinstance(key, str) or len(key) != 64:
            raise ConfigError("%s: field 'key' must be 64 hex characters" % source)
        try:
            int(key, 16)
        except ValueError:
            raise ConfigError("%s: field 'key' must be 64 hex characters" % source)
    _check_scd4x(cfg["scd4x"], source)
    v = cfg["volume_l"]
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not _finite(v) or not 0.001 <= v <= 1e10:
        raise ConfigError("%s: field 'volume_l' must be a number of litres in 0.001..1e10" % source)
    if not isinstance(cfg["detector"], dict):
        raise ConfigError("%s: field 'detector' must be an object" % source)
    from detector import DEFAULTS as DET
    for k in cfg["detector"]:
        v = cfg["detector"][k]
        if k not in DET or k == "mode":
            raise ConfigError("%s: unknown field 'detector.%s'" % (source, k))
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not _finite(v) or v < 0 or v > 1e9:
            raise ConfigError("%s: field 'detector.%s' must be a finite number in 0..1e9" % (source, k))
    return cfg


def _check_scd4x(scd, source):
    # a wrong type is an error here, not a surprise on the board ("asc": "false" is a true string: the
    # self-calibration on, the safe haven's CO2 read ~400 ppm low within a week)
    if not isinstance(scd, dict):
        raise ConfigError("%s: field 'scd4x' must be an object" % source)
    for k in scd:
        if k not in DEFAULTS["scd4x"]:
            raise ConfigError("%s: unknown field 'scd4x.%s'" % (source, k))
    for k in ("enabled", "asc"):
        if not isinstance(scd[k], bool):
            raise ConfigError("%s: field 'scd4x.%s' must be true or false, got %r" % (source, k, scd[k]))
    a = scd["address"]
    if not isinstance(a, int) or isinstance(a, bool) or not 0x08 <= a <= 0x77:
        raise ConfigError("%s: field 'scd4x.address' must be an I2C address in 0x08..0x77, got %r" % (source, a))


def load(path="config.json"):
    return validate(load_object(path, ConfigError, "not found (flash the node with `safehaven flash`)"), path)


def key_bytes(cfg):
    key = cfg.get("key")
    if not key:
        return None
    b = bytearray(32)
    for i in range(32):
        b[i] = int(key[2 * i:2 * i + 2], 16)
    return bytes(b)
