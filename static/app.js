// chatd's debug page: sign in, browse servers and channels, chat live, and watch the protocol.
import { $, h, show } from "./dom.js";
import { api, ApiError, historyPage, messagesPath, uploadFile } from "./api.js";
import { Gateway } from "./gateway.js";
import { logClose, logFrame, setupDevPanel, showToken } from "./dev.js";
import { CHANGES, MessageList, cut, fromEvent, fromHistory } from "./messages.js";
import { Presence } from "./presence.js";
import { mentionsMe, setupMentions } from "./mentions.js";
import { setupSearch } from "./search.js";
import { ThreadBar } from "./threads.js";
import { Unreads } from "./unreads.js";
import { groups, moved, place } from "./layout.js";

const PAGE = 50;
const RESUME_CHANNELS = 1000; // a resume frame names at most this many channels
const TYPING_EXPIRES_MS = 10000; // the server's own expiry for a typing_start with no stop
const TYPING_EVERY_MS = 2000; // the server accepts one typing_start per 2 s
const TOKEN_KEY = "chatd.token";

const S = {
  token: null,
  me: null,
  servers: new Map(), // id -> server (with the caller's role)
  serverId: null,
  channels: [],
  categories: [], // the selected server's, as its layout lists them
  layoutVersion: 0,
  channelId: null,
  members: [],
  invites: [], // the selected server's open invites and bans, for its MODERATORs and ADMINs
  bans: [],
  preview: null, // the invite code opened, while its preview shows
  eventSeq: new Map(), // channel id -> the last eventSeq the page has of it, for resume
  loading: null, // the selected channel while a history read runs: its changes wait in `held`
  held: [],
  replyTo: null, // the message the composer replies to
  oldestId: null,
  typing: new Map(), // user id -> {username, timer}
  typingSentAt: 0,
  retries: 0,
  retryTimer: null,
  selectNext: null, // a server just created, selected once the gateway lists it
  resumeOnConnect: false,
  dms: new Map(), // conversation id -> conversation (GET /chat/dms's shape), the latest active first
  dmId: null, // the conversation shown in the chat, if one is
  blocks: [],
};

const gateway = new Gateway({
  onState: (state, detail) => {
    const el = $("#conn-state");
    el.dataset.state = state;
    el.textContent = detail ? `${state}: ${detail}` : state;
  },
  onFrame: logFrame,
  onEvent: handleEvent,
  onClose: (code, reason, byPage) => {
    logClose(code, reason);
    clearTyping();
    if (code === 4401) {
      notify(`signed out by the server: ${reason || "unauthorized"}`);
      signOut();
    } else if (!byPage) {
      // Unexpected (shutdown, slow consumer, network): come back and catch up.
      const delay = Math.min(30000, 1000 * 2 ** S.retries++);
      S.retryTimer = setTimeout(() => reconnect(true), delay);
    }
  },
});

let mentionBox = null; // the mentions inbox, autocomplete and settings (mentions.js), set up by start()
const presence = new Presence($("#status-picker"), (status) => gateway.send({ type: "presence_update", status }));

function notify(text, isError = true) {
  const el = $("#notice");
  el.textContent = text;
  el.className = isError ? "error" : "";
}

function fail(error) {
  notify(error instanceof ApiError ? error.detail : String(error));
}

const call = (method, path, body) => api(method, path, { token: S.token, body });
const server = () => S.servers.get(S.serverId);
const channel = () => S.channels.find((c) => c.id === S.channelId);
// The server of the channel shown: null for a conversation (its frames and paths name none).
const chatServer = () => (S.dmId ? null : S.serverId);

// ---- signing in ----

async function signIn(token) {
  S.token = token;
  try {
    S.me = await call("GET", "/auth/me");
  } catch (error) {
    S.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    fail(error);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $("#whoami").textContent = S.me.username;
  showToken(token);
  show($("#auth"), false);
  show($("#main"), true);
  show($("#logout"), true);
  show($("#logout-all"), true);
  notify("", false);
  reconnect(false);
}

function signOut() {
  clearTimeout(S.retryTimer);
  gateway.disconnect("signed out");
  sessionStorage.removeItem(TOKEN_KEY);
  Object.assign(S, { token: null, me: null, serverId: null, channelId: null, channels: [], members: [], dmId: null,
    blocks: [] });
  S.dms.clear();
  S.servers.clear();
  S.eventSeq.clear();
  presence.reset(null, null, {});
  $("#whoami").textContent = "";
  showToken(null);
  show($("#auth"), true);
  show($("#main"), false);
  show($("#logout"), false);
  show($("#logout-all"), false);
}

// The server revokes the token (or every token of the user); the page then forgets it. The
// page closes its socket first, so the 4401 the server would send it is no news.
async function logOut(path, done) {
  clearTimeout(S.retryTimer);
  gateway.disconnect("logging out");
  let refused = null;
  try {
    await call("POST", path);
  } catch (error) {
    refused = error;
  }
  signOut();
  if (refused) fail(refused);
  else notify(done, false);
}

// Every other token ends, this page's too: it goes on with the fresh token it is given.
async function changePassword() {
  clearTimeout(S.retryTimer);
  gateway.disconnect("changing the password");
  try {
    const token = await call("PUT", "/auth/password",
      { old_password: $("#old-password").value, new_password: $("#new-password").value });
    $("#password-form").reset();
    S.token = token.access_token;
    sessionStorage.setItem(TOKEN_KEY, S.token);
    showToken(S.token);
    notify("password changed: every other session is signed out", false);
  } catch (error) {
    fail(error);
  }
  reconnect(true);
}

async function credentials(path) {
  const body = { username: $("#username").value, password: $("#password").value };
  try {
    if (path === "/auth/register") await api("POST", path, { body });
    const token = await api("POST", "/auth/login", { body });
    await signIn(token.access_token);
  } catch (error) {
    fail(error);
  }
}

// ---- the gateway ----

function reconnect(resume) {
  clearTimeout(S.retryTimer);
  S.resumeOnConnect = resume;
  gateway.connect(S.token);
}

function handleEvent(event) {
  switch (event.type) {
    case "connected":
      S.retries = 0;
      presence.reset(event.user_id, event.status, event.presences);
      renderServers(event.servers);
      renderDms(event.dms);
      loadBlocks();
      loadUnreads();
      mentionBox.connected();
      if (S.resumeOnConnect) resume();
      break;
    case "presence_update":
      presence.update(event);
      break;
    case "servers_data":
      renderServers(Object.values(event.servers));
      break;
    case "server_joined":
      addServer(event.server);
      break;
    case "invite_created":
      if (event.serverId === S.serverId && !S.invites.some((i) => i.code === event.invite.code)) {
        S.invites.unshift(event.invite);
        renderInvites();
      }
      break;
    case "invite_deleted":
      if (event.serverId === S.serverId) {
        S.invites = S.invites.filter((i) => i.code !== event.code);
        renderInvites();
      }
      break;
    case "new_message":
      onMessage(event);
      break;
    case "dm_created":
      onDmCreated(event.dm);
      break;
    case "dm_recipient_added":
      onDmRecipientAdded(event);
      break;
    case "dm_recipient_removed":
      onDmRecipientRemoved(event);
      break;
    case "typing_start":
    case "typing_stop":
      onTyping(event);
      break;
    case "member_added":
      onMemberAdded(event);
      break;
    case "member_removed":
      onMemberRemoved(event);
      break;
    case "channel_created":
      if (event.serverId === S.serverId && !S.channels.some((c) => c.id === event.channel.id)) {
        S.channels.push(event.channel);
        renderChannels();
      }
      break;
    case "channel_updated":
      onChannelUpdated(event);
      break;
    case "channel_deleted":
      onChannelDeleted(event);
      break;
    case "layout_updated":
      if (event.serverId === S.serverId) applyLayout(event.layout);
      break;
    case "server_updated":
      onServerUpdated(event);
      break;
    case "server_deleted":
      dropServer(event.serverId, "the server was deleted");
      break;
    case "resumed":
      onResumed(event);
      break;
    case "read_state_updated":
      unreads.updated(event);
      break;
    case "thread_created":
      if (event.thread.parent_channel_id === S.channelId) {
        messages.setThread(event.thread.root_message_id, event.thread);
      }
      break;
    case "thread_updated":
      messages.updateThread(event);
      threadBar.updated(event);
      break;
    case "notification":
      mentionBox.notified(event);
      break;
    case "notification_settings_updated":
      mentionBox.settingsUpdated(event);
      break;
    case "resync_required":
      onResyncRequired(event.channelId);
      break;
    case "error":
      onError(event);
      break;
    default:
      if (Object.hasOwn(CHANGES, event.type)) onChange(event);
  }
}

function onError(event) {
  if (event.nonce) messages.failPending(event.nonce, event.message);
  // A resume refused a channel the page may no longer read (a server it left): nothing to
  // resume there, and nothing to tell.
  if (event.channelId) {
    S.eventSeq.delete(event.channelId);
    return;
  }
  notify(`error: ${event.message}${event.retryAfter ? ` (retry after ${event.retryAfter} s)` : ""}`);
}

// ---- read state: unread badges, mark read and unread ----

const unreads = new Unreads((channelId) => {
  if (channelId === null || S.channels.some((c) => c.id === channelId)) renderChannels();
  if (channelId === null || S.dms.has(channelId)) drawDms();
  if (S.channelId && (channelId === null || channelId === S.channelId)) renderReadState();
});

async function loadUnreads() {
  try {
    // The open channel, shown and not marked unread by the user, stays read (after a reconnect,
    // what arrived meanwhile shows as it resumes).
    const openRead = S.channelId && S.loading !== S.channelId && !unreads.entry(S.channelId).unread ? S.channelId : null;
    // Reads made here that the answer may predate are acked again (an ack only moves forward).
    unreads.loading();
    for (const [channelId, seq] of unreads.load(await call("GET", "/chat/unreads"))) ack(channelId, seq);
    if (openRead && openRead === S.channelId) markRead(openRead);
  } catch (error) {
    fail(error);
  }
}

function countUnread(event) {
  const open = event.channelId === S.channelId && S.loading !== event.channelId;
  const own = event.userId === S.me?.user_id;
  if (unreads.message(event, own, open, mentionsMe(event, S.me?.user_id))) ack(event.channelId, event.seq);
}

// Everything in the open channel is read, up to the newest message shown (`seenSeq`) at least:
// over the socket, so only the other tabs hear it.
function markRead(channelId, seenSeq = 0) {
  ack(channelId, unreads.read(channelId, seenSeq));
}

function ack(channelId, seq) {
  const serverId = S.channels.some((c) => c.id === channelId) ? S.serverId : null;
  gateway.send(serverId ? { type: "ack", serverId, channelId, seq } : { type: "ack", channelId, seq });
}

// The newest message of the open channel unread again (every tab and device hears it).
async function markUnread() {
  const channelId = S.channelId;
  try {
    unreads.set(await call("PUT", messagesPath(chatServer(), channelId).replace(/\/messages$/, "/read-state"),
      { last_read_seq: Math.max(0, unreads.lastSeq(channelId) - 1) }));
  } catch (error) {
    fail(error);
  }
}

function renderReadState() {
  const e = unreads.entry(S.channelId);
  $("#read-state").textContent = e.unread ? `${e.unread} unread` : "all read";
  $("#mark-unread").disabled = e.lastSeq === 0;
}

// ---- servers, channels, members ----

function renderServers(list) {
  S.servers = new Map(list.map((s) => [s.id, s]));
  $("#servers").replaceChildren(...list.map((s) =>
    h("li", { class: s.id === S.serverId ? "selected" : "", dataset: { id: s.id } },
      h("button", { type: "button", onclick: () => selectServer(s.id) }, s.name),
      h("span", { class: "role" }, s.role))));
  const next = S.selectNext;
  S.selectNext = null;
  if (next && S.servers.has(next)) selectServer(next);
  else if (S.serverId && !S.servers.has(S.serverId)) dropServer(S.serverId, "you are no longer a member");
  else if (!S.serverId && list.length) selectServer(list[0].id);
}

// A server joined (by an invite, or added by someone): listed, and selected when the page asked to.
function addServer(joined) {
  S.servers.set(joined.id, joined);
  renderServers([...S.servers.values()]);
}

async function selectServer(serverId) {
  S.serverId = serverId;
  for (const li of $("#servers").children) li.classList.toggle("selected", li.dataset.id === serverId);
  const role = server().role;
  $("#server-title").textContent = server().name;
  show($("#channel-form"), role === "ADMIN");
  show($("#manage"), role === "ADMIN");
  show($("#member-form"), role !== "MEMBER");
  $("#member-role").disabled = role !== "ADMIN";
  const staff = role !== "MEMBER";
  show($("#staff"), staff);
  try {
    const base = `/chat/servers/${serverId}`;
    const [channels, members, invites, bans, layout] = await Promise.all([
      call("GET", `${base}/channels`), call("GET", `${base}/members`),
      staff ? call("GET", `${base}/invites`) : [], staff ? call("GET", `${base}/bans`) : [],
      call("GET", `${base}/layout`)]);
    if (S.serverId !== serverId) return;
    Object.assign(S, { channels, members, invites, bans, categories: layout.categories,
      layoutVersion: layout.version });
    renderChannels();
    renderMembers();
    renderInvites();
    renderBans();
    const first = channels.find((c) => c.type === "text");
    if (first) selectChannel(first.id);
    else clearChat("no TEXT channel");
  } catch (error) {
    fail(error);
  }
}

function dropServer(serverId, why) {
  S.servers.delete(serverId);
  $("#servers").querySelector(`li[data-id="${CSS.escape(serverId)}"]`)?.remove();
  if (S.serverId !== serverId) return;
  notify(`${why}`, false);
  S.serverId = null;
  S.channelId = null;
  Object.assign(S, { channels: [], categories: [], members: [], invites: [], bans: [] });
  renderChannels();
  renderMembers();
  renderInvites();
  renderBans();
  clearChat("No channel selected");
  $("#server-title").textContent = "Channels";
  show($("#channel-form"), false);
  show($("#manage"), false);
  show($("#member-form"), false);
  show($("#staff"), false);
}

// Uncategorized channels first, then each category as a collapsible group.
function renderChannels() {
  const item = (c) =>
    h("li", { class: `${c.type}${c.id === S.channelId ? " selected" : ""}${unreads.badge(c.id) ? " unread" : ""}`,
      dataset: { id: c.id } },
      h("button", { type: "button", onclick: () => selectChannel(c.id) }, `${c.type === "voice" ? "🔊" : "#"} ${c.name}`),
      unreads.badge(c.id),
      h("span", { class: "kind" }, c.type.toUpperCase()));
  const open = new Set([...$("#channels").querySelectorAll("details:not([open])")].map((d) => d.dataset.id));
  $("#channels").replaceChildren(...groups(S.channels, S.categories).flatMap(({ category, channels }) =>
    category === null ? channels.map(item) : [h("li", { class: "category", dataset: { id: category.id } },
      h("details", { open: !open.has(category.id), dataset: { id: category.id } },
        h("summary", {}, category.name), h("ul", {}, ...channels.map(item))))]));
  renderManage();
}

// The ADMIN's controls: which channel to rename, give a topic, move or delete.
function renderManage() {
  const chosen = $("#manage-channel").value;
  $("#manage-channel").replaceChildren(...groups(S.channels, S.categories).flatMap((g) => g.channels).map((c) =>
    h("option", { value: c.id, selected: c.id === chosen }, c.name)));
  const target = $("#manage-category").value;
  $("#manage-category").replaceChildren(h("option", { value: "" }, "(no category)"),
    ...S.categories.map((k) => h("option", { value: k.id, selected: k.id === target }, k.name)));
}

function applyLayout(layout) {
  if (layout.version < S.layoutVersion) return; // an older one, read after a newer
  S.categories = layout.categories;
  S.layoutVersion = layout.version;
  place(S.channels, layout);
  renderChannels();
}

function onChannelUpdated(event) {
  const i = S.channels.findIndex((c) => c.id === event.channel.id);
  if (event.serverId !== S.serverId || i < 0) return;
  S.channels[i] = event.channel;
  renderChannels();
  if (event.channel.id === S.channelId) showChannelTitle(event.channel);
}

function onChannelDeleted(event) {
  S.eventSeq.delete(event.channelId);
  if (event.serverId !== S.serverId) return;
  S.channels = S.channels.filter((c) => c.id !== event.channelId);
  renderChannels();
  if (S.channelId === event.channelId) clearChat("the channel was deleted");
}

function onServerUpdated(event) {
  const known = S.servers.get(event.serverId);
  if (!known) return;
  S.servers.set(event.serverId, { ...event.server, role: known.role });
  renderServers([...S.servers.values()]);
  if (event.serverId === S.serverId) $("#server-title").textContent = event.server.name;
}

function showChannelTitle(c) {
  $("#channel-title").textContent = `${c.type === "voice" ? "🔊" : "#"} ${c.name}`;
  $("#channel-topic").textContent = c.topic ?? "";
}

async function manageChannel(method, body) {
  const id = $("#manage-channel").value;
  if (!id) return;
  try {
    const path = `/chat/servers/${S.serverId}/channels/${id}`;
    const answer = await call(method, path, body);
    if (method === "PATCH") handleEvent({ type: "channel_updated", serverId: S.serverId, channel: answer });
    else handleEvent({ type: "channel_deleted", serverId: S.serverId, channelId: id });
  } catch (error) {
    fail(error);
  }
}

// A channel created or deleted moves the version on without a layout_updated: the move is
// made from the layout as it is now.
async function moveChannel() {
  const target = $("#manage-category").value || null;
  const channelId = $("#manage-channel").value;
  const path = `/chat/servers/${S.serverId}/layout`;
  try {
    applyLayout(await call("GET", path));
    const body = moved(S.channels, S.categories, S.layoutVersion, channelId, target);
    applyLayout(await call("PUT", path, body));
  } catch (error) {
    fail(error);
  }
}

function wireManage() {
  onSubmit("#server-rename-form", async () => {
    try {
      const answer = await call("PATCH", `/chat/servers/${S.serverId}`, { name: $("#server-rename").value });
      $("#server-rename").value = "";
      handleEvent({ type: "server_updated", serverId: answer.id, server: answer });
    } catch (error) {
      fail(error);
    }
  });
  onSubmit("#category-form", async () => {
    try {
      await call("POST", `/chat/servers/${S.serverId}/categories`, { name: $("#category-name").value });
      $("#category-name").value = "";
      applyLayout(await call("GET", `/chat/servers/${S.serverId}/layout`));
    } catch (error) {
      fail(error);
    }
  });
  onSubmit("#channel-manage-form", () => {
    const body = {};
    if ($("#manage-name").value.trim()) body.name = $("#manage-name").value;
    if ($("#manage-topic").value) body.topic = $("#manage-topic").value;
    $("#manage-name").value = $("#manage-topic").value = "";
    manageChannel("PATCH", body);
  });
  $("#manage-move").addEventListener("click", moveChannel);
  $("#manage-delete").addEventListener("click", () => manageChannel("DELETE"));
}

function renderMembers() {
  const role = server()?.role;
  $("#members").replaceChildren(...S.members.map((m) => {
    const self = m.user_id === S.me?.user_id;
    const mayRemove = self || role === "ADMIN" || (role === "MODERATOR" && m.role === "MEMBER");
    return h("li", { dataset: { id: m.user_id } },
      presence.dot(m.user_id), h("span", { class: "name" }, m.username), " ", h("span", { class: "role" }, m.role),
      mayRemove && h("button", { type: "button", class: "remove", onclick: () => removeMember(m) }, self ? "Leave" : "Remove"),
      mayRemove && !self && h("button", { type: "button", class: "ban", onclick: () => ban(m) }, "Ban"),
      ...memberDmButtons(m));
  }));
}

function onMemberAdded(event) {
  if (event.userId === S.me.user_id) return; // server_joined brings the server
  if (event.serverId === S.serverId && !S.members.some((m) => m.user_id === event.userId)) {
    S.members.push({ user_id: event.userId, username: event.username, role: event.role });
    renderMembers();
  }
}

function onMemberRemoved(event) {
  if (event.userId === S.me.user_id) {
    dropServer(event.serverId, "you were removed from the server");
  } else if (event.serverId === S.serverId) {
    S.members = S.members.filter((m) => m.user_id !== event.userId);
    renderMembers();
  }
}

async function removeMember(member) {
  try {
    await call("DELETE", `/chat/servers/${S.serverId}/members/${member.user_id}`);
  } catch (error) {
    fail(error);
  }
}

// ---- invites and bans ----

function renderInvites() {
  $("#invites").replaceChildren(...S.invites.map((i) =>
    h("li", { dataset: { code: i.code } },
      h("code", {}, i.code), " ",
      h("span", { class: "uses" }, i.max_uses === null ? `${i.uses} uses` : `${i.uses}/${i.max_uses} uses`),
      h("button", { type: "button", class: "copy", onclick: () => copyInvite(i.code) }, "Copy"),
      h("button", { type: "button", class: "revoke", onclick: () => revokeInvite(i.code) }, "Revoke"))));
}

function renderBans() {
  $("#bans").replaceChildren(...S.bans.map((b) =>
    h("li", { dataset: { id: b.user_id } },
      h("span", { class: "name" }, b.username), b.reason && h("span", { class: "reason" }, ` (${b.reason})`),
      h("button", { type: "button", class: "unban", onclick: () => unban(b) }, "Unban"))));
}

async function createInvite() {
  try {
    await call("POST", `/chat/servers/${S.serverId}/invites`, { max_uses: Number($("#invite-max-uses").value || 0) });
    $("#invite-max-uses").value = ""; // the list shows it when invite_created arrives
  } catch (error) {
    fail(error);
  }
}

async function copyInvite(code) {
  try {
    await navigator.clipboard.writeText(code);
    notify(`invite code ${code} copied`, false);
  } catch {
    notify(`copying is not allowed here: the code is ${code}`);
  }
}

async function revokeInvite(code) {
  try {
    await call("DELETE", `/chat/servers/${S.serverId}/invites/${encodeURIComponent(code)}`);
  } catch (error) {
    fail(error);
  }
}

async function refreshBans() {
  const serverId = S.serverId;
  const bans = await call("GET", `/chat/servers/${serverId}/bans`);
  if (S.serverId === serverId) {
    S.bans = bans;
    renderBans();
  }
}

async function ban(member) {
  try {
    await call("PUT", `/chat/servers/${S.serverId}/bans/${member.user_id}`, {});
    await refreshBans(); // the member list follows member_removed
  } catch (error) {
    fail(error);
  }
}

async function unban(banned) {
  try {
    await call("DELETE", `/chat/servers/${S.serverId}/bans/${banned.user_id}`);
    await refreshBans();
  } catch (error) {
    fail(error);
  }
}

async function openInvite() {
  const code = $("#invite-code").value.trim();
  try {
    const p = await api("GET", `/invites/${encodeURIComponent(code)}`);
    const expires = p.expires_at ? `expires ${new Date(p.expires_at).toLocaleString()}` : "never expires";
    $("#invite-preview-text").textContent =
      `${p.name}: ${p.member_count} member${p.member_count === 1 ? "" : "s"}, ${expires}`;
    S.preview = code;
    show($("#invite-preview"), true);
  } catch (error) {
    S.preview = null;
    show($("#invite-preview"), false);
    fail(error);
  }
}

async function joinInvite() {
  try {
    const joined = await call("POST", `/chat/invites/${encodeURIComponent(S.preview)}/accept`);
    show($("#invite-preview"), false);
    $("#invite-code").value = "";
    S.selectNext = joined.id;
    addServer(joined);
    notify(`joined ${joined.name}`, false);
  } catch (error) {
    fail(error);
  }
}

// ---- messages ----

const messages = new MessageList($("#messages"), {
  me: () => S.me?.user_id,
  // In a conversation nobody moderates: only your own.
  mayDelete: (m) => m.userId === S.me.user_id || (!S.dmId && ["MODERATOR", "ADMIN"].includes(server()?.role)),
  edit: editMessage,
  remove: deleteMessage,
  reply: replyTo,
  react,
  // Threads start on messages of a server's TEXT channel (no threads in threads).
  mayThread: () => !S.dmId && !threadBar.thread,
  thread: openThread,
});

const threadBar = new ThreadBar({ call, role: () => server()?.role, back: selectChannel, fail });

// The message's thread, started now if it has none (named after the message).
async function openThread(m) {
  try {
    const thread = m.thread
      ? await call("GET", `/chat/threads/${m.thread.id}`)
      : await call("POST", `${messageUrl(m.id)}/threads`, { name: Array.from(m.text).slice(0, 40).join("") || "thread" });
    messages.setThread(m.id, thread);
    await showChannel(thread.id, `🧵 ${thread.name}`, thread);
  } catch (error) {
    fail(error);
  }
}

function clearChat(title) {
  threadBar.close();
  S.channelId = null;
  S.dmId = null;
  drawDms();
  show($("#dm-people"), false);
  S.loading = null;
  S.held = [];
  messages.clear();
  cancelReply();
  clearTyping();
  $("#channel-title").textContent = title;
  $("#channel-topic").textContent = "";
  show($("#load-older"), false);
  show($("#composer"), false);
  show($("#read-bar"), false);
}

async function selectChannel(channelId) {
  const c = S.channels.find((x) => x.id === channelId);
  if (c.type === "voice") {
    clearChat("");
    showChannelTitle(c);
    S.channelId = channelId;
    renderChannels();
    $("#messages").append(h("li", { class: "system" }, "A VOICE channel: it has no text messages."));
    return;
  }
  await showChannel(channelId, `# ${c.name}`, null, c.topic);
}

// A channel that takes messages (a TEXT channel, or a `thread`) in the chat, its newest page read.
async function showChannel(channelId, title, thread = null, topic = null) {
  clearChat(title);
  $("#channel-topic").textContent = topic ?? "";
  if (thread) threadBar.open(thread);
  S.channelId = channelId;
  renderChannels();
  show($("#composer"), true);
  show($("#read-bar"), true);
  mentionBox.channelShown();
  try {
    const page = await readHistory(channelId, `?limit=${PAGE}`);
    if (!page) return;
    markRead(channelId, page.at(-1)?.seq ?? 0);
    S.oldestId = page[0]?.id ?? null;
    olderButton(page.length === PAGE);
    scrollDown();
  } catch (error) {
    fail(error);
  }
}

// A search result in its channel: selected, older pages read until it shows, then marked.
async function jumpTo(hit) {
  if (hit.server_id === null) {
    if (!S.dms.has(hit.channel_id)) return notify("that conversation is no longer yours");
    if (S.dmId !== hit.channel_id) await selectDm(hit.channel_id);
  } else {
    if (!S.servers.has(hit.server_id)) return notify("that server is no longer yours");
    if (S.dmId || S.serverId !== hit.server_id) await selectServer(hit.server_id);
    if (S.channelId !== hit.channel_id) await selectChannel(hit.channel_id);
  }
  const item = () => $("#messages").querySelector(`li[data-id="${CSS.escape(hit.id)}"]`);
  while (!item() && S.channelId === hit.channel_id && !$("#load-older").disabled) await loadOlder();
  const li = item();
  if (!li) return notify("that message is no longer there");
  li.scrollIntoView({ block: "center" });
  li.classList.add("found");
}

function olderButton(more) {
  const button = $("#load-older");
  show(button, true);
  button.disabled = !more;
  button.textContent = more ? "Load older" : "Beginning of the channel";
}

async function loadOlder() {
  const channelId = S.channelId;
  try {
    const page = await readHistory(channelId, `?limit=${PAGE}&before=${S.oldestId}`);
    if (!page) return;
    if (page.length) S.oldestId = page[0].id;
    olderButton(page.length === PAGE);
  } catch (error) {
    fail(error);
  }
}

// Shows a history page of the selected channel as of the eventSeq it was read at, holding the
// channel's live events back meanwhile and applying them after: each change shows once,
// whichever came first. Null if another channel was selected meanwhile.
async function readHistory(channelId, query) {
  S.loading = channelId;
  S.held = [];
  try {
    const { page, eventSeq } = await historyPage(messagesPath(chatServer(), channelId) + query, S.token);
    if (S.channelId !== channelId) return null;
    bumpEventSeq(channelId, eventSeq);
    for (const m of page) messages.place(fromHistory(m), eventSeq);
    return page;
  } finally {
    if (S.loading === channelId) {
      const held = S.held;
      S.loading = null;
      S.held = [];
      for (const event of held) showEvent(event);
    }
  }
}

function bumpEventSeq(channelId, eventSeq) {
  if (eventSeq > (S.eventSeq.get(channelId) ?? -1)) S.eventSeq.set(channelId, eventSeq);
}

function onMessage(event) {
  bumpEventSeq(event.channelId, event.eventSeq);
  touchDm(event);
  countUnread(event);
  if (event.channelId !== S.channelId) return;
  dropTyping(event.userId);
  if (S.loading === event.channelId) S.held.push(event);
  else showEvent(event);
}

// An edit, deletion or reaction: applied to the selected channel's messages; of any other
// channel, only its eventSeq is kept, for the next resume.
function onChange(event) {
  bumpEventSeq(event.channelId, event.eventSeq);
  if (event.channelId !== S.channelId) {
    if (event.type === "message_deleted" || event.type === "messages_deleted") loadUnreads();
    return;
  }
  if (S.loading === event.channelId) S.held.push(event);
  else showEvent(event);
}

function showEvent(event) {
  if (event.type !== "new_message") {
    messages.apply(event);
    if (S.replyTo && !messages.has(S.replyTo.id)) {
      cancelReply();
      notify("the message you were replying to was deleted");
    }
    return;
  }
  const list = $("#messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  messages.place(fromEvent(event));
  if (atBottom) scrollDown();
}

// After a reconnect: one frame names every channel the page has an eventSeq of (more frames
// only past the gateway's 1,000 a frame); each answers with its missed changes, then `resumed`.
function resume() {
  const known = [...S.eventSeq];
  for (let i = 0; i < known.length; i += RESUME_CHANNELS) {
    gateway.send({ type: "resume", channels: Object.fromEntries(known.slice(i, i + RESUME_CHANNELS)) });
  }
}

// The answer to a resume, after its missed changes: where each channel's stream now is. (The
// one-channel form, from the raw frame box, has no `channels`.)
function onResumed(event) {
  for (const [channelId, eventSeq] of Object.entries(event.channels ?? {})) bumpEventSeq(channelId, eventSeq);
}

// The changes after the page's eventSeq are no longer kept: forget it, and reload the channel
// if it is the one shown (any other loads when selected).
function onResyncRequired(channelId) {
  S.eventSeq.delete(channelId);
  if (channelId === S.channelId) (S.dmId ? selectDm : selectChannel)(channelId);
}

function scrollDown() {
  const list = $("#messages");
  list.scrollTop = list.scrollHeight;
}

// crypto.randomUUID exists only in secure contexts; a page on http://<LAN address> is not one.
function newNonce() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sendMessage() {
  const input = $("#composer-text");
  const picker = $("#composer-files");
  const text = input.value;
  if ((!text.trim() && !picker.files.length) || !S.channelId) return;
  const nonce = newNonce();
  const frame = { type: "send_message", serverId: chatServer(), channelId: S.channelId, text, nonce };
  if (S.replyTo) frame.replyTo = S.replyTo.id;
  if (picker.files.length) {
    try {
      frame.attachmentIds = [];
      for (const file of picker.files) frame.attachmentIds.push((await uploadFile(frame.serverId, frame.channelId, file, S.token)).id);
    } catch (error) {
      fail(error);
      return;
    }
    picker.value = "";
  }
  if (!gateway.send(frame)) {
    notify("not connected: reconnect to send");
    return;
  }
  messages.addPending(nonce, S.me.username, text, S.replyTo);
  cancelReply();
  scrollDown();
  input.value = "";
  S.typingSentAt = 0; // the server ends our typing indicator when the message arrives
}

// ---- editing, deleting, replying, reacting ----

const messageUrl = (id) => `${messagesPath(chatServer(), S.channelId)}/${id}`;

// The edited message, or null (refused: the notice says why). Everyone, this page too, also
// gets message_updated.
async function editMessage(id, text) {
  try {
    return await call("PATCH", messageUrl(id), { text });
  } catch (error) {
    fail(error);
    return null;
  }
}

async function deleteMessage(id) {
  try {
    await call("DELETE", messageUrl(id));
  } catch (error) {
    fail(error);
  }
}

// Adds the reaction, or takes it back if it is the user's: the chips change on the event.
async function react(id, emoji, mine) {
  try {
    await call(mine ? "DELETE" : "PUT", `${messageUrl(id)}/reactions/${encodeURIComponent(emoji)}/@me`);
  } catch (error) {
    fail(error);
  }
}

function replyTo(m) {
  S.replyTo = { id: m.id, user: m.user, text: cut(m.text) };
  $("#replying-to").textContent = m.user;
  $("#replying-text").textContent = S.replyTo.text;
  show($("#replying"), true);
  $("#composer-text").focus();
}

function cancelReply() {
  S.replyTo = null;
  show($("#replying"), false);
}

// ---- typing ----

function onComposerInput() {
  const now = Date.now();
  const typing = $("#composer-text").value.trim() !== "";
  const frame = { serverId: chatServer(), channelId: S.channelId };
  if (typing && now - S.typingSentAt > TYPING_EVERY_MS) {
    S.typingSentAt = now;
    gateway.send({ type: "typing_start", ...frame });
  } else if (!typing && S.typingSentAt) {
    S.typingSentAt = 0;
    gateway.send({ type: "typing_stop", ...frame });
  }
}

function onTyping(event) {
  if (event.channelId !== S.channelId) return;
  dropTyping(event.userId);
  if (event.type === "typing_start") {
    const timer = setTimeout(() => dropTyping(event.userId), TYPING_EXPIRES_MS);
    S.typing.set(event.userId, { username: event.username, timer });
  }
  renderTyping();
}

function dropTyping(userId) {
  const entry = S.typing.get(userId);
  if (!entry) return;
  clearTimeout(entry.timer);
  S.typing.delete(userId);
  renderTyping();
}

function clearTyping() {
  for (const userId of [...S.typing.keys()]) dropTyping(userId);
}

function renderTyping() {
  const names = [...S.typing.values()].map((t) => t.username);
  $("#typing").textContent =
    names.length === 0 ? "" :
    names.length === 1 ? `${names[0]} is typing…` :
    names.length <= 3 ? `${names.slice(0, -1).join(", ")} and ${names.at(-1)} are typing…` :
    "Several people are typing…";
}

// ---- direct messages and blocks ----

function renderDms(list) {
  S.dms = new Map(list.map((dm) => [dm.id, dm]));
  drawDms();
}

// Its people other than you, or its owner's name for a group where only you are left.
function dmTitle(dm) {
  const others = dm.recipients.filter((r) => r.id !== S.me?.user_id).map((r) => r.username);
  return `${dm.type === "group_dm" ? "👥" : "@"} ${others.join(", ") || "just you"}`;
}

function drawDms() {
  $("#dms").replaceChildren(...[...S.dms.values()].map((dm) =>
    h("li", { class: `${dm.id === S.dmId ? "selected" : ""}${unreads.badge(dm.id) ? " unread" : ""}`, dataset: { id: dm.id } },
      dmPeerDot(dm), h("button", { type: "button", onclick: () => selectDm(dm.id) }, dmTitle(dm)),
      unreads.badge(dm.id))));
}

// A 1:1's other person's presence dot (a group's are in its people list).
function dmPeerDot(dm) {
  const other = dm.type === "dm" && dm.recipients.find((r) => r.id !== S.me?.user_id);
  return other ? presence.dot(other.id) : null;
}

// A message in a conversation makes it the latest active one: first in the list.
function touchDm(event) {
  const dm = S.dms.get(event.channelId);
  if (!dm) return;
  dm.last_message_at = event.createdAt;
  S.dms.delete(dm.id);
  S.dms = new Map([[dm.id, dm], ...S.dms]);
  const unread = $("#dms").querySelectorAll("li.unread");
  drawDms();
  for (const li of unread) $("#dms").querySelector(`li[data-id="${CSS.escape(li.dataset.id)}"]`)?.classList.add("unread");
}

function onDmCreated(dm) {
  S.dms = new Map([[dm.id, dm], ...[...S.dms].filter(([id]) => id !== dm.id)]);
  drawDms();
}

function onDmRecipientAdded(event) {
  const dm = S.dms.get(event.dmId);
  if (!dm || dm.recipients.some((r) => r.id === event.user.id)) return;
  dm.recipients.push(event.user);
  drawDms();
  if (S.dmId === dm.id) renderDmPeople();
}

function onDmRecipientRemoved(event) {
  const dm = S.dms.get(event.dmId);
  if (!dm) return;
  if (event.userId === S.me.user_id) {
    S.dms.delete(dm.id);
    if (S.dmId === dm.id) clearChat("No channel selected");
    drawDms();
    return;
  }
  dm.recipients = dm.recipients.filter((r) => r.id !== event.userId);
  dm.owner_id = event.ownerId;
  drawDms();
  if (S.dmId === dm.id) {
    $("#channel-title").textContent = dmTitle(dm);
    renderDmPeople();
  }
}

// Usernames to ids: the page knows the members of the server shown and the people of its
// conversations (chatd looks nobody up by name for a conversation).
function userIds(names) {
  const known = new Map([...S.members.map((m) => [m.username.toLowerCase(), m.user_id]),
    ...[...S.dms.values()].flatMap((dm) => dm.recipients.map((r) => [r.username.toLowerCase(), r.id]))]);
  const unknown = names.filter((n) => !known.has(n.toLowerCase()));
  if (unknown.length) throw new Error(`unknown here: ${unknown.join(", ")} (pick people of the server shown)`);
  return names.map((n) => known.get(n.toLowerCase()));
}

async function openDm(recipientIds) {
  try {
    const dm = await call("POST", "/chat/dms", { recipient_ids: recipientIds });
    if (!S.dms.has(dm.id)) onDmCreated(dm);
    selectDm(dm.id);
  } catch (error) {
    fail(error);
  }
}

async function selectDm(dmId) {
  const dm = S.dms.get(dmId);
  clearChat(dmTitle(dm));
  S.channelId = dmId;
  S.dmId = dmId;
  drawDms();
  renderChannels();
  renderDmPeople();
  show($("#composer"), true);
  show($("#read-bar"), true); // read state and notification setting, as a channel's
  mentionBox.channelShown();
  try {
    const page = await readHistory(dmId, `?limit=${PAGE}`);
    if (!page) return;
    markRead(dmId, page.at(-1)?.seq ?? 0);
    S.oldestId = page[0]?.id ?? null;
    olderButton(page.length === PAGE);
    scrollDown();
  } catch (error) {
    fail(error);
  }
}

// A group's people: its owner removes and adds, anyone leaves.
function renderDmPeople() {
  const dm = S.dms.get(S.dmId);
  const group = dm.type === "group_dm";
  const owner = dm.owner_id === S.me.user_id;
  $("#dm-recipients").replaceChildren(...dm.recipients.map((r) =>
    h("li", { dataset: { id: r.id } }, presence.dot(r.id), h("span", { class: "name" }, r.username),
      r.id === dm.owner_id && h("span", { class: "role" }, " owner"),
      group && owner && r.id !== S.me.user_id &&
        h("button", { type: "button", class: "remove", onclick: () => removeRecipient(dm.id, r.id) }, "Remove"))));
  show($("#dm-people"), true);
  show($("#dm-add-form"), group && owner);
  show($("#dm-leave"), group);
}

async function addRecipient() {
  try {
    const [userId] = userIds([$("#dm-add-name").value.trim()]);
    await call("PUT", `/chat/dms/${S.dmId}/recipients/${userId}`);
    $("#dm-add-name").value = "";
  } catch (error) {
    fail(error);
  }
}

async function removeRecipient(dmId, userId) {
  try {
    await call("DELETE", `/chat/dms/${dmId}/recipients/${userId}`);
  } catch (error) {
    fail(error);
  }
}

// Beside each member of the server shown: open your 1:1 with them, block them.
function memberDmButtons(m) {
  if (m.user_id === S.me?.user_id) return [];
  const blocked = S.blocks.some((b) => b.user_id === m.user_id);
  return [h("button", { type: "button", class: "dm", onclick: () => openDm([m.user_id]) }, "Message"),
    !blocked && h("button", { type: "button", class: "block", onclick: () => block(m.user_id) }, "Block")];
}

async function loadBlocks() {
  try {
    S.blocks = await call("GET", "/chat/users/@me/blocks");
    renderBlocks();
  } catch (error) {
    fail(error);
  }
}

function renderBlocks() {
  $("#blocks").replaceChildren(...S.blocks.map((b) =>
    h("li", { dataset: { id: b.user_id } }, h("span", { class: "name" }, b.username),
      h("button", { type: "button", class: "unblock", onclick: () => unblock(b.user_id) }, "Unblock"))));
  renderMembers();
}

async function block(userId) {
  try {
    await call("PUT", `/chat/users/@me/blocks/${userId}`);
    await loadBlocks();
  } catch (error) {
    fail(error);
  }
}

async function unblock(userId) {
  try {
    await call("DELETE", `/chat/users/@me/blocks/${userId}`);
    await loadBlocks();
  } catch (error) {
    fail(error);
  }
}

function wireDms() {
  onSubmit("#dm-form", () => {
    try {
      const names = $("#dm-names").value.split(",").map((n) => n.trim()).filter(Boolean);
      openDm(userIds(names));
      $("#dm-names").value = "";
    } catch (error) {
      fail(error);
    }
  });
  onSubmit("#dm-add-form", addRecipient);
  $("#dm-leave").addEventListener("click", () => removeRecipient(S.dmId, S.me.user_id));
}

// ---- wiring ----

function onSubmit(selector, handler) {
  $(selector).addEventListener("submit", (e) => {
    e.preventDefault();
    handler();
  });
}

function start() {
  setupDevPanel();
  onSubmit("#login-form", () => credentials("/auth/login"));
  $("#register").addEventListener("click", () => {
    if ($("#login-form").reportValidity()) credentials("/auth/register");
  });
  onSubmit("#token-form", () => signIn($("#token-input").value.trim()));
  $("#logout").addEventListener("click", () => logOut("/auth/logout", "logged out"));
  $("#logout-all").addEventListener("click", () => logOut("/auth/logout-all", "logged out everywhere"));
  onSubmit("#password-form", changePassword);
  onSubmit("#server-form", async () => {
    try {
      const created = await call("POST", "/chat/servers", { name: $("#server-name").value });
      $("#server-name").value = "";
      S.selectNext = created.id;
      // A connection hears the servers it had when it connected: reconnect to hear this one.
      reconnect(true);
    } catch (error) {
      fail(error);
    }
  });
  onSubmit("#channel-form", async () => {
    try {
      const created = await call("POST", `/chat/servers/${S.serverId}/channels`,
        { name: $("#channel-name").value, type: $("#channel-type").value });
      $("#channel-name").value = "";
      handleEvent({ type: "channel_created", serverId: created.server_id, channel: created });
    } catch (error) {
      fail(error);
    }
  });
  onSubmit("#member-form", async () => {
    try {
      await call("POST", `/chat/servers/${S.serverId}/members`,
        { username: $("#member-name").value.trim(), role: $("#member-role").disabled ? "MEMBER" : $("#member-role").value });
      $("#member-name").value = "";
    } catch (error) {
      fail(error);
    }
  });
  onSubmit("#invite-form", createInvite);
  onSubmit("#invite-open-form", openInvite);
  $("#invite-join").addEventListener("click", joinInvite);
  wireDms();
  wireManage();
  onSubmit("#composer", sendMessage);
  $("#composer-text").addEventListener("input", onComposerInput);
  $("#load-older").addEventListener("click", loadOlder);
  $("#mark-read").addEventListener("click", () => markRead(S.channelId));
  $("#mark-unread").addEventListener("click", markUnread);
  $("#reply-cancel").addEventListener("click", cancelReply);
  setupSearch(() => ({ token: S.token, serverId: chatServer(), channelId: S.dmId ? null : S.channelId, dmId: S.dmId }),
    jumpTo, fail);
  mentionBox = setupMentions(() => ({
    token: S.token, serverId: S.serverId, channelId: S.channelId, dmId: S.dmId,
    people: S.dmId ? S.dms.get(S.dmId).recipients : S.members.map((m) => ({ id: m.user_id, username: m.username })),
    title: (channelId) => {
      const c = S.channels.find((x) => x.id === channelId);
      return c ? `#${c.name}` : S.dms.has(channelId) ? dmTitle(S.dms.get(channelId)) : "another channel";
    },
  }), jumpTo, fail);
  $("#disconnect").addEventListener("click", () => {
    clearTimeout(S.retryTimer);
    gateway.disconnect();
  });
  $("#reconnect").addEventListener("click", () => reconnect(false));
  $("#reconnect-resume").addEventListener("click", () => reconnect(true));
  $("#raw-send").addEventListener("click", () => {
    if (!gateway.send($("#raw-frame").value)) notify("not connected");
  });
  setInterval(() => S.token && showToken(S.token), 30000);
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved);
}

start();
