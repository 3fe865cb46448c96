// Ticks off the password rules while the member types. The server checks the
// same rules (and more) on submit; without this script its answer names the
// rules a refused password did not meet.
(function () {
  "use strict";
  var form = document.querySelector("form[data-password-checklist]");
  if (!form) return;
  var password = form.querySelector("#password");
  var repeat = form.querySelector("#repeat");
  var rules = {
    "min-length": function (value) { return Array.from(value).length >= 8; },
    "upper-case": function (value) { return /\p{Uppercase}/u.test(value); },
    "lower-case": function (value) { return /\p{Lowercase}/u.test(value); },
    "digit": function (value) { return /\p{N}/u.test(value); },
    "special": function (value) { return /[^\p{Alphabetic}\p{N}\p{White_Space}]/u.test(value); },
    "same": function (value) { return value.length > 0 && value === repeat.value; }
  };
  function show(item, met) {
    item.classList.toggle("met", met);
    item.classList.toggle("unmet", !met);
    // The list is a live region: only a rule that turns is said again.
    var state = item.querySelector(".visually-hidden");
    var said = met ? state.dataset.met : state.dataset.unmet;
    if (state.textContent !== said) state.textContent = said;
  }
  function update() {
    form.querySelectorAll("li[data-rule]").forEach(function (item) {
      show(item, rules[item.dataset.rule](password.value));
    });
  }
  password.addEventListener("input", update);
  repeat.addEventListener("input", update);
  // A browser may put back what was typed (the back button).
  update();
})();
