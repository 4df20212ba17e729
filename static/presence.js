// Presence: a dot beside each person (online, idle, dnd or offline, as chatd shows them) and
// the status picker, which sends presence_update. Dots follow presence_update events live.
import { h } from "./dom.js";

export const STATUSES = ["online", "idle", "dnd", "invisible"];
const LABELS = { online: "online", idle: "idle", dnd: "do not disturb", offline: "offline", invisible: "invisible" };

export class Presence {
  // picker: the <select> of statuses; pick(status) sends the change.
  constructor(picker, pick) {
    this.picker = picker;
    this.me = null;
    this.mine = "online"; // what this user set (invisible included)
    this.shown = new Map(); // user id -> status others are shown, for everyone not offline
    picker.replaceChildren(...STATUSES.map((s) => h("option", { value: s }, LABELS[s])));
    picker.addEventListener("change", () => pick(picker.value));
  }

  // From `connected`: the user's own status and everyone they share something with who is not offline.
  reset(me, status, presences) {
    this.me = me;
    this.mine = status ?? "online";
    this.shown = new Map(Object.entries(presences ?? {}));
    this.picker.value = this.mine;
    this.picker.disabled = me === null;
    this.refresh();
  }

  update(event) {
    if (event.userId === this.me) {
      this.mine = event.status;
      this.picker.value = event.status;
    } else if (event.status === "offline") this.shown.delete(event.userId);
    else this.shown.set(event.userId, event.status);
    this.refresh(event.userId);
  }

  statusOf(userId) {
    return userId === this.me ? this.mine : this.shown.get(userId) ?? "offline";
  }

  // The dot for a person, kept current by refresh().
  dot(userId) {
    const status = this.statusOf(userId);
    return h("span", { class: "presence", dataset: { user: userId, status }, title: LABELS[status] });
  }

  refresh(userId) {
    const selector = userId ? `.presence[data-user="${CSS.escape(userId)}"]` : ".presence[data-user]";
    for (const el of document.querySelectorAll(selector)) {
      el.dataset.status = this.statusOf(el.dataset.user);
      el.title = LABELS[el.dataset.status];
    }
  }
}
