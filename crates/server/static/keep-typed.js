// The language switch loads the same page again in the other language. What
// was typed or chosen in its forms goes along, so that a desk form half
// filled in is not lost: kept in this tab's sessionStorage from the click
// until the page shows again. Never a password or a hidden field, except
// those marked data-kept: the desk's details carried from its first step,
// which come back in that step's fields. Without this script the page comes
// back empty, as before. Loaded in the head with defer, it restores before
// the page's own scripts run, so that they see the restored choices.
(function () {
  "use strict";
  var KEY = "si-typed";
  var KEPT_FOR_MS = 60 * 1000;
  var NEVER = ["password", "submit", "button", "reset", "file", "image"];

  function kept(field) {
    if (NEVER.indexOf(field.type) >= 0 || field.disabled || field.hasAttribute("hidden")) return false;
    return field.type !== "hidden" || field.hasAttribute("data-kept");
  }

  function fields() {
    return Array.prototype.slice.call(
      document.querySelectorAll("form input[name], form select[name], form textarea[name]")
    );
  }

  function checkable(field) {
    return field.type === "radio" || field.type === "checkbox";
  }

  function keep(event) {
    // A link opened in another tab or window leaves this page as it is.
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    var typed = fields().filter(kept).map(function (field) {
      return { name: field.name, value: field.value, checked: checkable(field) ? field.checked : null };
    });
    try {
      sessionStorage.setItem(KEY, JSON.stringify({ page: location.pathname, at: Date.now(), typed: typed }));
    } catch (e) {
      // Storage refused (a private window, or full): the page comes back empty.
    }
  }

  function restore() {
    var found;
    try {
      found = JSON.parse(sessionStorage.getItem(KEY));
      sessionStorage.removeItem(KEY);
    } catch (e) {
      return;
    }
    if (!found || found.page !== location.pathname || !(Date.now() - found.at < KEPT_FOR_MS)) return;
    var byName = {};
    fields().forEach(function (field) {
      if (field.type === "hidden") return;
      (byName[field.name] = byName[field.name] || []).push(field);
    });
    found.typed.forEach(function (entry) {
      (byName[entry.name] || []).forEach(function (field) {
        if (!checkable(field)) {
          field.value = entry.value;
        } else if (entry.checked === null) {
          // A choice carried as a plain value: the option with that value.
          field.checked = field.value === entry.value;
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
