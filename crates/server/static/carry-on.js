// A relying party's form, posted again from this site so that the session
// cookie comes along (oidc/carry_on.rs). Without this script the member
// presses the button.
(function () {
  "use strict";
  var form = document.getElementById("carry-on");
  if (form) form.submit();
})();
