/* Draws every <canvas data-chart="ID"> from the Chart.js configuration in the JSON script #ID
 * (built on the server by anshun/charts.py), then marks the page with data-charts-ready. */
(function () {
  "use strict";
  document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    const source = document.getElementById(canvas.dataset.chart);
    if (source) new Chart(canvas, JSON.parse(source.textContent));
  });
  document.body.dataset.chartsReady = "1";
})();
