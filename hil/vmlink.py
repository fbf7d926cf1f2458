# Bytes to and from the parent process (hil/vm) from inside either runtime.
# Only the virtual bench uses this; a board never imports it.
import binascii
import vmhost


def call(data):
    return binascii.unhexlify(vmhost.call(binascii.hexlify(data).decode()))
