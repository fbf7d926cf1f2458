# Loaded into both runtimes by the VM runners: runs one snippet in a fresh namespace and
# returns its `result` variable as JSON (bytes become {"__bytes__": hex}).
import sys
import json
import binascii


def _vm_plain(v):
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"__bytes__": binascii.hexlify(bytes(v)).decode()}
    if isinstance(v, (list, tuple)):
        return [_vm_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _vm_plain(x) for k, x in v.items()}
    return v


def _vm_format_exc(e):
    try:
        import io
        buf = io.StringIO()
        sys.print_exception(e, buf)  # MicroPython
        return buf.getvalue()
    except AttributeError:
        import traceback
        return "".join(traceback.format_exception(e))


def _vm_exec(code):
    ns = {"__name__": "__vm__"}
    try:
        exec(code, ns)
        return json.dumps({"ok": True, "result": _vm_plain(ns.get("result"))})
    except BaseException as e:  # report everything, including SystemExit, to the parent
        return json.dumps({"ok": False, "error": "%s: %s" % (type(e).__name__, e), "traceback": _vm_format_exc(e)})
