/* Bulk invitation page: keeps the progress bar and counts current by polling the job's JSON endpoint
   until the job has finished. Plain JavaScript, served by the project (no CDN). */
(function () {
  "use strict";

  var box = document.getElementById("bulk-job");
  if (!box) {
    return;
  }
  var url = box.getAttribute("data-progress-url");
  var DONE = { finished: true, failed: true };

  function setText(name, value) {
    var nodes = box.querySelectorAll('[data-field="' + name + '"]');
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].textContent = value;
    }
  }

  function show(data) {
    ["stateLabel", "processed", "total", "percent", "created", "alreadyInvited", "errors"].forEach(function (name) {
      setText(name, data[name]);
    });
    var bar = box.querySelector('[data-field="bar"]');
    if (bar) {
      bar.max = data.total || 1;
      bar.value = data.processed;
      bar.textContent = data.percent + "%";
    }
    var failure = box.querySelector('[data-field="failure"]');
    if (failure) {
      failure.textContent = data.failure || "";
      failure.style.display = data.failure ? "" : "none"; // the admin's .errornote style wins over [hidden]
    }
    box.setAttribute("data-state", data.state);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        show(data);
        if (!DONE[data.state]) {
          window.setTimeout(poll, 1500);
        } else if (data.errors && !document.getElementById("bulk-row-errors")) {
          window.location.reload(); // the rows that failed are listed by the page itself
        }
      })
      .catch(function () {
        window.setTimeout(poll, 5000); // the server may be busy or restarting: try again, less often
      });
  }

  if (!DONE[box.getAttribute("data-state")]) {
    window.setTimeout(poll, 1000);
  }
})();
