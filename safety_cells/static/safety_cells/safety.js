/* Maps of the safe-cells pages: the registry's cells, the coverage map, and the patrol route input
 * (tap the map to add points, or record them from the phone's GPS). */
window.SafetyMaps = (function () {
  "use strict";

  const gettext = window.gettext || ((s) => s);

  function baseMap(elementId) {
    const config = JSON.parse(document.getElementById("map-config").textContent);
    const map = L.map(elementId).setView(config.center, config.zoom);
    if (config.tileUrl) {
      L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19 }).addTo(map);
    }
    return { map, config };
  }

  function escapeHtml(text) {
    return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  function cells(elementId, markersId) {
    const { map } = baseMap(elementId);
    const markers = JSON.parse(document.getElementById(markersId).textContent);
    const points = [];
    for (const m of markers) {
      if (!m.latlng) continue;
      L.circleMarker(m.latlng, {
        radius: m.demo ? 9 : 6, color: m.demo ? "#b71c1c" : "#1565c0", weight: 2, fillOpacity: 0.7,
        className: "cell-marker",
      }).bindPopup(`<a href="/safety/cells/${m.id}/">${escapeHtml(m.name)}</a><br>${escapeHtml(m.type || "")}`)
        .bindTooltip(escapeHtml(m.name), { permanent: markers.length <= 12, direction: "right" })
        .addTo(map);
      points.push(m.latlng);
    }
    if (points.length > 1) map.fitBounds(points, { padding: [20, 20] });
    else if (points.length === 1) map.setView(points[0], 14);
    document.body.dataset.mapReady = String(points.length);
  }

  /* Layers for the current view only: each asks /api/map/... with the view's bbox and zoom and
   * gets bounded, simplified GeoJSON (or a 400 asking to zoom in, shown under the map). */
  function viewQuery(map) {
    const b = map.getBounds();
    const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
    const west = clamp(b.getWest(), -180, 180), east = clamp(b.getEast(), -180, 180);
    const south = clamp(b.getSouth(), -90, 90), north = clamp(b.getNorth(), -90, 90);
    return `bbox=${west.toFixed(5)},${south.toFixed(5)},${east.toFixed(5)},${north.toFixed(5)}&zoom=${map.getZoom()}`;
  }

  async function fetchLayer(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (response.ok) return { features: body.features || [], problem: null };
    const problem = Object.values(body).flat().join(" ") || `${response.status}`;
    return { features: [], problem };
  }

  function fitExtent(map, extent) {
    if (extent) map.fitBounds([[extent[1], extent[0]], [extent[3], extent[2]]], { padding: [10, 10] });
  }

  function coverage(elementId) {
    const { map, config } = baseMap(elementId);
    const note = document.getElementById("coverage-map-note");
    // Townships shaded by joint-defence coverage: the paler, the more villages still lack a team.
    const shade = (rate) => (rate === null ? "#9e9e9e" : rate >= 99 ? "#1b5e20" : rate >= 95 ? "#43a047" : rate >= 90 ? "#fbc02d" : "#e53935");
    const townships = L.geoJSON(null, {
      style: (f) => ({ color: "#555", weight: 1, fillColor: shade(f.properties.rate), fillOpacity: 0.35, className: "township-coverage" }),
      onEachFeature: (f, layer) => layer.bindTooltip(`${escapeHtml(f.properties.name)}: ${f.properties.rate ?? "–"}%`),
    }).addTo(map);
    const gaps = L.geoJSON(null, {
      style: { color: "#b71c1c", weight: 1, fillOpacity: 0.35, className: "patrol-gap" },
      onEachFeature: (f, layer) => layer.bindTooltip(`${escapeHtml(f.properties.name)}: ${f.properties.incidents}`),
    }).addTo(map);
    const cameras = L.layerGroup().addTo(map);
    // Patrols of the period (at most 31 days): routes close in, one point per patrol unit far out.
    const patrols = L.geoJSON(null, {
      style: { color: "#1565c0", weight: 2, opacity: 0.7, className: "patrol-route" },
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 4, color: "#1565c0", weight: 1, fillOpacity: 0.5, className: "patrol-unit" }),
      onEachFeature: (f, layer) => layer.bindTooltip(`${escapeHtml(f.properties.unit)}: ${f.properties.patrols}`),
    }).addTo(map);
    L.control.layers(null, {
      [gettext("Skynet cameras")]: cameras,
      [gettext("Patrols")]: patrols,
    }, { collapsed: false }).addTo(map);
    const colours = { online: "#2e7d32", offline: "#757575", building: "#ef6c00" };
    let generation = 0;

    async function load() {
      const current = ++generation;
      const query = viewQuery(map);
      const [t, g, c, p] = await Promise.all([
        fetchLayer(`${config.layers.townships}?${query}`),
        fetchLayer(`${config.layers.gaps}?${query}&days=${config.days}`),
        fetchLayer(`${config.layers.cameras}?${query}`),
        map.hasLayer(patrols) ? fetchLayer(`${config.layers.patrols}?${query}&days=${Math.min(config.days, 31)}`) : { features: [], problem: null },
      ]);
      if (current !== generation) return; // the view moved on while these were loading
      townships.clearLayers().addData(t.features);
      gaps.clearLayers().addData(g.features);
      patrols.clearLayers().addData(p.features);
      cameras.clearLayers();
      for (const f of c.features) {
        const [lng, lat] = f.geometry.coordinates;
        const p = f.properties;
        const cluster = p.count > 1;
        const colour = p.status ? colours[p.status] : p.online === p.count ? colours.online : "#1565c0";
        L.circleMarker([lat, lng], {
          radius: cluster ? Math.min(14, 3 + Math.sqrt(p.count)) : 2, color: colour, weight: 1,
          fillOpacity: 0.6, className: "camera-marker",
        }).bindTooltip(cluster ? `${p.count} (${p.online})` : escapeHtml(f.id)).addTo(cameras);
      }
      const problems = [t.problem, g.problem, c.problem, p.problem].filter(Boolean);
      note.hidden = !problems.length;
      note.textContent = problems.join(" ");
      document.body.dataset.mapFeatures = String(t.features.length + g.features.length + c.features.length);
      document.body.dataset.mapReady = "1";
    }
    fitExtent(map, config.extent);
    map.on("moveend", load);
    map.on("overlayadd", load);
    load();
  }

  function routeInput(elementId, inputId) {
    const { map } = baseMap(elementId);
    const input = document.getElementById(inputId);
    const counter = document.getElementById("route-points");
    const line = L.polyline([], { color: "#b71c1c", weight: 4, className: "route-line" }).addTo(map);
    let watch = null;

    function update() {
      const latlngs = line.getLatLngs();
      counter.textContent = String(latlngs.length);
      input.value = latlngs.length
        ? JSON.stringify({ type: "LineString", coordinates: latlngs.map((p) => [p.lng, p.lat]) })
        : "";
    }
    if (input.value) {
      try {
        const geometry = JSON.parse(input.value);
        line.setLatLngs(geometry.coordinates.map(([lng, lat]) => [lat, lng]));
      } catch (e) { input.value = ""; }
    }
    map.on("click", (event) => { line.addLatLng(event.latlng); update(); });
    document.getElementById("route-undo").addEventListener("click", () => {
      const latlngs = line.getLatLngs();
      latlngs.pop();
      line.setLatLngs(latlngs);
      update();
    });
    const gps = document.getElementById("route-gps");
    gps.addEventListener("click", () => {
      if (watch !== null) {
        navigator.geolocation.clearWatch(watch);
        watch = null;
        gps.classList.remove("primary");
        return;
      }
      if (!navigator.geolocation) return;
      gps.classList.add("primary");
      watch = navigator.geolocation.watchPosition(
        (position) => {
          const point = L.latLng(position.coords.latitude, position.coords.longitude);
          line.addLatLng(point);
          map.panTo(point);
          update();
        },
        () => { gps.classList.remove("primary"); },
        { enableHighAccuracy: true },
      );
    });
    update();
    document.body.dataset.mapReady = "route";
  }

  /* A point picker for a form: tapping the map puts the marker there and fills the latitude and
   * longitude inputs (ids given as "latId,lngId"); typing in them moves the marker. The map opens
   * on the official's jurisdiction (config.extent) or on the point already typed. */
  function pointInput(elementId, source) {
    const { map, config } = baseMap(elementId);
    const [latInput, lngInput] = source.split(",").map((id) => document.getElementById(id));
    let marker = null;
    function place(latlng) {
      if (marker) marker.setLatLng(latlng);
      else marker = L.circleMarker(latlng, { radius: 9, color: "#b71c1c", weight: 3, fillOpacity: 0.6, className: "picked-point" }).addTo(map);
    }
    function fromInputs() {
      const lat = parseFloat(latInput.value), lng = parseFloat(lngInput.value);
      if (Number.isFinite(lat) && Number.isFinite(lng) && Math.abs(lat) <= 90 && Math.abs(lng) <= 180) {
        place([lat, lng]);
        return [lat, lng];
      }
      return null;
    }
    map.on("click", (event) => {
      latInput.value = event.latlng.lat.toFixed(6);
      lngInput.value = event.latlng.lng.toFixed(6);
      place(event.latlng);
      document.body.dataset.pointPicked = "1";
    });
    latInput.addEventListener("change", fromInputs);
    lngInput.addEventListener("change", fromInputs);
    const typed = fromInputs();
    if (typed) map.setView(typed, 15);
    else fitExtent(map, config.extent);
    document.body.dataset.mapReady = "point";
  }

  return { cells, coverage, routeInput, pointInput, viewQuery, fetchLayer, fitExtent };
})();

/* Start the maps the page asks for through data attributes (no inline script under the CSP):
 *   <div id="cell-map" data-safety-map="cells" data-source="cell-markers">
 *   <div id="coverage-map" data-safety-map="coverage">
 *   <div id="route-map" data-safety-map="routeInput" data-source="id_route">
 *   <div id="point-map" data-safety-map="pointInput" data-source="id_latitude,id_longitude"> */
document.querySelectorAll("[data-safety-map]").forEach((element) => {
  window.SafetyMaps[element.dataset.safetyMap](element.id, element.dataset.source);
});
