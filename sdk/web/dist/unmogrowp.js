// src/index.ts
var VERSION = "0.1.0";
var PREFIX = "unmogrowp_";
var cfg;
var deviceId = "";
var userId;
var queue = [];
var timer;
function init(options) {
  cfg = { batchSize: 20, flushInterval: 2e3, maxAttempts: 6, ...options };
  cfg.endpoint = cfg.endpoint.replace(/\/+$/, "");
  deviceId = load("device_id");
  const first = !deviceId;
  if (first) {
    deviceId = uuid();
    save("device_id", deviceId);
  }
  userId = load("user_id") || void 0;
  const click = new URLSearchParams(location.search).get("click_id");
  if (click) save("click_id", click);
  let session = "";
  try {
    session = sessionStorage.getItem(PREFIX + "session") || "";
    if (!session) sessionStorage.setItem(PREFIX + "session", uuid());
  } catch {
  }
  if (!session || click) {
    const props = {};
    const clickID = load("click_id");
    if (clickID) props.referrer = "click_id=" + clickID;
    enqueue({ type: "track", event: first ? "Application Installed" : "Application Opened", properties: props });
  }
  addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") beacon();
  });
  addEventListener("pagehide", beacon);
}
function track(name, props) {
  enqueue({ type: "track", event: name, properties: props });
}
function revenue(amount, currency, props) {
  enqueue({ type: "track", event: "revenue", properties: { ...props, revenue: amount, currency } });
}
function identify(id) {
  userId = id;
  save("user_id", id);
  enqueue({ type: "identify" });
}
function flush() {
  clearTimeout(timer);
  timer = void 0;
  const batch = queue;
  queue = [];
  return batch.length ? send(batch, 1) : Promise.resolve();
}
function device() {
  return deviceId;
}
function enqueue(c) {
  if (!cfg) throw new Error("unmogrowp: call init first");
  queue.push({
    ...c,
    messageId: uuid(),
    anonymousId: deviceId,
    userId,
    timestamp: (/* @__PURE__ */ new Date()).toISOString(),
    context: {
      os: { name: "web" },
      locale: navigator.language,
      page: { url: location.href, referrer: document.referrer },
      library: { name: "unmogrowp-web", version: VERSION }
    }
  });
  if (queue.length >= cfg.batchSize) {
    void flush();
  } else if (timer === void 0) {
    timer = setTimeout(() => void flush(), cfg.flushInterval);
  }
}
function body(batch) {
  return JSON.stringify({ batch, writeKey: cfg.key, sentAt: (/* @__PURE__ */ new Date()).toISOString() });
}
async function send(batch, attempt) {
  let retry;
  try {
    const resp = await fetch(cfg.endpoint + "/v1/batch", {
      method: "POST",
      headers: { "Content-Type": "text/plain" },
      body: body(batch),
      keepalive: true
    });
    retry = resp.status >= 500 || resp.status === 429;
  } catch {
    retry = true;
  }
  if (retry && attempt < cfg.maxAttempts) {
    const wait = Math.min(250 * 2 ** (attempt - 1), 1e4) * (0.5 + Math.random());
    await new Promise((r) => setTimeout(r, wait));
    await send(batch, attempt + 1);
  }
}
function beacon() {
  if (!cfg || queue.length === 0) return;
  const batch = queue;
  queue = [];
  clearTimeout(timer);
  timer = void 0;
  const data = new Blob([body(batch)], { type: "text/plain" });
  if (!navigator.sendBeacon || !navigator.sendBeacon(cfg.endpoint + "/v1/batch", data)) {
    void send(batch, 1);
  }
}
function load(name) {
  try {
    return localStorage.getItem(PREFIX + name) || "";
  } catch {
    return "";
  }
}
function save(name, value) {
  try {
    localStorage.setItem(PREFIX + name, value);
  } catch {
  }
}
function uuid() {
  if (typeof crypto !== "undefined" && crypto.randomUUID) return crypto.randomUUID();
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
export {
  device,
  flush,
  identify,
  init,
  revenue,
  track
};
