/* The public outage pages: the map (Leaflet, drawn from the feed; no tile server unless one
   is configured) and the refresh every minute, without reloading the page. Plain ES5 so that
   old phone browsers run it; the page works without it. */
(function () {
  "use strict";
  var REFRESH_MS = 60000;
  var el = document.getElementById("map");
  var map = null;
  var layer = null;
  var fitted = false;

  function cross(o, a, b) {
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  }

  // Convex hull (monotone chain) of [lat, lon] points: the outline of an area off.
  function hull(points) {
    var p = points.slice().sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    var lower = [], upper = [], i;
    for (i = 0; i < p.length; i++) {
      while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p[i]) <= 0) lower.pop();
      lower.push(p[i]);
    }
    for (i = p.length - 1; i >= 0; i--) {
      while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p[i]) <= 0) upper.pop();
      upper.push(p[i]);
    }
    upper.pop();
    lower.pop();
    return lower.concat(upper);
  }

  function label(text) {
    var span = document.createElement("span");
    span.textContent = text; // never innerHTML: names come from data
    return span;
  }

  function latLng(c) { return [c[1], c[0]]; }

  function parts(geometry, type) {
    var found = [];
    (geometry.geometries || [geometry]).forEach(function (g) {
      if (g.type === type) found = found.concat(g.coordinates);
    });
    return found;
  }

  function draw(feed) {
    var only = el.getAttribute("data-feature"); // one feature's page: only it
    var bounds = [];
    layer.clearLayers();
    feed.features.forEach(function (f) {
      var props = f.properties;
      if ((only && String(f.id) !== only) || !f.geometry) return;
      var colour = props.kind === "planned" ? "#1f5fa8" : "#b3261e";
      var points = parts(f.geometry, "MultiPoint").map(latLng);
      var lines = parts(f.geometry, "MultiLineString").map(function (l) { return l.map(latLng); });
      var name = props.places.join(feed.lang === "zh" ? "、" : ", ") + " · " + props.customers_off;
      var open = function () {
        // A planned outage not begun has its own page; the others are outage records.
        var page = props.upcoming ? "/planned/" : "/outages/";
        window.location.href = page + props.id + (feed.lang === "en" ? "?lang=en" : "");
      };
      if (lines.length) {
        var drawn = L.polyline(lines, { color: colour, weight: 4, opacity: 0.85 });
        drawn.bindTooltip(label(name), { sticky: true });
        if (!only) drawn.on("click", open);
        drawn.addTo(layer);
        lines.forEach(function (l) { bounds = bounds.concat(l); });
      } else if (points.length >= 3) {
        L.polygon(hull(points), { color: colour, weight: 2, fillOpacity: 0.15, interactive: false }).addTo(layer);
      }
      points.forEach(function (p) {
        var marker = L.circleMarker(p, { radius: 6, color: colour, weight: 2, fillColor: "#fff", fillOpacity: 0.9 });
        marker.bindTooltip(label(name));
        if (!only) marker.on("click", open);
        marker.addTo(layer);
        bounds.push(p);
      });
    });
    if (!fitted) {
      if (bounds.length) map.fitBounds(bounds, { padding: [24, 24], maxZoom: 15 });
      else map.setView([Number(el.getAttribute("data-lat")), Number(el.getAttribute("data-lon"))], 11);
      fitted = true;
    }
  }

  function loadFeed() {
    return fetch(el.getAttribute("data-feed"), { headers: { Accept: "application/geo+json" } })
      .then(function (r) { return r.json(); })
      .then(draw);
  }

  if (el && window.L) {
    map = L.map(el, { keyboard: true, attributionControl: false });
    var tiles = el.getAttribute("data-tiles");
    if (tiles) {
      L.control.attribution({ prefix: false }).addTo(map);
      L.tileLayer(tiles, { maxZoom: 19, attribution: el.getAttribute("data-attribution") || "" }).addTo(map);
    }
    layer = L.layerGroup().addTo(map);
    loadFeed().catch(function () { /* the list below still holds everything */ });
  }

  // Refresh: the list, the counts and the time from the same page, then the map.
  function swap(doc, selector) {
    var now = document.querySelector(selector);
    var fresh = doc.querySelector(selector);
    if (now && fresh) now.innerHTML = fresh.innerHTML;
  }

  function refresh() {
    if (document.hidden) return;
    fetch(window.location.href, { headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        swap(doc, "#outages");
        swap(doc, ".summary");
        swap(doc, "#refreshed");
        if (map) return loadFeed();
      })
      .catch(function () { /* try again at the next tick */ });
  }

  if (window.fetch && window.DOMParser) window.setInterval(refresh, REFRESH_MS);
})();
