/*
 * Wegwijzer admin page (/beheer). Vanilla JavaScript, nothing loaded from elsewhere (the page's CSP
 * allows only this origin). Everything that comes from the server or from a file name is inserted as
 * text (textContent), never as HTML. State-changing requests carry the session's CSRF token in the
 * X-CSRF-Token header; the session itself is an HttpOnly cookie this script cannot read. Every text
 * comes from the catalogue (assistant/messages.py, "beheer.ui.*"), handed over in the page's
 * #beheer-text data block; tx(key, values) fills in its {names}.
 */
(function () {
  "use strict";

  var API = "/beheer/api";
  var POLL_MS = 1000;
  var TEXT = JSON.parse(document.getElementById("beheer-text").textContent);

  function tx(key, values) {
    var text = Object.prototype.hasOwnProperty.call(TEXT, key) ? TEXT[key] : key;
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  var FIELDS = [
    { name: "title", label: tx("col.title"), placeholder: tx("field.title_hint") },
    { name: "publisher", label: tx("col.publisher"), placeholder: tx("field.publisher_hint") },
    { name: "date", label: tx("col.date"), placeholder: tx("field.date_hint"), help: tx("field.date_help") },
    { name: "kind", label: tx("col.kind"), select: true },
    { name: "language", label: tx("col.language"), placeholder: tx("field.language_hint") },
    { name: "audience", label: tx("col.audience"), placeholder: tx("field.audience_hint"),
      help: tx("field.audience_help") },
  ];
  var PHASES = {
    queued: "job.queued", "": "job.starting", reading: "job.reading", documents: "job.reading_documents",
    passages: "job.embedding",
  };

  var state = { csrf: "", kinds: [], suffixes: [], maxMb: 20, pending: [], following: null, lastPhase: null,
                opener: null, editing: null, deleting: null, nextId: 1 };

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] === null || attrs[k] === undefined || attrs[k] === false) return;
      if (k === "text") node.textContent = attrs[k];
      else if (k === "className") node.className = attrs[k];
      else node.setAttribute(k, attrs[k] === true ? "" : attrs[k]);
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function when(epoch) {
    if (!epoch) return "";
    try {
      return new Date(epoch * 1000).toLocaleString("nl-BE", { dateStyle: "short", timeStyle: "short" });
    } catch (e) { return new Date(epoch * 1000).toISOString(); }
  }

  // ------------------------------------------------------------------ talking to the server

  function ApiError(status, message) { this.status = status; this.message = message; }

  function api(method, path, body, isForm) {
    var headers = { "Accept": "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = state.csrf;
    var init = { method: method, headers: headers, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined) {
      if (isForm) init.body = body;
      else { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    }
    return fetch(API + path, init).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        if (response.ok) return data;
        var message = data && data.error && data.error.message ? data.error.message
          : tx("error.status", { status: response.status });
        if (response.status === 401 && path !== "/login") showLogin(message);
        throw new ApiError(response.status, message);
      });
    }, function () {
      throw new ApiError(0, tx("error.offline"));
    });
  }

  function notice(message, info) {
    var box = $("notice");
    box.textContent = message || "";
    box.className = info ? "notice info" : "notice";
    box.hidden = !message;
  }

  // ------------------------------------------------------------------ sign-in

  function show(section) {
    $("loading").hidden = true;
    ["off", "login", "noaccess", "app"].forEach(function (id) { $(id).hidden = id !== section; });
    $("nav").hidden = section !== "app";
    $("signout").hidden = $("who").hidden = section !== "app" && section !== "noaccess";
  }

  function showLogin(message, info) {
    stopFollowing();
    state.csrf = "";
    closeDialogs();
    show("login");
    notice(message || "", info);
    $("token").value = "";
    if (state.oidc) $("oidc-link").focus(); else $("token").focus();
  }

  // Who is signed in, and what their role lets them see: exports and the audit trail are for beheerders.
  function applyUser(data) {
    var user = data.user;
    state.oidc = !!data.oidc;
    state.tokenSignIn = !!data.token_sign_in;
    state.role = user ? user.role : "";
    $("who").textContent = user ? tx("who", { name: user.name, role: user.role_label }) : "";
    $("oidc-signin").hidden = !data.oidc;
    $("break-glass").hidden = !(data.oidc && data.token_sign_in);
    $("login-form").hidden = !data.token_sign_in;
    Array.prototype.forEach.call(document.querySelectorAll("[data-role=beheerder]"), function (node) {
      node.hidden = state.role !== "beheerder";
    });
  }

  function applySession(data) {
    applyUser(data);
    state.csrf = data.csrf || "";
    state.kinds = data.kinds || [];
    state.suffixes = data.suffixes || [];
    state.maxMb = data.max_upload_mb || 20;
    $("formats").textContent = tx("drop.formats", { suffixes: state.suffixes.join(", "), mb: state.maxMb });
  }

  function start() {
    fetch(API + "/session", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        applySession(data);
        if (!data.enabled) { show("off"); return; }
        if (!data.signed_in) { showLogin(); return; }
        if (state.role === "lezer") { show("noaccess"); return; }
        enterApp(false);
      })
      .catch(function () { notice(tx("error.offline_reload")); $("loading").hidden = true; });
  }

  function enterApp(focusHeading) {
    show("app");
    notice("");
    loadDocuments();
    loadFeedback();
    loadUnanswered();
    loadWrong();
    if (state.role === "beheerder") loadAudit();
    followJobs(true);
    if (focusHeading) {
      var h = document.querySelector("#app h1");
      h.setAttribute("tabindex", "-1");
      h.focus();
    }
  }

  $("login-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var token = $("token").value;
    $("login-error").textContent = "";
    if (!token.trim()) { $("login-error").textContent = tx("login.empty"); $("token").focus(); return; }
    var button = this.querySelector("button");
    button.disabled = true;
    api("POST", "/login", { token: token }).then(function (data) {
      applySession(data);
      $("token").value = "";
      enterApp(true);
    }, function (err) {
      $("login-error").textContent = err.message;
      $("token").focus();
      $("token").select();
    }).then(function () { button.disabled = false; });
  });

  $("signout").addEventListener("click", function () {
    api("POST", "/logout").then(function (data) {
      // Signed in through the municipality's identity provider: end that session too, on its own page.
      if (data.end_session_url) { window.location.assign(data.end_session_url); return; }
      applyUser({ oidc: state.oidc, token_sign_in: state.tokenSignIn });
      showLogin(data.message, true);
    },
                                function (err) { if (err.status !== 401) notice(err.message); });
  });

  // ------------------------------------------------------------------ documents

  function loadDocuments() {
    return api("GET", "/documents").then(renderDocuments, function (err) { if (err.status !== 401) notice(err.message); });
  }

  function renderDocuments(data) {
    var index = data.index || {};
    $("index-summary").textContent = index.version
      ? tx("docs.summary", { documents: index.documents, passages: index.passages, version: index.version })
      : tx("docs.no_index");
    var body = $("docs-table").tBodies[0];
    body.textContent = "";
    if (!data.documents.length) {
      body.appendChild(el("tr", {}, [el("td", { colspan: "9", className: "empty",
                                                text: tx("docs.empty") })]));
    }
    data.documents.forEach(function (d) {
      var title = el("td", { "data-label": tx("col.title") }, [
        d.url ? el("a", { href: d.url, text: d.title }) : el("span", { text: d.title }),
        el("span", { className: "sub", text: d.source }),
        d.audience && d.audience.length
          ? el("span", { className: "sub audience", text: tx("docs.audience", { groups: d.audience.join(", ") }) })
          : null,
      ]);
      var status = el("td", { "data-label": tx("col.status") }, [
        el("span", { className: "status " + d.status, text: tx("status." + d.status) }),
        d.reason ? el("span", { className: "reason", text: d.reason }) : null,
      ]);
      var actions = el("td", { "data-label": tx("col.actions") });
      if (d.editable) {
        var wrap = el("div", { className: "actions" });
        var edit = el("button", { type: "button", className: "secondary", "data-action": "edit",
                                  "data-source": d.source, "aria-label": tx("docs.edit_label", { title: d.title }),
                                  text: tx("docs.edit") });
        var del = el("button", { type: "button", className: "secondary", "data-action": "delete",
                                 "data-source": d.source, "aria-label": tx("docs.delete_label", { title: d.title }),
                                 text: tx("docs.delete") });
        edit.addEventListener("click", function () { openEdit(d, edit); });
        del.addEventListener("click", function () { openDelete(d, del); });
        wrap.appendChild(edit);
        wrap.appendChild(del);
        actions.appendChild(wrap);
      }
      body.appendChild(el("tr", { "data-source": d.source }, [
        title,
        el("td", { "data-label": tx("col.publisher"), text: d.publisher }),
        el("td", { "data-label": tx("col.date"), className: "nowrap", text: d.date }),
        el("td", { "data-label": tx("col.kind"), className: "nowrap", text: d.kind_label }),
        el("td", { "data-label": tx("col.language"), className: "nowrap", text: d.language }),
        el("td", { "data-label": tx("col.pages"), className: "num", text: d.pages === null ? "" : String(d.pages) }),
        el("td", { "data-label": tx("col.passages"), className: "num",
                   text: d.passages === null ? "" : String(d.passages) }),
        status, actions,
      ]));
    });
  }

  function fieldInputs(prefix, values) {
    var box = el("div", { className: "fields" });
    FIELDS.forEach(function (f) {
      var id = prefix + "-" + f.name;
      var input;
      if (f.select) {
        input = el("select", { id: id, name: f.name }, [el("option", { value: "", text: tx("field.unset") })]);
        state.kinds.forEach(function (k) { input.appendChild(el("option", { value: k.value, text: k.label })); });
        input.value = values[f.name] || "";
      } else {
        input = el("input", { id: id, name: f.name, type: "text", placeholder: f.placeholder || null,
                              autocomplete: "off", "aria-describedby": f.help ? id + "-help" : null });
        input.value = values[f.name] || "";
      }
      box.appendChild(el("div", { className: "field" }, [
        el("label", { "for": id, text: f.label }), input,
        f.help ? el("span", { id: id + "-help", className: "sub", text: f.help }) : null,
      ]));
    });
    return box;
  }

  function readFields(container) {
    var out = {};
    FIELDS.forEach(function (f) { out[f.name] = container.querySelector("[name=" + f.name + "]").value.trim(); });
    return out;
  }

  // ---- upload

  function suffixOf(name) {
    var i = name.lastIndexOf(".");
    return i < 0 ? "" : name.slice(i).toLowerCase();
  }

  function addFiles(list) {
    Array.prototype.forEach.call(list, function (file) {
      var problem = "";
      if (state.suffixes.indexOf(suffixOf(file.name)) < 0) {
        problem = tx("upload.bad_type", { suffixes: state.suffixes.join(", ") });
      } else if (file.size > state.maxMb * 1024 * 1024) {
        problem = tx("upload.too_large", { mb: state.maxMb });
      }
      state.pending.push({ id: state.nextId++, file: file, problem: problem });
    });
    renderPending();
    $("upload-form").hidden = state.pending.length === 0;
    var first = $("pending").querySelector("input, button");
    if (first) first.focus();
  }

  function renderPending() {
    var list = $("pending");
    // keep what was typed: re-render only items that are not in the list yet, drop removed ones
    var keep = {};
    state.pending.forEach(function (p) { keep[p.id] = true; });
    Array.prototype.slice.call(list.children).forEach(function (li) {
      if (!keep[li.getAttribute("data-id")]) list.removeChild(li);
    });
    state.pending.forEach(function (p) {
      var li = list.querySelector("li[data-id='" + p.id + "']");
      if (!li) {
        var remove = el("button", { type: "button", className: "link", text: tx("upload.remove"),
                                    "aria-label": tx("upload.remove_label", { name: p.file.name }) });
        remove.addEventListener("click", function () {
          state.pending = state.pending.filter(function (q) { return q.id !== p.id; });
          renderPending();
          $("upload-form").hidden = state.pending.length === 0;
          ($("pending").querySelector("input") || $("file-input")).focus();
        });
        li = el("li", { "data-id": String(p.id) }, [
          el("p", { className: "name",
                    text: tx("upload.file", { name: p.file.name, kb: Math.max(1, Math.round(p.file.size / 1024)) }) }),
          fieldInputs("f" + p.id, {}),
          el("p", { className: "state", role: "status" }),
          el("p", { className: "error" }),
          remove,
        ]);
        list.appendChild(li);
      }
      li.querySelector(".error").textContent = p.problem || "";
    });
  }

  var drop = $("dropzone");
  ["dragenter", "dragover"].forEach(function (name) {
    drop.addEventListener(name, function (event) { event.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "dragend"].forEach(function (name) {
    drop.addEventListener(name, function () { drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (event) {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer && event.dataTransfer.files.length) addFiles(event.dataTransfer.files);
  });
  $("file-input").addEventListener("change", function () {
    addFiles(this.files);
    this.value = "";
  });
  $("upload-cancel").addEventListener("click", function () {
    state.pending = [];
    renderPending();
    $("upload-form").hidden = true;
    $("file-input").focus();
  });

  $("upload-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var button = $("upload-button");
    var todo = state.pending.filter(function (p) { return !p.problem; });
    if (!todo.length) return;
    button.disabled = true;
    var stored = [];
    var chain = Promise.resolve();
    todo.forEach(function (p) {
      chain = chain.then(function () {
        var li = $("pending").querySelector("li[data-id='" + p.id + "']");
        var form = new FormData();
        form.append("file", p.file, p.file.name);
        var values = readFields(li);
        Object.keys(values).forEach(function (k) { if (values[k]) form.append(k, values[k]); });
        li.querySelector(".state").textContent = tx("upload.busy");
        var replace = $("replace") && $("replace").checked ? "?replace=true" : "";
        return api("POST", "/documents" + replace, form, true).then(function (data) {
          stored.push(data.source);
          state.pending = state.pending.filter(function (q) { return q.id !== p.id; });
        }, function (err) {
          p.problem = err.message;
          li.querySelector(".state").textContent = "";
          if (err.status === 401) throw err;
        });
      });
    });
    chain.then(function () {
      renderPending();
      $("upload-form").hidden = state.pending.length === 0;
      if (!stored.length) {
        var failed = $("pending").querySelector("input");
        if (failed) failed.focus();
        return null;
      }
      notice(tx(stored.length === 1 ? "upload.done_one" : "upload.done_many",
                { count: stored.length, names: stored.join(", ") }), true);
      return requestReindex();
    }).catch(function () { /* signed out: the sign-in form is shown */ })
      .then(function () { button.disabled = false; });
  });

  // ---- edit

  function openDialog(dialog, opener) {
    state.opener = opener;
    if (typeof dialog.showModal === "function") dialog.showModal();
    else dialog.setAttribute("open", "");
  }

  function closeDialog(dialog) {
    if (dialog.open) dialog.close();
  }

  function closeDialogs() {
    closeDialog($("edit-dialog"));
    closeDialog($("delete-dialog"));
  }

  function restoreFocus(source, action) {
    var target = document.querySelector("button[data-action='" + action + "'][data-source='" +
                                        (window.CSS && CSS.escape ? CSS.escape(source) : source) + "']");
    (target || state.opener || $("docs-title")).focus();
  }

  function openEdit(doc, opener) {
    state.editing = doc;
    $("edit-source").textContent = tx("edit.file", { source: doc.source });
    var fields = $("edit-fields");
    fields.textContent = "";
    var values = {};
    FIELDS.forEach(function (f) { values[f.name] = (doc.catalog || {})[f.name] || ""; });
    fields.appendChild(fieldInputs("edit", values));
    $("edit-error").textContent = "";
    openDialog($("edit-dialog"), opener);
    $("edit-fields").querySelector("input").focus();
  }

  $("edit-cancel").addEventListener("click", function () { closeDialog($("edit-dialog")); });
  $("edit-dialog").addEventListener("close", function () {
    if (state.editing) restoreFocus(state.editing.source, "edit");
    state.editing = null;
  });
  $("edit-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var doc = state.editing;
    if (!doc) return;
    var save = $("edit-save");
    save.disabled = true;
    $("edit-error").textContent = "";
    api("PATCH", "/documents/" + encodeURIComponent(doc.source).replace(/%2F/g, "/"), readFields($("edit-fields")))
      .then(function (data) {
        closeDialog($("edit-dialog"));
        notice(tx("edit.saved", { source: doc.source }), true);
        startFollowing(data.reindex, data.reindex_error);
        return loadDocuments().then(function () { restoreFocus(doc.source, "edit"); });
      }, function (err) {
        $("edit-error").textContent = err.message;
        var first = $("edit-fields").querySelector("input");
        if (first) first.focus();
      }).then(function () { save.disabled = false; });
  });

  // ---- delete

  function openDelete(doc, opener) {
    state.deleting = doc;
    $("delete-text").textContent = tx("delete.text", { title: doc.title, source: doc.source });
    $("delete-error").textContent = "";
    openDialog($("delete-dialog"), opener);
    $("delete-cancel").focus(); // the safe choice first
  }

  $("delete-cancel").addEventListener("click", function () { closeDialog($("delete-dialog")); });
  $("delete-dialog").addEventListener("close", function () {
    if (state.deleting) restoreFocus(state.deleting.source, "delete");
    state.deleting = null;
  });
  $("delete-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var doc = state.deleting;
    if (!doc) return;
    api("DELETE", "/documents/" + encodeURIComponent(doc.source).replace(/%2F/g, "/")).then(function (data) {
      state.deleting = null;
      closeDialog($("delete-dialog"));
      notice(tx("delete.done", { source: doc.source }), true);
      startFollowing(data.reindex, data.reindex_error);
      return loadDocuments().then(function () { $("docs-title").focus(); });
    }, function (err) { $("delete-error").textContent = err.message; });
  });

  // ------------------------------------------------------------------ re-index and its progress

  function requestReindex() {
    return api("POST", "/reindex").then(function (ticket) { startFollowing(ticket, ""); },
                                        function (err) { if (err.status !== 401) notice(err.message); });
  }

  $("reindex").addEventListener("click", requestReindex);

  function say(text) {
    if ($("job-text").textContent !== text) $("job-text").textContent = text;
  }

  function startFollowing(ticket, error) {
    if (error) { notice(error); return; }
    if (!ticket) return;
    say(ticket.message || tx(PHASES.queued));
    state.lastPhase = null;
    followJobs(false);
  }

  function stopFollowing() {
    if (state.following) clearTimeout(state.following);
    state.following = null;
  }

  function followJobs(quietStart) {
    stopFollowing();
    api("GET", "/jobs").then(function (queue) {
      var job = queue.current;
      var active = job && (job.state === "queued" || job.state === "running");
      renderJob(job, queue.next, quietStart && !active);
      if (active || (queue.next && queue.next.state === "queued")) {
        state.following = setTimeout(function () { followJobs(false); }, POLL_MS);
      } else if (!quietStart) {
        loadDocuments();
      }
    }, function (err) {
      if (err.status !== 401) state.following = setTimeout(function () { followJobs(false); }, POLL_MS * 3);
    });
  }

  function renderJob(job, next, quiet) {
    var bar = $("job-progress");
    if (!job) { bar.hidden = true; return; }
    var p = job.progress || {};
    if (job.state === "queued" || job.state === "running") {
      var phase = job.state === "queued" ? "queued" : (p.phase || "");
      if (phase !== state.lastPhase) { say(job.note || tx(PHASES[phase] || PHASES[""])); state.lastPhase = phase; }
      var done = 0, total = 0, detail = "";
      if (p.phase === "documents") {
        done = p.documents_done; total = p.documents_total;
        detail = tx("job.documents", { done: done, total: total });
      } else if (p.phase === "passages") {
        done = p.passages_done; total = p.passages_total;
        detail = tx("job.passages", { done: done, total: total });
      }
      bar.hidden = false;
      if (total) { bar.max = total; bar.value = done; bar.setAttribute("aria-valuetext", detail); }
      else { bar.removeAttribute("value"); bar.removeAttribute("aria-valuetext"); }
      $("job-detail").textContent = detail + (next ? tx("job.next") : "");
      $("reindex").disabled = false;
      return;
    }
    bar.hidden = true;
    $("job-detail").textContent = "";
    if (quiet && state.lastPhase === null) {
      say(tx(job.state === "done" ? "job.last_done" : "job.last_failed",
             { when: when(job.finished_at), error: job.error }));
      return;
    }
    state.lastPhase = null;
    if (job.state === "done") {
      var r = job.report || {};
      var text = tx("job.done", { documents: r.documents, passages: r.passages,
                                  version: r.version_id ? tx("job.version", { version: r.version_id }) : "" });
      if (r.skipped && r.skipped.length) text += tx("job.skipped", { count: r.skipped.length });
      say(text);
    } else {
      say(tx("job.failed", { error: job.error || tx("job.unknown_error") }));
    }
  }

  // ------------------------------------------------------------------ feedback and unanswered questions

  function loadFeedback() {
    var vote = $("vote-filter").value;
    $("feedback-csv").setAttribute("href", API + "/feedback.csv?vote=" + vote);
    return api("GET", "/feedback?vote=" + vote).then(renderFeedback,
                                                     function (err) { if (err.status !== 401) notice(err.message); });
  }

  // What the person saw: the answer text (its lines kept), how it was made and from which index version.
  function shownCell(item) {
    var a = item.answer || {};
    var td = el("td", { "data-label": tx("col.answer"), className: "shown" });
    if (!a.text) {
      td.appendChild(el("span", { className: "empty", text: tx("shown.missing") }));
      return td;
    }
    td.appendChild(el("div", { className: "answer-text", text: a.text }));
    var meta = [];
    if (a.mode === "extractive" || a.mode === "generated") meta.push(tx("shown." + a.mode));
    if (a.index_version) meta.push(tx(a.current ? "shown.index" : "shown.index_old", { version: a.index_version }));
    if (meta.length) td.appendChild(el("span", { className: "sub", text: meta.join(" · ") }));
    return td;
  }

  // The cited sources, [n] as in the answer text, each a link to the document view (at the passage while
  // the index that answered is still the published one).
  function sourcesCell(sources) {
    var td = el("td", { "data-label": tx("col.sources") });
    if (!sources || !sources.length) {
      td.appendChild(el("span", { className: "empty", text: tx("fb.no_sources") }));
      return td;
    }
    var list = el("ul", { className: "plain" });
    sources.forEach(function (s) {
      var name = s.title || s.source;
      if (s.page) name = tx("fb.page", { title: name, page: s.page });
      if (s.n) name = tx("shown.passage", { n: s.n, name: name });
      list.appendChild(el("li", {}, [s.url ? el("a", { href: s.url, target: "_blank", rel: "noopener",
                                                       text: name }) : name]));
    });
    td.appendChild(list);
    return td;
  }

  function renderFeedback(data) {
    var c = data.counts || {};
    $("fb-summary").textContent = tx(data.feedback.length === 1 ? "fb.summary_one" : "fb.summary",
                                     { up: c.helpful || 0, down: c.not_helpful || 0, shown: data.feedback.length });
    var body = $("fb-table").tBodies[0];
    body.textContent = "";
    if (!data.feedback.length) {
      body.appendChild(el("tr", {}, [el("td", { colspan: "7", className: "empty", text: tx("fb.empty") })]));
    }
    data.feedback.forEach(function (f) {
      body.appendChild(el("tr", {}, [
        el("td", { "data-label": tx("col.date"), text: when(f.created_at) }),
        el("td", { "data-label": tx("col.vote") }, [f.helpful ? el("span", { className: "vote-up", text: tx("fb.up") })
                                                   : el("span", { className: "vote-down", text: tx("fb.down") })]),
        el("td", { "data-label": tx("col.comment"), className: "comment", text: f.comment }),
        el("td", { "data-label": tx("col.question"), className: "question", text: f.question }),
        shownCell(f),
        sourcesCell(f.sources),
        el("td", { "data-label": tx("col.channel"), text: f.channel }),
      ]));
    });
  }

  $("vote-filter").addEventListener("change", loadFeedback);

  function loadUnanswered() {
    return api("GET", "/unanswered").then(renderUnanswered,
                                          function (err) { if (err.status !== 401) notice(err.message); });
  }

  function renderUnanswered(data) {
    var body = $("q-table").tBodies[0];
    body.textContent = "";
    if (!data.questions.length) {
      body.appendChild(el("tr", {}, [el("td", { colspan: "5", className: "empty",
                                                text: tx("q.empty") })]));
    }
    data.questions.forEach(function (q) {
      body.appendChild(el("tr", {}, [
        el("td", { "data-label": tx("col.question"), className: "question", text: q.question }),
        el("td", { "data-label": tx("col.count"), className: "num", text: String(q.count) }),
        el("td", { "data-label": tx("col.last_asked"), text: when(q.last_asked) }),
        el("td", { "data-label": tx("col.variants"), text: q.variants.join(" · ") }),
        el("td", { "data-label": tx("col.channel"), text: q.channels.join(", ") }),
      ]));
    });
  }

  function loadWrong() {
    return api("GET", "/wrong").then(renderWrong, function (err) { if (err.status !== 401) notice(err.message); });
  }

  function renderWrong(data) {
    var body = $("wrong-table").tBodies[0];
    body.textContent = "";
    if (!data.answers.length) {
      body.appendChild(el("tr", {}, [el("td", { colspan: "7", className: "empty", text: tx("wrong.empty") })]));
    }
    data.answers.forEach(function (w) {
      var comments = el("td", { "data-label": tx("col.comments") });
      if (w.comments.length) {
        var list = el("ul", { className: "plain" });
        w.comments.forEach(function (c) { list.appendChild(el("li", { className: "comment", text: c })); });
        comments.appendChild(list);
      }
      body.appendChild(el("tr", {}, [
        el("td", { "data-label": tx("col.question"), className: "question" }, [
          w.question, w.variants.length ? el("span", { className: "sub", text: w.variants.join(" · ") }) : null,
        ]),
        shownCell(w),
        sourcesCell(w.sources),
        el("td", { "data-label": tx("col.count"), className: "num", text: String(w.count) }),
        el("td", { "data-label": tx("col.last_marked"), text: when(w.last_marked) }),
        comments,
        el("td", { "data-label": tx("col.channel"), text: w.channels.join(", ") }),
      ]));
    });
  }

  // ------------------------------------------------------------------ the audit trail (beheerders)

  function loadAudit() {
    return api("GET", "/audit").then(renderAudit, function (err) { if (err.status !== 401) notice(err.message); });
  }

  function renderAudit(data) {
    var body = $("audit-table").tBodies[0];
    body.textContent = "";
    if (!data.events.length) {
      body.appendChild(el("tr", {}, [el("td", { colspan: "6", className: "empty", text: tx("audit.empty") })]));
    }
    data.events.forEach(function (e) {
      body.appendChild(el("tr", {}, [
        el("td", { "data-label": tx("col.date"), text: when(e.at) }),
        el("td", { "data-label": tx("audit.who"), text: e.name || e.subject || tx("audit.unknown") }),
        el("td", { "data-label": tx("audit.role"), text: e.role }),
        el("td", { "data-label": tx("audit.action"), text: tx("audit.action." + e.action) }),
        el("td", { "data-label": tx("audit.target"), text: e.target }),
        el("td", { "data-label": tx("audit.address"), text: e.address }),
      ]));
    });
  }

  // Following a link in the menu refreshes that list and moves focus to its section.
  window.addEventListener("hashchange", function () {
    var id = window.location.hash.slice(1);
    if ($("app").hidden) return;
    if (id === "feedback") loadFeedback();
    if (id === "vragen") loadUnanswered();
    if (id === "fout") loadWrong();
    if (id === "documenten") loadDocuments();
    if (id === "audit" && state.role === "beheerder") loadAudit();
    var section = $(id);
    if (section) section.focus();
  });

  start();
})();
