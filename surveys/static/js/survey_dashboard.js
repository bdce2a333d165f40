/* Officials' dashboard: a choropleth of the places one level down, coloured by the chosen
 * rate. (The survey-wave and monthly charts are drawn by static/js/charts.js.) Boundaries come from the scoped regions API; the rates are
 * the ones the page already shows in its table. */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("choropleth-config").textContent);
  const COLOURS = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"];
  const values = Object.values(config.values);
  const low = values.length ? Math.min(...values) : 0;
  const high = values.length ? Math.max(...values) : 100;

  function colour(value) {
    if (value === undefined || value === null) return "#cccccc";
    if (high === low) return COLOURS[2];
    const index = Math.min(COLOURS.length - 1, Math.floor(((value - low) / (high - low)) * COLOURS.length));
    return COLOURS[index];
  }

  function escapeHtml(text) {
    return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  const map = L.map("choropleth").setView(config.center, config.zoom);
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 18 }).addTo(map);
  }
  const layer = L.geoJSON(null, {
    style: (feature) => ({ color: "#555", weight: 1, fillColor: colour(config.values[feature.id]), fillOpacity: 0.75 }),
    onEachFeature: (feature, featureLayer) => {
      const value = config.values[feature.id];
      featureLayer.bindTooltip(`${escapeHtml(feature.properties.name)}: ${value === undefined ? "–" : value.toFixed(2) + "%"}`, { sticky: true });
      if (feature.properties.level) {
        featureLayer.on("click", () => {
          const url = new URL(window.location.href);
          url.searchParams.set("region", feature.id);
          window.location.href = url.toString();
        });
      }
    },
  }).addTo(map);

  async function load() {
    const url = config.level === "village" ? `/api/grids/?within=${config.region}&page_size=500` : `/api/regions/${config.region}/children/`;
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) {
        const data = await response.json();
        layer.addData(data.features ? data : { type: "FeatureCollection", features: data });
        if (layer.getLayers().length) map.fitBounds(layer.getBounds());
      }
    } finally {
      document.body.dataset.mapReady = config.region;
    }
    const legend = document.getElementById("legend");
    if (values.length) legend.textContent = `${legend.dataset.label} ${low.toFixed(2)}% – ${high.toFixed(2)}%`;
  }
  load();
})();
