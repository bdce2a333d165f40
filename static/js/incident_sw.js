/* Service worker for the report form (/incidents/report/): keeps the form and its assets so that it
   opens without signal; the reports wait in incident_outbox.js's IndexedDB outbox. The machinery is
   offline_pages.js, served in front of this script. */
"use strict";
var REPORT_FORM = "/incidents/report/";

offlinePages({
  cache: "incident-report-v2",
  prefix: "incident-report-",
  precache: [REPORT_FORM],
  cacheable: function (url) {
    return url.pathname === REPORT_FORM || url.pathname.indexOf("/static/") === 0 || url.pathname === "/jsi18n/";
  },
});
