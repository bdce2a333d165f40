/* Maps of the safe-cells pages: the registry's cells, the coverage map, and the patrol route input
 * (tap the map to add points, or record them from the phone's GPS). */
window.SafetyMaps = (function () {
  "use strict";

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

  function coverage(elementId) {
    const { map, config } = baseMap(elementId);
    const renderer = L.canvas();
    // Townships shaded by joint-defence coverage: the paler, the more villages still lack a team.
    const shade = (rate) => (rate === null ? "#9e9e9e" : rate >= 99 ? "#1b5e20" : rate >= 95 ? "#43a047" : rate >= 90 ? "#fbc02d" : "#e53935");
    const townships = L.geoJSON(
      { type: "FeatureCollection", features: config.townships.map((t) => ({ type: "Feature", geometry: t.geometry, properties: t })) },
      {
        style: (f) => ({ color: "#555", weight: 1, fillColor: shade(f.properties.rate), fillOpacity: 0.35, className: "township-coverage" }),
        onEachFeature: (f, layer) => layer.bindTooltip(`${escapeHtml(f.properties.name)}: ${f.properties.rate ?? "–"}%`),
      },
    ).addTo(map);
    if (config.townships.length) map.fitBounds(townships.getBounds());
    const colours = { online: "#2e7d32", offline: "#757575", building: "#ef6c00" };
    for (const [lat, lng, status] of config.cameras) {
      L.circleMarker([lat, lng], { renderer, radius: 2, color: colours[status], weight: 1 }).addTo(map);
    }
    const gaps = L.geoJSON(
      { type: "FeatureCollection", features: config.gaps.map((g) => ({ type: "Feature", geometry: g.geometry, properties: g })) },
      { style: { color: "#b71c1c", weight: 1, fillOpacity: 0.35 }, onEachFeature: (f, layer) => layer.bindTooltip(`${escapeHtml(f.properties.name)}: ${f.properties.incidents}`) },
    ).addTo(map);
    if (config.gaps.length && !config.townships.length) map.fitBounds(gaps.getBounds());
    document.body.dataset.mapReady = "1";
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

  return { cells, coverage, routeInput };
})();

/* Start the maps the page asks for through data attributes (no inline script under the CSP):
 *   <div id="cell-map" data-safety-map="cells" data-source="cell-markers">
 *   <div id="coverage-map" data-safety-map="coverage">
 *   <div id="route-map" data-safety-map="routeInput" data-source="id_route"> */
document.querySelectorAll("[data-safety-map]").forEach((element) => {
  window.SafetyMaps[element.dataset.safetyMap](element.id, element.dataset.source);
});
