// Bar widths come from data-width (percent): styles set from script, since the CSP forbids
// inline style attributes.
"use strict";
document.querySelectorAll(".bar[data-width]").forEach(function (el) {
  el.style.width = Math.max(0, Math.min(100, Number(el.dataset.width) || 0)) + "%";
});
