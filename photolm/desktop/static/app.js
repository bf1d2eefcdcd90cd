// SPDX-License-Identifier: GPL-3.0-or-later
// photolm desktop: keyboard shortcuts. An element with data-key="y" is clicked when "y" is
// pressed (outside text fields); that is all the uncertain-photo review needs (y / n / arrows).
"use strict";
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))) return;
  for (const el of document.querySelectorAll("[data-key]")) {
    if (el.dataset.key === event.key && !el.disabled) {
      event.preventDefault();
      el.click();
      return;
    }
  }
});
document.addEventListener("click", (event) => {
  const back = event.target.closest && event.target.closest("[data-back]");
  if (back && history.length > 1) {
    event.preventDefault();
    history.back();
  }
});
// A progress panel that stops polling belongs to a job that just ended: fetch the page's main
// part again, so what the job changed is shown (the Scan button enabled again, the last scan,
// the count of tagged photos, the preview's plan), not the page as it was when the job started.
let jobPolling = document.querySelector("#job[hx-get]") !== null;
document.addEventListener("htmx:afterSettle", () => {
  const job = document.getElementById("job");
  const polling = job !== null && job.hasAttribute("hx-get");
  if (jobPolling && job !== null && !polling) {
    htmx.ajax("GET", location.pathname + location.search,
              {target: "main", select: "main", swap: "outerHTML"});
  }
  jobPolling = polling;
});
// The server stopped (Ctrl-C, the terminal closed) while this page is open: a page that polls
// froze on its last progress and a page that does not said nothing until a click showed the
// browser's own "can't be reached". A failed poll, or coming back to the tab, now says so in a
// bar under the header; a newer run's answer (403: its token differs) says to open its address.
const offlineLines = {
  gone: "photolm is not running any more (photolm serve was stopped?): start it again and " +
        "open the address it prints. This page shows what it showed before.",
  other: "This page belongs to an earlier run of photolm serve: open the address the running " +
         "one printed.",
};
function sayOffline(why) {
  let bar = document.getElementById("offline");
  if (why === null) {
    if (bar !== null) bar.remove();
    return;
  }
  if (bar === null) {
    bar = document.createElement("div");
    bar.id = "offline";
    bar.setAttribute("role", "alert");
    const header = document.querySelector("header.top");
    if (header !== null) header.after(bar); else document.body.prepend(bar);
  }
  bar.textContent = offlineLines[why];
}
document.addEventListener("htmx:sendError", () => sayOffline("gone"));
document.addEventListener("htmx:afterRequest", (event) => {
  const status = event.detail.xhr ? event.detail.xhr.status : 0;
  if (status === 403) sayOffline("other");
  else if (event.detail.successful) sayOffline(null);
});
function checkServer() {
  fetch("/job", {cache: "no-store", credentials: "same-origin"})
    .then((res) => sayOffline(res.status === 403 ? "other" : null))
    .catch(() => sayOffline("gone"));
}
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") checkServer();
});
window.addEventListener("focus", checkServer);
