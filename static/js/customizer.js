/* Widget customizer: the preview is the real widget frame; unsaved changes are sent to it with
 * postMessage (pinned to Convix's own origin and to that frame), so it redraws before saving. */
(function () {
  "use strict";
  var form = document.getElementById("widget-form");
  var frame = document.getElementById("widget-preview");
  if (!form) return;
  var color = form.elements.primary_color;
  var colorValue = document.getElementById("color-value");
  var afterHours = document.getElementById("preview-after-hours");
  var stage = document.getElementById("preview-stage");
  var draftState = document.getElementById("draft-state");
  var origin = window.location.origin;
  var ready = false;
  var dirty = false;

  function value(name) {
    var field = form.elements[name];
    return field && typeof field.value === "string" ? field.value : "";
  }

  function draft() {
    var checked = form.querySelector("input[name=position]:checked");
    return {
      primary_color: value("primary_color"),
      position: checked ? checked.value : "right",
      launcher_text: value("launcher_text"),
      greeting: value("greeting"),
      avatar_url: value("avatar_url"),
      notice: afterHours && afterHours.checked ? value("after_hours_message") : ""
    };
  }

  function post(message) {
    if (!frame || !frame.contentWindow) return;
    message.convix = 1;
    frame.contentWindow.postMessage(message, origin);
  }

  function update(event) {
    if (colorValue && color) colorValue.textContent = color.value;
    var current = draft();
    if (stage) stage.setAttribute("data-position", current.position);
    if (event && draftState) {
      dirty = true;
      draftState.textContent = "Unsaved changes: the preview shows them; save to publish.";
    }
    if (ready) post({ type: "preview", config: current });
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);
  if (afterHours) afterHours.addEventListener("change", update);
  form.addEventListener("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });

  window.addEventListener("message", function (event) {
    if (!frame || event.origin !== origin || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!data || data.convix !== 1 || data.type !== "state") return;
    if (data.state === "hidden") {
      var note = stage && stage.querySelector(".preview-unavailable");
      if (note) note.hidden = false;
      return;
    }
    if (!ready) {
      ready = true;
      stage && stage.classList.add("is-ready");
      post({ type: "preview", config: Object.assign(draft(), { open: true }) });
    }
  });
  update();
})();
