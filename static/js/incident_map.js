/* Incidents on a map: the list's rows or one incident's place. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var points = JSON.parse(document.getElementById("map-points").textContent);
  var map = L.map("incident-map").setView(config.center, config.zoom);
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19 }).addTo(map);
  }
  var colours = { closed: "#2e7d32", verified: "#2e7d32", handled: "#1565c0", returned: "#ef6c00" };
  var markers = points.map(function (p) {
    return L.circleMarker([p.lat, p.lng], {
      radius: 8,
      color: colours[p.status] || "#b71c1c",
      className: "incident-marker incident-" + p.id,
    })
      .bindPopup('<a href="' + p.url + '">' + p.label.replace(/</g, "&lt;") + "</a>")
      .addTo(map);
  });
  if (markers.length) {
    map.fitBounds(L.featureGroup(markers).getBounds().pad(0.3), { maxZoom: 15 });
  }
  window.incidentMap = map;
  document.body.dataset.mapReady = String(points.length);
})();
