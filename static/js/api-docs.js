// The API docs page (templates/drf_spectacular/swagger_ui.html): Swagger UI wraps its server
// picker in an empty <label>, so the select has no name. Swagger renders after this script runs
// and re-renders on every change, so name the picker whenever it (re)appears.
(function () {
  "use strict";
  function nameServers() {
    var select = document.getElementById("servers");
    if (select && !select.getAttribute("aria-label")) select.setAttribute("aria-label", "Server");
  }
  new MutationObserver(nameServers).observe(document.getElementById("swagger-ui"), { childList: true, subtree: true });
  nameServers();
})();
