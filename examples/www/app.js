// Shows how this page was loaded, and sends POST /echo requests.
"use strict";

function showResources() {
  const list = document.getElementById("resources");
  list.textContent = "";
  const nav = performance.getEntriesByType("navigation")[0];
  if (nav) {
    document.getElementById("proto").textContent = nav.nextHopProtocol || "unknown";
  }
  for (const e of performance.getEntriesByType("resource")) {
    const li = document.createElement("li");
    li.textContent = e.name + " (" + (e.nextHopProtocol || "?") + ", " +
      Math.round(e.duration) + " ms)";
    list.appendChild(li);
  }
}

document.getElementById("send").addEventListener("click", async () => {
  const body = document.getElementById("msg").value;
  const res = await fetch("/echo", { method: "POST", body: body,
    headers: { "content-type": "text/plain" } });
  document.getElementById("reply").textContent = res.status + " " + await res.text();
  showResources();
});

window.addEventListener("load", showResources);
