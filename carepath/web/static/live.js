// carepath: the worklist, live. Polls /queue/live.json (ETag / If-None-Match: a 304 while
// nothing changed), shows the count in the navigation, and on the queue page brings in new
// tasks, alerts and assignments without a reload. Without it every page still works.
(function () {
  "use strict";
  var URL_LIVE = "/queue/live.json";
  var etag = null;
  var seconds = 20;
  var timer = null;

  function say(text) {
    var status = document.getElementById("live-status");
    if (!status) { return; }
    status.textContent = text;
    status.hidden = false;
  }

  function busy(box) {
    // Never replace what a person is typing or has ticked.
    var active = document.activeElement;
    if (active && box.contains(active) && /INPUT|TEXTAREA|SELECT/.test(active.tagName)) { return true; }
    return Array.prototype.some.call(box.querySelectorAll("input[type=checkbox], input[name=reason]"), function (el) {
      return el.type === "checkbox" ? el.checked : el.value !== "";
    });
  }

  function refresh(version) {
    var box = document.getElementById("worklist");
    if (!box || box.getAttribute("data-version") === version) { return; }
    if (busy(box)) { say("New tasks or alerts: reload the page to see them."); return; }
    fetch(window.location.href, { credentials: "same-origin", redirect: "manual" })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("worklist");
        if (!fresh || busy(box)) { return; }
        box.replaceWith(fresh);
        say("The list changed: it now shows the new or changed tasks and alerts.");
      });
  }

  function show(state) {
    var count = document.getElementById("nav-count");
    if (count) {
      var n = state.due + state.alerts;
      count.textContent = String(n);
      count.hidden = n === 0;
      count.setAttribute("title", state.due + " tasks due by the end of today" +
        (state.alerts ? ", " + state.alerts + " alerts awaiting a clinician" : ""));
    }
    refresh(state.version);
  }

  function poll() {
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(URL_LIVE, { credentials: "same-origin", cache: "no-store", redirect: "manual", headers: headers })
      .then(function (answer) {
        if (answer.status === 304) { return null; }
        if (!answer.ok) { seconds = 0; return null; }  // signed out or refused: stop asking
        etag = answer.headers.get("ETag");
        return answer.json();
      })
      .then(function (state) {
        if (state) {
          seconds = state.poll_seconds || seconds;
          show(state);
        }
      })
      .catch(function () { /* the network is down: try again later */ })
      .then(function () { if (seconds > 0) { timer = window.setTimeout(poll, seconds * 1000); } });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!document.getElementById("nav-count")) { return; }
    poll();
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && seconds > 0) {
        window.clearTimeout(timer);
        poll();
      }
    });
  });
})();
