// One WebSocket to /chat/ws. The token goes in an `identify` frame, never in the URL.

export const CLOSE_CODES = {
  1000: "normal", 1001: "going away (server shutdown)", 1006: "abnormal (no close frame)",
  1011: "server error", 4008: "slow consumer", 4401: "unauthorized",
};

export class Gateway {
  // handlers: onState(state, detail), onEvent(event), onFrame(direction, text), onClose(code, reason, byPage)
  constructor(handlers) {
    this.handlers = handlers;
    this.ws = null;
    this.state = "disconnected";
  }

  connect(token) {
    this.disconnect("reconnecting");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/chat/ws`);
    this.ws = ws;
    this.byPage = false;
    this.setState("connecting");
    ws.onopen = () => {
      this.setState("identifying");
      ws.send(JSON.stringify({ type: "identify", token }));
      // The log shows frames on screen: the token itself is not shown there.
      this.handlers.onFrame("out", JSON.stringify({ type: "identify", token: "(redacted)" }));
    };
    ws.onmessage = (message) => {
      if (ws !== this.ws) return;
      this.handlers.onFrame("in", message.data);
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (event.type === "connected") this.setState("connected", event.username);
      this.handlers.onEvent(event);
    };
    ws.onclose = (e) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.setState("closed", `${e.code} ${CLOSE_CODES[e.code] ?? ""}`.trim());
      this.handlers.onClose(e.code, e.reason, this.byPage);
    };
  }

  disconnect(reason = "closed by the page") {
    const ws = this.ws;
    if (!ws) return;
    this.byPage = true;
    ws.close(1000, reason);
    // The close event is reported at once; a late one from this socket is ignored.
    ws.onclose({ code: 1000, reason });
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN && this.state === "connected";
  }

  // Sends text as is (the raw composer may send anything) or an object as JSON.
  send(frame) {
    const text = typeof frame === "string" ? frame : JSON.stringify(frame);
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(text);
    this.handlers.onFrame("out", text);
    return true;
  }

  setState(state, detail = "") {
    this.state = state;
    this.handlers.onState(state, detail);
  }
}
