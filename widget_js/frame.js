/* Convix web widget (runs inside the iframe the loader creates; no framework).
 * Talks to the public widget API over HTTP and listens on the widget socket. Every text from the
 * network is inserted with textContent: HTML in a message is shown, never run. */
(function () {
  "use strict";
  var storeId = document.body.getAttribute("data-store");
  var api = "/v1/widget/" + encodeURIComponent(storeId);
  var storageKey = "convix:" + storeId;
  var outboxKey = storageKey + ":outbox";
  var parentOrigin = findParentOrigin();
  var config = null;
  var token = null;
  var socket = null;
  var joined = false;
  var retries = 0;
  var isOpen = false;
  var unread = 0;
  var status = "ACTIVE";
  var agentName = "";
  var seen = {};
  var ui = {};
  var pendingPreview = null;

  function findParentOrigin() {
    if (window.parent === window) return null;
    if (location.ancestorOrigins && location.ancestorOrigins.length) return location.ancestorOrigins[0];
    var match = /origin=([^&]+)/.exec(location.hash);
    return match ? decodeURIComponent(match[1]) : null;
  }

  function tell(message) {
    if (!parentOrigin) return;
    message.convix = 1;
    window.parent.postMessage(message, parentOrigin);
  }

  window.addEventListener("message", function (event) {
    if (!parentOrigin || event.origin !== parentOrigin || event.source !== window.parent) return;
    var data = event.data;
    if (!data || data.convix !== 1) return;
    // ``quiet``: a preview on a page with a form opens without taking the keyboard focus.
    if (data.type === "open") setOpen(true, data.quiet === true);
    else if (data.type === "close") setOpen(false, data.quiet === true);
    else if (data.type === "layout") document.body.classList.toggle("cx-mobile", !!data.mobile);
    // The dashboard's widget customizer (a Convix page, never a merchant's host page) previews
    // unsaved appearance changes in this frame only; nothing is saved from here.
    else if (data.type === "preview" && parentOrigin === location.origin) preview(data.config);
  });

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function load(key) {
    try { return JSON.parse(localStorage.getItem(key)); } catch (e) { return null; }
  }
  function save(key, value) {
    try {
      if (value == null) localStorage.removeItem(key); else localStorage.setItem(key, JSON.stringify(value));
    } catch (e) { /* private mode: the widget still works for this page view */ }
  }

  function request(method, path, body) {
    return fetch(api + path, {
      method: method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
      credentials: "omit"
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error((data.error && data.error.message) || "Something went wrong.");
          error.code = data.error && data.error.code;
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }

  // --- building the interface ------------------------------------------------------------

  function chatIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "cx-launcher-icon");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  function build() {
    var root = document.getElementById("app");

    ui.launcher = el("button", "cx-launcher");
    ui.launcher.type = "button";
    ui.launcher.setAttribute("aria-haspopup", "dialog");
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.launcherText = el("span", "cx-launcher-text", config.launcher_text || "Chat with us");
    ui.badge = el("span", "cx-badge");
    ui.badge.hidden = true;
    ui.launcher.appendChild(chatIcon());
    ui.launcher.appendChild(ui.launcherText);
    ui.launcher.appendChild(ui.badge);
    ui.launcher.addEventListener("click", function () { setOpen(true); });

    ui.panel = el("section", "cx-panel");
    ui.panel.setAttribute("role", "dialog");
    ui.panel.setAttribute("aria-label", "Chat with " + config.store.name);
    ui.panel.hidden = true;

    var header = el("header", "cx-header");
    ui.avatar = el("img", "cx-avatar");
    ui.avatar.alt = "";
    ui.avatar.hidden = true;
    header.appendChild(ui.avatar);
    var titles = el("div", "cx-titles");
    titles.appendChild(el("h2", "cx-title", config.store.name));
    ui.subtitle = el("p", "cx-subtitle");
    titles.appendChild(ui.subtitle);
    header.appendChild(titles);
    ui.close = el("button", "cx-close", "\u00D7");
    ui.close.type = "button";
    ui.close.setAttribute("aria-label", "Close chat");
    ui.close.addEventListener("click", function () { setOpen(false); });
    header.appendChild(ui.close);
    ui.panel.appendChild(header);

    ui.notice = el("p", "cx-notice");
    ui.notice.setAttribute("role", "status");
    ui.notice.hidden = true;
    ui.panel.appendChild(ui.notice);

    ui.log = el("div", "cx-log");
    ui.log.setAttribute("role", "log");
    ui.log.setAttribute("aria-live", "polite");
    ui.log.setAttribute("aria-label", "Messages");
    ui.log.tabIndex = 0;
    ui.panel.appendChild(ui.log);

    ui.typing = el("div", "cx-typing");
    ui.typing.setAttribute("aria-live", "polite");
    ui.typing.hidden = true;
    ui.typingText = el("span", "cx-visually-hidden", "Typing\u2026");
    ui.typing.appendChild(ui.typingText);
    for (var i = 0; i < 3; i++) ui.typing.appendChild(el("span", "cx-dot")).setAttribute("aria-hidden", "true");
    ui.panel.appendChild(ui.typing);

    ui.quick = el("div", "cx-quick");
    ui.panel.appendChild(ui.quick);

    var form = el("form", "cx-form");
    ui.input = el("textarea", "cx-input");
    ui.input.rows = 1;
    ui.input.maxLength = config.max_message_chars || 2000;
    ui.input.placeholder = "Write a message\u2026";
    ui.input.setAttribute("aria-label", "Message");
    ui.send = el("button", "cx-send", "Send");
    ui.send.type = "submit";
    form.appendChild(ui.input);
    form.appendChild(ui.send);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      submit(ui.input.value);
    });
    ui.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit(ui.input.value);
      }
    });
    ui.panel.appendChild(form);
    ui.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") setOpen(false);
    });

    ui.status = el("p", "cx-visually-hidden");
    ui.status.setAttribute("aria-live", "assertive");

    root.appendChild(ui.panel);
    root.appendChild(ui.launcher);
    root.appendChild(ui.status);

    addBubble({ id: "greeting", role: "AI", text: config.greeting, greeting: true });
    ui.greeting = seen.greeting.querySelector(".cx-bubble");
    renderHeader();
    applyAppearance();
  }

  /* What the store's settings decide about the look: color, side, texts, avatar, notice. */
  function applyAppearance() {
    document.documentElement.style.setProperty("--cx-primary", config.primary_color || "#2563eb");
    document.body.classList.toggle("cx-left", config.position === "left");
    ui.launcherText.textContent = config.launcher_text || "Chat with us";
    if (ui.launcher.hasAttribute("aria-label")) renderBadge();
    var avatar = config.avatar_url && safeUrl(config.avatar_url);
    ui.avatar.hidden = !avatar;
    if (avatar) ui.avatar.src = avatar; else ui.avatar.removeAttribute("src");
    ui.greeting.textContent = config.greeting || "";
    var hours = config.business_hours || {};
    var notice = !hours.is_open && hours.notice ? hours.notice : "";
    ui.notice.textContent = notice;
    ui.notice.hidden = !notice;
  }

  function preview(draft) {
    if (!draft || typeof draft !== "object") return;
    if (!ui.panel) { pendingPreview = draft; return; }
    if (/^#[0-9a-fA-F]{6}$/.test(draft.primary_color || "")) config.primary_color = draft.primary_color;
    if (draft.position === "left" || draft.position === "right") config.position = draft.position;
    ["launcher_text", "greeting", "avatar_url"].forEach(function (key) {
      if (typeof draft[key] === "string") config[key] = draft[key].slice(0, 500);
    });
    if (typeof draft.notice === "string") {
      config.business_hours = { is_open: !draft.notice, notice: draft.notice.slice(0, 1000) };
    }
    applyAppearance();
    if (draft.open === true && !isOpen) setOpen(true, true);
    else tell({ type: "state", state: isOpen ? "open" : "closed", position: config.position });
  }

  function renderHeader() {
    var text;
    if (status === "HANDED_OFF" && agentName) text = agentName + " from our team";
    else if (status === "HANDED_OFF") text = "Connecting you with our team\u2026";
    else if (status === "RESOLVED") text = "Conversation resolved \u00B7 write to reopen";
    else text = "AI assistant \u00B7 replies instantly";
    ui.subtitle.textContent = text;
  }

  /* ``quiet``: open or close without moving the keyboard focus (the customizer's preview must
   * not pull the merchant's focus out of the form). */
  function setOpen(open, quiet) {
    if (!ui.panel) return;
    isOpen = open;
    ui.panel.hidden = !open;
    ui.launcher.hidden = open;
    ui.launcher.setAttribute("aria-expanded", open ? "true" : "false");
    tell({ type: "state", state: open ? "open" : "closed", position: config.position });
    if (open) {
      unread = 0;
      renderBadge();
      scrollDown();
      if (!quiet) setTimeout(function () { ui.input.focus(); }, 30);
    } else if (!quiet) {
      setTimeout(function () { ui.launcher.focus(); }, 30);
    }
  }

  function renderBadge() {
    ui.badge.hidden = unread === 0;
    ui.badge.textContent = unread > 9 ? "9+" : String(unread);
    ui.launcher.setAttribute(
      "aria-label",
      (config.launcher_text || "Chat") + (unread ? ", " + unread + " unread message" + (unread > 1 ? "s" : "") : "")
    );
  }

  function scrollDown() { ui.log.scrollTop = ui.log.scrollHeight; }

  function money(amount, currency) {
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD" }).format(Number(amount));
    } catch (e) { return amount + " " + (currency || ""); }
  }

  function safeUrl(url) {
    try {
      var parsed = new URL(url, location.href);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (e) { return null; }
  }

  function productCard(product) {
    var card = el("article", "cx-card cx-product");
    var image = product.image_url && safeUrl(product.image_url);
    if (image) {
      var img = el("img", "cx-card-image");
      img.alt = "";
      img.loading = "lazy";
      img.addEventListener("error", function () { img.remove(); });
      img.src = image;
      card.appendChild(img);
    }
    var body = el("div", "cx-card-body");
    body.appendChild(el("h3", "cx-card-title", product.title));
    var price = money(product.price, product.currency);
    if (product.max_price && product.max_price !== product.price) price += " \u2013 " + money(product.max_price, product.currency);
    body.appendChild(el("p", "cx-card-price", price + (product.in_stock === false ? " \u00B7 out of stock" : "")));
    var link = product.url && safeUrl(product.url);
    if (link) {
      var a = el("a", "cx-card-link", "View product");
      a.href = link;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.setAttribute("aria-label", "View " + product.title);
      body.appendChild(a);
    }
    card.appendChild(body);
    return card;
  }

  function orderCard(order) {
    var card = el("article", "cx-card cx-order");
    var body = el("div", "cx-card-body");
    body.appendChild(el("h3", "cx-card-title", "Order " + order.number));
    body.appendChild(el("p", "cx-order-status cx-status-" + String(order.status).toLowerCase(), order.status));
    if (order.total) body.appendChild(el("p", "cx-card-price", money(order.total, order.currency)));
    if (order.tracking_number) {
      var track = safeUrl(order.tracking_url || "");
      var line = el("p", "cx-tracking", (order.carrier ? order.carrier + " " : "") + order.tracking_number + " ");
      if (track) {
        var a = el("a", "cx-card-link", "Track");
        a.href = track;
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        line.appendChild(a);
      }
      body.appendChild(line);
    }
    card.appendChild(body);
    return card;
  }

  function addBubble(message) {
    if (message.id && seen[message.id]) return;
    if (message.client_id && seen["c:" + message.client_id]) {
      var pending = seen["c:" + message.client_id];
      pending.classList.remove("cx-pending");
      pending.removeAttribute("aria-busy");
      if (message.id) seen[message.id] = pending;
      return;
    }
    var row = el("div", "cx-row cx-" + String(message.role).toLowerCase());
    if (message.role === "AGENT" && message.agent_name) row.appendChild(el("p", "cx-author", message.agent_name));
    var bubble = el("div", "cx-bubble", message.text);
    row.appendChild(bubble);
    (message.products || []).forEach(function (p) { row.appendChild(productCard(p)); });
    (message.orders || []).forEach(function (o) { row.appendChild(orderCard(o)); });
    ui.log.appendChild(row);
    if (message.id) seen[message.id] = row;
    if (message.pending) {
      row.classList.add("cx-pending");
      row.setAttribute("aria-busy", "true");
      seen["c:" + message.client_id] = row;
    }
    if (message.role !== "USER") renderQuickReplies(message.quick_replies || []);
    if (!message.greeting && message.role !== "USER" && !message.history) {
      if (!isOpen) {
        unread += 1;
        renderBadge();
      }
    }
    scrollDown();
  }

  // A reply being written arrives sentence by sentence (each already checked by the server) into
  // a draft bubble; the saved message replaces it, or a discard drops it.
  var drafts = {};

  function streamDelta(stream, text) {
    var row = drafts[stream];
    if (!row) {
      setTyping(false);
      row = el("div", "cx-row cx-ai cx-draft");
      row.setAttribute("aria-busy", "true");
      row.appendChild(el("div", "cx-bubble", ""));
      ui.log.appendChild(row);
      drafts[stream] = row;
    }
    row.firstChild.textContent += text;
    scrollDown();
  }

  function dropDrafts() {
    Object.keys(drafts).forEach(function (stream) { drafts[stream].remove(); });
    drafts = {};
  }

  function addNote(text) {
    ui.log.appendChild(el("p", "cx-note", text));
    scrollDown();
  }

  function renderQuickReplies(replies) {
    ui.quick.textContent = "";
    replies.slice(0, 6).forEach(function (text) {
      var button = el("button", "cx-quick-reply", text);
      button.type = "button";
      button.addEventListener("click", function () { submit(text); });
      ui.quick.appendChild(button);
    });
  }

  function setTyping(on) {
    ui.typing.hidden = !on;
    if (on) scrollDown();
  }

  function applyState(state) {
    var before = status + "|" + agentName;
    status = state.status || status;
    agentName = state.agent_name || "";
    if (before !== status + "|" + agentName && before.indexOf("|") >= 0 && ui.log) {
      if (status === "HANDED_OFF" && agentName) addNote(agentName + " joined the conversation.");
      else if (status === "HANDED_OFF") addNote("Connecting you with our team\u2026");
      else if (status === "RESOLVED") addNote("This conversation was marked resolved.");
    }
    renderHeader();
  }

  // --- conversation, sending and the offline queue ----------------------------------------

  function remember(newToken) {
    token = newToken;
    save(storageKey, { token: token, saved_at: Date.now() });
  }

  function ensureConversation() {
    if (token) return Promise.resolve(token);
    return request("POST", "/conversation", { page_url: "" }).then(function (data) {
      remember(data.conversation);
      connect();
      return token;
    });
  }

  function outbox() { return load(outboxKey) || []; }

  function submit(text) {
    text = (text || "").trim();
    if (!text) return;
    ui.input.value = "";
    ui.quick.textContent = "";
    var item = { client_id: "m" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8), text: text };
    save(outboxKey, outbox().concat([item]));
    addBubble({ role: "USER", text: text, client_id: item.client_id, pending: true });
    flush();
  }

  var flushing = false;
  function flush() {
    if (flushing) return;
    var queue = outbox();
    if (!queue.length) return;
    flushing = true;
    var item = queue[0];
    ensureConversation()
      .then(function () {
        return request("POST", "/message", { conversation: token, text: item.text, client_id: item.client_id });
      })
      .then(function (data) {
        save(outboxKey, outbox().filter(function (q) { return q.client_id !== item.client_id; }));
        if (data.message) addBubble(data.message);
        if (data.reply) addBubble(data.reply);
        flushing = false;
        flush();
      })
      .catch(function (error) {
        flushing = false;
        if (error.status === 401) {
          // The conversation expired: start a new one and send again.
          token = null;
          save(storageKey, null);
          setTimeout(flush, 200);
        } else if (error.status && error.status < 500 && error.status !== 429) {
          save(outboxKey, outbox().filter(function (q) { return q.client_id !== item.client_id; }));
          var row = seen["c:" + item.client_id];
          if (row) row.classList.add("cx-failed");
          addNote(error.message);
        } else {
          ui.status.textContent = "You're offline; your message will be sent when the connection is back.";
          setTimeout(flush, 3000);
        }
      });
  }

  // --- the socket ---------------------------------------------------------------------------

  function connect() {
    if (!token || (socket && socket.readyState <= 1)) return;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/widget/" + encodeURIComponent(storeId) + "/");
    joined = false;
    socket.onopen = function () {
      socket.send(JSON.stringify({ type: "join", conversation: token }));
    };
    socket.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "joined") {
        joined = true;
        retries = 0;
        document.body.classList.remove("cx-offline");
        (data.messages || []).forEach(function (m) { m.history = true; addBubble(m); });
        applyState(data.state || {});
        flush();
      } else if (data.type === "message") {
        if (data.message.role !== "USER") dropDrafts();
        addBubble(data.message);
      } else if (data.type === "reply.delta") {
        streamDelta(data.stream, String(data.text || ""));
      } else if (data.type === "reply.discard") {
        dropDrafts();
        setTyping(true);
      } else if (data.type === "typing") {
        setTyping(!!data.is_typing);
      } else if (data.type === "conversation") {
        applyState(data);
      } else if (data.type === "error" && (data.code === "invalid_token" || data.code === "expired_token")) {
        token = null;
        save(storageKey, null);
      }
    };
    socket.onclose = function () {
      joined = false;
      document.body.classList.add("cx-offline");
      if (!token) return;
      // Back off with jitter so a server restart does not bring every widget back at once.
      var delay = Math.min(30000, 500 * Math.pow(2, retries++)) * (0.5 + Math.random());
      setTimeout(connect, delay);
    };
  }
  window.addEventListener("online", function () { connect(); flush(); });

  // --- start ----------------------------------------------------------------------------------

  function start() {
    request("GET", "/config")
      .then(function (data) {
        config = data;
        if (parentOrigin && !originAllowed(parentOrigin)) return tell({ type: "state", state: "hidden" });
        build();
        tell({ type: "state", state: "closed", position: config.position });
        if (pendingPreview) preview(pendingPreview);
        var stored = load(storageKey);
        var fresh = stored && stored.token && Date.now() - stored.saved_at < config.token_ttl_seconds * 1000;
        if (!fresh) {
          save(storageKey, null);
          if (outbox().length) flush();
          return;
        }
        return request("POST", "/conversation", { conversation: stored.token }).then(function (data) {
          remember(data.conversation);
          (data.messages || []).forEach(function (m) { m.history = true; addBubble(m); });
          applyState(data.state || {});
          connect();
          flush();
        });
      })
      .catch(function () { tell({ type: "state", state: "hidden" }); });
  }

  function originAllowed(origin) {
    var host;
    try { host = new URL(origin).hostname; } catch (e) { return false; }
    if (origin === location.origin) return true;
    return (config.allowed_origins || []).some(function (d) {
      return d.indexOf("*.") === 0 ? host.slice(-(d.length - 1)) === d.slice(1) : host === d;
    });
  }

  start();
})();
