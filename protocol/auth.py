# Frame authentication: HMAC-SHA256 (RFC 2104) truncated to TAG_SIZE bytes, built on
# hashlib.sha256 because the boards have no hmac module. Signing allocates the sha256 objects
# and digests; only signed frames pay that (docs/protocol.md, "Authentication").
import hashlib

from .messages import KEY_SIZE, TAG_SIZE

_BLOCK = 64


class Hmac:
    """HMAC-SHA256 with one key; never shows the key (repr is redacted)."""

    def __init__(self, key):
        if len(key) != KEY_SIZE:
            raise ValueError("auth key must be 32 bytes")
        ipad = bytearray(_BLOCK)
        opad = bytearray(_BLOCK)
        for i in range(_BLOCK):
            k = key[i] if i < KEY_SIZE else 0
            ipad[i] = k ^ 0x36
            opad[i] = k ^ 0x5C
        self._ipad = bytes(ipad)
        self._opad = bytes(opad)

    def __repr__(self):
        return "<Hmac key=(redacted)>"

    def digest(self, data):
        """Full 32-byte HMAC-SHA256 of data (any buffer)."""
        inner = hashlib.sha256(self._ipad)
        inner.update(data)
        outer = hashlib.sha256(self._opad)
        outer.update(inner.digest())
        return outer.digest()

    def tag_into(self, buf, n, off):
        """Write the truncated tag of buf[0:n] at buf[off:off+TAG_SIZE]."""
        d = self.digest(memoryview(buf)[:n])
        for i in range(TAG_SIZE):
            buf[off + i] = d[i]

    def verify(self, buf, n, off):
        """True when buf[off:off+TAG_SIZE] is the tag of buf[0:n]; compares in constant time."""
        d = self.digest(memoryview(buf)[:n])
        diff = 0
        for i in range(TAG_SIZE):
            diff |= d[i] ^ buf[off + i]
        return diff == 0


def newer(epoch, counter, last_epoch, last_counter):
    """Is (epoch, counter) strictly after (last_epoch, last_counter)? The pair is one 48-bit count."""
    if epoch != last_epoch:
        return epoch > last_epoch
    return counter > last_counter
