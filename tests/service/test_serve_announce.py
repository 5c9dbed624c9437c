"""``openoms serve`` says where it listens, and ``ready`` once it accepts requests."""

from __future__ import annotations

import re

import httpx

from benchmarks._serve import Service
from openoms.server import served_urls


def test_serve_prints_the_urls_it_serves_then_ready(served: tuple[Service, str]) -> None:
    service, _token = served
    lines = service.log.read_text(encoding="utf-8").splitlines()
    assert "ready 就绪" in lines, lines[-20:]
    ready = lines.index("ready 就绪")
    urls = [m.group(0) for line in lines[:ready] for m in re.finditer(r"http://\S+", line)]
    assert len(urls) == 6, lines[:ready]
    base = f"http://127.0.0.1:{service.port}/"
    pages = [url for url in urls if not url.startswith(f"{base}api/v1/")]
    assert pages == [base, f"{base}console"]  # the public page, the operator console
    for url in urls:
        assert httpx.get(url, timeout=10).status_code == 200, url


def test_every_interface_is_shown_as_loopback_and_said() -> None:
    lines = served_urls("0.0.0.0", 8080)
    assert lines[0].endswith("http://127.0.0.1:8080/api/v1/docs")
    assert any("every interface" in line for line in lines)
    assert served_urls("::1", 8080)[0].endswith("http://[::1]:8080/api/v1/docs")
    assert lines[-1] == "ready 就绪"
