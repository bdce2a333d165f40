/* Small behaviours every page may use through data attributes (no inline handlers under the CSP):
 *   <button data-print>            opens the print dialog;
 *   <select data-autosubmit>       submits its form when the choice changes. */
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });
  document.querySelectorAll("[data-autosubmit]").forEach((field) => {
    field.addEventListener("change", () => field.form && field.form.submit());
  });
})();
