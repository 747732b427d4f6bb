/*! Convix web widget loader. <script src="https://YOUR-CONVIX/widget.js" data-store="STORE_ID" async></script>
 * Creates one iframe (the widget runs inside it, isolated from this page's CSS and JS) and sizes it
 * on request. postMessage is pinned both ways: only to and from the Convix origin and the frame. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.Convix) return;
  var store = script.getAttribute("data-store");
  if (!store) {
    window.console && console.error("Convix widget: the script tag needs data-store=\"STORE_ID\".");
    return;
  }
  var base = new URL(script.src, location.href).origin;
  var frame = document.createElement("iframe");
  var state = "closed";
  var side = "right";
  frame.id = "convix-widget-frame";
  frame.title = "Chat";
  frame.src = base + "/widget/frame/" + encodeURIComponent(store) + "#origin=" + encodeURIComponent(location.origin);
  var css = {
    position: "fixed", bottom: "0", border: "0", margin: "0", padding: "0", zIndex: "2147483000",
    background: "transparent", colorScheme: "normal", display: "none", maxWidth: "100vw", maxHeight: "100vh"
  };
  for (var key in css) frame.style[key] = css[key];

  function layout() {
    var s = frame.style;
    var mobile = window.innerWidth < 480;
    s.display = state === "hidden" ? "none" : "block";
    s.left = side === "left" ? "0" : "auto";
    s.right = side === "left" ? "auto" : "0";
    s.top = "auto";
    if (state === "open" && mobile) {
      s.top = "0"; s.left = "0"; s.right = "0"; s.width = "100vw"; s.height = "100vh";
    } else if (state === "open") {
      s.width = "420px"; s.height = Math.min(700, window.innerHeight) + "px";
    } else {
      s.width = "280px"; s.height = "96px";
    }
    post({ type: "layout", mobile: mobile && state === "open" });
  }

  function post(message) {
    if (!frame.contentWindow) return;
    message.convix = 1;
    frame.contentWindow.postMessage(message, base);
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== base || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!data || data.convix !== 1 || data.type !== "state") return;
    if (["open", "closed", "hidden"].indexOf(data.state) < 0) return;
    state = data.state;
    side = data.position === "left" ? "left" : "right";
    layout();
  });
  window.addEventListener("resize", layout);

  window.Convix = {
    open: function () { post({ type: "open" }); },
    close: function () { post({ type: "close" }); }
  };

  function mount() { document.body.appendChild(frame); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
