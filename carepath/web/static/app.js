// carepath: a little progressive enhancement; every page works without it.
(function () {
  "use strict";
  // Each printed sheet carries #print-head (the patient, the print time) in its top margin.
  function runningHead() {
    var head = document.getElementById("print-head");
    if (!head || !("adoptedStyleSheets" in document)) { return; }
    var quoted = function (text) { return "\"" + text.replace(/[\\"]/g, "\\$&").replace(/\s+/g, " ") + "\""; };
    var sheet = new CSSStyleSheet();
    sheet.replaceSync("@media print { @page { @top-left { content: " + quoted(head.textContent.trim()) +
      "; } @top-right { content: " + quoted(head.getAttribute("data-printed") || "") + "; } } }");
    document.adoptedStyleSheets = document.adoptedStyleSheets.concat([sheet]);
    document.documentElement.classList.add("running-head");
  }
  document.addEventListener("DOMContentLoaded", function () {
    runningHead();
    // On a phone a table's rows are cards: each cell shows its column's name (app.css).
    document.querySelectorAll("main table").forEach(function (table) {
      var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.textContent.trim();
      });
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.prototype.forEach.call(row.children, function (cell, i) {
          if (heads[i] && !cell.hasAttribute("data-label") && !cell.hasAttribute("colspan")) {
            cell.setAttribute("data-label", heads[i]);
          }
        });
      });
    });
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
