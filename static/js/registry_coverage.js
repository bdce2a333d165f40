/* Visit coverage on the map: one circle per grid office, coloured by the share of its houses
   visited this period (red under 60 %, amber under 90 %, green above), sized by its houses. */
(function () {
  "use strict";
  var box = document.getElementById("coverage-map");
  if (!box || !window.L) return;
  var map = L.map(box, { preferCanvas: true }).setView([26.25, 105.95], 8);
  L.tileLayer("", { attribution: "" }).addTo(map);
  function colour(rate) { return rate >= 90 ? "#2e7d32" : rate >= 60 ? "#f9a825" : "#c62828"; }
  fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
    .then(function (data) {
      var bounds = [];
      data.offices.forEach(function (o) {
        var marker = L.circleMarker([o.lat, o.lon], {
          radius: Math.max(4, Math.min(14, Math.sqrt(o.houses))), color: colour(o.rate), fillOpacity: 0.7, weight: 1,
        }).addTo(map);
        marker.bindTooltip(o.name + " · " + o.rate + "%");
        bounds.push([o.lat, o.lon]);
      });
      if (bounds.length) map.fitBounds(bounds, { padding: [20, 20] });
      box.dataset.ready = String(data.offices.length);
    })
    .catch(function () { box.dataset.ready = "error"; });
})();
