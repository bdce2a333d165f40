// The report form's duplicate check: once a place and a category are chosen, ask the server for
// recent reports of the same category nearby (GET /api/incidents/duplicates/, scoped to what the
// worker may see) and list them above the description. A warning only: sending is never blocked,
// and with no signal the form simply shows nothing.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  var box = document.getElementById("duplicate-warning");
  if (!form || !box) return;
  var list = document.getElementById("duplicate-list");
  var lon = document.getElementById("longitude");
  var lat = document.getElementById("latitude");
  var asked = 0;

  function away(metres) {
    return box.dataset.away.replace("__M__", String(Math.round(metres)));
  }

  function show(results) {
    list.textContent = "";
    results.forEach(function (c) {
      var li = document.createElement("li");
      li.dataset.id = String(c.id);
      var link = document.createElement("a");
      link.href = c.url;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = "#" + c.id + " " + c.category;
      li.appendChild(link);
      li.appendChild(document.createTextNode(
        " · " + c.status_label + " · " + away(c.distance_m) + " · " + new Date(c.reported_at).toLocaleDateString()
      ));
      var said = document.createElement("div");
      said.className = "muted";
      said.textContent = c.description;
      li.appendChild(said);
      list.appendChild(li);
    });
    box.hidden = results.length === 0;
    document.body.dataset.duplicates = String(results.length);
  }

  function check() {
    var category = form.category.value;
    if (!category || !lon.value || !lat.value) return;
    var mine = ++asked;
    var url = box.dataset.url + "?category=" + encodeURIComponent(category) +
      "&longitude=" + encodeURIComponent(lon.value) + "&latitude=" + encodeURIComponent(lat.value);
    var fetching = window.IncidentOutbox && window.IncidentOutbox.timedFetch
      ? window.IncidentOutbox.timedFetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }, 8000)
      : fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    fetching
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        if (mine === asked) show(Array.isArray(data.results) ? data.results : []);
      })
      .catch(function () {
        if (mine === asked) show([]); // no signal or refused: no warning, the report goes as usual
      });
  }

  form.addEventListener("placechange", check);
  form.category.addEventListener("change", check);
  form.addEventListener("submit", function () { box.hidden = true; });
})();
