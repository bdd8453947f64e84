/* Commons editor, the live preview: the page rendered by the server (POST, CSRF token) beside the text.
 *
 * Loaded with <script defer> before editor.js, which adds these methods to its Editor (window.CommonsEditor).
 * The "Aperçu en direct" switch is remembered in localStorage; a 429 pauses the preview for its Retry-After.
 */
(function () {
  "use strict";

  var LIVE_KEY = "commons:live-preview";
  var PREVIEW_DELAY = 400;

  var preview = {};

  preview.setUpPreview = function () {
    var self = this;
    this.liveSwitch = this.root.querySelector(".toolbar input[data-action=live]");
    this.liveSwitch.addEventListener("change", function () {
      self.liveOn = self.liveSwitch.checked;
      if (self.local) { self.local.setItem(LIVE_KEY, self.liveOn ? "on" : "off"); }
      self.showPreview();
    });
    this.liveOn = !this.local || this.local.getItem(LIVE_KEY) !== "off";
    this.liveSwitch.checked = this.liveOn;
    this.showPreview();
  };

  preview.showPreview = function () {
    this.previewPanel.hidden = !this.liveOn;
    this.root.classList.toggle("with-preview", this.liveOn);
    if (this.liveOn) { this.requestPreview(); }
  };

  preview.schedulePreview = function () {
    var self = this;
    if (!this.liveOn) { return; }
    clearTimeout(this.previewTimer);
    // A long page takes longer to render: wait at least twice the last answer's time between two previews.
    this.previewTimer = setTimeout(function () { self.requestPreview(); },
                                   Math.max(PREVIEW_DELAY, 2 * this.lastPreviewMs));
  };

  preview.requestPreview = function () {
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

  preview.previewAnswer = function (response, seq) {
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

  window.CommonsEditor = window.CommonsEditor || {};
  window.CommonsEditor.preview = preview;
}());
