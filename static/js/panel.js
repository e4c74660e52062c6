// The access panel's small enhancements; every page works without them.
// - A search box with data-filter="#list" filters that list's items (data-name) as one types; without
//   JavaScript the form submits ?q= and the server filters.
// - The organization switcher (a <details>) closes on Escape and on a click elsewhere.
(function () {
  "use strict";

  function setUpFilter(input) {
    var list = document.querySelector(input.getAttribute("data-filter"));
    if (!list) { return; }
    var status = document.querySelector(input.getAttribute("data-filter-status"));
    var empty = list.parentNode.querySelector("[data-filter-empty]");
    var items = Array.prototype.slice.call(list.querySelectorAll("[data-name]"));
    var form = input.form;
    function apply() {
      var needle = input.value.trim().toLowerCase();
      var shown = 0;
      items.forEach(function (item) {
        var match = !needle || item.getAttribute("data-name").indexOf(needle) !== -1;
        item.hidden = !match;
        if (match) { shown += 1; }
      });
      if (empty) { empty.hidden = shown !== 0; }
      if (status) { status.textContent = needle ? shown + " / " + items.length : ""; }
    }
    input.addEventListener("input", apply);
    if (form) {
      form.addEventListener("submit", function (event) {
        // The list on the page already holds every app: filter here instead of reloading.
        if (!list.hasAttribute("data-partial")) { event.preventDefault(); apply(); }
      });
    }
    apply();
  }

  function setUpSwitcher(details) {
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && details.open) {
        details.open = false;
        details.querySelector("summary").focus();
      }
    });
    document.addEventListener("click", function (event) {
      if (details.open && !details.contains(event.target)) { details.open = false; }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-filter]"), setUpFilter);
    Array.prototype.forEach.call(document.querySelectorAll("[data-org-switcher]"), setUpSwitcher);
  });
}());
