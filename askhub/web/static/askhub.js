// AskHub: a little progressive enhancement. Every form also works without it.
(function () {
  "use strict";

  function csrfToken(form) {
    var input = form && form.querySelector('input[name="_csrf_token"]');
    return input ? input.value : "";
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  // POST a form-encoded body; the answer is a fragment the server rendered (and escaped).
  function postFragment(url, form, params) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "x-csrftoken": csrfToken(form),
        "content-type": "application/x-www-form-urlencoded"
      },
      body: params.toString()
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    });
  }

  // New call: who it would reach, while typing; volunteers-only fields follow the kind.
  var callForm = document.querySelector("form[data-call-form]");
  if (callForm) {
    var target = document.getElementById("match-preview");
    var similarTarget = document.getElementById("similar-preview");
    var last = "";
    var refresh = debounce(function () {
      var params = new URLSearchParams(new FormData(callForm));
      params.delete("action");
      var key = params.toString();
      if (key === last) { return; }
      last = key;
      target.setAttribute("aria-busy", "true");
      postFragment("/calls/preview", callForm, params).then(function (html) {
        target.innerHTML = html;
      }).catch(function () { /* keep the last preview */ }).then(function () {
        target.removeAttribute("aria-busy");
      });
      // Asked before? Earlier answered calls like this one, with their answers.
      if (similarTarget) {
        postFragment("/calls/similar", callForm, params).then(function (html) {
          similarTarget.innerHTML = html;
        }).catch(function () { /* keep the last list */ });
      }
    }, 450);
    var syncKind = function () {
      var kind = callForm.querySelector('input[name="kind"]:checked');
      var volunteers = kind && kind.value === "volunteers";
      callForm.querySelectorAll("[data-volunteers-only]").forEach(function (el) {
        el.hidden = !volunteers;
      });
      var referral = kind && kind.value === "referral";
      callForm.querySelectorAll("[data-referral-only]").forEach(function (el) {
        el.hidden = !referral;
      });
    };
    callForm.addEventListener("input", refresh);
    callForm.addEventListener("change", function () { syncKind(); refresh(); });
    syncKind();
    if (callForm.querySelector("#title").value) { refresh(); }
  }

  // Markdown previews.
  document.querySelectorAll("[data-md-preview]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-md-preview"));
      var out = document.getElementById(button.getAttribute("data-md-target"));
      var params = new URLSearchParams();
      params.set("text", source.value);
      postFragment("/markdown/preview", button.form, params).then(function (html) {
        out.innerHTML = html;
        out.hidden = false;
      });
    });
  });

  // Forward: suggest colleagues while typing.
  document.querySelectorAll("input[data-suggest]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    input.addEventListener("input", debounce(function () {
      var q = input.value.trim();
      if (q.length < 2) { return; }
      fetch("/suggest/people?q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) { list.innerHTML = html; });
    }, 200));
  });
})();

// Referral share buttons: each click is recorded as a share (a small POST that survives the
// page opening LinkedIn or the mail program); "copy" copies the personal link.
(function () {
  "use strict";
  var form = document.querySelector("form[data-share-form]");
  if (!form) { return; }
  var callId = form.getAttribute("data-call");
  var token = form.querySelector('input[name="_csrf_token"]');
  var status = document.querySelector("[data-share-status]");
  function record(channel) {
    var params = new URLSearchParams();
    params.set("channel", channel);
    return fetch("/calls/" + callId + "/shares", {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: {
        "x-csrftoken": token ? token.value : "",
        "content-type": "application/x-www-form-urlencoded"
      },
      body: params.toString()
    }).catch(function () { /* the share itself went ahead */ });
  }
  document.querySelectorAll("[data-share]").forEach(function (button) {
    var channel = button.getAttribute("data-share");
    if (channel === "copy") {
      button.hidden = false;
      button.addEventListener("click", function () {
        var input = document.getElementById(button.getAttribute("data-copy-target"));
        var done = function () {
          if (status) { status.textContent = button.getAttribute("data-copied") || status.textContent; }
          button.setAttribute("aria-pressed", "true");
        };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
        } else {
          input.select();
          document.execCommand("copy");
          done();
        }
        record("copy");
      });
    } else {
      button.addEventListener("click", function () { record(channel); });
    }
  });
})();
