// The pipeline board: drag a card to another stage. The move is posted through the same
// form and service as without JavaScript; the server redraws the board, so a refused
// card goes back where the rules keep it and the reason is shown above the columns.
(function () {
  "use strict";

  function submitMove(card, toStage) {
    var form = document.getElementById("board-move");
    if (!form) return;
    form.elements.lead.value = card.dataset.lead;
    form.elements.to_stage.value = toStage;
    var reason = document.getElementById("board-dead-reason");
    form.elements.dead_reason.value = toStage === "dead" && reason ? reason.value : "";
    var closed = document.getElementById("board-closing-date");
    form.elements.closing_date.value = toStage === "closed" && closed ? closed.value : "";
    document.getElementById("board").classList.add("board-busy");
    form.requestSubmit();
  }

  function wire(root) {
    if (!window.Sortable) return;
    var lists = root.querySelectorAll ? root.querySelectorAll(".board-cards") : [];
    Array.prototype.forEach.call(lists, function (list) {
      if (list.dataset.sortable) return;
      list.dataset.sortable = "1";
      window.Sortable.create(list, {
        group: "board",
        animation: 120,
        filter: "details, select, button, input",
        preventOnFilter: false,
        // Order within a column is the score's, not the user's: only moves between columns count.
        sort: false,
        onAdd: function (event) { submitMove(event.item, event.to.dataset.stage); }
      });
    });
  }

  // A move the server would not take at all (signed out, a stale page): start afresh
  // rather than leave the card where it was dropped and the board greyed out.
  document.addEventListener("htmx:responseError", function (event) {
    if (event.detail.elt && event.detail.elt.id === "board-move") window.location.reload();
  });
  document.addEventListener("htmx:sendError", function (event) {
    if (event.detail.elt && event.detail.elt.id === "board-move") window.location.reload();
  });

  document.addEventListener("DOMContentLoaded", function () { wire(document); });
  document.addEventListener("htmx:load", function (event) { wire(event.target); });
})();
