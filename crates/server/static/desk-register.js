// The guide's order at the desk: which account, existing or new, is asked
// only when the member gets a login account ("Ja"), and the language of the
// mails only for a new one. Without this script every question shows, and
// the server ignores those that do not apply.
(function () {
  "use strict";
  var which = document.querySelector("fieldset[data-account-choice]");
  var mailLanguage = document.querySelector("fieldset[data-mail-language]");
  var no = document.querySelector("input[name=use_account][value=nee]");
  var existing = document.querySelector("input[name=account_choice][value=existing]");
  if (!which || !mailLanguage || !no || !existing) return;
  function update() {
    which.hidden = no.checked;
    mailLanguage.hidden = no.checked || existing.checked;
  }
  document.querySelectorAll("input[name=use_account], input[name=account_choice]").forEach(function (radio) {
    radio.addEventListener("change", update);
  });
  update();
})();
