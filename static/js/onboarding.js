/* Onboarding steps: platform and channel pickers, training tabs, the widget preview, copy button.
 * Everything here is progressive: the pages work (less smoothly) without it. */
(function () {
  "use strict";

  // Show the panel of the picked option; inputs of hidden panels are disabled so they are not sent.
  function picker(choiceAttr, panelAttr) {
    var choices = document.querySelectorAll("[" + choiceAttr + "]");
    if (!choices.length) return;
    function sync() {
      var picked = document.querySelector("[" + choiceAttr + "]:checked");
      var value = picked ? picked.value : "";
      document.querySelectorAll("[" + panelAttr + "]").forEach(function (panel) {
        var isOn = panel.getAttribute(panelAttr) === value;
        panel.hidden = !isOn;
        panel.querySelectorAll("input, select, textarea").forEach(function (input) { input.disabled = !isOn; });
      });
    }
    choices.forEach(function (choice) { choice.addEventListener("change", sync); });
    sync();
  }

  function tabs() {
    document.querySelectorAll("[data-tab]").forEach(function (tab) {
      tab.addEventListener("click", function (event) {
        event.preventDefault();
        var name = tab.getAttribute("data-tab");
        document.querySelectorAll("[data-tab]").forEach(function (t) {
          var isOn = t === tab;
          t.classList.toggle("active", isOn);
          t.setAttribute("aria-selected", isOn ? "true" : "false");
        });
        document.querySelectorAll("[data-tab-panel]").forEach(function (panel) {
          panel.hidden = panel.getAttribute("data-tab-panel") !== name;
        });
        history.replaceState(null, "", "?tab=" + name);
      });
    });
  }

  // The preview is the real widget frame (same origin as this page). It reports its state with
  // postMessage; once it is ready we ask it to open so the greeting shows.
  function preview() {
    window.addEventListener("message", function (event) {
      if (event.origin !== location.origin) return;
      var frame = document.querySelector("[data-preview-frame]");
      if (!frame || event.source !== frame.contentWindow) return;
      var data = event.data;
      if (!data || data.convix !== 1 || data.type !== "state") return;
      var box = frame.closest("[data-preview]");
      box.classList.toggle("left", data.position === "left");
      if (data.state === "closed" && !frame.dataset.opened) {
        frame.dataset.opened = "1";
        // Quietly: the merchant may be typing in the form while the preview loads.
        frame.contentWindow.postMessage({ convix: 1, type: "open", quiet: true }, location.origin);
      }
    });
    // While typing, show the color and launcher text at once; saving reloads the real widget.
    document.addEventListener("input", function (event) {
      var form = event.target.closest("[data-widget-form]");
      var frame = document.querySelector("[data-preview-frame]");
      if (!form || !frame) return;
      var doc;
      try { doc = frame.contentDocument; } catch (e) { return; }
      if (!doc) return;
      var name = event.target.name;
      if (name === "primary_color" && /^#[0-9a-fA-F]{6}$/.test(event.target.value)) {
        doc.documentElement.style.setProperty("--cx-primary", event.target.value);
      }
    });
  }

  function copyButtons() {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.querySelector(button.getAttribute("data-copy"));
        var status = document.querySelector("[data-copy-status]");
        var text = source ? source.textContent : "";
        function done(message) { if (status) status.textContent = message; }
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(
            function () { done("Copied."); },
            function () { done("Select the snippet and copy it."); }
          );
        } else {
          var range = document.createRange();
          range.selectNodeContents(source);
          var selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
          done(document.execCommand("copy") ? "Copied." : "Select the snippet and copy it.");
        }
      });
    });
  }

  function openWidget() {
    document.querySelectorAll("[data-open-widget]").forEach(function (button) {
      button.addEventListener("click", function () { if (window.Convix) window.Convix.open(); });
    });
  }

  function start() {
    picker("data-platform-choice", "data-platform-panel");
    picker("data-channel-choice", "data-channel-panel");
    tabs();
    preview();
    copyButtons();
    openWidget();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
