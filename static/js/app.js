// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // A narrow screen folds the sections marked data-fold-narrow (the lead page's: open in
  // the page, for wide screens and for browsers without JavaScript), all but the one the
  // address points into (#timeline after a note). Run at once: the page is parsed.
  (function foldForNarrowScreens() {
    if (!window.matchMedia("(max-width: 991.98px)").matches) return;
    var target = location.hash.length > 1 ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
    Array.prototype.forEach.call(document.querySelectorAll("details[data-fold-narrow]"), function (details) {
      if (!target || !details.contains(target)) details.open = false;
    });
    if (target) target.scrollIntoView();
  })();

  // Whole table rows open their lead (the first link in the row stays the real target).
  document.addEventListener("click", function (event) {
    var row = event.target.closest("tr[data-href]");
    if (!row || event.target.closest("a, button, input, label, select")) return;
    if (event.metaKey || event.ctrlKey) {
      window.open(row.dataset.href, "_blank");
    } else {
      window.location.assign(row.dataset.href);
    }
  });

  // Show only the contact-point field the chosen channel needs.
  function syncChannel(form) {
    var channel = form.querySelector("[name=channel]");
    if (!channel) return;
    var wanted = { call: "phone", sms: "phone", email: "email", mail: "contact", door: "" }[channel.value];
    ["phone", "email", "contact"].forEach(function (name) {
      var wrapper = form.querySelector("#div_id_" + name);
      if (wrapper) wrapper.hidden = name !== wanted;
    });
    var technology = form.querySelector("#div_id_technology");
    if (technology) technology.hidden = channel.value !== "call";
    var words = form.querySelector("#div_id_homeowner_words");
    var stop = form.querySelector("[name=outcome][value=dnc_request]:checked, [name=outcome][value=do_not_contact]:checked");
    if (words) words.hidden = !stop;
  }
  function wire(root) {
    var forms = Array.prototype.slice.call(root.querySelectorAll("form[data-outreach-form]"));
    if (root.matches && root.matches("form[data-outreach-form]")) forms.push(root);
    forms.forEach(function (form) {
      syncChannel(form);
      form.addEventListener("change", function () { syncChannel(form); });
    });
  }
  // Bulk actions on the lead list: show the inputs the chosen action needs; tick all.
  function syncBulk(form) {
    var action = form.querySelector("[name=action]").value;
    Array.prototype.forEach.call(form.querySelectorAll("[data-for]"), function (el) {
      el.hidden = el.dataset.for.split(" ").indexOf(action) === -1;
    });
  }
  function wireBulk() {
    var form = document.querySelector("form[data-bulk-form]");
    if (!form || form.dataset.wired) return;
    form.dataset.wired = "1";
    syncBulk(form);
    form.addEventListener("change", function () { syncBulk(form); });
    var all = document.querySelector("[data-bulk-all]");
    if (all) all.addEventListener("change", function () {
      Array.prototype.forEach.call(document.querySelectorAll("input[name=leads][form=bulk-form]"), function (box) {
        box.checked = all.checked;
      });
    });
  }
  document.addEventListener("DOMContentLoaded", wireBulk);
  // The results (and the bulk form with them) are redrawn by htmx as filters change.
  document.addEventListener("htmx:afterSettle", wireBulk);

  // Keyboard: "/" searches the lead list, "n" goes to the next lead of the call queue (on
  // a lead's page) or opens "New lead" (on the lead list and the dashboard), "q" opens the
  // queue: whatever element of the page carries data-shortcut. Never while typing in a field.
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    if (event.key.length !== 1) return;
    var shortcut = document.querySelector('[data-shortcut="' + CSS.escape(event.key) + '"]');
    if (!shortcut) return;
    event.preventDefault();
    if (shortcut.matches("input, textarea, select")) shortcut.focus();
    else shortcut.click();
  });

  // What arrives marked data-focus-on-load (the gate's refusal, above the form whose button
  // was pressed further down) takes the focus and is scrolled to, so the reason is read.
  function focusArrived(root) {
    var target = root.matches && root.matches("[data-focus-on-load]") ? root : root.querySelector("[data-focus-on-load]");
    if (!target) return;
    target.focus({ preventScroll: true });
    target.scrollIntoView({ block: "start" });
  }

  document.addEventListener("DOMContentLoaded", function () { wire(document); });
  // htmx:load fires on every piece of content htmx swaps in (the form after a refusal).
  document.addEventListener("htmx:load", function (event) {
    wire(event.target);
    focusArrived(event.target);
  });

  // A "Copy" button next to a read-only field (a link shown once): data-copy="#field".
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) return;
    field.select();
    var done = function () { button.innerHTML = '<i class="bi bi-check2" aria-hidden="true"></i> Copied'; };
    if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
    else { document.execCommand("copy"); done(); }
  });

  // A button that undoes something the homeowner holds (their link) asks first: data-confirm="...".
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
  });

  // A link to a form folded away (the offers page's "Open the disclosure form" lands on
  // #evidence-add-disclosure): every <details> around the target opens, and it comes into
  // view. Added last, so it runs after the folding of the sections on a phone.
  function openLinkedTarget() {
    if (location.hash.length < 2) return;
    var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (!target) return;
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") node.open = true;
    }
    target.scrollIntoView({block: "start"});
  }
  document.addEventListener("DOMContentLoaded", openLinkedTarget);
  window.addEventListener("hashchange", openLinkedTarget);
})();
