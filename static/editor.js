/* Commons editor: unsaved-changes warning and drafts kept in the browser; starts the toolbar and the preview.
 *
 * Plain JavaScript, no framework, no build step; loaded with <script defer> (the CSP forbids inline scripts)
 * after editor-toolbar.js (Markdown edits, image upload) and editor-preview.js (live preview), whose methods
 * it adds to its Editor (window.CommonsEditor).
 * Everything here is an extra: without JavaScript the edit form posts as before, with its "Aperçu" button.
 * Texts shown to the user come from data-msg-* attributes of templates/_editor.html (translated server-side).
 * Drafts: saved as you type under the page's path (and section), with the base revision they were written on.
 * A draft is offered back when the form opens with another text; once saved, the next form opens with the
 * draft's own text, and the draft is forgotten (the page view loads no script, see tests/test_web.py).
 */
(function () {
  "use strict";

  var DRAFT_PREFIX = "commons:draft:";
  var DRAFT_DAYS = 30;
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

  ["toolbar", "preview"].forEach(function (part) { // the methods of editor-toolbar.js and editor-preview.js
    var methods = window.CommonsEditor[part];
    Object.keys(methods).forEach(function (name) { Editor.prototype[name] = methods[name]; });
  });

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
    this.area.addEventListener("input", function () { self.changed(); });
    if (this.summary) { this.summary.addEventListener("input", function () { self.scheduleDraft(); }); }
    this.form.addEventListener("submit", function () { self.submitted(); });
    this.root.querySelector("[data-action=restore]").addEventListener("click", function () { self.restore(); });
    this.root.querySelector("[data-action=discard]").addEventListener("click", function () { self.discard(); });
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
    this.setUpPreview();
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
