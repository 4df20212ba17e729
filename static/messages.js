// The selected channel's messages: placed from history and live events, then changed by edits,
// deletions and reactions. Each message remembers the eventSeq its state is as of, so a change
// the page sees twice (a resume or a live event overlapping a history read) applies once.
import { h, show } from "./dom.js";

export const EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢"];
const REPLY_CHARS = 200; // history and events cut the replied-to text there too

// One shape for a message, from a history page (snake_case) or a new_message event (camelCase).
export function fromHistory(m) {
  const reply = m.reply_to && { id: m.reply_to.id, user: m.reply_to.user, text: m.reply_to.text, deleted: m.reply_to.deleted };
  return {
    id: m.id, userId: m.user_id, user: m.user, text: m.text, timestamp: m.timestamp, createdAt: m.created_at,
    seq: m.seq, eventSeq: m.event_seq, editedAt: m.edited_at, replyTo: reply, reactions: m.reactions,
    thread: m.thread ?? null,
    attachments: m.attachments,
  };
}

export function fromEvent(e) {
  return { ...e, editedAt: null, replyTo: e.replyTo ?? null, reactions: [], thread: null, attachments: e.attachments ?? [] };
}

// A message's files: images shown, anything else a download link (the server sends those with
// Content-Disposition: attachment, so none opens as a page).
function attachmentList(files) {
  if (!files.length) return null;
  return h("div", { class: "attachments" }, files.map((a) => a.content_type.startsWith("image/")
    ? h("a", { href: a.url, target: "_blank", rel: "noopener" },
      h("img", { class: "attachment-image", src: a.url, alt: a.filename, width: a.width, height: a.height }))
    : h("a", { class: "attachment-file", href: a.url, download: a.filename }, `📎 ${a.filename} (${a.size} bytes)`)));
}

export const cut = (text) => Array.from(text).slice(0, REPLY_CHARS).join("");

// actions: me() the signed-in user's id; mayDelete(message); edit(id, text) → a promise of the
// edited message (REST's) or null; remove(id); reply(message); react(id, emoji, mine);
// mayThread() whether messages here may have threads; thread(message) opens or starts its thread.
export class MessageList {
  constructor(list, actions) {
    this.list = list;
    this.actions = actions;
    this.entries = new Map(); // message id -> {m, li, asOf, reactions: Map emoji -> {count, me}}
    this.pending = new Map(); // nonce -> optimistic li
  }

  clear() {
    this.entries.clear();
    this.pending.clear();
    this.list.replaceChildren();
  }

  // Messages stay in seq order, whatever order history, live events and resume deliver them in;
  // pending (optimistic) copies stay at the end until their echo replaces them. `asOf`: the
  // eventSeq the message's state is as of (its own for a live one).
  place(m, asOf = m.eventSeq) {
    const pending = m.nonce && this.pending.get(m.nonce);
    this.pending.delete(m.nonce);
    if (this.entries.has(m.id)) { // shown already (by history, read while the echo was held)
      pending?.remove();
      return;
    }
    const entry = { m, asOf, reactions: new Map(m.reactions.map((r) => [r.emoji, { count: r.count, me: r.me }])) };
    entry.li = this.item(entry);
    this.entries.set(m.id, entry);
    if (pending) {
      pending.replaceWith(entry.li);
      return;
    }
    // Scan from the end, where live and resumed messages land.
    let after = this.list.lastElementChild;
    while (after && (!after.dataset.seq || Number(after.dataset.seq) > m.seq)) after = after.previousElementSibling;
    this.list.insertBefore(entry.li, after ? after.nextElementSibling : this.list.firstElementChild);
  }

  has(id) {
    return this.entries.has(id);
  }

  addPending(nonce, user, text, replyTo) {
    const li = h("li", { class: "message own pending", dataset: { nonce } },
      replyTo && replyPreview(replyTo), h("span", { class: "author" }, user), " ", h("time", {}, "sending…"), " ",
      h("span", { class: "text" }, text));
    this.pending.set(nonce, li);
    this.list.append(li);
  }

  failPending(nonce, why) {
    const li = this.pending.get(nonce);
    if (!li) return;
    li.classList.add("failed");
    li.append(h("span", { class: "why" }, ` — not sent: ${why}`));
    this.pending.delete(nonce);
  }

  // A change event of the channel (any kind in CHANGES).
  apply(event) {
    CHANGES[event.type](this, event);
  }

  // The message's entry if the change is news to it, advancing its eventSeq.
  changing(id, eventSeq) {
    const entry = this.entries.get(id);
    if (!entry || eventSeq <= entry.asOf) return null;
    entry.asOf = eventSeq;
    return entry;
  }

  update(event) {
    const entry = this.changing(event.id, event.eventSeq);
    if (entry) {
      Object.assign(entry.m, { text: event.text, editedAt: event.editedAt });
      this.showText(entry);
    }
    this.retarget(event.id, event.eventSeq, (reply) => { reply.text = cut(event.text); });
  }

  drop(id, eventSeq) {
    this.entries.get(id)?.li.remove();
    this.entries.delete(id);
    this.retarget(id, eventSeq, (reply) => Object.assign(reply, { text: "", deleted: true }));
  }

  // Redraw the reply previews of the messages that reply to `id`, after `change(replyTo)`,
  // unless their state is newer than the change.
  retarget(id, eventSeq, change) {
    for (const entry of this.entries.values()) {
      if (entry.m.replyTo?.id !== id || entry.asOf >= eventSeq) continue;
      change(entry.m.replyTo);
      entry.li.querySelector(".reply").replaceWith(replyPreview(entry.m.replyTo));
    }
  }

  react(event, delta) {
    const entry = this.changing(event.messageId, event.eventSeq);
    if (!entry) return;
    const reaction = entry.reactions.get(event.emoji) ?? { count: 0, me: false };
    reaction.count += delta;
    if (event.userId === this.actions.me()) reaction.me = delta > 0;
    if (reaction.count > 0) entry.reactions.set(event.emoji, reaction);
    else entry.reactions.delete(event.emoji);
    this.showReactions(entry);
  }

  clearReactions(event) {
    const entry = this.changing(event.messageId, event.eventSeq);
    if (!entry) return;
    entry.reactions.clear();
    this.showReactions(entry);
  }

  item(entry) {
    const { m } = entry;
    const own = m.userId === this.actions.me();
    const palette = h("div", { class: "palette", hidden: true },
      EMOJI.map((emoji) => h("button", { type: "button", title: `react ${emoji}`, onclick: () => {
        show(palette, false);
        this.actions.react(m.id, emoji, entry.reactions.get(emoji)?.me ?? false);
      } }, emoji)));
    const li = h("li", { class: own ? "message own" : "message", dataset: { id: m.id, seq: m.seq } },
      m.replyTo && replyPreview(m.replyTo),
      h("span", { class: "author" }, m.user), " ",
      h("time", { datetime: m.createdAt, title: m.createdAt }, m.timestamp), " ",
      h("span", { class: "body" }),
      h("span", { class: "actions" },
        h("button", { type: "button", class: "reply-button", onclick: () => this.actions.reply(m) }, "Reply"),
        h("button", { type: "button", class: "react-button", title: "react", onclick: () => show(palette, palette.hidden) }, "☺+"),
        own && h("button", { type: "button", class: "edit-button", onclick: () => this.editInline(entry) }, "Edit"),
        this.actions.mayDelete(m) && h("button", { type: "button", class: "delete-button", onclick: () => this.actions.remove(m.id) }, "Delete"),
        this.actions.mayThread() && h("button", { type: "button", class: "thread-button", onclick: () => this.actions.thread(entry.m) })),
      attachmentList(m.attachments ?? []),
      palette,
      h("div", { class: "reactions" }));
    entry.li = li;
    this.showText(entry);
    this.showReactions(entry);
    this.showThread(entry);
    return li;
  }

  // The thread started on message `rootId` (a summary: {id, name, message_count}), or one of
  // the shown roots' threads changed (`update`: {threadId, name, messageCount}).
  setThread(rootId, summary) {
    const entry = this.entries.get(rootId);
    if (!entry) return;
    entry.m.thread = summary;
    this.showThread(entry);
  }

  updateThread(update) {
    for (const entry of this.entries.values()) {
      if (entry.m.thread?.id !== update.threadId) continue;
      Object.assign(entry.m.thread, { name: update.name, message_count: update.messageCount });
      this.showThread(entry);
    }
  }

  showThread(entry) {
    const button = entry.li.querySelector(".thread-button");
    const t = entry.m.thread;
    if (button) button.textContent = t ? `🧵 ${t.name} (${t.message_count})` : "Thread";
  }

  showText(entry) {
    const { m } = entry;
    const text = h("span", { class: "text" }, m.text);
    if (!m.editedAt) entry.li.querySelector(".body").replaceChildren(text);
    else entry.li.querySelector(".body").replaceChildren(text, " ", h("span", { class: "edited", title: `edited ${m.editedAt}` }, "(edited)"));
  }

  showReactions(entry) {
    entry.li.querySelector(".reactions").replaceChildren(...[...entry.reactions].map(([emoji, r]) =>
      h("button", { type: "button", class: r.me ? "chip mine" : "chip", dataset: { emoji },
        title: r.me ? "take your reaction back" : "react too",
        onclick: () => this.actions.react(entry.m.id, emoji, r.me) }, `${emoji} ${r.count}`)));
  }

  // The text becomes a field: Enter saves, Escape (or Cancel) puts the text back.
  editInline(entry) {
    const input = h("input", { class: "edit-text", maxlength: 4000, value: entry.m.text, "aria-label": "edited text" });
    const done = () => this.showText(entry);
    const form = h("form", { class: "edit-form" }, input,
      h("button", { type: "submit" }, "Save"),
      h("button", { type: "button", class: "edit-cancel", onclick: done }, "Cancel"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (input.value !== entry.m.text) {
        const edited = await this.actions.edit(entry.m.id, input.value);
        if (!edited) return; // refused: the field stays, the notice says why
        Object.assign(entry.m, { text: edited.text, editedAt: edited.edited_at });
      }
      done();
    });
    input.addEventListener("keydown", (e) => { if (e.key === "Escape") done(); });
    entry.li.querySelector(".body").replaceChildren(form);
    input.focus();
  }
}

function replyPreview(reply) {
  return h("div", { class: reply.deleted ? "reply deleted" : "reply", dataset: { replyTo: reply.id } },
    "↪ ", reply.deleted ? "deleted message" : [h("span", { class: "reply-author" }, reply.user), " ",
      h("span", { class: "reply-text" }, reply.text)]);
}

// How each change event kind changes the list: one entry per kind.
export const CHANGES = {
  message_updated: (list, e) => list.update(e),
  message_deleted: (list, e) => list.drop(e.id, e.eventSeq),
  messages_deleted: (list, e) => e.ids.forEach((id) => list.drop(id, e.eventSeq)),
  reaction_added: (list, e) => list.react(e, 1),
  reaction_removed: (list, e) => list.react(e, -1),
  reactions_cleared: (list, e) => list.clearReactions(e),
};
