// The REST API: JSON in and out, {"detail": ...} on failure.

export class ApiError extends Error {
  constructor(status, detail) {
    super(`${status}: ${detail}`);
    this.status = status;
    this.detail = detail;
  }
}

async function request(method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!resp.ok) {
    const data = await resp.json().catch(() => null);
    throw new ApiError(resp.status, data?.detail ?? resp.statusText);
  }
  return resp;
}

export async function api(method, path, options) {
  const resp = await request(method, path, options);
  return resp.status === 204 ? null : resp.json().catch(() => null);
}

// Uploads a file into a channel (serverId null: a conversation): the upload's {id, ...}.
export async function uploadFile(serverId, channelId, file, token) {
  const form = new FormData();
  form.append("file", file, file.name);
  const path = messagesPath(serverId, channelId).replace(/\/messages$/, "/attachments");
  const resp = await fetch(path, { method: "POST", headers: { Authorization: `Bearer ${token}` }, body: form });
  const data = await resp.json().catch(() => null);
  if (!resp.ok) throw new ApiError(resp.status, data?.detail ?? resp.statusText);
  return data;
}

// A history page and the point of the channel's change stream it shows (one snapshot): the
// page is exactly the channel at that eventSeq, from which a resume repeats nothing.
export async function historyPage(path, token) {
  const resp = await request("GET", path, { token });
  return { page: await resp.json(), eventSeq: Number(resp.headers.get("Chatd-Event-Seq")) };
}

// A server's channel, or (serverId null) a conversation: the same sub-routes under /chat/dms/{id}.
export const messagesPath = (serverId, channelId) =>
  serverId === null ? `/chat/dms/${channelId}/messages` : `/chat/servers/${serverId}/channels/${channelId}/messages`;

// The JWT's payload, decoded for display only (the server checks the signature).
export function tokenClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}
