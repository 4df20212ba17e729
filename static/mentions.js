// Mentions on the debug page: `@` autocomplete of the open channel's people in the composer,
// the mentions inbox (GET /chat/mentions), the open channel's notification setting, and an
// in-page notification when a `notification` event arrives for a channel that is not open.
import { $, h } from "./dom.js";
import { api } from "./api.js";

const SUGGESTIONS = 8;
const TOAST_MS = 8000;

// Whether a new_message event mentions the user, as the server counts it: an @here that
// counts (`mentionHere`) mentions whoever had a socket open, as this page does to hear it; a
// reply its author, unless the replier said not to (`mentionReply` false).
export function mentionsMe(event, userId) {
  return event.userId !== userId && (event.mentionEveryone || event.mentionHere
    || (event.mentions ?? []).includes(userId) || (event.replyTo?.userId === userId && event.mentionReply !== false));
}

// `context()` gives {token, serverId, channelId, dmId, people: [{id, username}], title(channelId)}
// now; `jump(message)` shows a message in its channel; `fail(error)` reports.
export function setupMentions(context, jump, fail) {
  const input = $("#composer-text");
  const list = $("#mention-suggest");
  const settings = new Map(); // server, channel or conversation id -> {level, muted_until}

  // ---- autocomplete: the word being typed, if it starts with @ ----
  function typedWord() {
    const before = input.value.slice(0, input.selectionStart ?? input.value.length);
    const match = /(^|\s)@([\w.-]*)$/.exec(before);
    return match ? { prefix: match[2], start: before.length - match[2].length - 1 } : null;
  }

  function suggest() {
    const word = typedWord();
    const { people } = context();
    const found = word ? people.filter((p) => p.username.toLowerCase().startsWith(word.prefix.toLowerCase()))
      .slice(0, SUGGESTIONS) : [];
    list.replaceChildren(...found.map((p) => h("li", {},
      h("button", { type: "button", onmousedown: (e) => { e.preventDefault(); insert(p.username); } },
        `@${p.username}`))));
    list.hidden = !found.length;
  }

  function insert(username) {
    const word = typedWord();
    if (!word) return;
    const end = input.selectionStart ?? input.value.length;
    input.value = `${input.value.slice(0, word.start)}@${username} ${input.value.slice(end)}`;
    const caret = word.start + username.length + 2;
    input.setSelectionRange(caret, caret);
    list.hidden = true;
    input.focus();
  }

  input.addEventListener("input", suggest);
  input.addEventListener("keydown", (e) => {
    if ((e.key === "Tab" || e.key === "Enter") && !list.hidden) {
      const first = list.querySelector("button");
      if (first) {
        e.preventDefault();
        insert(first.textContent.slice(1));
      }
    } else if (e.key === "Escape") {
      list.hidden = true;
    }
  });
  input.addEventListener("blur", () => { list.hidden = true; });

  // ---- the inbox ----
  async function loadInbox() {
    try {
      const found = await api("GET", "/chat/mentions?limit=50", { token: context().token });
      $("#mentions-list").replaceChildren(...found.map((m) => h("li", { dataset: { id: m.id } },
        h("button", { type: "button", class: "hit", onclick: () => jump(m) },
          h("span", { class: "author" }, m.user), " ",
          h("span", { class: "where" }, context().title(m.channel_id)), " ",
          h("span", { class: "snippet" }, m.text.slice(0, 100))))));
      if (!found.length) $("#mentions-list").append(h("li", { class: "system" }, "no mentions"));
    } catch (error) {
      fail(error);
    }
  }
  $("#mentions-load").addEventListener("click", loadInbox);

  // ---- the open channel's setting ----
  const picker = $("#notify-level");
  function scopeNow() {
    const { serverId, channelId, dmId } = context();
    return dmId ? ["dm", dmId] : channelId ? ["channel", channelId] : [null, serverId];
  }
  function showSetting() {
    const [scope, id] = scopeNow();
    picker.disabled = !scope;
    const s = settings.get(id);
    picker.value = s ? s.level : "default";
    const muted = s?.muted_until && new Date(s.muted_until) > new Date();
    $("#notify-mute").textContent = muted ? "Unmute" : "Mute 1 h";
  }
  async function save(level, mutedUntil) {
    const [scope, id] = scopeNow();
    if (!scope) return;
    try {
      const s = await api("PUT", `/chat/users/@me/notification-settings/${scope}/${id}`,
        { token: context().token, body: { level, muted_until: mutedUntil } });
      settings.set(s.id, s);
      showSetting();
    } catch (error) {
      fail(error);
    }
  }
  const defaultLevel = () => (context().dmId ? "all" : "mentions");
  picker.addEventListener("change", () => {
    const s = settings.get(scopeNow()[1]);
    save(picker.value === "default" ? defaultLevel() : picker.value, s?.muted_until ?? null);
  });
  $("#notify-mute").addEventListener("click", () => {
    const s = settings.get(scopeNow()[1]);
    const muted = s?.muted_until && new Date(s.muted_until) > new Date();
    save(s?.level ?? defaultLevel(), muted ? null : new Date(Date.now() + 3600 * 1000).toISOString());
  });

  let heard = null; // settings heard while the list loads: newer than its answer may be
  return {
    async connected() {
      heard = new Map();
      try {
        const list = await api("GET", "/chat/users/@me/notification-settings", { token: context().token });
        settings.clear();
        for (const s of [...list, ...heard.values()]) settings.set(s.id, s);
        showSetting();
      } catch (error) {
        fail(error);
      } finally {
        heard = null;
      }
    },
    channelShown: showSetting,
    settingsUpdated(event) {
      const s = { scope: event.scope, id: event.id, level: event.level, muted_until: event.mutedUntil };
      settings.set(s.id, s);
      heard?.set(s.id, s);
      showSetting();
    },
    // A notification event: shown when its channel is not the open one.
    notified(event) {
      if (event.channelId === context().channelId) return;
      const what = { mention: "mentioned you", reply: "replied to you", dm: "wrote to you", message: "wrote" }[event.kind];
      const toast = h("li", { class: `notification ${event.kind}`, dataset: { id: event.messageId } },
        h("button", { type: "button", onclick: () => {
          toast.remove();
          jump({ id: event.messageId, server_id: event.serverId, channel_id: event.channelId });
        } }, `${event.from.username} ${what} in ${context().title(event.channelId)}: `,
        h("span", { class: "snippet" }, event.preview)));
      $("#notifications").append(toast);
      setTimeout(() => toast.remove(), TOAST_MS);
    },
  };
}
