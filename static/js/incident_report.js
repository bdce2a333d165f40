/* The phone report form: place by tapping the map or by GPS, and an outbox in IndexedDB.

   Every report is first written to the outbox, then sent to the API with its client UUID,
   so a report made without signal waits on the phone and is sent when the connection
   returns; a retry of one already received comes back as the same incident, never twice. */
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var strings = config.strings || {};
  function t(s) { return strings[s] || s; }
  var csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  var lon = document.getElementById("longitude");
  var lat = document.getElementById("latitude");
  var hint = document.getElementById("place-hint");
  var formError = document.getElementById("form-error");
  var outboxList = document.getElementById("outbox");
  var sentList = document.getElementById("sent");

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/incidents/sw.js", { scope: "/incidents/" }).catch(function () {});
  }

  // --- map ---
  var map = L.map("report-map").setView(config.center, config.zoom);
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19 }).addTo(map);
  }
  var marker = null;
  function place(latlng) {
    lat.value = latlng.lat.toFixed(7);
    lon.value = latlng.lng.toFixed(7);
    if (marker) marker.setLatLng(latlng);
    else marker = L.marker(latlng).addTo(map);
    hint.textContent = t("Place chosen") + ": " + lat.value + ", " + lon.value;
    hint.dataset.chosen = "1";
  }
  map.on("click", function (e) { place(e.latlng); });
  window.reportMap = map;
  function ready() { document.body.dataset.mapReady = "1"; }
  if (config.office) {
    fetch(config.api + "grids/?office=" + encodeURIComponent(config.office) + "&page_size=500", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var layer = L.geoJSON(data, { style: { weight: 1, color: "#b71c1c", fillOpacity: 0.05 }, interactive: false }).addTo(map);
        if (layer.getLayers().length) map.fitBounds(layer.getBounds());
      })
      .catch(function () {})
      .then(ready);
  } else {
    ready();
  }
  document.getElementById("use-location").addEventListener("click", function () {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        var latlng = L.latLng(pos.coords.latitude, pos.coords.longitude);
        map.setView(latlng, 16);
        place(latlng);
      },
      function () { hint.textContent = t("Your position is not available; tap the map."); },
      { enableHighAccuracy: true, timeout: 15000 }
    );
  });

  // --- outbox ---
  var dbPromise = new Promise(function (resolve, reject) {
    var open = indexedDB.open("anshun-outbox", 1);
    open.onupgradeneeded = function () { open.result.createObjectStore("reports", { keyPath: "client_uuid" }); };
    open.onsuccess = function () { resolve(open.result); };
    open.onerror = function () { reject(open.error); };
  });
  function store(mode, work) {
    return dbPromise.then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction("reports", mode);
        var result = work(tx.objectStore("reports"));
        tx.oncomplete = function () { resolve(result && result.result); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }
  function all() { return store("readonly", function (s) { return s.getAll(); }); }
  function put(record) { return store("readwrite", function (s) { s.put(record); }); }
  function remove(key) { return store("readwrite", function (s) { s.delete(key); }); }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (c) {
      return (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16);
    });
  }

  function render() {
    return all().then(function (records) {
      outboxList.innerHTML = "";
      records.sort(function (a, b) { return a.created - b.created; });
      records.forEach(function (r) {
        var li = document.createElement("li");
        li.dataset.uuid = r.client_uuid;
        li.textContent = r.description.slice(0, 40) + " · " + (r.error ? t("Not accepted") + ": " + r.error : t("waiting"));
        if (r.error) {
          var drop = document.createElement("button");
          drop.type = "button";
          drop.className = "link";
          drop.textContent = t("Discard");
          drop.onclick = function () { remove(r.client_uuid).then(render); };
          li.appendChild(drop);
        }
        outboxList.appendChild(li);
      });
      document.getElementById("outbox-empty").hidden = records.length > 0;
      document.body.dataset.outbox = String(records.length);
    });
  }

  function errorText(body) {
    return Object.keys(body).map(function (k) { return [].concat(body[k]).join(" "); }).join("; ");
  }

  var flushing = null;
  function flush() {
    if (flushing) return flushing;
    flushing = all()
      .then(function (records) {
        records.sort(function (a, b) { return a.created - b.created; });
        return records.reduce(function (chain, r) {
          return chain.then(function (go) {
            if (!go || r.error) return go;
            var data = new FormData();
            ["client_uuid", "category", "description", "priority", "longitude", "latitude"].forEach(function (k) {
              if (r[k]) data.append(k, r[k]);
            });
            data.append("source", "grid_worker");
            if (r.photo) data.append("attachments", r.photo, r.photoName || "photo.jpg");
            return fetch("/api/incidents/", {
              method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRFToken": csrf },
            }).then(function (response) {
              if (response.status === 200 || response.status === 201) {
                return response.json().then(function (incident) {
                  var li = document.createElement("li");
                  li.dataset.uuid = r.client_uuid;
                  li.innerHTML = '<a href="/incidents/' + incident.id + '/">#' + incident.id + "</a> ";
                  li.appendChild(document.createTextNode(r.description.slice(0, 40)));
                  sentList.prepend(li);
                  return remove(r.client_uuid).then(function () { return true; });
                });
              }
              if (response.status === 400) {
                return response.json().then(function (body) {
                  r.error = errorText(body);
                  return put(r).then(function () { return true; });
                });
              }
              return false; // signed out or server trouble: keep everything for later
            }, function () { return false; }); // no connection
          });
        }, Promise.resolve(true));
      })
      .then(render, render)
      .then(function () { flushing = null; });
    return flushing;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    formError.hidden = true;
    var missing = !lat.value ? t("Tap the map or use your location.") : !form.description.value.trim() ? t("Describe what you saw.") : "";
    if (missing) {
      formError.textContent = missing;
      formError.hidden = false;
      return;
    }
    var photo = form.attachments.files[0] || null;
    var record = {
      client_uuid: form.client_uuid.value,
      category: form.category.value,
      description: form.description.value.trim(),
      priority: form.priority.value,
      longitude: lon.value,
      latitude: lat.value,
      photo: photo,
      photoName: photo ? photo.name : null,
      created: Date.now(),
      error: null,
    };
    put(record).then(function () {
      form.description.value = "";
      form.attachments.value = "";
      form.client_uuid.value = uuid();
      return render();
    }).then(flush);
  });

  window.addEventListener("online", flush);
  render().then(flush);
})();
