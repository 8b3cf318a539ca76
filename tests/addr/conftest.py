import pytest

import kmemlab as km

PROFILES = [("3.15", "x86_64"), ("3.15", "i386"), ("6.1", "x86_64"), ("6.12", "x86_64")]


@pytest.fixture(params=PROFILES, ids=lambda p: f"{p[0]}-{p[1]}")
def kernel(request):
    v, a = request.param
    return km.Kernel(version=v, arch=a, ram="1G", cpus=2)
