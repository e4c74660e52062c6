/* Sign-in log: draws sign-ins and failures per day with the vendored Chart.js, from the numbers the page
   carries in a json_script element (the same numbers are in a table for screen readers). */
(function () {
  "use strict";

  var canvas = document.getElementById("sign-in-chart");
  var data = document.getElementById("sign-in-chart-data");
  if (!canvas || !data || typeof window.Chart === "undefined") {
    return;
  }
  var rows = JSON.parse(data.textContent);
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: rows.map(function (row) { return row.day; }),
      datasets: [
        { label: canvas.getAttribute("data-label-sign-ins"), data: rows.map(function (row) { return row.signIns; }),
          backgroundColor: "#0f6cbd" },
        { label: canvas.getAttribute("data-label-failures"), data: rows.map(function (row) { return row.failures; }),
          backgroundColor: "#c50f1f" }
      ]
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
    }
  });
})();
