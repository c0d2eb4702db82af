// carepath: a little progressive enhancement; every page works without it.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // Take the person to the first field that needs attention.
    var bad = document.querySelector("[aria-invalid='true']");
    if (bad) {
      var box = bad.closest("details");
      if (box) { box.open = true; }
      bad.focus();
    }
    // Ask before an action that cannot be undone.
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
    // A submitted form cannot be sent twice by a double click.
    document.querySelectorAll("form[method='post']").forEach(function (form) {
      form.addEventListener("submit", function () {
        var button = form.querySelector("button[type='submit']");
        if (button) { window.setTimeout(function () { button.disabled = true; }, 0); }
      });
    });
  });
})();
