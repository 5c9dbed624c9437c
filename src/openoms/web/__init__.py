"""The web pages: server-rendered HTML with a little JavaScript.

The public pages (no login): ``/`` lists the current outages and the planned outages to come
by area with a map, ``/outages/{id}`` (the link at the end of every crew SMS) shows one
outage, ``/planned/{id}`` one planned outage as booked, and ``/public/outages.geojson`` is the
same data as a GeoJSON feed for media and other apps. Every public page is built from the same
allow-list as the public JSON API (:func:`openoms.api.routes.public.public_outage`): places,
counts, times and status, never a customer's name, phone number, account or address.

The operator console (:mod:`openoms.web.console`, ``/console``): the network map with its
live state, the outages and their actions, a feeder's single-line diagram; its data need an
API token.

The composition root installs both on the API's app (:func:`install_public_pages`); the
map library (Leaflet) is served from the API's vendored static files.
"""

from fastapi import FastAPI

from openoms.web import console, forms, pages, reliability

__all__ = ["install_public_pages"]


def install_public_pages(app: FastAPI) -> None:
    """Add the public pages, their feed and the operator console's pages to ``app`` (an app
    of :func:`openoms.api.create_app`)."""
    pages.install_public_pages(app)
    app.include_router(forms.router)
    app.include_router(console.router)
    app.include_router(reliability.router)
