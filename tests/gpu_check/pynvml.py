"""A stand-in for the pynvml module (nvidia-ml-py), for tests of scripts/gpu-check only: the few
calls that script makes, bound with ctypes to the library $PMCMODEL_NVML_LIBRARY names (in the
tests, tests/engine/fake_nvml.c replaying the H200 trace), as pynvml binds libnvidia-ml.so.1.
Names, arguments and return values follow pynvml's."""
import ctypes
import os

_lib = None


class NVMLError(Exception):
    def __init__(self, value):
        super().__init__("NVML error %d" % value)
        self.value = value


def _check(ret):
    if ret != 0:
        raise NVMLError(ret)


def nvmlInit():
    global _lib
    _lib = ctypes.CDLL(os.environ["PMCMODEL_NVML_LIBRARY"])
    _check(_lib.nvmlInit_v2())


def nvmlShutdown():
    _check(_lib.nvmlShutdown())


def nvmlDeviceGetHandleByIndex(index):
    handle = ctypes.c_void_p()
    _check(_lib.nvmlDeviceGetHandleByIndex_v2(ctypes.c_uint(index), ctypes.byref(handle)))
    return handle


def nvmlDeviceGetName(handle):
    buf = ctypes.create_string_buffer(96)
    _check(_lib.nvmlDeviceGetName(handle, buf, ctypes.c_uint(96)))
    return buf.value.decode()


def nvmlSystemGetDriverVersion():
    buf = ctypes.create_string_buffer(80)
    _check(_lib.nvmlSystemGetDriverVersion(buf, ctypes.c_uint(80)))
    return buf.value.decode()


def nvmlDeviceGetTotalEnergyConsumption(handle):
    mj = ctypes.c_ulonglong()
    _check(_lib.nvmlDeviceGetTotalEnergyConsumption(handle, ctypes.byref(mj)))
    return mj.value
