/*
 * Live dashboard: the overview's queue, the conversation list and a thread, over the store's
 * dashboard socket (/ws/dashboard/<store_id>/, session login).
 *
 * Server frames: conversation:new, conversation:updated, message:new, handoff:triggered,
 * analytics:update, ack, error. Client frames: agent:join-conversation, agent:message,
 * agent:resolve (each with a request_id, echoed in the ack or error).
 *
 * Without JavaScript, or while the socket is down, every action is a plain form POST and every
 * page is a plain page: this script only makes them live. Everything shown from a frame is
 * written with textContent, never parsed as HTML. Partials re-rendered by the server (list
 * rows, the handoff panel, the queue) are fetched from the same URLs the pages use.
 */
(function () {
  "use strict";

  var root = document.getElementById("convo-live");
  if (!root || !("WebSocket" in window)) return;

  var storeId = root.dataset.store;
  var page = root.dataset.page;
  var conversationId = root.dataset.conversation || null;
  var stateBadge = document.querySelector("[data-live-state]");
  var FINAL_CLOSE_CODES = [4401, 4403, 4404];
  var ACK_TIMEOUT_MS = 15000;

  var socket = null;
  var attempt = 0;
  var everConnected = false;
  var requestSeq = 0;
  var pending = {};

  // --- connection ---------------------------------------------------------------------------

  function setState(label, kind) {
    root.dataset.connection = kind;
    if (!stateBadge) return;
    stateBadge.hidden = false;
    stateBadge.className = "live-state " + kind;
    stateBadge.querySelector("[data-live-label]").textContent = label;
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(scheme + "://" + location.host + "/ws/dashboard/" + storeId + "/");
    socket.addEventListener("open", function () {
      var wasReconnect = everConnected;
      everConnected = true;
      attempt = 0;
      setState("Live", "live");
      // Events sent while we were away are lost: catch up from the server.
      if (wasReconnect) refreshPage();
    });
    socket.addEventListener("message", function (event) {
      var frame;
      try {
        frame = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (frame && typeof frame.type === "string") handle(frame);
    });
    socket.addEventListener("close", function (event) {
      failPending("The live connection dropped; try again.");
      if (FINAL_CLOSE_CODES.indexOf(event.code) !== -1) {
        setState("Offline", "offline");
        return;
      }
      // Exponential backoff with jitter, capped at 30 s.
      var delay = Math.min(30000, 1000 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
      attempt += 1;
      setState("Reconnecting…", "reconnecting");
      window.setTimeout(connect, delay);
    });
  }

  function isOpen() {
    return socket !== null && socket.readyState === WebSocket.OPEN;
  }

  // --- server frames ------------------------------------------------------------------------

  function handle(frame) {
    switch (frame.type) {
      case "ack":
        settle(frame, true);
        break;
      case "error":
        settle(frame, false);
        break;
      case "message:new":
        if (page === "thread" && frame.message && frame.message.conversation_id === conversationId) {
          appendMessage(frame.message);
        }
        if (page === "list" && frame.message) listChanged(frame.message.conversation_id);
        break;
      case "conversation:new":
        if (page === "list" && frame.conversation) listChanged(frame.conversation.id);
        if (page === "overview") bump("[data-kpi=today-conversations]");
        break;
      case "conversation:updated":
      case "handoff:triggered":
        var id = frame.conversation ? frame.conversation.id : frame.handoff && frame.handoff.conversation_id;
        if (page === "list") listChanged(id);
        if (page === "thread" && id === conversationId) refreshPanel();
        if (page === "overview") refreshQueue();
        break;
      case "analytics:update":
        if (frame.counts) {
          Object.keys(frame.counts).forEach(function (key) {
            document.querySelectorAll('[data-count="' + key + '"]').forEach(function (node) {
              node.textContent = String(frame.counts[key]);
            });
          });
        }
        break;
    }
  }

  function bump(selector) {
    var node = document.querySelector(selector);
    if (node && /^\d+$/.test(node.textContent.trim())) node.textContent = String(Number(node.textContent) + 1);
  }

  // --- partial refreshes --------------------------------------------------------------------

  var timers = {};
  function debounce(key, fn, ms) {
    window.clearTimeout(timers[key]);
    timers[key] = window.setTimeout(fn, ms);
  }

  function fetchHtml(url) {
    return fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.text();
    });
  }

  function parse(html) {
    return new DOMParser().parseFromString(html, "text/html");
  }

  var changedRows = {};
  function listChanged(id) {
    var table = document.querySelector(".convo-table");
    // Only the first page follows live activity; later pages stay put while being read.
    if (table && table.dataset.firstPage !== "true") {
      var row = id && document.querySelector('tr[data-conversation="' + id + '"]');
      if (row) row.classList.add("is-stale");
      return;
    }
    if (id) changedRows[id] = true;
    debounce("list", refreshList, 250);
  }

  function refreshList() {
    var target = document.getElementById("convo-results");
    if (!target) return;
    fetchHtml(location.pathname + location.search)
      .then(function (html) {
        target.innerHTML = html;
        Object.keys(changedRows).forEach(function (id) {
          var row = target.querySelector('tr[data-conversation="' + id + '"]');
          if (row) row.classList.add("is-new");
        });
        changedRows = {};
        if (window.htmx) window.htmx.process(target);
      })
      .catch(function () {});
  }

  function refreshQueue() {
    var target = document.getElementById("convo-queue");
    if (!target) return;
    debounce(
      "queue",
      function () {
        fetchHtml(root.dataset.queueUrl)
          .then(function (html) {
            target.innerHTML = html;
          })
          .catch(function () {});
      },
      250
    );
  }

  function refreshPanel() {
    debounce("panel", function () {
      fetchHtml(root.dataset.panelUrl)
        .then(function (html) {
          swapThreadParts(parse(html));
        })
        .catch(function () {});
    }, 150);
  }

  function swapThreadParts(doc) {
    var panel = doc.querySelector('[data-part="panel"]');
    var panelBox = document.getElementById("convo-panel");
    if (panel && panelBox) {
      var note = panelBox.querySelector("textarea[name=learning_note]");
      var kept = note ? note.value : "";
      panelBox.replaceChildren(document.importNode(panel, true));
      var fresh = panelBox.querySelector("textarea[name=learning_note]");
      if (fresh && kept) fresh.value = kept;
    }
    var composer = doc.querySelector('[data-part="composer"]');
    var composerBox = document.getElementById("convo-composer");
    var current = composerBox && composerBox.querySelector('[data-part="composer"]');
    // Replace the composer only when its state changes, so a half-written reply survives.
    if (composer && composerBox && (!current || current.dataset.state !== composer.dataset.state)) {
      var draft = composerBox.querySelector("textarea[name=text]");
      var text = draft ? draft.value : "";
      composerBox.replaceChildren(document.importNode(composer, true));
      var fresh = composerBox.querySelector("textarea[name=text]");
      if (fresh && text) fresh.value = text;
    }
  }

  function refreshPage() {
    if (page === "list") refreshList();
    if (page === "overview") refreshQueue();
    if (page === "thread") {
      fetchHtml(location.pathname)
        .then(function (html) {
          var doc = parse(html);
          var fresh = doc.getElementById("convo-messages");
          var list = document.getElementById("convo-messages");
          if (fresh && list) list.replaceChildren.apply(list, Array.from(fresh.childNodes).map(function (n) {
            return document.importNode(n, true);
          }));
          swapThreadParts(doc);
          scrollThread();
        })
        .catch(function () {});
    }
  }

  // --- the thread ---------------------------------------------------------------------------

  var ROLE_LABELS = { USER: "Shopper", AI: "AI agent", AGENT: "Human agent", SYSTEM: "System" };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function percent(value) {
    return typeof value === "number" ? Math.round(value * 100) + "%" : "—";
  }

  function formatTime(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return "";
    return date.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false });
  }

  function aiDetails(message) {
    var meta = message.metadata || {};
    var confidence = meta.confidence || {};
    var details = el("details", "msg-ai");
    var summary = el("summary");
    summary.append("Confidence ", el("strong", null, percent(confidence.composite !== undefined ? confidence.composite : message.confidence)));
    if (meta.handoff_trigger) summary.append(" ", el("span", "badge warn", "Handoff: " + meta.handoff_trigger));
    details.append(summary);
    if (Object.keys(confidence).length) {
      var list = el("dl", "confidence");
      ["factual", "intent", "emotional", "composite"].forEach(function (key) {
        var row = el("div");
        var meter = el("meter");
        meter.min = 0;
        meter.max = 1;
        meter.value = Number(confidence[key]) || 0;
        var value = el("dd");
        value.append(meter, " " + percent(confidence[key]));
        row.append(el("dt", null, key.charAt(0).toUpperCase() + key.slice(1)), value);
        list.append(row);
      });
      details.append(list);
    }
    var groups = [
      ["Sources", meta.sources, function (s) { return s.title || "Untitled"; }],
      ["Products", meta.products, function (p) { return p.title + (p.price ? " · " + p.price + " " + (p.currency || "") : ""); }],
      ["Orders", meta.orders, function (o) { return o.number + (o.status ? " · " + o.status : ""); }],
    ];
    var cited = false;
    groups.forEach(function (group) {
      if (!Array.isArray(group[1]) || !group[1].length) return;
      cited = true;
      var title = el("p", "small");
      title.append(el("strong", null, group[0]));
      var items = el("ul", "cites");
      group[1].forEach(function (item) {
        if (item && typeof item === "object") items.append(el("li", null, group[2](item)));
      });
      details.append(title, items);
    });
    if (!cited) details.append(el("p", "small muted", "No sources cited."));
    return details;
  }

  function appendMessage(message) {
    var list = document.getElementById("convo-messages");
    if (!list || list.querySelector('[data-message="' + message.id + '"]')) return;
    var placeholder = list.querySelector("[data-empty]");
    if (placeholder) placeholder.remove();
    var role = String(message.role || "").toUpperCase();
    var item = el("li", "msg role-" + role.toLowerCase() + " is-new");
    item.dataset.message = message.id;
    var head = el("div", "msg-head");
    var author = role === "AGENT" && message.author ? message.author.name : ROLE_LABELS[role] || role;
    var time = el("time", "muted small", formatTime(message.created_at));
    time.setAttribute("datetime", message.created_at || "");
    head.append(el("span", "msg-author", author), " ", time);
    item.append(head, el("div", "msg-body", message.text));
    if (role === "AI") item.append(aiDetails(message));
    list.append(item);
    scrollThread();
  }

  function scrollThread() {
    var list = document.getElementById("convo-messages");
    if (list) list.scrollTop = list.scrollHeight;
  }

  // --- agent actions over the socket (form POST without it) ----------------------------------

  function flash(text, kind) {
    var box = document.getElementById("convo-flash");
    if (!box) return;
    box.textContent = text;
    box.className = "action-flash " + kind;
    box.hidden = false;
  }

  function busy(form, isBusy) {
    form.querySelectorAll("button, textarea").forEach(function (node) {
      if (node.tagName === "BUTTON") node.disabled = isBusy;
      else node.readOnly = isBusy;
    });
    form.classList.toggle("is-busy", isBusy);
  }

  function settle(frame, ok) {
    var entry = frame.request_id && pending[frame.request_id];
    if (!entry) {
      if (!ok && frame.message) flash(frame.message, "bad");
      return;
    }
    delete pending[frame.request_id];
    window.clearTimeout(entry.timer);
    busy(entry.form, false);
    if (!ok) {
      flash(frame.message || "That did not work.", "bad");
      refreshPanel();
      return;
    }
    if (entry.action === "agent:message") {
      var text = entry.form.querySelector("textarea[name=text]");
      if (text) {
        text.value = "";
        text.focus();
      }
    } else if (entry.action === "agent:resolve") {
      flash("Conversation resolved.", "ok");
    } else {
      flash("You have taken over this conversation; the AI has stopped answering.", "ok");
    }
    refreshPanel();
  }

  function failPending(text) {
    Object.keys(pending).forEach(function (id) {
      var entry = pending[id];
      window.clearTimeout(entry.timer);
      busy(entry.form, false);
      delete pending[id];
      flash(text, "bad");
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest ? event.target.closest("form[data-socket-action]") : null;
    if (!form || page !== "thread" || !isOpen()) return; // the plain POST does it
    event.preventDefault();
    var action = form.dataset.socketAction;
    var frame = { type: action, conversation_id: conversationId, request_id: "r" + ++requestSeq };
    if (action === "agent:message") {
      frame.text = form.querySelector("textarea[name=text]").value;
      if (!frame.text.trim()) {
        flash("Write a reply first.", "bad");
        return;
      }
    }
    if (action === "agent:resolve") {
      var note = form.querySelector("textarea[name=learning_note]");
      frame.learning_note = note ? note.value : "";
    }
    var requestId = frame.request_id;
    pending[requestId] = {
      form: form,
      action: action,
      timer: window.setTimeout(function () {
        if (!pending[requestId]) return;
        delete pending[requestId];
        busy(form, false);
        flash("No answer from the server; try again.", "bad");
      }, ACK_TIMEOUT_MS),
    };
    busy(form, true);
    socket.send(JSON.stringify(frame));
  });

  // Enter sends a reply; Shift+Enter starts a new line.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    if (!target.matches || !target.matches("form.composer textarea")) return;
    event.preventDefault();
    if (target.form.requestSubmit) target.form.requestSubmit();
    else target.form.submit();
  });

  if (page === "thread") scrollThread();
  connect();
})();
