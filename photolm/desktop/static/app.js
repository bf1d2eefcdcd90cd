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
