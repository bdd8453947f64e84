/* Commons editor, the toolbar: Markdown edits of the selection (buttons and Ctrl+B/I/K) and image upload.
 *
 * Loaded with <script defer> before editor.js, which adds these methods to its Editor (window.CommonsEditor).
 */
(function () {
  "use strict";

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

  /* ---- The toolbar's methods of the Editor ---- */

  var toolbar = {};

  toolbar.setUpToolbar = function () {
    var self = this;
    var bar = this.root.querySelector(".toolbar");
    this.buttons = Array.prototype.slice.call(bar.querySelectorAll("button"));
    this.buttons.forEach(function (button, n) {
      button.tabIndex = n === 0 ? 0 : -1; // one tab stop; arrows move inside the toolbar
      button.addEventListener("click", function () { self.act(button); });
    });
    bar.addEventListener("keydown", function (event) { self.moveInToolbar(event); });
    this.area.addEventListener("keydown", function (event) { self.shortcut(event); });
    bar.hidden = false;
  };

  toolbar.moveInToolbar = function (event) {
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

  toolbar.act = function (button) {
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

  toolbar.shortcut = function (event) {
    if (!(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) { return; }
    var action = { b: "bold", i: "italic", k: "link" }[event.key.toLowerCase()];
    if (!action) { return; }
    event.preventDefault();
    this.act(this.root.querySelector(".toolbar [data-action=" + action + "]"));
  };

  /* ---- Image upload (the API's PUT, with the session and the CSRF token) ---- */

  toolbar.chooseImage = function (placeholder) {
    var self = this;
    var input = document.createElement("input");
    input.type = "file";
    input.accept = ".png,.jpg,.jpeg,.gif,.webp";
    input.addEventListener("change", function () {
      if (input.files && input.files[0]) { self.upload(input.files[0], placeholder); }
    });
    input.click();
  };

  toolbar.fileName = function (original) {
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

  toolbar.upload = function (file, placeholder) {
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

  window.CommonsEditor = window.CommonsEditor || {};
  window.CommonsEditor.toolbar = toolbar;
}());
