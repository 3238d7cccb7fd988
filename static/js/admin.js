// Django's split date/time field labels neither of its two inputs (its <label> has no "for"):
// name each by the field and its own word, "Due at: date", "Due at: time". Admin forms are
// only ever used with JS on (the calendar, the autocompletes), so this is where it goes.
// A tabular inline (lines of a lead's liens, a team's members) and an editable changelist
// label their columns, not their inputs: name each by its column and its line or row,
// "Balance, line 2", "Position, Opening".
// A read-only inline is a table that scrolls sideways on a phone with nothing in it to focus:
// make it a named region the keyboard can reach and scroll.
// The Django admin's autocomplete boxes (select2) are named by their selection, which is empty
// until something is picked: name each one by its field's label too. Boxes appear on page load
// and when an inline row is added, so watch for them rather than run once.
(function () {
  "use strict";
  function name(selection) {
    if (selection.dataset.named) return;
    var container = selection.closest(".select2-container");
    var select = container && container.previousElementSibling;
    if (!select || select.tagName !== "SELECT" || !select.id) return;
    var label = document.querySelector("label[for='" + select.id + "']");
    if (!label) {
      // In a tabular inline the select has no label, only its column (named above).
      nameFromColumn(select);
      if (!select.getAttribute("aria-label")) return;
      label = document.createElement("span");
      label.hidden = true;
      label.textContent = select.getAttribute("aria-label");
      select.parentElement.appendChild(label);
    }
    if (!label.id) label.id = select.id + "_label";
    var rendered = selection.getAttribute("aria-labelledby");
    // The selection's text box is a role="textbox" of its own, empty until something is picked.
    var box = rendered && document.getElementById(rendered);
    if (box) box.setAttribute("aria-labelledby", label.id + " " + rendered);
    selection.setAttribute("aria-labelledby", label.id + (rendered ? " " + rendered : ""));
    selection.dataset.named = "1";
  }
  function nameSplitDateTime(paragraph) {
    var row = paragraph.closest(".form-row, td");
    var field = row && row.querySelector("label:not([for])");
    var fieldName = field ? field.textContent.trim().replace(/:$/, "") : "";
    Array.prototype.forEach.call(paragraph.querySelectorAll("input"), function (input) {
      if (input.labels.length || input.getAttribute("aria-label")) return;
      var word = input.previousSibling;
      var part = word && word.nodeType === Node.TEXT_NODE ? word.textContent.trim().replace(/:$/, "") : "";
      input.setAttribute("aria-label", [fieldName, part.toLowerCase()].filter(Boolean).join(": "));
    });
  }
  function nameFromColumn(control) {
    if (control.type === "hidden" || control.labels && control.labels.length || control.getAttribute("aria-label")) return;
    var cell = control.closest("td");
    var table = cell && cell.closest(".tabular table, table#result_list");
    var header = table && table.tHead && table.tHead.rows[0].cells[cell.cellIndex];
    var column = header ? header.textContent.trim().replace(/\s+/g, " ") : "";
    if (!column) return;
    // A changelist row is named by its link column; an inline's rows are numbered.
    var row = cell.parentElement;
    var rowName = row.querySelector("th") ? row.querySelector("th").textContent.trim()
      : "line " + (Array.prototype.indexOf.call(table.tBodies[0].rows, row) + 1);
    control.setAttribute("aria-label", column + ", " + rowName);
  }
  function reachable(group) {
    if (group.dataset.reachable || group.querySelector("input:not([type=hidden]), select, textarea, a[href], button")) return;
    var heading = group.querySelector("h2[id]");
    group.setAttribute("tabindex", "0");
    group.setAttribute("role", "region");
    if (heading) group.setAttribute("aria-labelledby", heading.id);
    group.dataset.reachable = "1";
  }
  function nameAll(root) {
    Array.prototype.forEach.call(root.querySelectorAll(".tabular td input, .tabular td select, .tabular td textarea, #result_list td input, #result_list td select, #result_list td textarea"), nameFromColumn);
    Array.prototype.forEach.call(root.querySelectorAll(".inline-group[data-inline-type='tabular']"), reachable);
    Array.prototype.forEach.call(root.querySelectorAll("p.datetime"), nameSplitDateTime);
    Array.prototype.forEach.call(root.querySelectorAll(".select2-selection[role='combobox']"), name);
  }
  document.addEventListener("DOMContentLoaded", function () {
    nameAll(document);
    new MutationObserver(function () { nameAll(document); })
      .observe(document.body, { childList: true, subtree: true });
  });
})();
