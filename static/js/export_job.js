/* Polls an export job's progress (JSON from the job's status URL) until it is finished, and
 * shows the download link when the file is ready. Without script the page refreshes itself. */
(function () {
  "use strict";
  const root = document.getElementById("export-job");
  if (!root) return;
  const field = (name) => root.querySelector(`[data-field="${name}"]`);
  const finished = ["done", "failed", "expired", "interrupted"];
  function show(job) {
    field("label").textContent = job.label;
    field("progress").value = job.percent;
    field("rows").textContent = job.rows_total === null ? `${job.rows_done}` : `${job.rows_done} / ${job.rows_total}`;
    field("error").textContent = job.error || "";
    const link = field("download");
    if (job.download_url) {
      link.href = job.download_url;
      link.hidden = false;
    }
    root.dataset.state = job.state;
    return finished.includes(job.state);
  }
  function poll() {
    fetch(root.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((job) => {
        if (!show(job)) window.setTimeout(poll, 2000);
      })
      .catch(() => window.setTimeout(poll, 5000));
  }
  poll();
})();
