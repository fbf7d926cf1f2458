"""Shared fixtures. `runtime` runs firmware-side code under CPython and under the real MicroPython VM."""
import pytest

from safehaven.hil.vm import CPythonVM, MicroPythonVM

_VMS: dict = {}


def _vm(kind: str):
    vm = _VMS.get(kind)
    if vm is None or vm.proc.poll() is not None:
        vm = MicroPythonVM() if kind == "micropython" else CPythonVM()
        _VMS[kind] = vm
    return vm


@pytest.fixture(params=["cpython", "micropython"])
def runtime(request):
    """A VM of each kind, shared per worker; `runtime.exec(code)` returns the snippet's `result`.

    A snippet that needs the parent passes handler=...; a fresh namespace is used for every exec.
    """
    return _vm(request.param)


@pytest.fixture
def mpy():
    """The MicroPython VM alone, for tests that only make sense there (heap, allocation)."""
    return _vm("micropython")


def pytest_sessionfinish(session, exitstatus):
    for vm in _VMS.values():
        vm.close()
    _VMS.clear()
