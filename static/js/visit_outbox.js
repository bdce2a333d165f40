/* The household-visit outbox: the incident outbox's pattern (incident_outbox.js) for a second
   kind of record. A visit is kept on the phone (IndexedDB, its own database) until the server has
   answered it for good. Its identity (client_uuid) is made here when the visit is saved, never by
   the page, so every retry sends the same identity and the server, idempotent by it, records the
   visit once. States: waiting (sent again later, same identity), sent (visit #N), refused (the
   server's field errors, kept for the worker). The network wait reuses IncidentOutbox.timedFetch. */
(function () {
  "use strict";
  var form = document.getElementById("visit-form");
  if (!form || !window.indexedDB) return;
  // The registry's service worker keeps this form and its assets, so it opens again offline.
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/registry/sw.js", { scope: "/registry/" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      var assets = Array.prototype.map.call(
        document.querySelectorAll("script[src], link[rel=stylesheet][href]"),
        function (el) { return el.src || el.href; }
      );
      navigator.serviceWorker.addEventListener("message", function (event) {
        if (event.data && event.data.kept) document.body.dataset.visitKept = "1";
      });
      registration.active.postMessage({ keep: [location.href].concat(assets) });
    }).catch(function () {});
  }
  var box = document.getElementById("visit-outbox");
  var owner = form.dataset.owner;
  var RETRY_FIRST_MS = 2000, RETRY_MAX_MS = 30000, SEND_WAIT_MS = 20000;
  // A sent visit keeps only its number, for the list; it is let go after a week or beyond the
  // last twenty. What was typed (phones, a new resident's ID number) leaves the phone once the
  // server has it: a shared phone keeps no one's personal data longer than it must.
  var SENT_KEEP_MS = 7 * 24 * 3600 * 1000, SENT_KEEP = 20;
  var say = box.dataset; // the page's own words (translated on the server)
  var opening = null;

  function db() {
    if (!opening) {
      opening = new Promise(function (resolve, reject) {
        var open = indexedDB.open("anshun-visits", 1);
        open.onupgradeneeded = function () { open.result.createObjectStore("visits", { keyPath: "client_uuid" }); };
        open.onsuccess = function () { resolve(open.result); };
        open.onerror = function () { opening = null; reject(open.error); };
      });
    }
    return opening;
  }
  function run(mode, work) {
    return db().then(function (handle) {
      return new Promise(function (resolve, reject) {
        var tx = handle.transaction("visits", mode);
        var request = work(tx.objectStore("visits"));
        tx.oncomplete = function () { resolve(request && request.result); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }
  function put(record) { return run("readwrite", function (s) { s.put(record); }); }
  function all() {
    return run("readonly", function (s) { return s.getAll(); }).then(function (records) {
      var mine = (records || []).filter(function (r) { return r.owner === owner; })
        .sort(function (a, b) { return a.created - b.created; });
      var now = Date.now();
      var sent = mine.filter(function (r) { return r.state === "sent"; });
      var old = sent.filter(function (r, i) {
        return now - (r.sentAt || 0) > SENT_KEEP_MS || i < sent.length - SENT_KEEP;
      });
      var stale = sent.filter(function (r) { return r.body && old.indexOf(r) < 0; });
      if (!old.length && !stale.length) return mine;
      return run("readwrite", function (s) {
        old.forEach(function (r) { s.delete(r.client_uuid); });
        stale.forEach(function (r) { delete r.body; s.put(r); }); // sent by an earlier version
      }).then(function () { return mine.filter(function (r) { return old.indexOf(r) < 0; }); });
    });
  }
  function newIdentity() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function csrf() {
    var found = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return found ? decodeURIComponent(found[1]) : form.querySelector("[name=csrfmiddlewaretoken]").value;
  }

  /* The visit as the API takes it, read from the form when it is saved. */
  function payload() {
    var data = new FormData(form);
    var body = {
      visited_on: data.get("visited_on"), note: data.get("note") || "",
      moved_out: data.getAll("moved_out").map(Number), phones: {}, new_residents: [],
      incident_category: data.get("incident_category") || "", incident_description: data.get("incident_description") || "",
    };
    if (form.dataset.unit) body.unit = Number(form.dataset.unit); else body.house = Number(form.dataset.house);
    data.forEach(function (value, key) {
      if (key.indexOf("phone_") === 0 && value) body.phones[key.slice(6)] = String(value);
    });
    if (data.get("new_name")) {
      body.new_residents.push({ name: data.get("new_name"), id_number: data.get("new_id_number") || "",
        phone: data.get("new_phone") || "", kind: "registered" });
    }
    return body;
  }

  function render() {
    return all().then(function (records) {
      box.textContent = "";
      records.forEach(function (r) {
        var line = document.createElement("p");
        line.className = "outbox-" + r.state;
        line.dataset.state = r.state;
        if (r.state === "sent") line.textContent = say.sent + " #" + r.visit;
        else if (r.state === "refused") line.textContent = say.refused + " " + (r.errors || []).join(" ");
        else line.textContent = say.waiting;
        box.appendChild(line);
      });
    });
  }

  function sendOne(record) {
    var body = {};
    Object.keys(record.body).forEach(function (k) { body[k] = record.body[k]; });
    body.client_uuid = record.client_uuid;
    return window.IncidentOutbox.timedFetch(form.dataset.api, {
      method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
    }, SEND_WAIT_MS).then(function (response) {
      if (response.status === 201 || response.status === 200) {
        return response.json().then(function (visit) {
          record.state = "sent"; record.visit = visit.id; record.sentAt = Date.now();
          delete record.body;
        });
      }
      if (response.status >= 400 && response.status < 500 && [401, 403, 408, 429].indexOf(response.status) < 0) {
        return response.json().catch(function () { return {}; }).then(function (errors) {
          record.state = "refused";
          record.errors = Object.keys(errors || {}).map(function (k) { return [].concat(errors[k]).join(" "); });
        });
      }
      record.tries = (record.tries || 0) + 1; // server trouble or signed out: later, same identity
    }, function () { record.tries = (record.tries || 0) + 1; }).then(function () { return put(record); });
  }

  var delay = RETRY_FIRST_MS, timer = null, running = null;
  function flush() {
    if (running) return running;
    clearTimeout(timer);
    var send = function () {
      return all().then(function (records) {
        var waiting = records.filter(function (r) { return r.state === "waiting"; });
        return waiting.reduce(function (chain, r) {
          return chain.then(function () { return sendOne(r); });
        }, Promise.resolve()).then(function () { return all(); });
      });
    };
    var exclusive = navigator.locks && navigator.locks.request
      ? navigator.locks.request("anshun-visit-outbox", send) : send();
    running = exclusive.then(function (records) {
      running = null;
      var left = records.filter(function (r) { return r.state === "waiting"; }).length;
      if (left) { timer = setTimeout(flush, delay); delay = Math.min(delay * 2, RETRY_MAX_MS); } else { delay = RETRY_FIRST_MS; }
      return render();
    }, function () { running = null; timer = setTimeout(flush, delay); });
    return running;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var record = { client_uuid: newIdentity(), owner: owner, body: payload(), created: Date.now(), state: "waiting", tries: 0 };
    put(record).then(function () {
      form.reset();
      return render();
    }).then(flush);
  });
  window.addEventListener("online", function () { delay = RETRY_FIRST_MS; flush(); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) flush(); });
  render().then(flush);
})();
