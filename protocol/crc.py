# CRC-32 (IEEE 802.3, reflected 0xEDB88320; identical to binascii.crc32) without heap allocation.
# binascii.crc32 returns a 32-bit int, which is a heap object on a 32-bit MicroPython port, so the
# hot path keeps the register as two 16-bit halves (small ints) and a split lookup table.
import array

_POLY_HI = 0xEDB8
_POLY_LO = 0x8320


def _table():
    hi = array.array("H", bytes(512))
    lo = array.array("H", bytes(512))
    for i in range(256):
        h = 0
        l = i
        for _ in range(8):
            if l & 1:
                l = ((l >> 1) | ((h & 1) << 15)) ^ _POLY_LO
                h = (h >> 1) ^ _POLY_HI
            else:
                l = (l >> 1) | ((h & 1) << 15)
                h = h >> 1
        hi[i] = h
        lo[i] = l
    return hi, lo


_T_HI, _T_LO = _table()


def crc32_into(buf, n):
    """CRC-32 of buf[0:n], written little-endian at buf[n:n+4]; allocates nothing."""
    t_hi = _T_HI
    t_lo = _T_LO
    hi = 0xFFFF
    lo = 0xFFFF
    for i in range(n):
        idx = (lo ^ buf[i]) & 0xFF
        lo = ((lo >> 8) | ((hi & 0xFF) << 8)) ^ t_lo[idx]
        hi = (hi >> 8) ^ t_hi[idx]
    lo ^= 0xFFFF
    hi ^= 0xFFFF
    buf[n] = lo & 0xFF
    buf[n + 1] = lo >> 8
    buf[n + 2] = hi & 0xFF
    buf[n + 3] = hi >> 8


def crc32_check(buf, n):
    """True when buf[0:n] ends with the little-endian CRC-32 of what precedes it."""
    if n < 4:
        return False
    t_hi = _T_HI
    t_lo = _T_LO
    hi = 0xFFFF
    lo = 0xFFFF
    for i in range(n - 4):
        idx = (lo ^ buf[i]) & 0xFF
        lo = ((lo >> 8) | ((hi & 0xFF) << 8)) ^ t_lo[idx]
        hi = (hi >> 8) ^ t_hi[idx]
    lo ^= 0xFFFF
    hi ^= 0xFFFF
    return (buf[n - 4] == (lo & 0xFF) and buf[n - 3] == (lo >> 8)
            and buf[n - 2] == (hi & 0xFF) and buf[n - 1] == (hi >> 8))
