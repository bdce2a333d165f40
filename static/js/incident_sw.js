/* Service worker for the report form: keeps the form and its assets so that it opens
   without signal. Reports themselves wait in the page's IndexedDB outbox
   (incident_outbox.js), each with the identity it got when it was made, so the kept HTML
   never decides one; POSTs pass straight through here.

   Network first, the kept copy when the network fails or keeps silent for a few seconds
   (a weak signal hangs rather than fails). Only a page actually served is kept: never a
   redirect to the login page in its place. */
"use strict";
var CACHE = "incident-report-v2";
var PAGE = "/incidents/report/";
var NETWORK_WAIT_MS = 4000;

function keep(request, response) {
  if (!response.ok || response.redirected || response.type !== "basic") return;
  var copy = response.clone();
  caches.open(CACHE).then(function (cache) { return cache.put(request, copy); }).catch(function () {});
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    fetch(PAGE, { credentials: "same-origin" })
      .then(function (response) { keep(PAGE, response); })
      .catch(function () {})
  );
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys()
      .then(function (names) {
        return Promise.all(names.filter(function (n) { return n.indexOf("incident-report-") === 0 && n !== CACHE; })
          .map(function (n) { return caches.delete(n); }));
      })
      .then(function () { return self.clients.claim(); })
  );
});

function networkFirst(request) {
  return new Promise(function (resolve) {
    var done = false;
    function answer(response) { if (!done && response) { done = true; resolve(response); } }
    function kept() { return caches.match(request, { ignoreVary: true }); }
    var timer = setTimeout(function () { kept().then(answer); }, NETWORK_WAIT_MS);
    fetch(request).then(
      function (response) {
        clearTimeout(timer);
        keep(request, response);
        answer(response);
      },
      function () {
        clearTimeout(timer);
        kept().then(function (hit) { answer(hit || Response.error()); });
      }
    );
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  var cacheable = url.pathname === PAGE || url.pathname.indexOf("/static/") === 0 || url.pathname === "/jsi18n/";
  if (!cacheable) return;
  event.respondWith(networkFirst(request));
});
