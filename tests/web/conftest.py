"""The public pages over the API test fixtures (tests/api/conftest.py): the same app, its
context and clock, with the pages installed as the composition root installs them."""

from __future__ import annotations

import pytest

from openoms.web import install_public_pages
from tests.api.conftest import Api, api, small_network

__all__ = ["api", "small_network", "web"]


@pytest.fixture
def web(api: Api) -> Api:
    install_public_pages(api.app)
    return api
