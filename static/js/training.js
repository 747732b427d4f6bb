// The training manager: tabs over the "add knowledge" forms (all four forms stay usable without
// JavaScript), and a visible note when the polled status fragment cannot be refreshed.
(function () {
  "use strict";

  function setUpTabs() {
    const tabs = document.querySelector(".add-knowledge .tabs");
    if (!tabs) return;
    const buttons = Array.from(tabs.querySelectorAll("[data-tab]"));
    const panels = Array.from(document.querySelectorAll(".add-knowledge .tab-panel"));
    function show(name) {
      buttons.forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === name)));
      panels.forEach((p) => {
        p.hidden = p.dataset.panel !== name;
      });
    }
    buttons.forEach((b) => b.addEventListener("click", () => show(b.dataset.tab)));
    const selected = buttons.find((b) => b.getAttribute("aria-selected") === "true") || buttons[0];
    tabs.hidden = false;
    document.querySelector(".add-knowledge").classList.add("tabbed");
    show(selected.dataset.tab);
  }

  function setUpPollingErrors() {
    // A poll answered by another page (the session expired: the log-in page) is not swapped
    // into the list; the page reloads, which shows the log-in page itself.
    document.body.addEventListener("htmx:beforeSwap", (event) => {
      if (!event.target || event.target.id !== "training-status") return;
      const answeredBy = (event.detail.xhr && event.detail.xhr.responseURL) || "";
      if (answeredBy && new URL(answeredBy).pathname !== "/dashboard/training/status") {
        event.detail.shouldSwap = false;
        window.location.reload();
      }
    });
    document.body.addEventListener("htmx:responseError", markError);
    document.body.addEventListener("htmx:sendError", markError);
    document.body.addEventListener("htmx:afterSwap", (event) => {
      const note = document.querySelector("#training-status .poll-error");
      if (note && event.target.id === "training-status") note.hidden = true;
    });
  }

  function markError(event) {
    const status = document.getElementById("training-status");
    if (!status || !status.contains(event.target)) return;
    const note = status.querySelector(".poll-error");
    if (note) note.hidden = false;
  }

  function start() {
    setUpTabs();
    setUpPollingErrors();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
