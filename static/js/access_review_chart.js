/* Access review progress: a doughnut of approved / denied / don't know / not reviewed with the vendored
   Chart.js, from the numbers the page carries in a json_script element (the table beside it holds the same). */
(function () {
  "use strict";

  var canvas = document.getElementById("access-review-chart");
  var data = document.getElementById("access-review-chart-data");
  if (!canvas || !data || typeof window.Chart === "undefined") {
    return;
  }
  var rows = JSON.parse(data.textContent);
  new window.Chart(canvas, {
    type: "doughnut",
    data: {
      labels: rows.map(function (row) { return row.label; }),
      datasets: [{
        data: rows.map(function (row) { return row.count; }),
        backgroundColor: rows.map(function (row) { return row.color; })
      }]
    },
    options: { responsive: true, maintainAspectRatio: false, animation: false,
               plugins: { legend: { position: "bottom" } } }
  });
})();
