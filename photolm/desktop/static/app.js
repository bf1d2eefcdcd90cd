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
