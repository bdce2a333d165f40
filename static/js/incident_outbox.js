/* The report outbox: every report is kept on the phone (IndexedDB) until the server has
   answered it for good, and the answer is kept with it. No DOM here; incident_report.js draws it.

   Identity. A report gets its client UUID in this file, at the moment it is made (add), never
   from the page's HTML: a page the service worker kept offline would otherwise hand every
   report the identity of the one made before it, and the server, idempotent by that UUID,
   would answer with the earlier incident while the new report was stored nowhere.

   States of a record:
     waiting  — not answered yet (no signal, a lost response, signed out, server trouble):
                sent again later with the SAME identity, so a retry can never make a second incident;
     sent     — the server stored it as incident #N (kept a few days so the worker sees it);
     refused  — the server answered no for good (field errors, or the identity belongs to
                another report); kept with the reasons until corrected and sent again or discarded.

   Sending again. A refused report whose content is unchanged keeps its identity (nothing was
   stored under it, and a repeat of the same request is what idempotency is for). A changed
   report, or one refused because its identity is taken, gets a new identity: the same UUID with
   another body is a different request, which the server refuses (409/422) instead of storing. */
(function () {
  "use strict";
  var DB_NAME = "anshun-outbox";
  var DB_VERSION = 2;
  var FIELDS = ["category", "description", "priority", "longitude", "latitude", "source"];
  var SENT_KEEP_MS = 7 * 24 * 3600 * 1000;
  var SENT_KEEP = 20;
  var RETRY_FIRST_MS = 2000;
  var RETRY_MAX_MS = 30000;
  var SEND_WAIT_MS = 20000;
  var SEND_WAIT_PHOTO_MS = 120000;

  var opening = null;
  function db() {
    if (!opening) {
      opening = new Promise(function (resolve, reject) {
        var open = indexedDB.open(DB_NAME, DB_VERSION);
        open.onupgradeneeded = function () {
          var names = open.result.objectStoreNames;
          if (!names.contains("reports")) open.result.createObjectStore("reports", { keyPath: "client_uuid" });
          if (!names.contains("grids")) open.result.createObjectStore("grids", { keyPath: "key" });
        };
        open.onsuccess = function () {
          var handle = open.result;
          handle.onversionchange = function () { handle.close(); opening = null; };
          resolve(handle);
        };
        open.onerror = function () { opening = null; reject(open.error); };
      });
    }
    return opening;
  }

  function run(name, mode, work) {
    return db().then(function (handle) {
      return new Promise(function (resolve, reject) {
        var tx = handle.transaction(name, mode);
        var request = work(tx.objectStore(name));
        tx.oncomplete = function () { resolve(request && request.result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
  }
  function get(key) { return run("reports", "readonly", function (s) { return s.get(key); }); }
  function put(record) { return run("reports", "readwrite", function (s) { s.put(record); }); }
  function discard(key) { return run("reports", "readwrite", function (s) { s.delete(key); }); }

  /* A random (version 4) UUID; crypto.randomUUID needs a secure context, getRandomValues does not. */
  function newIdentity() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function contentOf(source) {
    var content = {};
    FIELDS.forEach(function (k) { content[k] = source[k] == null ? "" : String(source[k]); });
    return content;
  }

  /* The reports of this phone's current user, oldest first. Records written by the earlier
     version of this page (no owner, no state) are taken over as they were: waiting or refused.
     Sent records older than a week, or beyond the last twenty, are let go. */
  function list(owner) {
    return run("reports", "readonly", function (s) { return s.getAll(); }).then(function (records) {
      var now = Date.now();
      var fixes = [];
      var mine = [];
      var others = 0;
      records.forEach(function (r) {
        if (!r.state) {
          r.state = r.error ? "refused" : "waiting";
          if (r.error) r.errors = { non_field_errors: [String(r.error)] };
          delete r.error;
          r.owner = r.owner || owner;
          fixes.push(put(r));
        }
        if (r.owner !== owner) { others += 1; return; }
        mine.push(r);
      });
      mine.sort(function (a, b) { return a.created - b.created; });
      var sent = mine.filter(function (r) { return r.state === "sent"; });
      var old = sent.filter(function (r, i) { return now - (r.sentAt || 0) > SENT_KEEP_MS || i < sent.length - SENT_KEEP; });
      old.forEach(function (r) { fixes.push(discard(r.client_uuid)); });
      mine = mine.filter(function (r) { return old.indexOf(r) < 0; });
      mine.others = others;
      return Promise.all(fixes).then(function () { return mine; });
    });
  }

  /* A new report: its identity is made here and now. */
  function add(owner, content, photo) {
    var record = contentOf(content);
    record.client_uuid = newIdentity();
    record.owner = owner;
    record.photo = photo || null;
    record.photoName = photo ? photo.name : null;
    record.created = Date.now();
    record.state = "waiting";
    record.tries = 0;
    return put(record).then(function () { return record; });
  }

  /* A refused report, corrected (content, optionally a new photo) or sent again as it was. */
  function resend(record, content, photo) {
    var next = {};
    Object.keys(record).forEach(function (k) { next[k] = record[k]; });
    var changed = !!photo;
    if (content) {
      var fresh = contentOf(content);
      FIELDS.forEach(function (k) {
        if (fresh[k] !== contentOf(record)[k]) changed = true;
        next[k] = fresh[k];
      });
    }
    if (photo) { next.photo = photo; next.photoName = photo.name; }
    if (changed || record.conflict) next.client_uuid = newIdentity();
    next.state = "waiting";
    next.errors = null;
    next.conflict = false;
    next.other = null;
    next.problem = null;
    next.tries = 0;
    return run("reports", "readwrite", function (s) {
      if (next.client_uuid !== record.client_uuid) s.delete(record.client_uuid);
      s.put(next);
    }).then(function () { return next; });
  }

  function timedFetch(url, options, ms) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, ms) : null;
    if (controller) options.signal = controller.signal;
    return fetch(url, options).then(
      function (response) { clearTimeout(timer); return response; },
      function (error) { clearTimeout(timer); throw error; }
    );
  }

  function normalised(text) { return String(text || "").replace(/\s+/g, " ").trim(); }

  function reasons(body) {
    var out = {};
    function flat(value) {
      if (value == null) return [];
      if (Array.isArray(value)) return value.reduce(function (all, v) { return all.concat(flat(v)); }, []);
      if (typeof value === "object") return Object.keys(value).reduce(function (all, k) { return all.concat(flat(value[k])); }, []);
      return [String(value)];
    }
    if (body && typeof body === "object" && !Array.isArray(body)) {
      Object.keys(body).forEach(function (k) { out[k === "detail" ? "non_field_errors" : k] = flat(body[k]); });
    } else if (body != null) {
      out.non_field_errors = flat(body);
    }
    return out;
  }

  function json(response) { return response.json().catch(function () { return null; }); }

  /* What the server's answer means for the record: sent, refused (for good) or later. */
  function classify(record, response) {
    var status = response.status;
    if (status === 201 || status === 200) {
      return json(response).then(function (incident) {
        if (!incident || !incident.id) return { outcome: "later", problem: "server", status: status };
        // A repeat answers with the incident first stored under this identity. If that is not
        // this report, the identity was used before (a page of an older version): say so rather
        // than count this report as sent.
        if (status === 200 && normalised(incident.description) !== normalised(record.description)) {
          return { outcome: "refused", conflict: true, status: status, errors: {}, other: incident.id };
        }
        return { outcome: "sent", incident: incident.id };
      });
    }
    // Any other 4xx is the server's last word on this request, except those that ask to come
    // back (signed out, CSRF, timeout, too early, too many) and a 409 with Retry-After (the same
    // identity still being processed). 409/410/422 say the identity itself cannot be used again.
    var later = [401, 403, 408, 425, 429];
    if (status >= 400 && status < 500 && later.indexOf(status) < 0 && !(status === 409 && response.headers.get("Retry-After"))) {
      return json(response).then(function (body) {
        return { outcome: "refused", conflict: [409, 410, 422].indexOf(status) >= 0, status: status, errors: reasons(body) };
      });
    }
    return Promise.resolve({
      outcome: "later",
      status: status,
      problem: status === 401 || status === 403 ? "signin" : "server",
    });
  }

  function sendOne(record, csrf) {
    var data = new FormData();
    data.append("client_uuid", record.client_uuid);
    FIELDS.forEach(function (k) { if (record[k]) data.append(k, record[k]); });
    if (!record.source) data.append("source", "grid_worker"); // the intake channel (grid staff's own)
    if (record.photo) data.append("attachments", record.photo, record.photoName || "photo.jpg");
    return timedFetch(
      "/api/incidents/",
      { method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRFToken": csrf(), Accept: "application/json" } },
      record.photo ? SEND_WAIT_PHOTO_MS : SEND_WAIT_MS
    ).then(
      function (response) { return classify(record, response); },
      function () { return { outcome: "later", problem: "offline" }; } // no connection, or no answer in time
    );
  }

  function settle(record, answer) {
    record.lastTry = Date.now();
    if (answer.outcome === "sent") {
      record.state = "sent";
      record.incident = answer.incident;
      record.sentAt = Date.now();
      record.photo = null; // the server has it; do not keep the picture on the phone
      record.errors = null;
      record.problem = null;
    } else if (answer.outcome === "refused") {
      record.state = "refused";
      record.status = answer.status;
      record.errors = answer.errors;
      record.conflict = !!answer.conflict;
      record.other = answer.other || null;
      record.problem = null;
    } else {
      record.tries = (record.tries || 0) + 1;
      record.problem = answer.problem;
      record.status = answer.status || null;
    }
    return put(record);
  }

  /* One sender at a time across the phone's open tabs (Web Locks where the browser has them). */
  function exclusive(work) {
    if (navigator.locks && navigator.locks.request) return navigator.locks.request("anshun-outbox-send", work);
    return work();
  }

  function flush(owner, csrf, onChange) {
    return exclusive(function () {
      return list(owner).then(function (records) {
        var queue = records.filter(function (r) { return r.state === "waiting"; });
        var result = { waiting: queue.length, progressed: false };
        return queue
          .reduce(function (chain, r) {
            return chain.then(function (go) {
              if (!go) return false;
              // Read it again: another tab may have sent or changed it meanwhile.
              return get(r.client_uuid).then(function (current) {
                if (!current || current.state !== "waiting") return true;
                return sendOne(current, csrf).then(function (answer) {
                  return settle(current, answer).then(function () {
                    if (onChange) onChange();
                    if (answer.outcome === "later") return false; // no signal: try the rest later
                    result.waiting -= 1;
                    result.progressed = true;
                    return true;
                  });
                });
              });
            });
          }, Promise.resolve(true))
          .then(function () { return result; });
      });
    });
  }

  /* Keep sending while anything waits: at once, when the phone says it is online, when the page
     is shown again, and on a timer (2 s doubling to 30 s), since a phone can believe it is online
     while nothing gets through. */
  function start(options) {
    var delay = RETRY_FIRST_MS;
    var timer = null;
    var running = null;
    var again = false;
    function go() {
      if (running) { again = true; return running; }
      clearTimeout(timer);
      timer = null;
      running = flush(options.owner, options.csrf, options.onChange)
        .catch(function () { return { waiting: 1, progressed: false }; })
        .then(function (left) {
          running = null;
          if (again) { again = false; return go(); }
          if (left.progressed) delay = RETRY_FIRST_MS;
          if (left.waiting > 0) {
            timer = setTimeout(go, delay);
            delay = Math.min(delay * 2, RETRY_MAX_MS);
          } else {
            delay = RETRY_FIRST_MS;
          }
          if (options.onChange) options.onChange();
          return left;
        });
      return running;
    }
    window.addEventListener("online", function () { delay = RETRY_FIRST_MS; go(); });
    document.addEventListener("visibilitychange", function () { if (!document.hidden) go(); });
    return { now: function () { delay = RETRY_FIRST_MS; return go(); } };
  }

  function saveGrids(key, geojson) {
    return run("grids", "readwrite", function (s) { s.put({ key: key, geojson: geojson, at: Date.now() }); });
  }
  function savedGrids(key) { return run("grids", "readonly", function (s) { return s.get(key); }); }

  window.IncidentOutbox = {
    list: list,
    add: add,
    resend: resend,
    discard: discard,
    start: start,
    timedFetch: timedFetch,
    saveGrids: saveGrids,
    savedGrids: savedGrids,
  };
})();
