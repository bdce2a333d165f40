/* Service worker for the household-visit forms (/registry/): keeps each visit form a grid worker
   has opened, with its assets, so that it opens again without signal. The visits themselves wait
   in the page's IndexedDB outbox (visit_outbox.js), each with the identity it got when it was
   saved, so the kept HTML never decides one; POSTs pass straight through here.

   The incident worker's pattern (incident_sw.js): network first, the kept copy when the network
   fails or keeps silent for a few seconds (a weak signal hangs rather than fails), and only a page
   actually served is kept, never a redirect to the login page in its place. The first page that
   registers this worker is not yet served through it, so that page asks it (a "keep" message) to
   fetch and keep the page and its scripts and styles at once. */
"use strict";
var CACHE = "registry-visit-v1";
var NETWORK_WAIT_MS = 4000;
var FORM = /^\/registry\/(houses|units)\/\d+\/visit\/$/;

function cacheable(url) {
  if (url.origin !== self.location.origin) return false;
  return FORM.test(url.pathname) || url.pathname.indexOf("/static/") === 0 || url.pathname === "/jsi18n/";
}

function keep(request, response) {
  if (!response.ok || response.redirected || response.type !== "basic") return Promise.resolve();
  var copy = response.clone();
  return caches.open(CACHE).then(function (cache) { return cache.put(request, copy); }).catch(function () {});
}

self.addEventListener("install", function () { self.skipWaiting(); });

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys()
      .then(function (names) {
        return Promise.all(names.filter(function (n) { return n.indexOf("registry-visit-") === 0 && n !== CACHE; })
          .map(function (n) { return caches.delete(n); }));
      })
      .then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("message", function (event) {
  var urls = (event.data && event.data.keep) || [];
  event.waitUntil(Promise.all(urls.map(function (href) {
    var url = new URL(href, self.location.origin);
    if (!cacheable(url)) return Promise.resolve();
    return fetch(url.href, { credentials: "same-origin" })
      .then(function (response) { return keep(url.href, response); })
      .catch(function () {});
  })).then(function () {
    if (event.source) event.source.postMessage({ kept: urls.length });
  }));
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
  if (request.method !== "GET" || !cacheable(new URL(request.url))) return;
  event.respondWith(networkFirst(request));
});
