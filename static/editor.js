/* Commons editor: toolbar, live preview, unsaved-changes warning and drafts kept in the browser.
 *
 * Plain JavaScript, no framework, no build step; loaded with <script defer> (the CSP forbids inline scripts).
 * Everything here is an extra: without JavaScript the edit form posts as before, with its "Aperçu" button.
 * Texts shown to the user come from data-msg-* attributes of templates/_editor.html (translated server-side).
 * Drafts: saved as you type under the page's path (and section), with the base revision they were written on.
 * A draft is offered back when the form opens with another text; once saved, the next form opens with the
 * draft's own text, and the draft is forgotten (the page view loads no script, see tests/test_web.py).
 */
(function () {
  "use strict";

  var DRAFT_PREFIX = "commons:draft:";
  var LIVE_KEY = "commons:live-preview";
  var DRAFT_DAYS = 30;
  var PREVIEW_DELAY = 400;
  var DRAFT_DELAY = 300;

  function storage(kind) {
    try {
      var store = window[kind];
      var probe = "commons:probe";
      store.setItem(probe, "1");
      store.removeItem(probe);
      return store;
    } catch (e) {
      return null; // private mode, disabled storage, quota: the editor works without drafts
    }
  }

  function readJSON(store, key) {
    if (!store) { return null; }
    try {
      return JSON.parse(store.getItem(key) || "null");
    } catch (e) {
      return null;
    }
  }

  function normalise(text) {
    return text.replace(/\r\n?/g, "\n").replace(/\s+$/, "");
  }

  function pruneOldDrafts(local) {
    var limit = Date.now() - DRAFT_DAYS * 24 * 3600 * 1000;
    for (var i = local.length - 1; i >= 0; i--) {
      var key = local.key(i);
      if (key && key.indexOf(DRAFT_PREFIX) === 0) {
        var draft = readJSON(local, key);
        if (!draft || !draft.saved || draft.saved < limit) { local.removeItem(key); }
      }
    }
  }

  /* ---- Text edits on the textarea (kept in the browser's undo history where execCommand exists) ---- */

  function replaceRange(area, start, end, text, selStart, selEnd) {
    area.focus();
    area.setSelectionRange(start, end);
    var done = false;
    try {
      done = document.execCommand("insertText", false, text);
    } catch (e) {
      done = false;
    }
    if (!done) { // no execCommand (or it refused): the edit cannot be undone with Ctrl+Z
      area.setRangeText(text, start, end, "end");
      area.dispatchEvent(new Event("input", { bubbles: true }));
    }
    area.setSelectionRange(selStart, selEnd);
  }

  function wrap(area, before, after, placeholder) {
    var start = area.selectionStart, end = area.selectionEnd, value = area.value;
    var selected = value.substring(start, end);
    if (selected && value.substring(start - before.length, start) === before &&
        value.substring(end, end + after.length) === after) { // already wrapped: unwrap
      replaceRange(area, start - before.length, end + after.length, selected,
                   start - before.length, end - before.length);
      return;
    }
    var inner = selected || placeholder;
    replaceRange(area, start, end, before + inner + after, start + before.length,
                 start + before.length + inner.length);
  }

  function lineBounds(value, start, end) {
    var first = value.lastIndexOf("\n", start - 1) + 1;
    if (end > start && value.charAt(end - 1) === "\n") { end -= 1; }
    var last = value.indexOf("\n", end);
    return [first, last === -1 ? value.length : last];
  }

  function heading(area, placeholder) {
    var bounds = lineBounds(area.value, area.selectionStart, area.selectionStart);
    var line = area.value.substring(bounds[0], bounds[1]);
    var match = /^(#{1,6})\s+/.exec(line);
    var text;
    if (!match) {
      text = "## " + (line.trim() ? line : placeholder);
    } else if (match[1].length < 4) {
      text = "#" + line;
    } else {
      text = line.substring(match[0].length);
    }
    var prefix = (/^#+\s+/.exec(text) || [""])[0].length;
    replaceRange(area, bounds[0], bounds[1], text, bounds[0] + prefix, bounds[0] + text.length);
  }

  function list(area, numbered, placeholder) {
    var value = area.value;
    var bounds = lineBounds(value, area.selectionStart, area.selectionEnd);
    var lines = value.substring(bounds[0], bounds[1]).split("\n");
    var marker = numbered ? /^\d+\.\s+/ : /^[-*+]\s+/;
    var listed = lines.every(function (l) { return marker.test(l); });
    var out = lines.map(function (l, n) {
      if (listed) { return l.replace(marker, ""); }
      return (numbered ? (n + 1) + ". " : "- ") + (l.trim() ? l.replace(/^([-*+]|\d+\.)\s+/, "") : placeholder);
    });
    var text = out.join("\n");
    var from = bounds[0];
    if (lines.length === 1 && !lines[0].trim() && !listed) { from += text.length - placeholder.length; }
    replaceRange(area, bounds[0], bounds[1], text, from, bounds[0] + text.length);
  }

  function link(area, placeholder) {
    var start = area.selectionStart, end = area.selectionEnd;
    var selected = area.value.substring(start, end);
    if (/^https?:\/\/\S+$/.test(selected)) {
      var text = "[" + placeholder + "](" + selected + ")";
      replaceRange(area, start, end, text, start + 1, start + 1 + placeholder.length);
      return;
    }
    var label = selected || placeholder;
    var url = "https://";
    var full = "[" + label + "](" + url + ")";
    var urlStart = start + label.length + 3;
    replaceRange(area, start, end, full, urlStart, urlStart + url.length);
  }

  function block(area, text, selectFrom, selectLength) {
    var start = area.selectionStart, end = area.selectionEnd, value = area.value;
    var before = start === 0 || value.substring(start - 2, start) === "\n\n" ? "" :
      (value.charAt(start - 1) === "\n" ? "\n" : "\n\n");
    var after = value.substring(end, end + 2) === "\n\n" || end === value.length ? "\n" :
      (value.charAt(end) === "\n" ? "\n" : "\n\n");
    var at = start + before.length + selectFrom;
    replaceRange(area, start, end, before + text + after, at, at + selectLength);
  }

  function table(area, column) {
    var head = "| " + column + " 1 | " + column + " 2 |";
    block(area, head + "\n| --- | --- |\n|  |  |\n|  |  |", 2, column.length + 2);
  }

  /* ---- The editor ---- */

  function Editor(root) {
    this.root = root;
    this.form = root.closest("form");
    this.area = root.querySelector("textarea");
    this.summary = this.form.querySelector("input[name=summary]");
    this.baseRev = this.form.querySelector("input[name=base_rev]");
    this.csrf = this.form.querySelector("input[name=csrf_token]").value;
    this.status = root.querySelector(".editor-status");
    this.previewPanel = root.querySelector(".live-preview");
    this.previewBody = this.previewPanel.querySelector(".content");
    this.initial = this.area.value;
    this.initialSummary = this.summary ? this.summary.value : "";
    this.unsaved = root.dataset.unsaved === "1";
    this.submitting = false;
    this.local = storage("localStorage");
    this.draftKey = DRAFT_PREFIX + root.dataset.path + (root.dataset.section ? "#" + root.dataset.section : "");
    this.previewSeq = 0;
    this.lastPreviewMs = 0;
    this.previewTimer = null;
    this.draftTimer = null;
    this.pausedUntil = 0;
    this.controller = null;
  }

  Editor.prototype.msg = function (name) {
    return this.root.getAttribute("data-msg-" + name) || "";
  };

  Editor.prototype.say = function (text) {
    this.status.textContent = text;
  };

  Editor.prototype.dirty = function () {
    return this.unsaved || this.area.value !== this.initial ||
      (this.summary !== null && this.summary.value !== this.initialSummary);
  };

  Editor.prototype.start = function () {
    var self = this;
    this.setUpToolbar();
    this.area.addEventListener("keydown", function (event) { self.shortcut(event); });
    this.area.addEventListener("input", function () { self.changed(); });
    if (this.summary) { this.summary.addEventListener("input", function () { self.scheduleDraft(); }); }
    this.form.addEventListener("submit", function () { self.submitted(); });
    window.addEventListener("beforeunload", function (event) {
      if (self.submitting || !self.dirty()) { return undefined; }
      event.preventDefault();
      event.returnValue = self.msg("leave");
      return self.msg("leave");
    });
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) { self.submitting = false; } // back from the next page: the form is live again
    });
    if (this.local) {
      pruneOldDrafts(this.local);
      this.offerDraft();
    }
    var live = storage("localStorage");
    this.liveOn = !live || live.getItem(LIVE_KEY) !== "off";
    this.liveSwitch.checked = this.liveOn;
    this.showPreview();
  };

  Editor.prototype.setUpToolbar = function () {
    var self = this;
    var bar = this.root.querySelector(".toolbar");
    this.buttons = Array.prototype.slice.call(bar.querySelectorAll("button"));
    this.liveSwitch = bar.querySelector("input[data-action=live]");
    this.buttons.forEach(function (button, n) {
      button.tabIndex = n === 0 ? 0 : -1; // one tab stop; arrows move inside the toolbar
      button.addEventListener("click", function () { self.act(button); });
    });
    bar.addEventListener("keydown", function (event) { self.moveInToolbar(event); });
    this.liveSwitch.addEventListener("change", function () {
      self.liveOn = self.liveSwitch.checked;
      if (self.local) { self.local.setItem(LIVE_KEY, self.liveOn ? "on" : "off"); }
      self.showPreview();
    });
    this.root.querySelector("[data-action=restore]").addEventListener("click", function () { self.restore(); });
    this.root.querySelector("[data-action=discard]").addEventListener("click", function () { self.discard(); });
    bar.hidden = false;
  };

  Editor.prototype.moveInToolbar = function (event) {
    var at = this.buttons.indexOf(document.activeElement);
    if (at < 0) { return; }
    var next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: this.buttons.length - 1 }[event.key];
    if (next === undefined) { return; }
    event.preventDefault();
    next = (next + this.buttons.length) % this.buttons.length;
    this.buttons[at].tabIndex = -1;
    this.buttons[next].tabIndex = 0;
    this.buttons[next].focus();
  };

  Editor.prototype.act = function (button) {
    var placeholder = button.dataset.placeholder || "";
    var area = this.area;
    switch (button.dataset.action) {
      case "heading": heading(area, placeholder); break;
      case "bold": wrap(area, "**", "**", placeholder); break;
      case "italic": wrap(area, "*", "*", placeholder); break;
      case "link": link(area, placeholder); break;
      case "wikilink": wrap(area, "[[", "]]", placeholder); break;
      case "bullets": list(area, false, placeholder); break;
      case "numbers": list(area, true, placeholder); break;
      case "table": table(area, placeholder); break;
      case "image": this.chooseImage(placeholder); break;
    }
  };

  Editor.prototype.shortcut = function (event) {
    if (!(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) { return; }
    var action = { b: "bold", i: "italic", k: "link" }[event.key.toLowerCase()];
    if (!action) { return; }
    event.preventDefault();
    this.act(this.root.querySelector(".toolbar [data-action=" + action + "]"));
  };

  Editor.prototype.changed = function () {
    this.scheduleDraft();
    this.schedulePreview();
  };

  /* ---- Drafts ---- */

  Editor.prototype.scheduleDraft = function () {
    var self = this;
    if (!this.local) { return; }
    clearTimeout(this.draftTimer);
    this.draftTimer = setTimeout(function () { self.saveDraft(); }, DRAFT_DELAY);
  };

  Editor.prototype.saveDraft = function () {
    if (!this.local || this.draft) { return; } // an offered draft is kept until restored or ignored
    if (!this.dirty()) {
      this.local.removeItem(this.draftKey);
      return;
    }
    var draft = { markdown: this.area.value, summary: this.summary ? this.summary.value : "",
                  base_rev: this.baseRev.value, saved: Date.now() };
    try {
      this.local.setItem(this.draftKey, JSON.stringify(draft));
    } catch (e) {
      /* quota exceeded: nothing more to do, the form still works */
    }
  };

  Editor.prototype.offerDraft = function () {
    var draft = readJSON(this.local, this.draftKey);
    var notice = this.root.querySelector(".notice.draft");
    if (!draft || typeof draft.markdown !== "string") { return; }
    if (normalise(draft.markdown) === normalise(this.area.value)) { // saved since, or nothing new
      if (!this.unsaved) { this.local.removeItem(this.draftKey); }
      return;
    }
    this.draft = draft;
    var when = new Date(draft.saved);
    notice.querySelector(".draft-time").textContent =
      when.toLocaleString(document.documentElement.lang || undefined, { dateStyle: "short", timeStyle: "short" });
    notice.querySelector(".draft-older").hidden = !draft.base_rev || draft.base_rev === this.baseRev.value;
    notice.hidden = false;
  };

  Editor.prototype.restore = function () {
    var draft = this.draft;
    if (!draft) { return; }
    this.area.value = draft.markdown;
    if (this.summary && draft.summary) { this.summary.value = draft.summary; }
    if (draft.base_rev) { this.baseRev.value = draft.base_rev; } // the save merges with what changed since
    this.unsaved = true;
    this.hideDraftNotice();
    this.area.focus();
    this.changed();
  };

  Editor.prototype.discard = function () {
    if (this.local) { this.local.removeItem(this.draftKey); }
    this.hideDraftNotice();
    this.area.focus();
  };

  Editor.prototype.hideDraftNotice = function () {
    this.draft = null;
    this.root.querySelector(".notice.draft").hidden = true;
  };

  Editor.prototype.submitted = function () {
    this.submitting = true;
    this.saveDraft(); // kept until a form opens with this very text: a lost connection loses nothing
  };

  /* ---- Live preview ---- */

  Editor.prototype.showPreview = function () {
    this.previewPanel.hidden = !this.liveOn;
    this.root.classList.toggle("with-preview", this.liveOn);
    if (this.liveOn) { this.requestPreview(); }
  };

  Editor.prototype.schedulePreview = function () {
    var self = this;
    if (!this.liveOn) { return; }
    clearTimeout(this.previewTimer);
    // A long page takes longer to render: wait at least twice the last answer's time between two previews.
    this.previewTimer = setTimeout(function () { self.requestPreview(); },
                                   Math.max(PREVIEW_DELAY, 2 * this.lastPreviewMs));
  };

  Editor.prototype.requestPreview = function () {
    var self = this;
    var wait = this.pausedUntil - Date.now();
    if (wait > 0) {
      clearTimeout(this.previewTimer);
      this.previewTimer = setTimeout(function () { self.requestPreview(); }, wait);
      return;
    }
    if (!this.area.value.trim()) {
      this.previewBody.textContent = this.msg("preview-empty");
      return;
    }
    if (this.controller) { this.controller.abort(); }
    this.controller = typeof AbortController === "function" ? new AbortController() : null;
    var seq = ++this.previewSeq;
    var began = Date.now();
    var body = new URLSearchParams();
    body.set("markdown", this.area.value);
    body.set("path", this.root.dataset.path);
    this.previewPanel.setAttribute("aria-busy", "true");
    fetch(this.root.dataset.previewUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": this.csrf, "Accept": "application/json" },
      signal: this.controller ? this.controller.signal : undefined
    }).then(function (response) {
      self.lastPreviewMs = Math.min(Date.now() - began, 5000);
      return self.previewAnswer(response, seq);
    }).catch(function (error) {
      if (error && error.name === "AbortError") { return; }
      if (seq === self.previewSeq) { self.say(self.msg("preview-failed")); }
    }).then(function () {
      if (seq === self.previewSeq) { self.previewPanel.removeAttribute("aria-busy"); }
    });
  };

  Editor.prototype.previewAnswer = function (response, seq) {
    var self = this;
    if (response.status === 429) {
      var after = parseInt(response.headers.get("Retry-After") || "10", 10);
      this.pausedUntil = Date.now() + Math.max(1, Math.min(after, 120)) * 1000;
      this.say(this.msg("preview-paused"));
      this.schedulePreview();
      return null;
    }
    var messages = { 413: "preview-too-large", 400: "preview-expired" };
    return response.json().catch(function () { return null; }).then(function (data) {
      if (seq !== self.previewSeq) { return; } // an older answer arriving late
      if (response.ok && data && typeof data.html === "string") {
        self.previewBody.innerHTML = data.html || ""; // sanitised by the server's nh3 pass, like a page view
        if (!data.html) { self.previewBody.textContent = self.msg("preview-empty"); }
        self.say(data.images_without_alt && data.images_without_alt.length ? self.msg("no-alt") : "");
        return;
      }
      var known = data && data.error && data.error.message;
      var csrfFailed = response.status === 400 && (!data || (data.error && data.error.code === "csrf"));
      self.say(known && !csrfFailed ? data.error.message :
               self.msg(messages[response.status] || "preview-failed"));
    });
  };

  /* ---- Image upload (the API's PUT, with the session and the CSRF token) ---- */

  Editor.prototype.chooseImage = function (placeholder) {
    var self = this;
    var input = document.createElement("input");
    input.type = "file";
    input.accept = ".png,.jpg,.jpeg,.gif,.webp";
    input.addEventListener("change", function () {
      if (input.files && input.files[0]) { self.upload(input.files[0], placeholder); }
    });
    input.click();
  };

  Editor.prototype.fileName = function (original) {
    var dot = original.lastIndexOf(".");
    var stem = dot > 0 ? original.substring(0, dot) : original;
    var ext = dot > 0 ? original.substring(dot + 1).toLowerCase() : "";
    stem = stem.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").substring(0, 60) || "image";
    var taken = (this.root.dataset.attachments || "").split(" ");
    var name = stem + "." + ext;
    for (var n = 2; taken.indexOf(name) >= 0; n++) { name = stem + "-" + n + "." + ext; }
    return name;
  };

  Editor.prototype.upload = function (file, placeholder) {
    var self = this;
    var name = this.fileName(file.name);
    var start = this.area.selectionStart, end = this.area.selectionEnd;
    this.say(this.msg("uploading"));
    fetch(this.root.dataset.uploadUrl + encodeURIComponent(name), {
      method: "PUT", body: file, credentials: "same-origin",
      headers: { "X-CSRFToken": this.csrf, "Content-Type": file.type || "application/octet-stream" }
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        if (!response.ok) {
          var why = data && data.error ? data.error.message : String(response.status);
          self.say(self.msg("upload-failed") + " " + why);
          return;
        }
        self.root.dataset.attachments = (self.root.dataset.attachments + " " + name).trim();
        self.area.setSelectionRange(start, end);
        var alt = self.area.value.substring(start, end) || placeholder;
        var text = "![" + alt + "](" + name + ")";
        replaceRange(self.area, start, end, text, start + 2, start + 2 + alt.length);
        self.say(self.msg("uploaded"));
      });
    }).catch(function () {
      self.say(self.msg("upload-failed"));
    });
  };

  function begin() {
    var roots = document.querySelectorAll("form .editor[data-path]");
    for (var i = 0; i < roots.length; i++) { new Editor(roots[i]).start(); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", begin);
  } else {
    begin();
  }
}());
