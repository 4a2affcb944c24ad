/* Draws the report charts from the JSON each figure embeds; the tables below them stay the accessible source. */
(function () {
  "use strict";
  var colours = ["#b3261e", "#1456b8", "#1e7b34", "#9a6400"];
  function draw() {
    if (typeof window.Chart === "undefined") { return; }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.getAttribute("data-chart"));
      if (!source) { return; }
      var spec = JSON.parse(source.textContent);
      var datasets = [];
      ["values", "values2", "values3"].forEach(function (key, i) {
        if (spec[key]) { datasets.push({ data: spec[key], backgroundColor: colours[i], label: (spec.series || [])[i] || "" }); }
      });
      new window.Chart(canvas, {
        type: spec.type || "bar",
        data: { labels: spec.labels, datasets: datasets },
        options: { animation: false, responsive: true, maintainAspectRatio: false,
                   plugins: { legend: { display: datasets.length > 1 } } }
      });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
}());
