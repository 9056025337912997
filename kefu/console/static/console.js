// kefu console: a little progressive behaviour; every page works without it.
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  // One click, one step: a second click while the first is on its way would post twice.
  window.setTimeout(function () {
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
  }, 0);
});
document.addEventListener("DOMContentLoaded", function () {
  // Filters that are selects apply at once on wide screens.
  var filters = document.getElementById("filters");
  if (filters && window.matchMedia("(min-width: 800px)").matches) {
    filters.querySelectorAll("select").forEach(function (s) {
      s.addEventListener("change", function () { filters.submit(); });
    });
  }
});
