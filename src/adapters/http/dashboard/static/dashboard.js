// Live updates: when a template event is committed, the page's content is fetched again and put in
// place, without a reload. The event stream resumes where it stopped after a disconnect (the
// browser sends the last event's id). Everything else works without this file.
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  var pending = null;

  function say(text) {
    if (status) { status.textContent = text; }
  }

  function refresh() {
    pending = null;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        var current = document.getElementById("live");
        if (fresh && current) { current.innerHTML = fresh.innerHTML; }
        say("live · updated " + new Date().toLocaleTimeString());
      })
      .catch(function () { say("live · could not refresh"); });
  }

  if (!window.EventSource) { return; }
  var source = new EventSource("/events");
  source.addEventListener("open", function () { say("live"); });
  source.addEventListener("error", function () { say("reconnecting…"); });
  source.addEventListener("template", function () {
    // Several events in a burst make one refresh.
    if (pending === null) { pending = window.setTimeout(refresh, 250); }
  });
})();
