// The thread shown in the chat, if one is: its bar (state, Follow, Archive, Lock, back to its
// channel). A thread is a channel: its history, messages and changes are the chat's own.
import { $, show } from "./dom.js";

// call(method, path, body) → a promise of the answer; role() the caller's role in the server;
// back(channelId) shows the thread's channel again; fail(error) says why something was refused.
export class ThreadBar {
  constructor({ call, role, back, fail }) {
    Object.assign(this, { call, role, back, fail });
    this.thread = null;
    $("#thread-back").addEventListener("click", () => this.back(this.thread.parent_channel_id));
    $("#thread-follow").addEventListener("click", () => this.follow());
    $("#thread-archive").addEventListener("click", () => this.change({ archived: !this.thread.archived }));
    $("#thread-lock").addEventListener("click", () => this.change({ locked: !this.thread.locked }));
  }

  open(thread) {
    this.thread = thread;
    this.render();
  }

  close() {
    this.thread = null;
    show($("#thread-bar"), false);
  }

  // thread_updated of any thread: the open one's bar follows it.
  updated(event) {
    if (this.thread?.id !== event.threadId) return;
    Object.assign(this.thread, { name: event.name, message_count: event.messageCount, archived: event.archived,
      locked: event.locked });
    this.render();
  }

  render() {
    const t = this.thread;
    const staff = ["MODERATOR", "ADMIN"].includes(this.role());
    $("#thread-state").textContent = `🧵 ${t.name}: ${t.message_count} messages` +
      `${t.archived ? ", archived" : ""}${t.locked ? ", locked" : ""}`;
    $("#thread-follow").textContent = t.following ? "Unfollow" : "Follow";
    $("#thread-archive").textContent = t.archived ? "Unarchive" : "Archive";
    $("#thread-lock").textContent = t.locked ? "Unlock" : "Lock";
    show($("#thread-lock"), staff);
    show($("#thread-bar"), true);
  }

  async follow() {
    const following = !this.thread.following;
    try {
      await this.call(following ? "PUT" : "DELETE", `/chat/threads/${this.thread.id}/followers/@me`);
      this.thread.following = following;
      this.render();
    } catch (error) {
      this.fail(error);
    }
  }

  async change(body) {
    try {
      this.open(await this.call("PATCH", `/chat/threads/${this.thread.id}`, body));
    } catch (error) {
      this.fail(error);
    }
  }
}
