/* The offline machinery both service workers share (incident_sw.js for the report form,
   registry_sw.js for the household-visit forms): served in front of each worker's own script by
   ``anshun.views.service_worker_response``, so there is one copy of it.

   Network first; the kept copy when the network fails or keeps silent for a few seconds (a weak
   signal hangs rather than fails). Only a page actually served is kept, never a redirect to the
   login page in its place. Records a form makes wait in that page's IndexedDB outbox, each with the
   identity it got when it was made, so the kept HTML never decides one; POSTs pass straight
   through. ``precache`` is fetched when the worker installs; a page may also ask the worker (a
   "keep" message) to fetch and keep itself and its scripts and styles at once, since the first page
   that registers a worker is not yet served through it. */
function offlinePages(options) {
  "use strict";
  var NETWORK_WAIT_MS = 4000;

  function cacheable(url) {
    return url.origin === self.location.origin && options.cacheable(url);
  }

  function keep(request, response) {
    if (!response.ok || response.redirected || response.type !== "basic") return Promise.resolve();
    var copy = response.clone();
    return caches.open(options.cache).then(function (cache) { return cache.put(request, copy); }).catch(function () {});
  }

  function fetchAndKeep(href) {
    return fetch(href, { credentials: "same-origin" })
      .then(function (response) { return keep(href, response); })
      .catch(function () {});
  }

  self.addEventListener("install", function (event) {
    event.waitUntil(Promise.all((options.precache || []).map(fetchAndKeep)));
    self.skipWaiting();
  });

  self.addEventListener("activate", function (event) {
    event.waitUntil(
      caches.keys()
        .then(function (names) {
          return Promise.all(names.filter(function (n) { return n.indexOf(options.prefix) === 0 && n !== options.cache; })
            .map(function (n) { return caches.delete(n); }));
        })
        .then(function () { return self.clients.claim(); })
    );
  });

  self.addEventListener("message", function (event) {
    var urls = (event.data && event.data.keep) || [];
    event.waitUntil(Promise.all(urls.map(function (href) {
      var url = new URL(href, self.location.origin);
      return cacheable(url) ? fetchAndKeep(url.href) : Promise.resolve();
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
}
