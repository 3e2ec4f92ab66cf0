/*
 * Wegwijzer chat widget. One line on any intranet page:
 *
 *   <script src="https://HOST/widget.js" defer></script>
 *
 * Optional attributes on that script tag: data-api (API base, default: where this file came from),
 * data-title, data-accent (a CSS colour), data-lang ("nl"), data-suggestions ("Vraag een?|Vraag twee?":
 * two to four starter questions; default: the service's WEGWIJZER_SUGGESTED_QUESTIONS), data-auto="false"
 * (do not add the launcher automatically; place <wegwijzer-chat> yourself, with api/title-text/accent/
 * lang/suggestions attributes).
 *
 * A conversation: every answer carries a conversation_id that the next question sends along, so a
 * follow-up ("En over werk?") is read with the earlier turns; "Nieuw gesprek" starts a new one. When the
 * service writes answers with a language model (GET /api/widget says streaming), the answer arrives by
 * POST /api/ask/stream (Server-Sent Events): the service sends a sentence only after it passed the check
 * against its source, so the widget shows the working state until the first checked sentence, then the
 * checked sentences so far, and the whole answer at the end. Generated answers carry a visible label.
 *
 * Design rules: a custom element with a shadow DOM (host CSS cannot reach in, ours cannot leak out);
 * vanilla JS, no build step, nothing loaded from elsewhere; everything that comes from the server is
 * inserted as text (textContent / text nodes), never as HTML; all UI strings come from the catalogue, through MESSAGES.
 */
(function () {
  "use strict";

  var TAG = "wegwijzer-chat";
  if (!window.customElements || window.customElements.get(TAG)) return; // old browser, or loaded twice

  // The texts by language: the server fills this in from the catalogue (assistant/messages.py, "widget.ui.*")
  // when it serves /widget.js; {name} is filled in by fmt().
  var MESSAGES = {"nl": {}}; // @wegwijzer-messages

  var STORE_VERSION = 1;
  var MAX_STORED_MESSAGES = 40;
  var EXCERPT_CHARS = 380;
  var QUOTE_CONTEXT = 70; // characters of context a card shows around a quoted sentence, at most
  var REQUEST_TIMEOUT_MS = 30000; // also the longest silence in a streamed answer (GET /api/widget may raise it)
  var DEFAULT_ACCENT = "#0b5cad";

  var script = document.currentScript;
  var scriptOrigin = (function () {
    try { return new URL(script && script.src ? script.src : window.location.href).origin; }
    catch (e) { return window.location.origin; }
  })();

  var STYLES = [
    // The host page's CSS wins over :host for normal declarations, and its "* { ... }" rules match the host
    // element itself; "!important" inside the shadow tree wins instead, so nothing is inherited from the page.
    ":host{all:initial!important;display:block!important;",
    "  --ww-accent:" + DEFAULT_ACCENT + ";--ww-on-accent:#fff;--ww-focus:#1d1d1b;--ww-line:#d5d5cf;--ww-muted:#4f4f4c}",
    ".ww{display:block;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;",
    "  color:#1d1d1b;letter-spacing:normal;word-spacing:normal;text-transform:none;text-align:left;",
    "  text-indent:0;font-style:normal;font-weight:400;white-space:normal;direction:ltr}",
    "*,*::before,*::after{box-sizing:border-box}",
    "[hidden]{display:none!important}",
    ".sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);",
    "  white-space:nowrap;border:0}",
    "button,textarea,a{font:inherit;letter-spacing:normal;text-transform:none}",
    "button{cursor:pointer}",
    ":focus{outline:none}",
    ":focus-visible{outline:3px solid var(--ww-focus);outline-offset:2px;box-shadow:0 0 0 5px #fff}",
    ".launcher{position:fixed;right:16px;bottom:16px;z-index:2147483000;display:flex;align-items:center;gap:8px;",
    "  min-height:48px;padding:10px 18px 10px 14px;border:0;",
    "  border-radius:999px;background:var(--ww-accent);color:var(--ww-on-accent);font-weight:600;",
    "  box-shadow:0 4px 14px rgba(0,0,0,.25)}",
    ".launcher svg{width:24px;height:24px;flex:none;fill:currentColor}",
    ".launcher:hover{filter:brightness(1.08)}",
    ".panel{position:fixed;z-index:2147483000;right:16px;bottom:80px;width:min(420px,calc(100vw - 32px));",
    "  height:min(640px,calc(100vh - 104px));display:flex;flex-direction:column;background:#fff;color:#1d1d1b;",
    "  border:1px solid var(--ww-line);border-radius:12px;box-shadow:0 12px 40px rgba(0,0,0,.28);overflow:hidden;",
    "  overflow:clip}",
    ".head{display:flex;align-items:flex-start;gap:8px;padding:12px 12px 12px 16px;background:var(--ww-accent);",
    "  color:var(--ww-on-accent)}",
    ".head .titles{flex:1;min-width:0}",
    ".head h2{margin:0;font-size:18px;line-height:1.3}",
    ".head p{margin:2px 0 0;font-size:13px;line-height:1.35;opacity:.95}",
    ".head button{flex:none;min-width:44px;min-height:44px;padding:4px 8px;border:1px solid currentColor;",
    "  border-radius:8px;background:transparent;color:inherit;font-size:13px}",
    ".head button.close{font-size:22px;line-height:1}",
    ".log{flex:1;overflow-y:auto;padding:12px;background:#f6f6f3;overscroll-behavior:contain}",
    ".log ol.msgs{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:10px}",
    ".msg{display:flex;flex-direction:column;max-width:100%}",
    ".msg.user{align-items:flex-end}",
    ".bubble{max-width:92%;padding:10px 12px;border-radius:12px;overflow-wrap:anywhere;word-break:normal}",
    ".user .bubble{background:var(--ww-accent);color:var(--ww-on-accent);border-bottom-right-radius:4px;",
    "  white-space:pre-wrap}",
    ".bot .bubble,.info .bubble{background:#fff;border:1px solid var(--ww-line);border-bottom-left-radius:4px;",
    "  max-width:100%}",
    ".error .bubble{background:#fdecea;border:1px solid #b3261e;color:#5f1410}",
    ".answer{margin:0;white-space:pre-line}",
    // The answer: paragraphs, a list as a real list, and the quiet "Bron: ..." line under it.
    "div.answer p{margin:0}div.answer p+p,div.answer ul+p,div.answer p+ul{margin-top:6px}",
    "div.answer ul{margin:4px 0 0;padding:0 0 0 1.25em;list-style:disc}div.answer li{margin:2px 0;padding-left:2px}",
    "div.answer p.src{margin-top:8px;font-size:14px;color:var(--ww-muted)}",
    ".ref{display:inline;margin:0 1px;padding:0 3px;min-width:0;border:1px solid var(--ww-accent);border-radius:4px;",
    "  background:#fff;color:var(--ww-accent);font-size:.85em;font-weight:700;line-height:1.3;vertical-align:1px}",
    ".related{margin-top:10px}.related summary{cursor:pointer;font-size:13px;font-weight:600;color:var(--ww-muted);" +
      "padding:4px 0}.related summary:focus-visible{outline:2px solid var(--ww-accent);outline-offset:2px}" +
      ".sources h3{margin:12px 0 6px;font-size:14px;text-transform:uppercase;letter-spacing:.04em;",
    "  color:var(--ww-muted)}",
    ".cards{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:8px}",
    ".card{border:1px solid var(--ww-line);border-left:4px solid var(--ww-accent);border-radius:8px;",
    "  padding:8px 10px;background:#fff}",
    ".card:focus-visible{outline-offset:1px}",
    ".card h4{margin:0;font-size:15px;line-height:1.35}",
    ".card .num{font-weight:700;color:var(--ww-accent);margin-right:4px}",
    ".card .where{margin:2px 0 0;font-size:13px;color:var(--ww-muted)}",
    ".card blockquote{margin:6px 0;padding:0 0 0 8px;border-left:2px solid var(--ww-line);font-size:14px;",
    "  line-height:1.45;white-space:pre-line}",
    ".card mark{background:#fff0a8;color:inherit;padding:0 1px;border-radius:2px;box-shadow:0 1px 0 #b38600}",
    // the sentence the answer quotes: tinted and underlined (not colour alone), unlike a question word
    ".card mark.quote{background:#fff4c2;padding:0;border-radius:0;box-shadow:none;border-bottom:2px solid #7a5a00}",
    ".card .actions{display:flex;flex-wrap:wrap;gap:4px 12px;align-items:center;font-size:14px}",
    ".card .actions a{color:var(--ww-accent);font-weight:600;padding:6px 0;display:inline-block}",
    ".card .more{border:0;background:none;color:var(--ww-accent);text-decoration:underline;padding:6px 0;",
    "  font-size:14px}",
    ".feedback{display:flex;flex-wrap:wrap;align-items:center;gap:6px;margin-top:10px;font-size:14px;",
    "  color:var(--ww-muted)}",
    ".feedback .vote{display:inline-flex;align-items:center;justify-content:center;min-width:44px;min-height:44px;",
    "  border:1px solid #8a8a85;border-radius:8px;background:#fff;color:var(--ww-muted)}",
    ".feedback .vote svg{width:20px;height:20px;fill:currentColor}",
    ".feedback .vote.up[aria-pressed=true]{color:#1d5c2e}",
    ".feedback .vote.down[aria-pressed=true]{color:#8c1d18}",
    ".feedback .vote[aria-pressed=true]{border-color:var(--ww-accent);background:#e8f0fa;box-shadow:inset 0 0 0 1px",
    "  var(--ww-accent)}",
    ".feedback .vote[aria-disabled=true]:not([aria-pressed=true]){opacity:.55}",
    ".feedback .thanks{color:#1d5c2e;font-weight:600}",
    ".comment{display:flex;flex-direction:column;gap:4px;margin-top:6px;width:100%}",
    ".comment textarea{width:100%;min-height:56px;padding:6px 8px;border:1px solid #8a8a85;border-radius:6px;",
    "  resize:vertical;color:#1d1d1b;background:#fff}",
    ".comment button,.send{align-self:flex-start;min-height:44px;padding:8px 14px;border:0;border-radius:8px;",
    "  background:var(--ww-accent);color:var(--ww-on-accent);font-weight:600}",
    ".thinking .bubble{color:var(--ww-muted);font-style:italic}",
    ".notice{margin:0 0 8px;padding:0 0 8px;border-bottom:1px solid var(--ww-line);font-size:14px}",
    ".notice a{color:var(--ww-accent);font-weight:600}",
    ".dots::after{content:'';display:inline-block;width:1.2em;text-align:left;animation:ww-dots 1.2s steps(4) infinite}",
    "@keyframes ww-dots{0%{content:''}25%{content:'.'}50%{content:'..'}75%{content:'...'}}",
    "@media (prefers-reduced-motion:reduce){.dots::after{animation:none;content:'...'}}",
    ".ask{border-top:1px solid var(--ww-line);padding:10px 12px 8px;background:#fff}",
    ".ask .row{display:flex;gap:8px;align-items:flex-end}",
    ".ask textarea{flex:1;min-width:0;min-height:48px;max-height:140px;padding:10px;border:1px solid #8a8a85;",
    "  border-radius:8px;resize:none;color:#1d1d1b;background:#fff;line-height:1.4}",
    ".ask textarea::placeholder{color:#6b6b67}",
    ".send{align-self:stretch}",
    ".send[aria-disabled=true]{opacity:.6;cursor:progress}",
    ".ask .hint{margin:4px 0 0;font-size:12px;color:var(--ww-muted)}",
    ".ask .meta{display:flex;justify-content:space-between;gap:8px;align-items:baseline}",
    ".ask .count{margin:4px 0 0;font-size:12px;color:var(--ww-muted);white-space:nowrap}",
    ".ask .count.over{color:#b3261e;font-weight:700}",
    ".ask textarea[aria-invalid=true]{border-color:#b3261e;box-shadow:0 0 0 1px #b3261e}",
    ".starters{margin-top:8px;display:flex;flex-direction:column;gap:6px;align-items:flex-start}",
    ".starters p{margin:0;font-size:14px;color:var(--ww-muted)}",
    ".starters p.refused{font-size:15px;color:#8a1c1c;border-left:3px solid #8a1c1c;padding-left:8px}",
    ".starters button{min-height:44px;padding:8px 12px;border:1px solid var(--ww-accent);border-radius:18px;",
    "  background:#fff;color:var(--ww-accent);text-align:left;font-size:14px}",
    ".copy{display:inline-flex;align-items:center;gap:4px;min-height:44px;padding:4px 10px;border:1px solid #8a8a85;",
    "  border-radius:8px;background:#fff;color:var(--ww-muted);font-size:14px}",
    ".copy svg{width:18px;height:18px;fill:currentColor}",
    ".mode{margin:8px 0 0;font-size:12px;color:var(--ww-muted)}",
    ".draft .answer{color:#3d3d3a}",
    ".mode-label{margin:0 0 6px;font-size:12px;font-weight:600;color:var(--ww-muted)}",
    ".draft .state{margin:6px 0 0;font-size:12px;color:var(--ww-muted);font-style:italic}",
    "@media (max-width:480px){",
    "  .launcher{right:12px;bottom:12px}",
    "  .panel{inset:0;right:0;bottom:0;width:100vw;height:100vh;height:100dvh;border-radius:0;border:0}",
    "  :host([data-open]) .launcher{display:none}",
    "  .head p{display:none}",
    "}",
    "@media (forced-colors:active){.launcher,.send,.ref,.card{border:1px solid CanvasText}",
    "  .card mark{forced-color-adjust:none;background:Mark;color:MarkText}.card mark.quote{border-bottom-color:MarkText}}",
  ].join("\n");

  function fmt(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (m, key) {
      return values && Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : m;
    });
  }

  /* h("button", {class: "x", onclick: fn}, "text", child) — strings become text nodes, never HTML. */
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === null || value === undefined || value === false) return;
        if (key.slice(0, 2) === "on" && typeof value === "function") el.addEventListener(key.slice(2), value);
        else if (key === "text") el.textContent = String(value);
        else el.setAttribute(key, value === true ? "" : String(value));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }

  function append(el, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(el, c); }); return; }
    el.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }

  /* Icons are inline SVG paths: no icon font, no emoji font needed (many office PCs lack a colour one). */
  var ICONS = {
    chat: "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6v2h2V9H7zm4 " +
      "0v2h2V9h-2zm4 0v2h2V9h-2z",
    up: "M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l.95-4.57.03-.32a1.5 1.5 0 0 0-.44-1.06L13.17 1 6.59 7.59A2 2 " +
      "0 0 0 6 9v10a2 2 0 0 0 2 2h9a2 2 0 0 0 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z",
    down: "M22 3h-4v12h4V3zM2 14a2 2 0 0 0 2 2h6.3l-.95 4.57-.03.32c0 .41.17.79.44 1.06L10.83 23l6.58-6.59A2 2 " +
      "0 0 0 18 15V5a2 2 0 0 0-2-2H7a2 2 0 0 0-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2z",
    copy: "M16 1H4a2 2 0 0 0-2 2v14h2V3h12V1zm3 4H8a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h11a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2z" +
      "m0 16H8V7h11v14z",
  };

  function svgIcon(name) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "icon");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  /* Markdown emphasis markers are noise when reading a quote; removed per piece, so offsets stay valid. */
  function plain(piece) {
    return piece.replace(/\*\*|__/g, "");
  }

  /* Plain text with <mark> around the given [start, end) spans; spans are checked, text stays text.
     With ``notes`` ([before, after]) each mark is a quote: class "quote", the notes read out around it. */
  function highlighted(text, spans, from, to, notes) {
    var frag = document.createDocumentFragment();
    var pos = from;
    (Array.isArray(spans) ? spans : []).forEach(function (span) {
      if (!Array.isArray(span) || span.length !== 2) return;
      var s = Math.max(Number(span[0]), pos), e = Math.min(Number(span[1]), to);
      if (!isFinite(s) || !isFinite(e) || e <= s) return;
      if (s > pos) frag.appendChild(document.createTextNode(plain(text.slice(pos, s))));
      if (notes) frag.appendChild(h("span", { class: "sr-only" }, notes[0]));
      frag.appendChild(h("mark", notes ? { class: "quote" } : null, plain(text.slice(s, e))));
      if (notes) frag.appendChild(h("span", { class: "sr-only" }, notes[1]));
      pos = e;
    });
    if (pos < to) frag.appendChild(document.createTextNode(plain(text.slice(pos, to))));
    return frag;
  }

  /* A window of the passage around its first highlighted word, cut at word boundaries. */
  function excerptRange(text, spans) {
    if (text.length <= EXCERPT_CHARS + 60) return [0, text.length];
    var first = Array.isArray(spans) && spans.length && Array.isArray(spans[0]) ? Number(spans[0][0]) || 0 : 0;
    var start = Math.max(0, first - 100);
    if (start > 0) {
      var space = text.indexOf(" ", start);
      start = space >= 0 && space < first ? space + 1 : start;
    }
    var end = Math.min(text.length, start + EXCERPT_CHARS);
    if (end < text.length) {
      var cut = text.lastIndexOf(" ", end);
      end = cut > start + 100 ? cut : end;
    }
    return [start, end];
  }

  /* The quote spans of a citation that fit its text: sorted, non-overlapping [start, end) pairs. */
  function quoteSpans(text, quotes) {
    var spans = [];
    (Array.isArray(quotes) ? quotes : []).forEach(function (q) {
      if (!Array.isArray(q) || q.length !== 2) return;
      var s = Number(q[0]), e = Number(q[1]);
      if (!isFinite(s) || !isFinite(e) || s < 0 || e > text.length || e <= s) return;
      spans.push([Math.floor(s), Math.floor(e)]);
    });
    spans.sort(function (a, b) { return a[0] - b[0]; });
    return spans.reduce(function (out, q) {
      var last = out[out.length - 1];
      if (last && q[0] <= last[1]) last[1] = Math.max(last[1], q[1]);
      else out.push(q);
      return out;
    }, []);
  }

  /* The pieces of a passage a card shows for its quoted sentences: each with a few words before and after,
     cut at word boundaries and never across a line (a heading, a list item); pieces that (nearly) touch merge. */
  function quoteRanges(text, spans) {
    var ranges = [];
    spans.forEach(function (q) {
      var start = Math.max(0, q[0] - QUOTE_CONTEXT), end = Math.min(text.length, q[1] + QUOTE_CONTEXT);
      var line = text.lastIndexOf("\n", q[0] - 1);
      if (line >= start) start = line + 1;
      else if (start > 0) {
        var space = text.indexOf(" ", start);
        start = space >= 0 && space < q[0] ? space + 1 : q[0];
      }
      var next = text.indexOf("\n", q[1]);
      if (next >= 0 && next <= end) end = next;
      else if (end < text.length) {
        var cut = text.lastIndexOf(" ", end);
        end = cut > q[1] ? cut : q[1];
      }
      var last = ranges[ranges.length - 1];
      if (last && start - last[1] < 40) last[1] = Math.max(last[1], end);
      else ranges.push([start, end]);
    });
    var shown = ranges.reduce(function (n, r) { return n + r[1] - r[0]; }, 0);
    return shown >= text.length - 60 ? [[0, text.length]] : ranges; // a few words hidden: show it whole
  }

  function safeHref(url, base) {
    try {
      var u = new URL(String(url), base);
      return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
    } catch (e) { return null; }
  }

  function onAccentColour(colour) {
    // Pick black or white text for the accent, whichever has more contrast (WCAG relative luminance).
    var probe = document.createElement("span");
    probe.style.color = colour;
    probe.style.display = "none";
    document.body.appendChild(probe);
    var rgb = getComputedStyle(probe).color.match(/\d+(\.\d+)?/g) || ["0", "0", "0"];
    probe.remove();
    var lum = rgb.slice(0, 3).map(function (v) {
      var c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var L = 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2];
    return (L + 0.05) / 0.05 > 1.05 / (L + 0.05) ? "#111111" : "#ffffff";
  }

  function cleanSuggestions(items) {
    return items.map(function (q) { return String(q).trim(); }).filter(Boolean).slice(0, 4);
  }

  function splitSuggestions(raw) {
    return raw ? cleanSuggestions(String(raw).split("|")) : [];
  }

  /* The focusable elements of a subtree that are visible now (for the focus trap of the full-screen panel). */
  function focusables(root) {
    var all = root.querySelectorAll("button, [href], textarea, input, select, summary, [tabindex]:not([tabindex='-1'])");
    return Array.prototype.filter.call(all, function (el) {
      return !el.disabled && el.getClientRects().length > 0 && !el.closest("[hidden]");
    });
  }

  var counter = 0;

  class WegwijzerChat extends HTMLElement {
    connectedCallback() {
      if (this._built) return;
      this._built = true;
      this._uid = "ww" + (++counter);
      var lang = (this.getAttribute("lang") || this.getAttribute("data-lang") || "nl").slice(0, 2).toLowerCase();
      this.m = MESSAGES[lang] || MESSAGES.nl;
      this.api = (this.getAttribute("api") || scriptOrigin).replace(/\/+$/, "");
      this.titleText = this.getAttribute("title-text") || this.m.title;
      this.storeKey = "wegwijzer-chat:v" + STORE_VERSION + ":" + this.api;
      this.pending = false;
      this.state = this._load();
      // Until the service's settings arrive: the attribute's starters, the default length, no streaming.
      this.config = { suggestions: splitSuggestions(this.getAttribute("suggestions")), maxChars: 1000,
        streaming: false, timeoutMs: REQUEST_TIMEOUT_MS };
      this._applyAccent(this.getAttribute("accent"));
      this._render();
      this._restore();
      this._loadConfig();
    }

    _loadConfig() {
      var fixed = this.config.suggestions.length > 0;
      fetch(this.api + "/api/widget", { mode: "cors", credentials: "omit", headers: { "Accept": "application/json" } })
        .then(function (res) { return res.ok ? res.json() : null; })
        .then((data) => {
          if (!data) return;
          if (data.origin_allowed === false) this._refused();
          if (!fixed && Array.isArray(data.suggestions)) this.config.suggestions = cleanSuggestions(data.suggestions);
          if (Number(data.max_question_chars) > 0) this.config.maxChars = Number(data.max_question_chars);
          this.config.streaming = data.streaming === true && !!(window.ReadableStream && window.TextDecoder);
          // a language model may think longer than our default before its first word: wait as long as the service does
          if (Number(data.timeout_s) > 0) this.config.timeoutMs = Math.max(REQUEST_TIMEOUT_MS, 1000 * Number(data.timeout_s));
          this._renderStarters();
          this._updateCounter();
        })
        .catch(function () { /* an older service: no starters, no streaming */ });
    }

    /* The service does not let this page's origin use it (WEGWIJZER_CORS_ORIGINS): every question would fail as if
       the service were down. Say so, with the fix, where the starters would be, in every error, and in the
       console for whoever embeds the widget; the page may listen for the "wegwijzer-origin-refused" event. */
    _refused() {
      var origin = window.location.origin;
      this.config.refusedText = fmt(this.m.originRefused, { origin: origin });
      if (window.console && console.error) console.error("Wegwijzer: " + this.config.refusedText);
      this.dispatchEvent(new CustomEvent("wegwijzer-origin-refused", { bubbles: true, detail: { origin: origin } }));
      this._renderStarters();
    }

    _applyAccent(accent) {
      if (!accent || !(window.CSS && CSS.supports && CSS.supports("color", accent))) return;
      this.style.setProperty("--ww-accent", accent);
      this.style.setProperty("--ww-on-accent", onAccentColour(accent));
    }

    _render() {
      var m = this.m, id = this._uid;
      var root = this.attachShadow({ mode: "open" });
      if ("adoptedStyleSheets" in root && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(STYLES);
        root.adoptedStyleSheets = [sheet];
      } else {
        root.appendChild(h("style", { text: STYLES }));
      }

      this.launcher = h("button", {
        type: "button", class: "launcher", "aria-expanded": "false", "aria-controls": id + "-panel",
        onclick: () => this.toggle(),
      }, svgIcon("chat"), h("span", null, m.launcher), h("span", { class: "sr-only hint-text" }, ", " + m.launcherHint));

      this.list = h("ol", { class: "msgs" });
      this.log = h("div", {
        class: "log", role: "log", "aria-live": "off", "aria-label": m.conversation, tabindex: "0",
      }, this.list);
      this.status = h("div", { class: "sr-only", role: "status", "aria-live": "polite", "aria-atomic": "true" });
      this.input = h("textarea", {
        id: id + "-q", rows: "2", placeholder: m.placeholder, "aria-describedby": id + "-hint " + id + "-count",
        autocomplete: "off",
        onkeydown: (ev) => {
          if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); this._submit(); }
        },
        oninput: () => { this.state.draft = this.input.value; this._save(); this._updateCounter(); },
      });
      this.count = h("p", { id: id + "-count", class: "count" });
      this.sendButton = h("button", { type: "submit", class: "send" }, m.send);
      var form = h("form", {
        class: "ask", novalidate: true,
        onsubmit: (ev) => { ev.preventDefault(); this._submit(); },
      },
        h("label", { for: id + "-q", class: "sr-only" }, m.inputLabel),
        h("div", { class: "row" }, this.input, this.sendButton),
        h("div", { class: "meta" }, h("p", { id: id + "-hint", class: "hint" }, m.hint), this.count));

      this.panel = h("section", {
        id: id + "-panel", class: "panel", role: "dialog", "aria-modal": "false", "aria-labelledby": id + "-title",
        lang: "nl-BE", hidden: true,
        onkeydown: (ev) => {
          if (ev.key === "Escape") { ev.stopPropagation(); this.close(true); }
          else if (ev.key === "Tab") this._trapFocus(ev);
        },
      },
        h("div", { class: "head" },
          h("div", { class: "titles" }, h("h2", { id: id + "-title" }, this.titleText), h("p", null, m.subtitle)),
          h("button", { type: "button", class: "new", onclick: () => this.clear() }, m.newChat),
          h("button", { type: "button", class: "close", "aria-label": m.close, onclick: () => this.close(true) },
            "×")),
        this.log, this.status, form);

      root.appendChild(h("div", { class: "ww", lang: "nl-BE" }, this.panel, this.launcher));
    }

    /* ------------------------------------------------------------------ open / close */

    /* At phone width the panel covers the page: it is a real modal, and Tab cycles inside it. */
    _isModal() {
      return !!(window.matchMedia && window.matchMedia("(max-width: 480px)").matches);
    }

    _syncModal() {
      var modal = !this.panel.hidden && this._isModal();
      this.panel.setAttribute("aria-modal", modal ? "true" : "false");
    }

    _trapFocus(ev) {
      if (!this._isModal()) return;
      var items = focusables(this.panel);
      if (!items.length) return;
      var first = items[0], last = items[items.length - 1];
      var current = this.shadowRoot.activeElement;
      if (ev.shiftKey && (current === first || !this.panel.contains(current))) {
        ev.preventDefault(); last.focus();
      } else if (!ev.shiftKey && (current === last || !this.panel.contains(current))) {
        ev.preventDefault(); first.focus();
      }
    }

    open(focus) {
      this.panel.hidden = false;
      this.setAttribute("data-open", "");
      this.launcher.setAttribute("aria-expanded", "true");
      this.state.open = true;
      this._save();
      this._syncModal();
      if (!this._modalWatch && window.matchMedia) {
        // Focus that leaves the full-screen panel (a click on nothing, an assistive technology) comes back.
        this._modalWatch = (ev) => {
          if (this.panel.hidden || !this._isModal()) return;
          if (ev.target !== this) this.input.focus();
        };
        document.addEventListener("focusin", this._modalWatch);
        var mq = window.matchMedia("(max-width: 480px)");
        if (mq.addEventListener) mq.addEventListener("change", () => this._syncModal());
      }
      // A conversation reopens where it ended; a new one at its top, so the AI notice above the starters is read.
      if (this.state.messages.length) this._scrollToEnd(); else this.log.scrollTop = 0;
      if (focus) {
        this.input.focus();
        this._announce(this.m.opened);
      }
    }

    close(focus) {
      this.panel.hidden = true;
      this.removeAttribute("data-open");
      this.launcher.setAttribute("aria-expanded", "false");
      this.state.open = false;
      this._save();
      this._syncModal();
      if (focus) this.launcher.focus();
    }

    toggle() {
      if (this.panel.hidden) this.open(true); else this.close(true);
    }

    clear() {
      // "Nieuw gesprek" also erases the conversation on the server, not only on this screen.
      if (this.state.conversation) this._forget(this.state.conversation);
      this.state.messages = [];
      this.state.draft = "";
      this.state.conversation = null; // the next question starts a new conversation
      this.input.value = "";
      this._save();
      this._restore();
      this._announce(this.m.cleared);
      this.input.focus();
    }

    _forget(conversation) {
      var m = this.m;
      var failed = () => {
        this.list.appendChild(this._infoItem(m.forgetFailed));
        this._announce(m.forgetFailed);
      };
      fetch(this.api + "/api/conversations/" + encodeURIComponent(conversation), {
        method: "DELETE", mode: "cors", credentials: "omit", headers: { "Accept": "application/json" },
      }).then(function (res) { if (!res.ok) failed(); }, failed);
    }

    /* ------------------------------------------------------------------ persistence */

    _load() {
      var fresh = { v: STORE_VERSION, open: false, draft: "", messages: [] };
      try {
        var raw = window.sessionStorage.getItem(this.storeKey);
        var data = raw ? JSON.parse(raw) : null;
        if (data && data.v === STORE_VERSION && Array.isArray(data.messages)) return data;
      } catch (e) { /* storage blocked or damaged: start fresh */ }
      return fresh;
    }

    _save() {
      try {
        this.state.messages = this.state.messages.slice(-MAX_STORED_MESSAGES);
        window.sessionStorage.setItem(this.storeKey, JSON.stringify(this.state));
      } catch (e) { /* quota or privacy mode: the conversation just does not survive navigation */ }
    }

    _restore() {
      this.list.textContent = "";
      this.starters = h("div", { class: "starters" });
      // The AI notice comes first (EU AI Act art. 50): an automated assistant, answering from the documents,
      // that can be wrong; with a link to how it works and what is kept.
      var href = safeHref(this.api + "/transparantie", this.api + "/");
      var notice = h("p", { class: "notice", role: "note", "aria-label": this.m.noticeLabel }, this.m.notice + " ",
        href ? h("a", { href: href, target: "_blank", rel: "noopener" }, this.m.noticeLink,
          h("span", { class: "sr-only" }, this.m.newTab)) : null);
      var welcome = this._infoItem(this.m.welcome);
      welcome.firstChild.insertBefore(notice, welcome.firstChild.firstChild);
      welcome.firstChild.appendChild(this.starters);
      this.list.appendChild(welcome);
      this._renderStarters();
      this.state.messages.forEach((msg) => this.list.appendChild(this._item(msg)));
      this.input.value = this.state.draft || "";
      this._updateCounter();
      if (this.state.open) this.open(false);
    }

    /* ------------------------------------------------------------------ asking */

    _renderStarters() {
      if (!this.starters) return;
      this.starters.textContent = "";
      if (this.config.refusedText) {  // no starters that could only fail: the reason, for an administrator
        this.starters.removeAttribute("role");
        this.starters.hidden = false;
        this.starters.appendChild(h("p", { class: "refused", role: "alert" }, this.config.refusedText));
        return;
      }
      var items = this.config.suggestions;
      if (!items.length || this.state.messages.length) { this.starters.hidden = true; return; }
      this.starters.hidden = false;
      var id = this._uid + "-starters";
      this.starters.setAttribute("role", "group");
      this.starters.setAttribute("aria-labelledby", id);
      this.starters.appendChild(h("p", { id: id }, this.m.suggestionsLabel));
      items.forEach((q) => {
        this.starters.appendChild(h("button", { type: "button", class: "starter", onclick: () => {
          if (this.pending) return;
          this.input.value = q;
          this._submit();
        } }, q));
      });
    }

    _updateCounter() {
      var n = this.input.value.trim().length, max = this.config.maxChars;
      var over = n > max;
      this.count.textContent = over ? fmt(this.m.counterOver, { n: n, max: max }) : fmt(this.m.counter, { n: n, max: max });
      this.count.classList.toggle("over", over);
      if (over) this.input.setAttribute("aria-invalid", "true"); else this.input.removeAttribute("aria-invalid");
      if (over && !this._wasOver) this._announce(this.count.textContent);
      this._wasOver = over;
    }

    _submit() {
      var question = this.input.value.trim();
      if (!question || this.pending) return;
      this.input.value = "";
      this.state.draft = "";
      this._updateCounter();
      if (this.starters) this.starters.hidden = true;
      this._push({ role: "user", text: question });
      this._ask(question);
    }

    _push(msg) {
      this.state.messages.push(msg);
      this._save();
      var item = this._item(msg);
      this.list.appendChild(item);
      this._scrollToEnd();
      return item;
    }

    _ask(question) {
      var m = this.m;
      this.pending = true;
      this.sendButton.setAttribute("aria-disabled", "true");
      this.log.setAttribute("aria-busy", "true");
      var waiting = h("li", { class: "msg bot thinking" },
        h("div", { class: "bubble" }, h("span", { class: "dots" }, m.thinking)));
      this.list.appendChild(waiting);
      this._scrollToEnd();
      this._announce(m.thinking);
      var body = { question: question };
      if (this.state.conversation) body.conversation_id = this.state.conversation;
      var done = this.config.streaming ? this._stream(body, waiting) : this._post("/api/ask", body);
      done
        .then((data) => {
          waiting.remove();
          if (!data || typeof data.text !== "string") throw new Error(m.genericError);
          if (typeof data.conversation_id === "string" && data.conversation_id) this.state.conversation = data.conversation_id;
          var item = this._push({ role: "bot", data: data, vote: null });
          var n = Array.isArray(data.citations) ? data.citations.length : 0;
          this._announce(fmt(m.announceAnswer, { text: data.text }) + " " +
            (n === 0 || data.found === false ? "" : n === 1 ? m.announceSource : fmt(m.announceSources, { n: n })));
          this._scrollTo(item); // the start of the answer, not the end of its source cards
        })
        .catch((err) => {
          waiting.remove();
          var text = err && err.userMessage ? err.userMessage : this.config.refusedText || m.networkError;
          this._push({ role: "error", text: text });
          this._announce(text);
          // The question is not lost: it is back in the field, to change or to send again.
          if (!this.input.value.trim()) {
            this.input.value = question;
            this.state.draft = question;
            this._save();
            this._updateCounter();
          }
        })
        .then(() => {
          this.pending = false;
          this.sendButton.removeAttribute("aria-disabled");
          this.log.removeAttribute("aria-busy");
        });
    }

    /* POST /api/ask/stream: checked sentences are shown as they arrive, then replaced by the whole answer.
       Only the service's `sentence` events (each checked against its source) and the answer are shown. */
    _stream(body, waiting) {
      var m = this.m;
      var controller = window.AbortController ? new AbortController() : null;
      var timer = null, timeoutMs = this.config.timeoutMs;
      var arm = function () {
        if (!controller) return;
        if (timer) clearTimeout(timer);
        timer = setTimeout(function () { controller.abort(); }, timeoutMs);
      };
      arm();
      var draft = null, draftAnswer = null;
      var showChecked = (soFar) => {
        if (!draft) {
          draftAnswer = h("p", { class: "answer" });
          draft = h("div", { class: "bubble" }, h("p", { class: "mode-label" }, m.generatedLabel), draftAnswer,
            h("p", { class: "state" }, m.checkedSoFar));
          waiting.classList.remove("thinking");
          waiting.classList.add("draft");
          waiting.textContent = "";
          waiting.appendChild(draft);
        }
        draftAnswer.textContent = soFar;
        this._scrollToEnd();
      };
      return fetch(this.api + "/api/ask/stream", {
        method: "POST", mode: "cors", credentials: "omit",
        headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
        body: JSON.stringify(body), signal: controller ? controller.signal : undefined,
      }).then(function (res) {
        if (!res.ok || !res.body) {
          return res.json().catch(function () { return null; }).then(function (data) {
            var err = new Error("HTTP " + res.status);
            var message = data && data.error && typeof data.error.message === "string" ? data.error.message : "";
            err.userMessage = message || m.genericError;
            throw err;
          });
        }
        var reader = res.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        var answer = null;
        var handle = function (block) {
          var event = "message", data = "";
          block.split("\n").forEach(function (line) {
            if (line.slice(0, 6) === "event:") event = line.slice(6).trim();
            else if (line.slice(0, 5) === "data:") data += line.slice(5).replace(/^ /, "");
          });
          if (!data) return;
          var payload = JSON.parse(data);
          if (event === "sentence" && payload && typeof payload.so_far === "string") showChecked(payload.so_far);
          else if (event === "answer") answer = payload;
          else if (event === "error") {
            var err = new Error("stream error");
            err.userMessage = payload && typeof payload.message === "string" ? payload.message : m.genericError;
            throw err;
          }
        };
        var pump = function () {
          return reader.read().then(function (chunk) {
            arm();
            if (chunk.done) {
              if (buffer.trim()) handle(buffer);
              if (!answer) throw new Error(m.genericError);
              return answer;
            }
            buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n/g, "\n");
            var parts = buffer.split("\n\n");
            buffer = parts.pop();
            parts.forEach(handle);
            if (answer) { reader.cancel().catch(function () {}); return answer; }
            return pump();
          });
        };
        return pump();
      }).finally(function () { if (timer) clearTimeout(timer); });
    }

    _post(path, body) {
      var m = this.m;
      var controller = window.AbortController ? new AbortController() : null;
      var timer = controller ? setTimeout(function () { controller.abort(); }, this.config.timeoutMs) : null;
      return fetch(this.api + path, {
        method: "POST", mode: "cors", credentials: "omit",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(body), signal: controller ? controller.signal : undefined,
      }).then(function (res) {
        return res.json().catch(function () { return null; }).then(function (data) {
          if (res.ok) return data;
          var err = new Error("HTTP " + res.status);
          var message = data && data.error && typeof data.error.message === "string" ? data.error.message : "";
          err.userMessage = message || m.genericError;
          throw err;
        });
      }).finally(function () { if (timer) clearTimeout(timer); });
    }

    _announce(text) {
      // Clear first so that the same sentence twice is announced twice.
      this.status.textContent = "";
      window.setTimeout(() => { this.status.textContent = text; }, 50);
    }

    _scrollToEnd() {
      this.log.scrollTop = this.log.scrollHeight;
    }

    /* Scroll only the conversation (scrollIntoView would also scroll the panel and the host page). */
    _scrollTo(el) {
      var top = el.getBoundingClientRect().top - this.log.getBoundingClientRect().top;
      this.log.scrollTop += top - 8;
    }

    /* ------------------------------------------------------------------ rendering */

    _infoItem(text) {
      return h("li", { class: "msg info" }, h("div", { class: "bubble" }, text));
    }

    _item(msg) {
      var m = this.m;
      if (msg.role === "user") {
        return h("li", { class: "msg user" },
          h("div", { class: "bubble" }, h("span", { class: "sr-only" }, m.you + " "), String(msg.text)));
      }
      if (msg.role === "error") {
        return h("li", { class: "msg error" }, h("div", { class: "bubble" }, String(msg.text)));
      }
      return this._answerItem(msg);
    }

    _answerItem(msg) {
      var m = this.m, data = msg.data || {};
      var key = this._uid + "-a" + String(data.answer_id || Math.random()).replace(/[^a-zA-Z0-9]/g, "").slice(0, 32);
      var citations = Array.isArray(data.citations) ? data.citations : [];
      var related = Array.isArray(data.related) ? data.related : [];
      if (data.found === false) { related = citations.concat(related); citations = []; } // never sources
      var cards = {};

      var answer = this._answerText(String(data.text || ""), citations, cards,
        data.found !== false && data.mode !== "generated");

      var bubble = h("div", { class: "bubble" }, answer);
      var generated = data.mode === "generated" && data.found !== false;
      if (generated) bubble.insertBefore(h("p", { class: "mode-label" }, m.generatedLabel), answer);
      var cardList = (items) => {
        var list = h("ol", { class: "cards" });
        items.forEach((c) => {
          var card = this._card(c, key);
          cards[String(c.n)] = card;
          list.appendChild(h("li", null, card));
        });
        return list;
      };
      if (citations.length) {
        bubble.appendChild(h("div", { class: "sources" }, h("h3", null, m.sources), cardList(citations)));
      }
      // The other passages retrieval found: further reading, kept apart from the sources and folded away.
      if (related.length) {
        var details = h("details", { class: "related" },
          h("summary", null, m.related + " (" + String(related.length) + ")"), cardList(related));
        if (!citations.length) details.setAttribute("open", "");
        bubble.appendChild(details);
      }
      if (generated) bubble.appendChild(h("p", { class: "mode" }, m.generated));
      bubble.appendChild(this._copyButton(data, citations));
      if (data.answer_id) bubble.appendChild(this._feedback(msg, key));
      return h("li", { class: "msg bot" }, bubble);
    }

    /* The answer text as paragraphs: lines starting with "- " become a list, each [n] a button to its card,
       and the last line of a quoted answer ("Bron: ...", no marker) a quiet source line. Text nodes only. */
    _answerText(text, citations, cards, quoted) {
      var m = this.m;
      var answer = h("div", { class: "answer" });
      var lines = text.split("\n").filter(function (line) { return line.trim(); });
      var list = null;
      lines.forEach((line, i) => {
        var item = /^- /.test(line);
        var block;
        if (item) {
          if (!list) { list = h("ul"); answer.appendChild(list); }
          block = h("li");
          list.appendChild(block);
          line = line.slice(2);
        } else {
          list = null;
          var source = quoted && citations.length && lines.length > 1 && i === lines.length - 1 &&
            !/\[\d{1,2}\]/.test(line);
          block = h("p", source ? { class: "src" } : null);
          answer.appendChild(block);
        }
        if (i === 0) block.appendChild(h("span", { class: "sr-only" }, m.bot + " "));
        line.split(/(\[\d{1,2}\])/).forEach((part) => {
          var ref = /^\[(\d{1,2})\]$/.exec(part);
          var target = ref && citations.some(function (c) { return String(c.n) === ref[1]; }) ? ref[1] : null;
          if (!target) { append(block, part); return; }
          block.appendChild(h("button", {
            type: "button", class: "ref",
            onclick: () => {
              var card = cards[target];
              if (!card) return;
              this._scrollTo(card);
              card.focus({ preventScroll: true });
            },
          }, part, h("span", { class: "sr-only" }, fmt(m.refSuffix, { n: target }))));
        });
      });
      if (!lines.length) answer.appendChild(h("p", null, h("span", { class: "sr-only" }, m.bot + " ")));
      return answer;
    }

    /* "Kopieer antwoord": the answer text and its sources as plain text, for a mail or a note. */
    _copyButton(data, citations) {
      var m = this.m;
      var label = h("span", null, m.copy);
      var button = h("button", { type: "button", class: "copy" }, svgIcon("copy"), label);
      button.addEventListener("click", () => {
        var lines = [String(data.text || "")];
        if (citations.length) {
          lines.push("", m.copySources);
          citations.forEach((c) => {
            var where = c.page !== null && c.page !== undefined ? ", " + fmt(m.page, { page: c.page }) : "";
            var href = safeHref(c.url, this.api + "/");
            lines.push("[" + String(c.n) + "] " + String(c.title || c.source || "") + where + (href ? " — " + href : ""));
          });
        }
        var text = lines.join("\n");
        var ok = () => { label.textContent = m.copied; this._announce(m.copiedAnnounce);
          setTimeout(function () { label.textContent = m.copy; }, 2500); };
        var fail = () => { label.textContent = m.copyFailed; this._announce(m.copyFailed); };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(text).then(ok, () => { if (this._copyFallback(text)) ok(); else fail(); });
        } else if (this._copyFallback(text)) ok(); else fail();
      });
      return button;
    }

    _copyFallback(text) {
      var area = h("textarea", { class: "sr-only", readonly: true, "aria-hidden": "true", tabindex: "-1" });
      area.value = text;
      this.shadowRoot.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      area.remove();
      return ok;
    }

    _card(c, key) {
      var m = this.m;
      var text = String(c.text || "");
      var titleId = key + "-c" + String(c.n).replace(/\D/g, "");
      var where = [];
      if (c.page !== null && c.page !== undefined) where.push(fmt(m.page, { page: c.page }));
      if (c.section) where.push(String(c.section));
      // A cited passage shows the sentences the answer quotes, with a little context, marked as quotes; any
      // other passage shows the window around the question's words, as before.
      var quoted = quoteSpans(text, c.quotes);
      var marks = quoted.length ? quoted : c.highlights;
      var notes = quoted.length ? [m.quoteStart, m.quoteEnd] : null;
      var ranges = quoted.length ? quoteRanges(text, quoted) : [excerptRange(text, c.highlights)];
      var quote = h("blockquote", null);
      var cut = ranges.length > 1 || ranges[0][0] > 0 || ranges[0][1] < text.length;
      var showExcerpt = () => {
        quote.textContent = "";
        ranges.forEach(function (range, i) {
          if (range[0] > 0) append(quote, i ? " … " : "… ");
          quote.appendChild(highlighted(text, marks, range[0], range[1], notes));
        });
        if (ranges[ranges.length - 1][1] < text.length) append(quote, " …");
      };
      showExcerpt();
      var actions = h("div", { class: "actions" });
      if (cut) {
        var more = h("button", {
          type: "button", class: "more", "aria-expanded": "false",
          onclick: () => {
            var expand = more.getAttribute("aria-expanded") !== "true";
            if (expand) { quote.textContent = ""; quote.appendChild(highlighted(text, marks, 0, text.length, notes)); }
            else showExcerpt();
            more.setAttribute("aria-expanded", String(expand));
            more.textContent = expand ? m.showLess : m.showMore;
          },
        }, m.showMore);
        actions.appendChild(more);
      }
      var href = safeHref(c.url, this.api + "/");
      if (href) {
        actions.appendChild(h("a", { href: href, target: "_blank", rel: "noopener", class: "open" },
          m.openDoc, h("span", { class: "sr-only" }, m.newTab), h("span", { "aria-hidden": "true" }, " ↗")));
      }
      return h("article", { class: "card", tabindex: "-1", "aria-labelledby": titleId },
        h("h4", { id: titleId }, h("span", { class: "num" }, "[" + String(c.n) + "]"), String(c.title || c.source || "")),
        where.length ? h("p", { class: "where" }, where.join(" · ")) : null,
        quote, actions);
    }

    _feedback(msg, key) {
      var m = this.m;
      var group = h("div", { class: "feedback", role: "group", "aria-labelledby": key + "-fq" },
        h("span", { id: key + "-fq" }, m.feedbackQuestion));
      // 👍 / 👎, drawn as SVG so they look the same everywhere; the label is what assistive tech reads.
      var up = h("button", { type: "button", class: "vote up", "aria-pressed": "false", "aria-label": m.helpful,
        title: m.helpful },
        svgIcon("up"));
      var down = h("button", {
        type: "button", class: "vote down", "aria-pressed": "false", "aria-expanded": "false", "aria-label": m.notHelpful,
        title: m.notHelpful,
      }, svgIcon("down"));
      var note = h("span", { class: "thanks" });
      var comment = null;
      group.appendChild(up);
      group.appendChild(down);
      group.appendChild(note);

      var done = (vote) => {
        msg.vote = vote;
        this._save();
        [up, down].forEach(function (b) { b.setAttribute("aria-disabled", "true"); });
        (vote === "up" ? up : down).setAttribute("aria-pressed", "true");
        if (comment) { comment.remove(); comment = null; down.setAttribute("aria-expanded", "false"); }
        note.textContent = m.thanks;
      };
      var send = (helpful, text) => {
        return this._post("/api/feedback", { answer_id: msg.data.answer_id, helpful: helpful, comment: text || "" })
          .then(() => { done(helpful ? "up" : "down"); this._announce(m.thanks); })
          .catch((err) => {
            note.textContent = (err && err.userMessage) || m.feedbackFailed;
            this._announce(note.textContent);
          });
      };
      up.addEventListener("click", () => { if (!msg.vote) send(true, ""); });
      down.addEventListener("click", () => {
        if (msg.vote || comment) return;
        var id = key + "-fc";
        var field = h("textarea", { id: id, rows: "2", maxlength: "2000" });
        comment = h("div", { class: "comment" },
          h("label", { for: id }, m.commentLabel), field,
          h("button", { type: "button", onclick: () => send(false, field.value.trim()) }, m.sendFeedback));
        group.appendChild(comment);
        down.setAttribute("aria-expanded", "true");
        field.focus();
      });
      if (msg.vote) done(msg.vote);
      return group;
    }
  }

  window.customElements.define(TAG, WegwijzerChat);

  function mount() {
    if (!script || script.getAttribute("data-auto") === "false" || document.querySelector(TAG)) return;
    var el = document.createElement(TAG);
    var map = { "data-api": "api", "data-title": "title-text", "data-accent": "accent", "data-lang": "lang",
      "data-suggestions": "suggestions" };
    Object.keys(map).forEach(function (attr) {
      var value = script.getAttribute(attr);
      if (value) el.setAttribute(map[attr], value);
    });
    document.body.appendChild(el);
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
