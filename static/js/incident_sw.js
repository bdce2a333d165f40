/* Service worker for the report form: keeps the form and its assets so that it opens
   without signal. Reports themselves wait in the page's IndexedDB outbox
   (incident_report.js); POSTs pass straight through here. */
"use strict";
var CACHE = "incident-report-v1";
var PAGE = "/incidents/report/";

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.add(PAGE); }).catch(function () {}));
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  var cacheable = url.pathname === PAGE || url.pathname.indexOf("/static/") === 0 || url.pathname === "/jsi18n/";
  if (!cacheable) return;
  event.respondWith(
    fetch(request)
      .then(function (response) {
        if (response.ok) {
          var copy = response.clone();
          caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
        }
        return response;
      })
      .catch(function () { return caches.match(request); })
  );
});
