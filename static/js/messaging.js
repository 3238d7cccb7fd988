/* Texting: the character and segment counter under a text, and opening the compose card
   when a number's "Text" button fills it. Works on forms swapped in by htmx (delegated). */
(function () {
  "use strict";
  // GSM 03.38: texts in it go 160 characters to a segment (153 when split); anything else
  // (an emoji, curly quotes) makes the whole text UCS-2: 70 (67 when split).
  var GSM = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var GSM_EXT = "^{}\\[~]|€";

  function count(text) {
    var units = 0, gsm = true;
    for (var i = 0; i < text.length; i++) {
      var ch = text.charAt(i);
      if (GSM.indexOf(ch) >= 0) { units += 1; }
      else if (GSM_EXT.indexOf(ch) >= 0) { units += 2; }
      else { gsm = false; break; }
    }
    if (!gsm) { units = text.length; }
    var single = gsm ? 160 : 70, multi = gsm ? 153 : 67;
    var segments = units === 0 ? 0 : (units <= single ? 1 : Math.ceil(units / multi));
    return { chars: text.length, segments: segments, gsm: gsm };
  }

  function update(area) {
    var out = document.querySelector('[data-sms-counter-for="' + area.id + '"]');
    if (!out) { return; }
    var c = count(area.value);
    var text = c.chars + " character" + (c.chars === 1 ? "" : "s") + " · " + c.segments + " segment" +
      (c.segments === 1 ? "" : "s");
    if (!c.gsm && c.chars) { text += " (a special character or emoji: 70 a segment)"; }
    if (c.segments > 3) { text += " · long: the homeowner gets it in " + c.segments + " parts"; }
    out.textContent = text;
    out.classList.toggle("text-warning-emphasis", c.segments > 3);
    // The counter itself is not a live region (it would be read at every key): the polite
    // region of the page (base.html) says only when the text needs one more segment or fewer.
    var live = document.getElementById("live-status");
    if (live && segmentsSaid[area.id] !== undefined && segmentsSaid[area.id] !== c.segments && c.segments > 0) {
      live.textContent = text;
    }
    segmentsSaid[area.id] = c.segments;
  }
  var segmentsSaid = {};

  function all(root) {
    (root || document).querySelectorAll("textarea[data-sms-counter]").forEach(update);
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("textarea[data-sms-counter]")) { update(event.target); }
  });
  document.addEventListener("DOMContentLoaded", function () { all(document); });
  document.addEventListener("htmx:afterSwap", function (event) { all(event.target.parentNode || document); });
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-open-details]");
    if (!link) { return; }
    var details = document.querySelector(link.getAttribute("data-open-details"));
    if (details) {
      details.open = true;
      details.scrollIntoView({ behavior: "smooth", block: "start" });
    }
  });
})();

/* The outreach form: with "Text message" chosen, offer to send the text from LeadCRM
   (to the number picked) instead of only logging one sent from the agent's own phone. */
(function () {
  "use strict";
  function sync(form) {
    var offer = form.querySelector("[data-sms-offer]");
    var channel = form.querySelector("[name=channel]");
    if (!offer || !channel) { return; }
    offer.hidden = channel.value !== "sms";
    var link = offer.querySelector("[data-sms-offer-link]");
    var phone = form.querySelector("[name=phone]");
    if (link && phone && phone.value) {
      link.href = link.href.split("?")[0] + "?phone=" + encodeURIComponent(phone.value);
    }
  }
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("[data-outreach-form]");
    if (form) { sync(form); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-outreach-form]").forEach(sync);
  });
  document.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll("[data-outreach-form]").forEach(sync);
  });
})();
