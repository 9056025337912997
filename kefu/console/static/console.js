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
// Log an entry: look the caller up as the number or name is typed (GET /entries/callers, a
// JSON read under the session). A pick fills the contact, name, number and customer; typing
// again drops the pick, and without this script the service finds the caller itself.
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("caller-matches");
  var contact = document.getElementById("entry-contact");
  if (!box || !contact) { return; }
  var number = document.getElementById("entry-number");
  var name = document.getElementById("entry-name");
  var customer = document.getElementById("entry-customer");
  var timer = null;
  var asked = 0;
  function show(items) {
    box.textContent = "";
    if (!items.length) {
      var none = document.createElement("p");
      none.className = "quiet";
      none.textContent = box.getAttribute("data-empty");
      box.appendChild(none);
      return;
    }
    items.forEach(function (c) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "match";
      b.setAttribute("data-contact", String(c.contact_id));
      b.textContent = box.getAttribute("data-pick") + ": " + c.name + " · " + (c.customer_code || c.customer) +
        (c.numbers.length ? " · " + c.numbers.join(", ") : "");
      b.addEventListener("click", function () {
        contact.value = String(c.contact_id);
        name.value = c.name;
        if (c.numbers.length && !number.value) { number.value = c.numbers[0]; }
        customer.value = c.customer_code || String(c.customer_id);
        box.textContent = "";
      });
      box.appendChild(b);
    });
  }
  function lookUp(event) {
    contact.value = "";
    var q = event.target.value.trim();
    window.clearTimeout(timer);
    if (q.length < 2) { box.textContent = ""; return; }
    timer = window.setTimeout(function () {
      var mine = ++asked;
      fetch(event.target.getAttribute("data-lookup") + "?q=" + encodeURIComponent(q), {
        credentials: "same-origin", headers: { "Accept": "application/json" }
      }).then(function (r) { return r.ok ? r.json() : { items: [] }; })
        .then(function (data) { if (mine === asked) { show(data.items); } })
        .catch(function () { box.textContent = ""; });
    }, 250);
  }
  [number, name].forEach(function (input) { input.addEventListener("input", lookUp); });
});
