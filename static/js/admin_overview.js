/* The admin home's overview charts: reads each chart's data from its json_script element (no inline
   script: the Content-Security-Policy forbids it) and draws it with the vendored Chart.js. Every chart
   has a table with the same numbers next to it. */
(function () {
  "use strict";

  function draw() {
    if (typeof window.Chart === "undefined") {
      return; // the table stays: the numbers are there without the chart
    }
    var canvases = document.querySelectorAll("canvas[data-overview-chart]");
    var colours = ["#0f6cbd", "#107c10", "#8a6d00", "#c50f1f"];
    for (var i = 0; i < canvases.length; i++) {
      var canvas = canvases[i];
      var source = document.getElementById(canvas.getAttribute("data-overview-chart"));
      if (!source) {
        continue;
      }
      var data = JSON.parse(source.textContent);
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: data.series.map(function (series, n) {
            return { label: series.label, data: series.values, backgroundColor: colours[n % colours.length] };
          })
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
          plugins: { legend: { position: "bottom" } }
        }
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
