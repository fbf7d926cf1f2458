# Consistent Overhead Byte Stuffing (Cheshire & Baker) for the node: no zero byte in the output,
# so 0x00 delimits frames and a receiver resynchronises at the next 0x00. MicroPython has no C
# COBS, so this is plain Python working in caller-owned buffers (nothing allocated per call).
# The ground uses the `cobs` package's C extension, which produces the same bytes.


def encode_into(src, n, dst, pos):
    """COBS-encode src[0:n] into dst starting at pos; return the end position (exclusive)."""
    code_pos = pos
    pos += 1
    code = 1
    for i in range(n):
        b = src[i]
        if b == 0:
            dst[code_pos] = code
            code_pos = pos
            pos += 1
            code = 1
        else:
            dst[pos] = b
            pos += 1
            code += 1
            if code == 0xFF:
                dst[code_pos] = code
                if i == n - 1:
                    return pos  # a full block at the very end needs no trailing code byte
                code_pos = pos
                pos += 1
                code = 1
    dst[code_pos] = code
    return pos


def decode_into(src, start, end, dst):
    """Decode src[start:end] (one frame, no delimiter) into dst; return its length, or -1 if invalid."""
    out = 0
    i = start
    limit = len(dst)
    while i < end:
        code = src[i]
        if code == 0:
            return -1
        i += 1
        block_end = i + code - 1
        if block_end > end or out + code > limit:
            return -1
        while i < block_end:
            b = src[i]
            if b == 0:
                return -1
            dst[out] = b
            out += 1
            i += 1
        if code < 0xFF and i < end:
            dst[out] = 0
            out += 1
    return out


def encode(data):
    """Convenience (allocates): COBS bytes of `data`, without delimiter."""
    dst = bytearray(len(data) + len(data) // 254 + 2)
    n = encode_into(data, len(data), dst, 0)
    return bytes(dst[:n])


def decode(data):
    """Convenience (allocates): the bytes COBS-encoded in `data`; ValueError if invalid."""
    dst = bytearray(len(data))
    n = decode_into(data, 0, len(data), dst)
    if n < 0:
        raise ValueError("invalid COBS")
    return bytes(dst[:n])
