/* Service worker for the household-visit forms (/registry/): keeps each visit form a grid worker
   has opened, with its assets, so that it opens again without signal; the visits wait in
   visit_outbox.js's IndexedDB outbox. The page that registers it asks it to keep the page at once
   (a "keep" message). The machinery is offline_pages.js, served in front of this script. */
"use strict";
var VISIT_FORM = /^\/registry\/(houses|units)\/\d+\/visit\/$/;

offlinePages({
  cache: "registry-visit-v1",
  prefix: "registry-visit-",
  cacheable: function (url) {
    return VISIT_FORM.test(url.pathname) || url.pathname.indexOf("/static/") === 0 || url.pathname === "/jsi18n/";
  },
});
