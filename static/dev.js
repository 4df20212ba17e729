// The developer panel: the raw frame log, close codes, and the token's claims.
import { $, h, clock } from "./dom.js";
import { tokenClaims } from "./api.js";
import { CLOSE_CODES } from "./gateway.js";

const MAX_LOG = 500;

function matches(li) {
  const filter = $("#log-filter").value.trim().toLowerCase();
  return !filter || li.textContent.toLowerCase().includes(filter);
}

export function logFrame(direction, text) {
  let body = text;
  let kind = "not JSON";
  try {
    const parsed = JSON.parse(text);
    body = JSON.stringify(parsed, null, 2);
    kind = parsed !== null && typeof parsed === "object" && typeof parsed.type === "string" ? parsed.type : typeof parsed;
  } catch {
    // Shown as sent: an invalid frame is what the raw composer is for.
  }
  const li = h("li", { class: direction, dataset: { type: kind } },
    h("span", { class: "meta" }, `${direction === "in" ? "← in" : "→ out"} · ${kind} · ${clock()}`),
    h("pre", {}, body));
  li.hidden = !matches(li);
  const log = $("#event-log");
  log.prepend(li);
  while (log.children.length > MAX_LOG) log.lastElementChild.remove();
}

export function logClose(code, reason) {
  const meaning = CLOSE_CODES[code] ? ` (${CLOSE_CODES[code]})` : "";
  $("#close-log").prepend(h("li", {}, `${clock()} closed ${code}${meaning}${reason ? `: ${reason}` : ""}`));
}

export function showToken(token) {
  const claims = token ? tokenClaims(token) : null;
  $("#claims").textContent = claims ? JSON.stringify(claims, null, 2) : token ? "not a JWT" : "";
  if (!claims || typeof claims.exp !== "number") {
    $("#expiry").textContent = token ? "no expiry claim" : "";
    return;
  }
  const at = new Date(claims.exp * 1000);
  const minutes = Math.round((at - Date.now()) / 60000);
  $("#expiry").textContent = at > Date.now() ? `expires ${at.toISOString()} (in ${minutes} min)` : `expired ${at.toISOString()}`;
}

export function setupDevPanel() {
  $("#log-filter").addEventListener("input", () => {
    for (const li of $("#event-log").children) li.hidden = !matches(li);
  });
  $("#log-clear").addEventListener("click", () => $("#event-log").replaceChildren());
}
