/* Drill-down map of the jurisdiction tree: city → county → township → community → grid office.
 * Every fetch goes to the scoped REST API, so the map can never show more than the viewer may see. */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const gettext = window.gettext || ((s) => s);
  const map = L.map("map", { zoomControl: true }).setView(config.center, config.zoom);
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 18 }).addTo(map);
  }
  const regionLayer = L.geoJSON(null, {
    style: { color: "#b71c1c", weight: 2, fillOpacity: 0.06 },
    onEachFeature: (feature, layer) => {
      layer.bindTooltip(feature.properties.name, { sticky: true });
      layer.on("click", () => drillTo(feature.id, feature.properties.name, feature.properties.level));
    },
  }).addTo(map);
  const gridLayer = L.geoJSON(null, {
    style: (f) => ({ color: "#1565c0", weight: 1, fillOpacity: 0.12, dashArray: f.properties.is_demo ? "4" : null }),
    onEachFeature: (feature, layer) => {
      const p = feature.properties;
      layer.bindPopup(`<strong>${escapeHtml(p.name)}</strong><br>${escapeHtml(feature.id)}<br>${escapeHtml(p.office_name)}`);
    },
  }).addTo(map);
  const officeLayer = L.layerGroup().addTo(map);
  const trail = [];
  let gridQuery = null; // which grids to show (within=… or office=…); fetched for the view only
  let gridGeneration = 0;

  function escapeHtml(text) {
    return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  async function getJson(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${response.status} ${url}`);
    return response.json();
  }

  async function getAllFeatures(url) {
    const features = [];
    let next = url;
    while (next) {
      const page = await getJson(next);
      features.push(...page.features);
      next = page.next;
    }
    return features;
  }

  function renderCrumbs() {
    const crumbs = document.getElementById("crumbs");
    crumbs.innerHTML = "";
    trail.forEach((step, index) => {
      const link = document.createElement("button");
      link.type = "button";
      link.className = "crumb link";
      link.textContent = step.name;
      link.addEventListener("click", () => {
        trail.splice(index + 1);
        showRegion(step);
      });
      crumbs.appendChild(link);
    });
  }

  function renderList(features, offices) {
    const list = document.getElementById("region-list");
    list.innerHTML = "";
    const officeCount = {};
    offices.forEach((o) => {
      [o.properties.county, o.properties.township, o.properties.seat].forEach((code) => {
        officeCount[code] = (officeCount[code] || 0) + 1;
      });
    });
    features.forEach((f) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link region-link";
      button.dataset.code = f.id;
      const count = officeCount[f.id] || 0;
      button.textContent = `${f.properties.name}`;
      button.addEventListener("click", () => drillTo(f.id, f.properties.name, f.properties.level));
      item.appendChild(button);
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = count ? `${count} ${gettext("offices")}` : "";
      item.appendChild(badge);
      list.appendChild(item);
    });
  }

  function drawOffices(offices) {
    officeLayer.clearLayers();
    offices.forEach((o) => {
      if (!o.geometry) return;
      const [lng, lat] = o.geometry.coordinates;
      L.circleMarker([lat, lng], { radius: 5, color: "#2e7d32", weight: 2, fillOpacity: 0.8, className: "office-marker" })
        .bindPopup(`<strong>${escapeHtml(o.properties.name)}</strong><br>${escapeHtml(o.properties.seat_name)}<br>${o.properties.grid_count} ${escapeHtml(gettext("grids"))}<br><button type="button" class="link show-grids" data-office="${escapeHtml(o.id)}">${escapeHtml(gettext("Show its grids"))}</button>`)
        .addTo(officeLayer);
    });
    document.getElementById("office-count").textContent = offices.length;
  }

  function viewBbox() {
    const b = map.getBounds();
    const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
    const box = [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90), clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90)];
    return `bbox=${box.map((v) => v.toFixed(5)).join(",")}&zoom=${map.getZoom()}`;
  }

  function extentBbox(extent) {
    // The whole jurisdiction at the closest zoom that still fits the server's limit on a view.
    const span = Math.max(extent[2] - extent[0], extent[3] - extent[1], 1e-6);
    const zoom = Math.max(0, Math.min(18, Math.floor(Math.log2((4000 * 360) / (256 * span)))));
    return `bbox=${extent.join(",")}&zoom=${zoom}`;
  }

  /* Grids (bounded, simplified GeoJSON) for a bbox; a 400 (too many in view) is shown, not thrown. */
  async function loadGrids(bbox) {
    const current = ++gridGeneration;
    const response = await fetch(`${config.api}map/grids/view/?${gridQuery}&${bbox}`, {
      credentials: "same-origin", headers: { Accept: "application/json" },
    });
    const body = await response.json().catch(() => ({}));
    if (current !== gridGeneration) return null;
    const note = document.getElementById("grid-note");
    note.hidden = response.ok;
    note.textContent = response.ok ? "" : Object.values(body).flat().join(" ");
    const grids = response.ok ? body.features : [];
    gridLayer.clearLayers();
    gridLayer.addData(grids);
    document.getElementById("grid-count").textContent = grids.length;
    document.getElementById("demo-note").hidden = !grids.some((g) => g.properties.is_demo);
    return grids;
  }

  async function showGrids(query) {
    gridQuery = query;
    const grids = await loadGrids(config.extent ? extentBbox(config.extent) : viewBbox());
    if (grids && grids.length) map.fitBounds(gridLayer.getBounds(), { padding: [10, 10] });
  }

  map.on("moveend", () => {
    if (gridQuery) loadGrids(viewBbox());
  });

  async function showRegion(step) {
    renderCrumbs();
    regionLayer.clearLayers();
    gridLayer.clearLayers();
    gridQuery = null;
    document.getElementById("grid-count").textContent = "0";
    const [children, offices] = await Promise.all([
      step.level === "village" ? Promise.resolve([]) : getJson(`${config.api}regions/${step.code}/children/`).then((fc) => fc.features),
      getAllFeatures(`${config.api}grid-offices/?within=${step.code}&page_size=5000`),
    ]);
    regionLayer.addData(children.filter((f) => f.geometry));
    drawOffices(offices);
    renderList(children, offices);
    document.getElementById("demo-note").hidden = !children.some((f) => f.properties.boundary_is_demo);
    if (step.level === "village") {
      await showGrids(`within=${step.code}`);
    } else if (regionLayer.getLayers().length) {
      map.fitBounds(regionLayer.getBounds(), { padding: [10, 10] });
    }
    document.body.dataset.mapReady = step.code;
  }

  function drillTo(code, name, level) {
    trail.push({ code, name, level });
    showRegion(trail[trail.length - 1]);
  }

  map.on("popupopen", (event) => {
    const button = event.popup.getElement().querySelector(".show-grids");
    if (button) button.addEventListener("click", () => showGrids(`office=${encodeURIComponent(button.dataset.office)}`));
  });

  async function start() {
    if (config.gridOffice) {
      const office = await getJson(`${config.api}grid-offices/${config.gridOffice}/`);
      trail.push({ code: office.id, name: office.properties.name, level: "office" });
      renderCrumbs();
      drawOffices([office]);
      await showGrids(`office=${encodeURIComponent(config.gridOffice)}`);
      document.body.dataset.mapReady = config.gridOffice;
    } else if (config.startRegion) {
      drillTo(config.startRegion, config.startRegionName, config.startLevel);
    }
  }
  start().catch((error) => {
    document.getElementById("crumbs").textContent = gettext("The map could not load its data.") + " " + error.message;
  });
})();
