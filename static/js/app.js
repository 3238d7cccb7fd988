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

  // htmx:load fires on every piece of content htmx swaps in (the form after a refusal).
  document.addEventListener("DOMContentLoaded", function () { wire(document); });
  document.addEventListener("htmx:load", function (event) { wire(event.target); });

  // ---- Focus and announcements after a swap ----
  // A form sent or a link followed with htmx often replaces the very control that had the
  // focus, which then falls back to <body>: the keyboard starts again at the top of the page
  // and a screen reader says nothing of what came back. So, after a swap the user caused:
  //   1. what the new content marks data-focus-first (a refusal, the error summary, the
  //      result) takes the focus: itself when it can hold it (a tabindex), else its first
  //      field, else itself made focusable;
  //   2. else, after a form was sent (or the focus lost), the first field in error or alert;
  //   3. else, only when the focus was lost, the new content's first field (a form opened
  //      in place) or its heading (a card come back);
  // and a polite live region (#live-status) says what happened: the target's data-announce
  // (or its section's), else, for 1 and 2, the target's own first words (not for an alert:
  // role="alert" is read as it arrives, and would be read twice).
  // Polls ("every 2s") and "load" triggers carry no event a person made (no isTrusted
  // event): they never move the focus; neither do swaps that leave the focus in place,
  // such as the compliance verdict redrawn as a form changes.
  var MARKED = "[data-focus-first], [data-focus-on-load]";
  var PROBLEM = ".is-invalid, [aria-invalid=true], [role=alert]";
  var FIELD = "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])";
  var FOCUSABLE = "a[href], button:not([disabled]), [tabindex], " + FIELD;
  var HEADING = "h1, h2, h3, h4, h5, h6";
  var HEADER = ".card-header, legend";

  function liveRegion() {
    var region = document.getElementById("live-status");
    if (!region) {
      region = document.createElement("div");
      region.id = "live-status";
      region.className = "visually-hidden";
      region.setAttribute("role", "status");
      region.setAttribute("aria-live", "polite");
      region.setAttribute("aria-atomic", "true");
      document.body.appendChild(region);
    }
    return region;
  }

  var announceTimer = null;
  function announce(text) {
    var region = liveRegion();
    // Emptied first and filled a moment later, so that the same words twice are read twice.
    region.textContent = "";
    clearTimeout(announceTimer);
    announceTimer = setTimeout(function () { region.textContent = text; }, 150);
  }

  function words(element) {
    var text = (element.textContent || "").replace(/\s+/g, " ").trim();
    return text.length > 200 ? text.slice(0, 197) + "…" : text;
  }

  function visible(element) {
    return !element.closest("[hidden]") && element.getClientRects().length > 0;
  }

  function firstIn(roots, selector, wantVisible) {
    for (var i = 0; i < roots.length; i++) {
      var found = roots[i].matches(selector) ? [roots[i]] : [];
      found = found.concat(Array.prototype.slice.call(roots[i].querySelectorAll(selector)));
      for (var j = 0; j < found.length; j++) {
        if (!wantVisible || visible(found[j])) return found[j];
      }
    }
    return null;
  }

  // The element itself when it can take the focus, else the first field inside it, else
  // the element made focusable (tabindex -1: reachable by script, not by Tab).
  function focusTarget(element) {
    // A folded card's heading sits in its <summary>, the toggle: the toggle takes the focus
    // (made tabindex -1, it would leave the Tab order for good).
    var toggle = element.closest("summary");
    if (toggle) return toggle;
    if (element.matches(FOCUSABLE)) return element;
    var field = firstIn([element], FIELD, true);
    if (field) return field;
    element.setAttribute("tabindex", "-1");
    return element;
  }

  function moveFocus(element) {
    element.focus({ preventScroll: true });
    // Into view only when it is not: the sticky menu bar covers the top 4.5rem (app.css).
    var box = element.getBoundingClientRect();
    if (box.top < 72 || box.top > window.innerHeight - 40) element.scrollIntoView({ block: "start", behavior: "instant" });
  }

  function focusLost() {
    var active = document.activeElement;
    return !active || active === document.body || !active.isConnected;
  }

  function settleFocus(roots, trigger) {
    roots = roots.filter(function (root) { return root.isConnected; });
    if (!roots.length) return;
    var lost = focusLost();
    var marked = firstIn(roots, MARKED, false);
    // Errors come back from a form sent; results redrawn as one types in a filter keep the focus.
    var problem = marked || !(lost || trigger.type === "submit") ? null : firstIn(roots, PROBLEM, true);
    var target = marked || problem;
    if (!target && lost) {
      // A form opened in place (its first control a field): that field; a card come back
      // (its first control a link or a button): its heading, else the card itself.
      var control = firstIn(roots, "a[href], button:not([disabled]), " + FIELD, true);
      target = control && control.matches(FIELD) ? control
        : firstIn(roots, HEADING, true) || firstIn(roots, HEADER, true) || roots[0];
    }
    if (!target) return;
    var focused = focusTarget(target);
    moveFocus(focused);
    var said = target.closest("[data-announce]") || firstIn(roots, "[data-announce]", false);
    if (said) announce(said.getAttribute("data-announce"));
    else if (target.closest("[role=alert]") || (marked && marked.querySelector("[role=alert]"))) return;  // an alert says itself as it arrives
    else if (marked) announce(words(marked));
    else if (problem) announce(problemWords(problem, roots));
  }

  // A field in error: how many fields are, and the first one's message (what its
  // aria-describedby names, else the feedback next to it), not its label and options.
  function problemWords(problem, roots) {
    if (!problem.matches(FIELD)) return words(problem);
    var names = {};
    roots.forEach(function (root) {
      Array.prototype.forEach.call(root.querySelectorAll(".is-invalid, [aria-invalid=true]"), function (field) {
        names[field.name || field.id] = true;
      });
    });
    var count = Object.keys(names).length;
    var notes = (problem.getAttribute("aria-describedby") || "").split(/\s+/).map(function (id) {
      return id && document.getElementById(id);
    }).filter(Boolean);
    var box = problem.closest("fieldset, .mb-3, form");
    if (!notes.length && box && box.querySelector(".invalid-feedback")) notes = [box.querySelector(".invalid-feedback")];
    return (count > 1 ? count + " fields to correct. " : "") + notes.map(words).join(" ");
  }

  // One request may settle several pieces (a card and, out of band, the timeline): gather
  // them and decide once, after the last one. htmx settles the out-of-band pieces first:
  // the main one is looked at first.
  var settling = null;
  document.addEventListener("htmx:afterSettle", function (event) {
    var config = event.detail.requestConfig;
    var trigger = config && config.triggeringEvent;
    if (!trigger || !trigger.isTrusted || !(event.target instanceof Element)) return;
    if (!settling || settling.xhr !== event.detail.xhr) {
      var batch = settling = { xhr: event.detail.xhr, roots: [] };
      setTimeout(function () {
        if (settling === batch) settling = null;
        settleFocus(batch.roots.reverse(), trigger);
      }, 0);
    }
    settling.roots.push(event.target);
  });

  // A page loaded afresh (a form sent without htmx, or a redirect after one): what it marks
  // data-focus-first takes the focus, unless the address points into the page (the browser
  // already moved there); then the messages are said instead.
  document.addEventListener("DOMContentLoaded", function () {
    var marked = document.querySelector(MARKED);
    if (!marked) return;
    var pointed = location.hash.length > 1 && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (pointed) {
      if (marked.matches(".messages")) announce(words(marked));
      return;
    }
    moveFocus(focusTarget(marked));
  });

  // A late panel whose request failed (htmx swaps nothing on an error) gives back the room
  // it held and says so, with the page it came from, instead of "Checking..." forever.
  function panelFailed(event) {
    var panel = event.detail && event.detail.elt;
    var pending = panel && panel.querySelector && panel.querySelector(".queue-panel-pending");
    if (!pending) return;
    pending.classList.remove("queue-panel-pending");
    pending.textContent = "The queue could not be checked just now. ";
    var link = document.createElement("a");
    link.href = panel.getAttribute("hx-get");
    link.textContent = "Open the whole queue";
    pending.appendChild(link);
  }
  document.addEventListener("htmx:responseError", panelFailed);
  document.addEventListener("htmx:sendError", panelFailed);

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
