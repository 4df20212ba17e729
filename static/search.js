// Message search on the debug page: a query with its scope and order, pages of results by
// cursor, each snippet shown with its matches marked, and a click that jumps to the message.
import { $, h } from "./dom.js";
import { api } from "./api.js";

const LIMIT = 20;
const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'" };

// The server escapes the snippet's text and marks matches with <mark>: rebuilt here as text
// nodes and <mark> elements, so nothing is parsed as HTML.
export function snippetNodes(snippet) {
  const nodes = [];
  let marked = false;
  for (const part of snippet.split(/(<mark>|<\/mark>)/)) {
    if (part === "<mark>" || part === "</mark>") {
      marked = part === "<mark>";
    } else if (part) {
      const text = part.replace(/&(amp|lt|gt|quot|#x27);/g, (entity) => ENTITIES[entity]);
      nodes.push(marked ? h("mark", {}, text) : text);
    }
  }
  return nodes;
}

// `context()` gives {token, serverId, channelId, dmId} now (a conversation: dmId, no server);
// `jump(hit)` shows a result in its channel or conversation.
export function setupSearch(context, jump, fail) {
  let params = null;
  let cursor = null;

  async function run(more) {
    const { token, serverId, channelId, dmId } = context();
    if (!more) {
      params = new URLSearchParams({ q: $("#search-q").value, sort: $("#search-sort").value, limit: LIMIT });
      if ($("#search-has").value) params.set("has", $("#search-has").value);
      const scope = $("#search-scope").value;
      if (scope === "server" && serverId) params.set("server_id", serverId);
      if (scope === "channel" && channelId) params.set("channel_id", channelId);
      if (scope === "channel" && dmId) params.set("dm_id", dmId);
      $("#search-results").replaceChildren();
    } else {
      params.set("cursor", cursor);
    }
    try {
      const page = await api("GET", `/chat/search?${params}`, { token });
      cursor = page.next_cursor;
      $("#search-results").append(...page.results.map((hit) =>
        h("li", { dataset: { id: hit.id } },
          h("button", { type: "button", class: "hit", onclick: () => jump(hit) },
            h("span", { class: "author" }, hit.user), " ",
            h("time", { datetime: hit.created_at }, new Date(hit.created_at).toLocaleString()), " ",
            h("span", { class: "snippet" }, ...snippetNodes(hit.snippet))))));
      if (!more && !page.results.length) $("#search-results").append(h("li", { class: "system" }, "nothing found"));
      $("#search-more").hidden = cursor === null;
    } catch (error) {
      fail(error);
    }
  }

  $("#search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    run(false);
  });
  $("#search-more").addEventListener("click", () => run(true));
}
