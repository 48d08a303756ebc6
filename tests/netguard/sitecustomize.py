"""Loaded by every Python process the tests start (tests/conftest.py puts this folder on
PYTHONPATH): no test may reach beyond the loopback interface. A connection or name lookup for
any other host fails at once with an OSError that says so, so a test that would touch fda.gov
(or anything else on the internet) fails loudly instead of depending on the network.

Each refusal is also a line of NETGUARD_LOG (host, PYTEST_CURRENT_TEST, command line, pid; tests/conftest.py
names a file for every session), and tests/conftest.py fails the test it belongs to, so that code which
takes the refusal in its stride (a crawl that reports "cannot reach" and exits 7) cannot hide it."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo
_real_gethostbyname = socket.gethostbyname
_real_gethostbyname_ex = socket.gethostbyname_ex


def _is_loopback(host) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").lower()
    if host in _LOOPBACK_NAMES or host == "":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(host, error=OSError):
    """Say which process tried to leave the machine (NETGUARD_LOG names a file), then refuse."""
    log = os.environ.get("NETGUARD_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{host}\t{os.environ.get('PYTEST_CURRENT_TEST', '')}\t{' '.join(sys.argv)[:300]}\t{os.getpid()}\n")
    if error is socket.gaierror:
        raise socket.gaierror(socket.EAI_NONAME, f"test network guard: {host} is not loopback")
    raise OSError(f"test network guard: {host} is not loopback; tests use the local mirror only")


def _check(address) -> None:
    if isinstance(address, tuple) and address and not _is_loopback(address[0]):
        _refuse(address[0])


def _connect(self, address):
    _check(address)
    return _real_connect(self, address)


def _connect_ex(self, address):
    _check(address)
    return _real_connect_ex(self, address)


def _getaddrinfo(host, *args, **kwargs):
    if not _is_loopback(host):
        _refuse(host, socket.gaierror)
    return _real_getaddrinfo(host, *args, **kwargs)


def _gethostbyname(host):
    # Twisted's resolver (and so Scrapy's) looks names up with gethostbyname, not getaddrinfo.
    if not _is_loopback(host):
        _refuse(host, socket.gaierror)
    return _real_gethostbyname(host)


def _gethostbyname_ex(host):
    if not _is_loopback(host):
        _refuse(host, socket.gaierror)
    return _real_gethostbyname_ex(host)


def install() -> None:
    socket.socket.connect = _connect
    socket.socket.connect_ex = _connect_ex
    socket.getaddrinfo = _getaddrinfo
    socket.gethostbyname = _gethostbyname
    socket.gethostbyname_ex = _gethostbyname_ex


install()
