// The guide's order at the desk: which account, existing or new, is asked
// only when the member gets a login account ("Ja"). Without this script both
// questions show, and the server ignores the second after "Nee".
(function () {
  "use strict";
  var which = document.querySelector("fieldset[data-account-choice]");
  var no = document.querySelector("input[name=use_account][value=nee]");
  if (!which || !no) return;
  function update() {
    which.hidden = no.checked;
  }
  document.querySelectorAll("input[name=use_account]").forEach(function (radio) {
    radio.addEventListener("change", update);
  });
  update();
})();
