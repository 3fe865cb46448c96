// Ticks off the password rules while the member types. The server checks the
// same rules (and more) on submit; without this script its answer names the
// rules a refused password did not meet. Whether the password is easy to
// guess only the server can tell: once the guide's five rules are met, the
// script asks it, a moment after the typing stops. The server also tells
// whether the password holds a character that cannot be typed (an invisible
// one from pasting), which would refuse it on submit: that is said with the
// answer, before the password is sent.
(function () {
  "use strict";
  var form = document.querySelector("form[data-password-checklist]");
  if (!form) return;
  var password = form.querySelector("#password");
  var repeat = form.querySelector("#repeat");
  var untypable = form.querySelector("#password-untypable");
  var GUIDE_RULES = ["min-length", "upper-case", "lower-case", "digit", "special"];
  var ASK_AFTER_MS = 300;
  // The last password the server judged, and its answer.
  var judged = { password: null, easy: true };
  // Whether the server's last answer found a character that cannot be
  // typed: said until the next answer, so that it does not flicker (and is
  // not read out again) at every key.
  var untypableFound = false;
  var asking = null;
  var rules = {
    "min-length": function (value) { return Array.from(value).length >= 8; },
    "upper-case": function (value) { return /\p{Uppercase}/u.test(value); },
    "lower-case": function (value) { return /\p{Lowercase}/u.test(value); },
    "digit": function (value) { return /\p{N}/u.test(value); },
    "special": function (value) { return /[^\p{Alphabetic}\p{N}\p{White_Space}]/u.test(value); },
    // Unknown (null) while the server has not judged what is typed: the
    // line stays as it was, so a screen reader does not hear it flip at
    // every key.
    "hard-to-guess": function (value) {
      if (!guideMet(value)) return false;
      return judged.password === value ? !judged.easy : null;
    },
    "same": function (value) { return value.length > 0 && value === repeat.value; }
  };
  function guideMet(value) {
    return GUIDE_RULES.every(function (rule) { return rules[rule](value); });
  }
  // How often one password is asked again while the server is busy.
  var MOST_RETRIES = 3;
  function ask(afterMs, retries) {
    var value = password.value;
    var retried = typeof retries === "number" ? retries : 0;
    clearTimeout(asking);
    if (!guideMet(value) || judged.password === value) return;
    asking = setTimeout(function () {
      fetch("/password/guessable", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ password: value }),
        credentials: "same-origin"
      }).then(function (response) {
        if (response.ok) return response.json();
        // Busy: asked again when the server says, while this is still typed.
        var seconds = parseInt(response.headers.get("Retry-After"), 10);
        if (response.status === 503 && seconds > 0 && retried < MOST_RETRIES) {
          if (password.value === value) ask(seconds * 1000, retried + 1);
          return null;
        }
        throw new Error(response.status);
      }).then(function (answer) {
        if (!answer) return;
        judged = { password: value, easy: answer.easy_to_guess };
        untypableFound = answer.untypable;
        update();
      }).catch(function () {
        // Not told (offline, or busy for long): unticked, so that no tick
        // of an earlier password stays; typing on asks again, and the
        // server judges on submit.
        if (password.value === value) show(form.querySelector("li[data-rule=hard-to-guess]"), false);
      });
    }, typeof afterMs === "number" ? afterMs : ASK_AFTER_MS);
  }
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
      var met = rules[item.dataset.rule](password.value);
      if (met !== null) show(item, met);
    });
    // Nothing is asked while the guide's rules are not met.
    var say = untypableFound && guideMet(password.value);
    if (say && !untypable.firstChild) {
      var alert = document.createElement("p");
      alert.className = "alert";
      alert.textContent = untypable.dataset.text;
      untypable.appendChild(alert);
    } else if (!say && untypable.firstChild) {
      untypable.textContent = "";
    }
  }
  password.addEventListener("input", update);
  password.addEventListener("input", ask);
  repeat.addEventListener("input", update);
  // A browser may put back what was typed (the back button).
  update();
  ask();
})();
