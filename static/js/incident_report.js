/* The phone report form: place by tapping the map or by GPS, and the outbox (incident_outbox.js).

   Every report goes to the outbox first, with an identity made when it is made, then to the API;
   a report made without signal waits on the phone and is sent when the connection returns. The
   outbox lists what it holds: waiting, sent as #N, or refused with the server's reasons, and a
   refused report can be corrected here and sent again.

   The grid worker's own grid outlines are kept on the phone whenever the page loads them, so a
   form opened without signal still shows them, and a place outside them is warned about before
   the report is queued rather than refused after the signal returns. */
(function () {
  "use strict";
  var outbox = window.IncidentOutbox;
  var gettext = window.gettext || function (s) { return s; };
  var interpolate = window.interpolate || function (s, args, named) {
    return named ? s.replace(/%\((\w+)\)s/g, function (m, k) { return args[k]; }) : s.replace("%s", args[0]);
  };
  var form = document.getElementById("report-form");
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var owner = String(config.user);
  var lon = document.getElementById("longitude");
  var lat = document.getElementById("latitude");
  var hint = document.getElementById("place-hint");
  var formError = document.getElementById("form-error");
  var outsideWarning = document.getElementById("outside-warning");
  var editingNote = document.getElementById("editing");
  var gridsNote = document.getElementById("grids-note");
  var outboxList = document.getElementById("outbox");
  var sentList = document.getElementById("sent");

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/incidents/sw.js", { scope: "/incidents/" }).catch(function () {});
  }

  function csrf() {
    var name = (config.csrfCookie || "csrftoken").replace(/[^\w-]/g, "");
    var found = document.cookie.match(new RegExp("(?:^|;\\s*)" + name + "=([^;]+)"));
    // The cookie is read at send time: a page kept offline may carry a token from before a new sign-in.
    return found ? decodeURIComponent(found[1]) : form.querySelector("[name=csrfmiddlewaretoken]").value;
  }

  // --- map and the worker's grids ---
  var map = L.map("report-map").setView(config.center, config.zoom);
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19 }).addTo(map);
  }
  window.reportMap = map;
  var grids = []; // [{name, polygons}] from the GeoJSON, for the point-in-grid test below

  function inRing(x, y, ring) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }
  function inPolygon(x, y, rings) {
    if (!rings.length || !inRing(x, y, rings[0])) return false;
    for (var k = 1; k < rings.length; k++) if (inRing(x, y, rings[k])) return false;
    return true;
  }
  function gridAt(x, y) {
    for (var i = 0; i < grids.length; i++) {
      for (var p = 0; p < grids[i].polygons.length; p++) {
        if (inPolygon(x, y, grids[i].polygons[p])) return grids[i];
      }
    }
    return null;
  }
  function outsideMyGrids(x, y) { return grids.length > 0 && !gridAt(x, y); }

  function showGrids(geojson) {
    grids = (geojson.features || [])
      .filter(function (f) { return f.geometry && (f.geometry.type === "Polygon" || f.geometry.type === "MultiPolygon"); })
      .map(function (f) {
        return {
          name: (f.properties && f.properties.name) || f.id || "",
          polygons: f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates,
        };
      });
    var layer = L.geoJSON(geojson, {
      style: function () { return { weight: 1, color: "#b71c1c", fillOpacity: 0.05, className: "grid-outline" }; },
      interactive: false,
    }).addTo(map);
    if (layer.getLayers().length) map.fitBounds(layer.getBounds());
  }

  function loadGrids() {
    if (!config.office) {
      document.body.dataset.grids = "none";
      return Promise.resolve();
    }
    var key = owner + ":" + config.office;
    var url = config.api + "grids/?office=" + encodeURIComponent(config.office) + "&page_size=500";
    return outbox
      .timedFetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }, 8000)
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        if (!data || !Array.isArray(data.features)) throw new Error("not GeoJSON");
        showGrids(data);
        document.body.dataset.grids = "live";
        return outbox.saveGrids(key, data).catch(function () {});
      })
      .catch(function () {
        return outbox.savedGrids(key).then(function (saved) {
          gridsNote.hidden = false;
          if (saved) {
            showGrids(saved.geojson);
            document.body.dataset.grids = "saved";
            gridsNote.textContent = interpolate(
              gettext("No signal: these are your grid outlines as saved on %s."),
              [new Date(saved.at).toLocaleString()]
            );
          } else {
            document.body.dataset.grids = "none";
            gridsNote.textContent = gettext("Your grid outlines are not on this phone yet: open this page once with signal.");
          }
        });
      })
      .catch(function () { document.body.dataset.grids = "none"; });
  }

  var marker = null;
  function place(latlng) {
    lat.value = latlng.lat.toFixed(7);
    lon.value = latlng.lng.toFixed(7);
    if (marker) marker.setLatLng(latlng);
    else marker = L.marker(latlng).addTo(map);
    var grid = gridAt(latlng.lng, latlng.lat);
    var outside = outsideMyGrids(latlng.lng, latlng.lat);
    hint.textContent =
      gettext("Place chosen") + ": " + lat.value + ", " + lon.value +
      (grid ? " · " + grid.name : "") +
      (outside ? " · " + gettext("outside your grids") : "");
    hint.dataset.chosen = "1";
    hint.classList.toggle("warning-text", outside);
    outsideWarning.hidden = true;
    form.dispatchEvent(new CustomEvent("placechange")); // the duplicate check listens (incident_duplicates.js)
  }
  map.on("click", function (e) { place(e.latlng); });
  loadGrids().then(function () { document.body.dataset.mapReady = "1"; });

  document.getElementById("use-location").addEventListener("click", function () {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        var latlng = L.latLng(pos.coords.latitude, pos.coords.longitude);
        map.setView(latlng, 16);
        place(latlng);
      },
      function () { hint.textContent = gettext("Your position is not available; tap the map."); },
      { enableHighAccuracy: true, timeout: 15000 }
    );
  });

  // --- the outbox, drawn ---
  var LABELS = {
    location: gettext("Place"),
    longitude: gettext("Place"),
    latitude: gettext("Place"),
    grid: gettext("Place"),
    category: gettext("Category"),
    description: gettext("Description"),
    priority: gettext("Priority"),
    attachments: gettext("Photo"),
    client_uuid: gettext("Report identity"),
  };
  function categoryName(code) {
    var option = form.category.querySelector('option[value="' + (window.CSS && CSS.escape ? CSS.escape(code) : code) + '"]');
    return option ? option.textContent : code;
  }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }
  function button(text, action, r) {
    var b = el("button", "link", text);
    b.type = "button";
    b.dataset.action = action;
    b.addEventListener("click", function () { actions[action](r, b); });
    return b;
  }

  function reasonsList(r) {
    var ul = el("ul", "reasons");
    if (r.other) {
      var li = el("li", null, gettext("The server holds another report under this one's identity") + " (");
      var a = el("a", null, "#" + r.other);
      a.href = "/incidents/" + r.other + "/";
      li.appendChild(a);
      li.appendChild(document.createTextNode("). " + gettext("Sending again gives it a new identity.")));
      ul.appendChild(li);
    }
    var errors = r.errors || {};
    Object.keys(errors).forEach(function (field) {
      [].concat(errors[field]).forEach(function (message) {
        var label = LABELS[field] || (field === "non_field_errors" ? "" : field);
        var text = label ? interpolate(gettext("%(field)s: %(message)s"), { field: label, message: message }, true) : message;
        var item = el("li", null, text);
        item.dataset.field = field;
        ul.appendChild(item);
      });
    });
    if (!ul.children.length) {
      ul.appendChild(el("li", null, interpolate(gettext("The server answered %s."), [String(r.status || "?")])));
    }
    return ul;
  }

  function item(r) {
    var li = el("li", "outbox-item state-" + r.state);
    li.dataset.uuid = r.client_uuid;
    li.dataset.state = r.state;
    var what = el("p", "what");
    what.appendChild(el("strong", null, categoryName(r.category)));
    what.appendChild(document.createTextNode(" · " + r.description.slice(0, 60)));
    what.appendChild(el("span", "muted", " · " + new Date(r.created).toLocaleString()));
    li.appendChild(what);
    var state = el("p", "state");
    if (r.state === "sent") {
      state.appendChild(document.createTextNode(gettext("Sent as") + " "));
      var link = el("a", "incident-link", "#" + r.incident);
      link.href = "/incidents/" + r.incident + "/";
      state.appendChild(link);
    } else if (r.state === "refused") {
      state.textContent = gettext("Refused by the server:");
      li.appendChild(state);
      li.appendChild(reasonsList(r));
      var buttons = el("p", "actions");
      buttons.appendChild(button(gettext("Correct"), "edit", r));
      buttons.appendChild(button(gettext("Send again"), "resend", r));
      buttons.appendChild(button(gettext("Discard"), "discard", r));
      li.appendChild(buttons);
      return li;
    } else {
      var why = r.problem === "signin"
        ? gettext("waiting: sign in again to send it")
        : r.tries
          ? gettext("waiting: no connection, trying again")
          : gettext("waiting");
      state.textContent = why;
    }
    li.appendChild(state);
    return li;
  }

  var drawing = Promise.resolve();
  function render() {
    drawing = drawing.then(function () {
      return outbox.list(owner).then(function (records) {
        var unsent = records.filter(function (r) { return r.state !== "sent"; });
        var sent = records.filter(function (r) { return r.state === "sent"; }).reverse();
        outboxList.replaceChildren.apply(outboxList, unsent.map(item));
        sentList.replaceChildren.apply(sentList, sent.map(item));
        document.getElementById("outbox-empty").hidden = unsent.length > 0;
        document.getElementById("send-now").hidden = !unsent.some(function (r) { return r.state === "waiting"; });
        var others = document.getElementById("outbox-others");
        others.hidden = !records.others;
        others.textContent = interpolate(gettext("%s reports of another user of this phone wait until they sign in."), [String(records.others)]);
        document.body.dataset.outbox = String(unsent.length);
        document.body.dataset.refused = String(unsent.length - unsent.filter(function (r) { return r.state === "waiting"; }).length);
      });
    }).catch(function () {});
    return drawing;
  }

  var sender = outbox.start({ owner: owner, csrf: csrf, onChange: render });
  document.getElementById("send-now").addEventListener("click", function () { sender.now(); });

  // --- correcting a refused report ---
  var editing = null;
  function stopEditing() {
    editing = null;
    editingNote.hidden = true;
    document.getElementById("kept-photo").hidden = true;
  }
  document.getElementById("cancel-edit").addEventListener("click", function () {
    stopEditing();
    form.reset();
  });

  var actions = {
    edit: function (r) {
      editing = r;
      form.category.value = r.category;
      form.description.value = r.description;
      form.priority.value = r.priority || "normal";
      form.attachments.value = "";
      if (r.latitude && r.longitude) {
        var latlng = L.latLng(Number(r.latitude), Number(r.longitude));
        map.setView(latlng, Math.max(map.getZoom(), 15));
        place(latlng);
      }
      editingNote.hidden = false;
      document.getElementById("kept-photo").hidden = !r.photo;
      form.scrollIntoView({ block: "start" });
    },
    resend: function (r) {
      if (editing && editing.client_uuid === r.client_uuid) stopEditing();
      outbox.resend(r, null, null).then(render).then(sender.now);
    },
    discard: function (r, b) {
      // Two taps, so a report is not lost to a slip of the thumb.
      if (b.dataset.armed) {
        if (editing && editing.client_uuid === r.client_uuid) stopEditing();
        outbox.discard(r.client_uuid).then(render);
        return;
      }
      b.dataset.armed = "1";
      b.textContent = gettext("Tap again to discard");
      setTimeout(function () { delete b.dataset.armed; b.textContent = gettext("Discard"); }, 4000);
    },
  };

  // --- making a report ---
  function queue() {
    var content = {
      category: form.category.value,
      description: form.description.value.trim(),
      priority: form.priority.value,
      source: form.source ? form.source.value : "grid_worker",
      longitude: lon.value,
      latitude: lat.value,
    };
    var photo = form.attachments.files[0] || null;
    var saving = editing ? outbox.resend(editing, content, photo) : outbox.add(owner, content, photo);
    return saving.then(function () {
      stopEditing();
      form.description.value = "";
      form.attachments.value = "";
      outsideWarning.hidden = true;
      return render();
    }).then(sender.now);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    formError.hidden = true;
    var missing = !lat.value ? gettext("Tap the map or use your location.") : !form.description.value.trim() ? gettext("Describe what you saw.") : "";
    if (missing) {
      formError.textContent = missing;
      formError.hidden = false;
      return;
    }
    if (outsideMyGrids(Number(lon.value), Number(lat.value))) {
      outsideWarning.hidden = false;
      outsideWarning.scrollIntoView({ block: "center" });
      return;
    }
    queue();
  });
  document.getElementById("send-anyway").addEventListener("click", function () {
    outsideWarning.hidden = true;
    queue();
  });

  render().then(sender.now);
})();
