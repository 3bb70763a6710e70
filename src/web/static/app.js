// Guichet back office: the few behaviours pages need beyond plain HTML. Loaded as a file:
// the content security policy allows no inline script.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Every htmx request carries the session's CSRF token.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  // Buttons and forms that ask before acting: data-confirm="question".
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Ticket list (src/web/ticket_list.rs): j/k move, Enter opens, x selects, / searches,
  // ? shows the shortcuts.
  (function ticketList() {
    var table = document.getElementById("ticket-table");
    var search = document.getElementById("ticket-search");
    var dialog = document.getElementById("shortcuts");
    var opener = document.getElementById("shortcuts-open");
    if (!search) { return; }
    var current = -1;
    function rows() { return table ? table.querySelectorAll("tr.ticket-row") : []; }
    function move(step) {
      var all = rows();
      if (!all.length) { return; }
      if (current >= 0 && all[current]) { all[current].classList.remove("current"); }
      current = Math.max(0, Math.min(all.length - 1, current + step));
      all[current].classList.add("current");
      var link = all[current].querySelector("a.ticket-link");
      if (link) { link.focus({ preventScroll: true }); }
      all[current].scrollIntoView({ block: "nearest" });
    }
    function showHelp() {
      if (dialog && typeof dialog.showModal === "function" && !dialog.open) { dialog.showModal(); }
    }
    if (opener) { opener.addEventListener("click", showHelp); }
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) { return; }
      var target = event.target;
      var typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" ||
        target.tagName === "SELECT" || target.isContentEditable);
      if (typing && target.type !== "checkbox") {
        if (event.key === "Escape") { target.blur(); }
        return;
      }
      var all = rows();
      switch (event.key) {
        case "j": move(1); event.preventDefault(); break;
        case "k": move(-1); event.preventDefault(); break;
        case "Enter":
          if (current >= 0 && all[current]) {
            window.location.href = all[current].getAttribute("data-href");
            event.preventDefault();
          }
          break;
        case "x":
          if (current >= 0 && all[current]) {
            var box = all[current].querySelector("input[type=checkbox]");
            if (box) { box.checked = !box.checked; }
            event.preventDefault();
          }
          break;
        case "/": search.focus(); search.select(); event.preventDefault(); break;
        case "?": showHelp(); event.preventDefault(); break;
      }
    });
  })();

  window.Guichet = { csrfToken: csrfToken };
})();
