// Unread badges: where the user has read each channel (and conversation) up to, and what is
// unread after it. Loaded from GET /chat/unreads when the socket connects, counted up as
// messages arrive in channels not open, and kept in step with the user's other tabs and devices
// by read_state_updated (an ack or "mark unread" made elsewhere).
import { h } from "./dom.js";

const entryOf = (e) => ({ lastReadSeq: e.last_read_seq, lastSeq: e.last_seq, unread: e.unread_count,
  mentions: e.mention_count });

export class Unreads {
  constructor(onChange) {
    this.by = new Map(); // channel id -> {lastReadSeq, lastSeq, unread, mentions}
    this.readsWhileLoading = null; // channel id -> seq read here while GET /chat/unreads is asked
    this.onChange = onChange; // called with the channel id that changed, or null: all of them
  }

  // GET /chat/unreads is asked: reads made here from now on may reach the server after it
  // computes its answer.
  loading() {
    this.readsWhileLoading = new Map();
  }

  // GET /chat/unreads' answer: snake_case. A channel read here while it was asked, further than
  // the answer says, keeps that read; those are returned as [channel id, seq] to ack again.
  load(list) {
    const ahead = [];
    const by = new Map();
    for (const answered of list) {
      const e = entryOf(answered);
      const seq = this.readsWhileLoading?.get(answered.channel_id) ?? 0;
      if (seq > e.lastReadSeq) {
        ahead.push([answered.channel_id, seq]);
        e.lastReadSeq = seq;
        // Read to the end: nothing unread. Short of it, the answer's counts stand (at most a
        // few too many, until the next message or ack); they cannot be told apart here.
        if (seq >= e.lastSeq) Object.assign(e, { unread: 0, mentions: 0 });
      }
      by.set(answered.channel_id, e);
    }
    this.by = by;
    this.readsWhileLoading = null;
    this.onChange(null);
    return ahead;
  }

  // A REST ack's answer.
  set(e) {
    this.by.set(e.channel_id, entryOf(e));
    this.onChange(e.channel_id);
  }

  // read_state_updated: another tab or device acked or marked unread.
  updated(event) {
    const e = this.entry(event.channelId);
    Object.assign(e, { lastReadSeq: event.lastReadSeq, unread: event.unreadCount, mentions: event.mentionCount });
    this.onChange(event.channelId);
  }

  // A new message: counted unless it is the user's own (sending moves their pointer to it) or
  // the channel is open (`read`: acked at once, the caller sends the ack), and among the
  // mentions if it mentions the user. Whether to ack.
  message(event, own, open, mentioned) {
    const e = this.entry(event.channelId);
    e.lastSeq = Math.max(e.lastSeq, event.seq);
    if (own || open) this.#readTo(event.channelId, e, event.seq);
    else {
      e.unread += 1;
      if (mentioned) e.mentions += 1;
    }
    this.onChange(event.channelId);
    return open && !own;
  }

  // Everything read, up to `seenSeq` at least (a page shown before GET /chat/unreads answered).
  read(channelId, seenSeq = 0) {
    const e = this.entry(channelId);
    e.lastSeq = Math.max(e.lastSeq, seenSeq);
    this.#readTo(channelId, e, e.lastSeq);
    this.onChange(channelId);
    return e.lastSeq;
  }

  #readTo(channelId, e, seq) {
    Object.assign(e, { lastReadSeq: seq, unread: 0, mentions: 0 });
    this.readsWhileLoading?.set(channelId, seq);
  }

  lastSeq(channelId) {
    return this.entry(channelId).lastSeq;
  }

  entry(channelId) {
    if (!this.by.has(channelId)) this.by.set(channelId, { lastReadSeq: 0, lastSeq: 0, unread: 0, mentions: 0 });
    return this.by.get(channelId);
  }

  // The channel list's badge: the unread count, and the mentions among them.
  badge(channelId) {
    const e = this.by.get(channelId);
    if (!e || (!e.unread && !e.mentions)) return null;
    return h("span", { class: "badge", title: `${e.unread} unread, ${e.mentions} mentioning you` },
      e.mentions ? `${e.unread} @${e.mentions}` : String(e.unread));
  }
}
