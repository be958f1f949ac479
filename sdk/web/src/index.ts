// UnMoGrowP's web SDK. It sends a page's events to the ingestion listener's
// Segment-compatible POST /v1/batch, with the app's SDK key as writeKey in the body and
// the body as text/plain: a request the browser sends without a CORS preflight, and which
// navigator.sendBeacon can send as the page is hidden.
//
// - A device id is kept in localStorage (first-party), made on the first visit; that visit
//   sends an install ("Application Installed"), each later page session a session
//   ("Application Opened").
// - A click id in the landing URL (?click_id=..., which a tracking link's redirect to the
//   web URL adds) is kept, and sent with the install or session as its referrer
//   "click_id=...", which attributes the install to the click.
// - Events wait in a queue, sent in batches when batchSize are waiting or flushInterval
//   has passed, and all at once by sendBeacon when the page is hidden.
// - A batch answered 5xx or 429, or lost to a network error, is sent again with backoff,
//   the same message ids each time (the server stores each event once).

/** Options of init. */
export interface Options {
  /** The app's SDK key (pk_...). */
  key: string
  /** The ingestion listener's base URL, e.g. https://t.example.com. */
  endpoint: string
  /** Events a request; 20 by default. */
  batchSize?: number
  /** How long an event waits for its batch, in ms; 2000 by default. */
  flushInterval?: number
  /** Attempts of a batch before it is dropped; 6 by default. */
  maxAttempts?: number
}

/** Properties of an event: anything JSON can hold. */
export type Properties = Record<string, unknown>

interface Call {
  type: 'track' | 'identify'
  event?: string
  messageId: string
  anonymousId: string
  userId?: string
  timestamp: string
  properties?: Properties
  context: Record<string, unknown>
}

const VERSION = '0.1.0'
const PREFIX = 'unmogrowp_'

let cfg: Required<Options> | undefined
let deviceId = ''
let userId: string | undefined
let queue: Call[] = []
let timer: ReturnType<typeof setTimeout> | undefined

/** Starts the SDK: call it once per page, before the other functions. */
export function init(options: Options): void {
  cfg = { batchSize: 20, flushInterval: 2000, maxAttempts: 6, ...options }
  cfg.endpoint = cfg.endpoint.replace(/\/+$/, '')
  deviceId = load('device_id')
  const first = !deviceId
  if (first) {
    deviceId = uuid()
    save('device_id', deviceId)
  }
  userId = load('user_id') || undefined
  const click = new URLSearchParams(location.search).get('click_id')
  if (click) save('click_id', click)
  let session = ''
  try {
    session = sessionStorage.getItem(PREFIX + 'session') || ''
    if (!session) sessionStorage.setItem(PREFIX + 'session', uuid())
  } catch {
    // storage refused: every page load is a session
  }
  if (!session || click) {
    const props: Properties = {}
    const clickID = load('click_id')
    if (clickID) props.referrer = 'click_id=' + clickID
    enqueue({ type: 'track', event: first ? 'Application Installed' : 'Application Opened', properties: props })
  }
  addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') beacon()
  })
  addEventListener('pagehide', beacon)
}

/** Records a custom event, such as "signup", with its properties. */
export function track(name: string, props?: Properties): void {
  enqueue({ type: 'track', event: name, properties: props })
}

/** Records revenue: amount in currency (ISO 4217), as a "revenue" event with its properties. */
export function revenue(amount: number, currency: string, props?: Properties): void {
  enqueue({ type: 'track', event: 'revenue', properties: { ...props, revenue: amount, currency } })
}

/** Says who the visitor is: the id is kept, and sent with every later event. */
export function identify(id: string): void {
  userId = id
  save('user_id', id)
  enqueue({ type: 'identify' })
}

/** Sends every waiting event now; resolves once they are delivered or given up. */
export function flush(): Promise<void> {
  clearTimeout(timer)
  timer = undefined
  const batch = queue
  queue = []
  return batch.length ? send(batch, 1) : Promise.resolve()
}

/** The device id the SDK keeps for this browser. */
export function device(): string {
  return deviceId
}

function enqueue(c: Partial<Call>): void {
  if (!cfg) throw new Error('unmogrowp: call init first')
  queue.push({
    ...c,
    messageId: uuid(),
    anonymousId: deviceId,
    userId,
    timestamp: new Date().toISOString(),
    context: {
      os: { name: 'web' },
      locale: navigator.language,
      page: { url: location.href, referrer: document.referrer },
      library: { name: 'unmogrowp-web', version: VERSION },
    },
  } as Call)
  if (queue.length >= cfg.batchSize) {
    void flush()
  } else if (timer === undefined) {
    timer = setTimeout(() => void flush(), cfg.flushInterval)
  }
}

function body(batch: Call[]): string {
  return JSON.stringify({ batch, writeKey: cfg!.key, sentAt: new Date().toISOString() })
}

async function send(batch: Call[], attempt: number): Promise<void> {
  let retry: boolean
  try {
    const resp = await fetch(cfg!.endpoint + '/v1/batch', {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: body(batch),
      keepalive: true,
    })
    retry = resp.status >= 500 || resp.status === 429
  } catch {
    retry = true // a network error
  }
  if (retry && attempt < cfg!.maxAttempts) {
    const wait = Math.min(250 * 2 ** (attempt - 1), 10000) * (0.5 + Math.random())
    await new Promise((r) => setTimeout(r, wait))
    await send(batch, attempt + 1)
  }
}

function beacon(): void {
  if (!cfg || queue.length === 0) return
  const batch = queue
  queue = []
  clearTimeout(timer)
  timer = undefined
  const data = new Blob([body(batch)], { type: 'text/plain' })
  if (!navigator.sendBeacon || !navigator.sendBeacon(cfg.endpoint + '/v1/batch', data)) {
    void send(batch, 1)
  }
}

function load(name: string): string {
  try {
    return localStorage.getItem(PREFIX + name) || ''
  } catch {
    return ''
  }
}

function save(name: string, value: string): void {
  try {
    localStorage.setItem(PREFIX + name, value)
  } catch {
    // storage refused: the value lasts as long as the page
  }
}

function uuid(): string {
  if (typeof crypto !== 'undefined' && crypto.randomUUID) return crypto.randomUUID()
  const b = new Uint8Array(16)
  crypto.getRandomValues(b)
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
}
