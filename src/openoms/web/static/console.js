/* The operator console: login with an API token (kept in sessionStorage, sent as Bearer),
   the network on a Leaflet map drawn on one canvas (no tiles unless configured), its live
   state from /api/v1/console/state, reloaded when the server-sent event stream says what
   changed, the outage list and panel (HTML fragments rendered by the server), the actions
   (forms sent to the API's outage routes), a feeder's single-line diagram, and the reliability
   dashboard (a fragment of charts drawn by the server). */
(function () {
  "use strict";
  var body = document.body;
  var API = body.dataset.api;
  var LANG = body.dataset.lang;
  var KEY = "openoms.token";
  var DEAD = "#9e9e9e";
  var q = LANG === "en" ? "?lang=en" : "";
  var state = { network: null, map: null, layers: null, outages: {}, openOutage: body.dataset.outage || "",
                focusNext: null, source: null, search: [] };

  function token() { return sessionStorage.getItem(KEY); }

  function api(path, options) {
    options = options || {};
    var headers = Object.assign({ Authorization: "Bearer " + token() }, options.headers || {});
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(options.json);
    }
    return fetch(path, { method: options.method || "GET", headers: headers, body: options.body })
      .then(function (response) {
        if (response.status === 401) { logout(true); throw new Error("401"); }
        if (!response.ok) {
          return response.json().then(function (p) { throw new Error(p.detail || p.title || response.status); },
                                      function () { throw new Error(String(response.status)); });
        }
        return response;
      });
  }

  function text(el, value) { el.textContent = value; return el; }

  // -- login --------------------------------------------------------------------------------
  var login = document.getElementById("login");
  function logout(failed) {
    sessionStorage.removeItem(KEY);
    if (state.source) { state.source.close(); state.source = null; }
    document.getElementById("console").hidden = true;
    document.getElementById("logout").hidden = true;
    login.hidden = false;
    var error = login.querySelector(".error");
    text(error, failed ? error.dataset.failed : "");
    document.getElementById("token").focus();
  }
  login.addEventListener("submit", function (e) {
    e.preventDefault();
    sessionStorage.setItem(KEY, document.getElementById("token").value.trim());
    start();
  });
  document.getElementById("logout").addEventListener("click", function () { logout(false); });

  function start() {
    api(API + "/console/me").then(function (r) { return r.json(); }).then(function (me) {
      login.hidden = true;
      document.getElementById("console").hidden = false;
      document.getElementById("logout").hidden = false;
      text(document.getElementById("who"), me.name + " · " + me.role);
      body.dataset.role = me.role;
      if (body.dataset.view === "sld") { sld(); }
      else if (body.dataset.view === "reliability") { reliability(); return; }
      else { mapView(); }
      stream();
    }).catch(function () {});
  }

  // -- map ----------------------------------------------------------------------------------
  function ll(node) { var n = state.network.nodes; return [n.lat[node], n.lon[node]]; }

  function edgeLine(e) {
    var E = state.network.edges;
    var a = ll(E.from[e]), b = ll(E.to[e]);
    return a[0] === null || b[0] === null ? null : [a, b];
  }

  function mapView() {
    var el = document.getElementById("map");
    var map = L.map(el, { preferCanvas: true, renderer: L.canvas({ padding: 0.2 }), zoomSnap: 0.25 });
    state.map = map;
    if (body.dataset.tiles) {
      L.tileLayer(body.dataset.tiles, { attribution: body.dataset.attribution, maxZoom: 19 }).addTo(map);
    }
    state.layers = { grid: L.layerGroup().addTo(map), devices: L.layerGroup().addTo(map),
                     faults: L.layerGroup().addTo(map), found: L.layerGroup().addTo(map) };
    api(API + "/console/network").then(function (r) { return r.json(); }).then(function (network) {
      state.network = network;
      buildSearch();
      return loadState(true);
    }).then(function () {
      body.dataset.ready = "1";
      window.openomsReadyAt = performance.now();
      loadList();
      if (state.openOutage) { openPanel(state.openOutage, true); }
    });
    document.getElementById("search-form").addEventListener("submit", function (e) {
      e.preventDefault(); find(document.getElementById("search").value);
    });
    document.getElementById("search").addEventListener("input", suggest);
    document.getElementById("search").addEventListener("change", function (e) { find(e.target.value); });
  }

  function loadState(fit) {
    return api(API + "/console/state").then(function (r) { return r.json(); }).then(function (s) {
      state.lastState = s;
      drawState(s);
      if (fit) {
        var n = state.network.nodes, lat = n.lat.filter(isFinite), lon = n.lon.filter(isFinite);
        state.map.fitBounds([[Math.min.apply(null, lat), Math.min.apply(null, lon)],
                             [Math.max.apply(null, lat), Math.max.apply(null, lon)]]);
      }
      if (state.focusNext && state.outages[state.focusNext]) {
        focusOutage(state.outages[state.focusNext]);
        state.focusNext = null;
      }
    });
  }

  function drawState(s) {
    var net = state.network, E = net.edges, layers = state.layers;
    var byFeeder = {}, dead = [], station = [];
    for (var e = 0; e < E.id.length; e++) {
      var line = edgeLine(e);
      if (!line) continue;
      var f = s.edge_feeder[e];
      if (f >= 0) { (byFeeder[f] = byFeeder[f] || []).push(line); }
      else if (f === -2) { station.push(line); }
      else { dead.push(line); }
    }
    layers.grid.clearLayers();
    layers.devices.clearLayers();
    layers.faults.clearLayers();
    // One polyline per feeder (and one for the dead parts): few objects on one canvas.
    Object.keys(byFeeder).forEach(function (f) {
      var feeder = net.feeders[f];
      L.polyline(byFeeder[f], { color: feeder.colour, weight: 2.5, opacity: 0.9 })
        .bindTooltip(feeder.name, { sticky: true }).addTo(layers.grid);
    });
    if (dead.length) {
      L.polyline(dead, { color: DEAD, weight: 3, dashArray: "6 5", opacity: 0.9 }).addTo(layers.grid);
    }
    if (station.length) { L.polyline(station, { color: "#333", weight: 3 }).addTo(layers.grid); }
    // Switches: filled when closed, white when open.
    for (var i = 0; i < s.closed.length; i++) {
      var edge = E.switches_from + i, at = ll(E.from[edge]);
      if (at[0] === null) continue;
      L.circleMarker(at, { radius: s.closed[i] ? 3 : 4, color: "#222", weight: 1.5,
                           fillColor: s.closed[i] ? "#222" : "#fff", fillOpacity: 1 })
        .bindTooltip(E.name[edge]).addTo(layers.devices);
    }
    net.substations.forEach(function (sub) {
      L.circleMarker(ll(sub.node), { radius: 8, color: "#000", weight: 2, fillColor: "#ffd54f", fillOpacity: 1 })
        .bindTooltip(sub.name, { permanent: true, direction: "right", className: "sub-label" }).addTo(layers.devices);
    });
    state.outages = {};
    s.outages.forEach(drawOutage);
    document.getElementById("map").dataset.outages = s.outages.map(function (o) { return o.id; }).join(" ");
  }

  function drawOutage(o) {
    var layers = state.layers, net = state.network;
    state.outages[o.id] = o;
    var label = (LANG === "en" ? "Outage " : "停电事件 ") + o.id + " · " + (o.feeder_name || "") + " · " + o.customers_off;
    var open = function () { openPanel(String(o.id), false); };
    o.nodes_off.forEach(function (node) {
      L.circleMarker(ll(node), { radius: 4, color: "#b3261e", fillColor: "#b3261e", fillOpacity: 0.8, weight: 1 })
        .bindTooltip(label).on("click", open).addTo(layers.faults);
    });
    var loc = o.location;
    if (loc) {
      loc.candidates.forEach(function (c) {
        var lines = c.edges.map(edgeLine).filter(Boolean);
        if (lines.length && c.posterior > 0.01) {
          L.polyline(lines, { color: "#ff6f00", weight: 4 + 6 * c.posterior, opacity: 0.35 + 0.5 * c.posterior })
            .bindTooltip((LANG === "en" ? "p = " : "概率 ") + (100 * c.posterior).toFixed(1) + "%").addTo(layers.faults);
        }
      });
      var region = loc.region.map(edgeLine).filter(Boolean);
      if (region.length) {
        L.polyline(region, { color: "#b3261e", weight: 7, opacity: 0.85 })
          .bindTooltip(label + " · " + (LANG === "en" ? "p = " : "概率 ") + (100 * loc.probability).toFixed(0) + "%",
                       { permanent: true, className: "fault-label" })
          .on("click", open).addTo(layers.faults);
      }
      var marker = function (list, colour, what) {
        list.forEach(function (d) {
          var at = ll(net.edges.from[net.detectors.edge[d]]);
          if (at[0] === null) return;
          L.circleMarker(at, { radius: 6, color: colour, weight: 3, fillColor: "#fff", fillOpacity: 1 })
            .bindTooltip(net.detectors.name[d] + " · " + what).addTo(layers.faults);
        });
      };
      marker(loc.reported, "#f29900", LANG === "en" ? "reported" : "已报警");
      marker(loc.contradicting, "#6a1b9a", LANG === "en" ? "contradicts" : "与定位矛盾");
    }
  }

  function bounds(o) {
    var points = o.nodes_off.map(ll);
    if (o.location) {
      o.location.region.forEach(function (e) { var l = edgeLine(e); if (l) points.push(l[0], l[1]); });
    }
    return points.filter(function (p) { return p[0] !== null; });
  }

  function focusOutage(o) {
    var points = bounds(o);
    if (points.length) { state.map.fitBounds(points, { maxZoom: 15, padding: [30, 30], animate: false }); }
  }

  // -- search -------------------------------------------------------------------------------
  function buildSearch() {
    var net = state.network, items = [];
    net.feeders.forEach(function (f) { items.push({ label: f.name, kind: "feeder", id: f.id }); });
    net.substations.forEach(function (s) { items.push({ label: s.name, node: s.node }); });
    net.edges.name.forEach(function (name, e) { items.push({ label: name, edge: e, id: net.edges.id[e] }); });
    net.detectors.name.forEach(function (name, d) { items.push({ label: name, edge: net.detectors.edge[d], id: net.detectors.id[d] }); });
    var ta = net.transformer_areas;
    ta.name.forEach(function (name, i) {
      items.push({ label: name + (ta.village[i] ? " · " + ta.village[i] : ""), node: ta.node[i], id: ta.id[i],
                   extra: ta.village[i] + " " + ta.township[i] });
    });
    var villages = {};
    ta.village.forEach(function (v, i) { if (v) { (villages[v] = villages[v] || []).push(ta.node[i]); } });
    Object.keys(villages).forEach(function (v) { items.push({ label: v, nodes: villages[v] }); });
    state.search = items;
  }

  function matches(value) {
    var needle = value.trim().toLowerCase();
    if (!needle) return [];
    return state.search.filter(function (item) {
      return item.label.toLowerCase().indexOf(needle) >= 0 || (item.id && item.id.toLowerCase().indexOf(needle) === 0) ||
             (item.extra && item.extra.toLowerCase().indexOf(needle) >= 0);
    }).slice(0, 30);
  }

  function suggest(e) {
    var list = document.getElementById("search-list");
    list.textContent = "";
    matches(e.target.value).forEach(function (item) {
      var option = document.createElement("option");
      option.value = item.label;
      list.appendChild(option);
    });
  }

  function find(value) {
    var found = matches(value), item = found.filter(function (i) { return i.label === value.trim(); })[0] || found[0];
    if (!item) return;
    var net = state.network, points = [];
    if (item.kind === "feeder") {
      var f = net.feeders.map(function (x) { return x.id; }).indexOf(item.id);
      state.lastState.edge_feeder.forEach(function (g, e) { if (g === f) { var l = edgeLine(e); if (l) points.push(l[0], l[1]); } });
    } else if (item.edge !== undefined) {
      var l = edgeLine(item.edge); if (l) points.push(l[0], l[1]);
    } else if (item.nodes) { points = item.nodes.map(ll); }
    else { points.push(ll(item.node)); }
    points = points.filter(function (p) { return p[0] !== null; });
    if (!points.length) return;
    state.layers.found.clearLayers();
    points.slice(0, 200).forEach(function (p) {
      L.circleMarker(p, { radius: 9, color: "#0b57d0", weight: 3, fill: false }).addTo(state.layers.found);
    });
    state.map.fitBounds(points, { maxZoom: 16, padding: [40, 40], animate: false });
    document.getElementById("map").dataset.found = item.label + " (" + points.length + ")";
  }

  // -- outage list and panel --------------------------------------------------------------------
  function loadList() {
    return api("/console/parts/outages" + q).then(function (r) { return r.text(); }).then(function (html) {
      document.getElementById("outage-list").innerHTML = html; // escaped by the server
    });
  }

  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest(".outage-item a");
    if (link) { e.preventDefault(); openPanel(link.closest(".outage-item").dataset.outage, false); }
  });

  function openPanel(id, first) {
    state.openOutage = String(id);
    if (!first) { history.pushState({ outage: id }, "", "/console/outages/" + id + q); }
    if (state.outages[id]) { focusOutage(state.outages[id]); }
    return loadPanel();
  }

  function loadPanel() {
    if (!state.openOutage) return Promise.resolve();
    return api("/console/parts/outages/" + state.openOutage + q).then(function (r) { return r.text(); })
      .then(function (html) {
        var panel = document.getElementById("panel");
        panel.innerHTML = html; // escaped by the server
        panel.querySelectorAll("[data-action]").forEach(wire);
      });
  }

  function wire(el) {
    var event = el.tagName === "FORM" ? "submit" : "click";
    el.addEventListener(event, function (e) { e.preventDefault(); act(el); });
  }

  function act(el) {
    var id = el.dataset.outage, action = el.dataset.action, base = API + "/outages/" + id;
    var result = document.querySelector("#panel .result");
    var panel = document.querySelector("#panel article");
    var done;
    if (action === "transition") {
      done = api(base + "/transitions", { method: "POST", json: { to: el.dataset.to } });
    } else if (action === "dispatch") {
      var crew = el.elements.crew.value.trim();
      done = api(API + "/console/outages/" + id + "/corrections", { method: "POST", json: { crew: crew } })
        .then(function () {
          if (panel.dataset.state === "crew_dispatched") return null;
          return api(base + "/transitions", { method: "POST", json: { to: "crew_dispatched" } });
        });
    } else if (action === "restore") {
      var ids = Array.prototype.filter.call(el.querySelectorAll("input[name=element]"), function (b) { return b.checked; })
        .map(function (b) { return b.value; });
      done = api(base + "/restoration-steps", { method: "POST", json: { element_ids: ids, how: el.elements.how.value } });
    } else if (action === "correct") {
      var etr = el.elements.etr.value;
      var bodyJson = { cause: el.elements.cause.value.trim() || null, crew: el.elements.crew.value.trim() || null,
                       estimated_restoration_at: etr ? etr + ":00" + el.dataset.offset : null };
      done = api(API + "/console/outages/" + id + "/corrections", { method: "POST", json: bodyJson });
    }
    done.then(function () {
      return Promise.all([loadPanel(), loadList(), loadState(false)]);
    }).then(function () {
      var r = document.querySelector("#panel .result");
      if (r) text(r, "✓");
    }).catch(function (error) { if (result) text(result, "✗ " + error.message); });
  }

  window.addEventListener("popstate", function () {
    var m = location.pathname.match(/\/console\/outages\/(\d+)/);
    state.openOutage = m ? m[1] : "";
    if (!m) { document.getElementById("panel").textContent = ""; } else { loadPanel(); }
  });

  // -- live updates --------------------------------------------------------------------------
  var pending = null;
  function refresh() {
    if (pending) return;
    pending = setTimeout(function () {
      pending = null;
      if (body.dataset.view === "sld") { sld(); return; }
      if (!state.network) return;
      loadState(false);
      loadList();
      loadPanel();
    }, 50);
  }

  function beep() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      var ctx = state.audio || (state.audio = new Ctx());
      [0, 0.25].forEach(function (delay) {
        var osc = ctx.createOscillator(), gain = ctx.createGain();
        osc.frequency.value = 880;
        gain.gain.value = 0.15;
        osc.connect(gain); gain.connect(ctx.destination);
        osc.start(ctx.currentTime + delay); osc.stop(ctx.currentTime + delay + 0.15);
      });
    } catch (ignored) { /* no sound device: the visual alert stays */ }
  }

  function alertNew(data) {
    var box = document.getElementById("alert");
    box.hidden = false;
    box.textContent = "";
    var link = document.createElement("a");
    link.href = "/console/outages/" + data.id + q;
    text(link, (LANG === "en" ? "New outage " : "新停电事件 ") + data.id);
    link.addEventListener("click", function (e) { e.preventDefault(); openPanel(String(data.id), false); });
    box.appendChild(link);
    box.classList.remove("flash"); void box.offsetWidth; box.classList.add("flash");
    beep();
  }

  function stream() {
    if (state.source) state.source.close();
    var live = document.getElementById("live");
    var source = new EventSource(body.dataset.stream + "?token=" + encodeURIComponent(token()));
    state.source = source;
    source.addEventListener("open", function () { text(live, live.dataset.on); live.className = "live on"; });
    source.addEventListener("error", function () { text(live, live.dataset.off); live.className = "live off"; });
    source.addEventListener("ready", refresh);
    source.addEventListener("outage", function (e) {
      var data = JSON.parse(e.data);
      if (data.new) { state.focusNext = data.id; alertNew(data); }
      refresh();
    });
    source.addEventListener("fault", function (e) {
      var data = JSON.parse(e.data);
      if (data.outage_id && data.state === "located") { state.focusNext = data.outage_id; }
      refresh();
    });
  }

  // -- single-line diagram --------------------------------------------------------------------
  function sld() {
    api("/console/parts/feeders/" + encodeURIComponent(body.dataset.feeder) + "/sld.svg" + q)
      .then(function (r) { return r.text(); })
      .then(function (svg) { document.getElementById("sld").innerHTML = svg; body.dataset.ready = "1"; })
      .catch(function (error) { text(document.getElementById("sld"), "✗ " + error.message); });
  }

  // -- reliability dashboard (figures computed and drawn by the server) ------------------------
  function reliability() {
    var box = document.getElementById("reliability");
    api("/console/parts/reliability" + window.location.search)
      .then(function (r) { return r.text(); })
      .then(function (html) { box.innerHTML = html; body.dataset.ready = "1"; })
      .catch(function (error) { text(box, "✗ " + error.message); });
  }

  if (token()) { start(); } else { logout(false); }
})();
