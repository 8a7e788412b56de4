// pipeline ui: reloads the live part of the page every second, and marks each picture once it
// has loaded (data-loaded = its width in pixels), so that a test can tell it was drawn.
"use strict";

function markPictures(root) {
  for (const img of root.querySelectorAll("img")) {
    const mark = () => {
      if (img.naturalWidth > 0) img.setAttribute("data-loaded", String(img.naturalWidth));
    };
    if (img.complete) mark();
    else img.addEventListener("load", mark, { once: true });
  }
}

async function refresh() {
  const live = document.getElementById("live");
  const stamp = document.getElementById("updated");
  try {
    const response = await fetch("/part" + window.location.search, { cache: "no-store" });
    if (!response.ok) throw new Error("HTTP " + response.status);
    const html = await response.text();
    if (html !== live.dataset.html) {
      live.innerHTML = html;
      live.dataset.html = html;
      markPictures(live);
    }
    stamp.textContent = "updated " + new Date().toLocaleTimeString();
    stamp.className = "";
  } catch (error) {
    stamp.textContent = "not updated: " + error.message + " (is `pipeline ui` still running?)";
    stamp.className = "stale-page";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  markPictures(document);
  setInterval(refresh, 1000);
});
