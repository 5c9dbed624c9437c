"""The public web pages: server-rendered HTML with a little JavaScript, no login.

``/`` lists the current outages and the planned outages to come by area with a map,
``/outages/{id}`` (the link at the end of every crew SMS) shows one outage, ``/planned/{id}``
one planned outage as booked, and ``/public/outages.geojson`` is the same data as a GeoJSON
feed for media and other apps. Every page is built from the same
allow-list as the public JSON API (:func:`openoms.api.routes.public.public_outage`): places,
counts, times and status, never a customer's name, phone number, account or address.

The composition root installs the pages on the API's app (:func:`install_public_pages`); the
map library (Leaflet) is served from the API's vendored static files.
"""

from openoms.web.pages import install_public_pages

__all__ = ["install_public_pages"]
