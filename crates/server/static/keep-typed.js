// The language switch loads the same page again in the other language. What
// was typed or chosen in its forms goes along, so that a desk form half
// filled in is not lost: kept in this tab's sessionStorage from the click
// until the page shows again, and never a password or a hidden field.
// Without this script the page comes back empty, as before.
(function () {
  "use strict";
  var KEY = "si-typed";
  var KEPT_FOR_MS = 60 * 1000;
  var SKIPPED = ["password", "hidden", "submit", "button", "reset", "file", "image"];

  function fields() {
    return Array.prototype.filter.call(
      document.querySelectorAll("form input[name], form select[name], form textarea[name]"),
      function (field) {
        return SKIPPED.indexOf(field.type) < 0 && !field.disabled;
      }
    );
  }

  function keep() {
    var typed = fields().map(function (field) {
      var checkable = field.type === "radio" || field.type === "checkbox";
      return {
        name: field.name,
        value: field.value,
        checked: checkable ? field.checked : null
      };
    });
    try {
      sessionStorage.setItem(KEY, JSON.stringify({
        page: location.pathname + location.search,
        at: Date.now(),
        typed: typed
      }));
    } catch (e) {
      // Storage refused (a private window, or full): the page comes back empty.
    }
  }

  function restore() {
    var kept;
    try {
      kept = JSON.parse(sessionStorage.getItem(KEY));
      sessionStorage.removeItem(KEY);
    } catch (e) {
      return;
    }
    if (!kept || kept.page !== location.pathname + location.search ||
        !(Date.now() - kept.at < KEPT_FOR_MS)) {
      return;
    }
    var byName = {};
    fields().forEach(function (field) {
      (byName[field.name] = byName[field.name] || []).push(field);
    });
    kept.typed.forEach(function (entry) {
      (byName[entry.name] || []).forEach(function (field) {
        if (entry.checked === null) {
          if (field.type !== "radio" && field.type !== "checkbox") field.value = entry.value;
        } else if (field.value === entry.value) {
          field.checked = entry.checked;
        }
      });
    });
  }

  restore();
  document.querySelectorAll("a[data-keeps-typed]").forEach(function (link) {
    link.addEventListener("click", keep);
  });
})();
