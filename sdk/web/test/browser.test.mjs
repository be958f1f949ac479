// Browser test of the web SDK against a running `unmogrowp serve`, in Debian's headless
// Chromium driven by playwright-core. cmd/unmogrowp/websdk_test.go starts the server, a
// landing page that loads dist/unmogrowp.min.js by a script tag, and a tracking link whose
// web URL is that page; it runs this with CLICK_URL (the link's /c/ URL), LANDING_URL and
// INGEST_URL, then checks what the server stored.
//
// The visitor clicks the link and lands on the page with ?click_id=...; the SDK sends the
// install with that click id. The answer to the first batch is replaced by a 503 after the
// server took it, so the SDK sends it again, with the same message ids. The page then
// tracks an event, revenue and an identify, and an event sent only by sendBeacon as the
// page is hidden. A second visit in the same browser keeps the device id and sends a
// session. The last line printed is DEVICE=<the device id>.

import assert from 'node:assert/strict'
import { chromium } from 'playwright-core'

const clickURL = must('CLICK_URL')
const landingURL = must('LANDING_URL')
const ingestURL = must('INGEST_URL').replace(/\/+$/, '')

function must(name) {
  const v = process.env[name]
  if (!v) {
    console.error(`${name} is not set`)
    process.exit(2)
  }
  return v
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium' })
try {
  const context = await browser.newContext()
  const batches = [] // what each /v1/batch request held, and how it was answered
  await context.route(ingestURL + '/v1/batch', async (route) => {
    const req = route.request()
    const body = JSON.parse(req.postData() || '{}')
    const resp = await route.fetch()
    const entry = { ids: (body.batch || []).map((c) => c.messageId), events: (body.batch || []).map((c) => c.event || c.type), status: resp.status() }
    if (batches.length === 0) {
      entry.status = 503 // the server took it; the SDK is told it did not
      batches.push(entry)
      await route.fulfill({ status: 503, headers: { 'Access-Control-Allow-Origin': '*' }, body: '{"error":"try again"}' })
      return
    }
    batches.push(entry)
    await route.fulfill({ response: resp })
  })
  const errors = []
  const page = await context.newPage()
  page.on('pageerror', (e) => errors.push(String(e)))

  await page.goto(clickURL)
  assert.match(page.url(), /[?&]click_id=[0-9a-f]+/, 'the click lands with its click id')
  const device = await page.evaluate(() => unmogrowp.device())
  assert.ok(device, 'a device id')
  assert.equal(await page.evaluate(() => localStorage.getItem('unmogrowp_device_id')), device)

  await page.waitForFunction(() => true)
  for (let i = 0; i < 100 && batches.filter((b) => b.status === 200).length < 1; i++) await page.waitForTimeout(100)
  assert.equal(batches.length, 2, `the first batch sent twice: ${JSON.stringify(batches)}`)
  assert.deepEqual(batches[1].ids, batches[0].ids, 'a retry keeps the message ids')
  assert.deepEqual(batches[0].events, ['Application Installed'])

  await page.evaluate(() => {
    unmogrowp.track('signup', { plan: 'pro' })
    unmogrowp.revenue(4.99, 'EUR', { sku: 'gems' })
    unmogrowp.identify('web-user')
    return unmogrowp.flush()
  })
  assert.deepEqual(batches.at(-1).events, ['signup', 'revenue', 'identify'])
  assert.equal(batches.at(-1).status, 200)

  // Hidden: what is queued goes by sendBeacon (noted in localStorage as it is called, for
  // the page is gone then; the Go test checks that the server stored it).
  await page.evaluate(() => {
    const send = navigator.sendBeacon.bind(navigator)
    navigator.sendBeacon = (url, data) => {
      const ok = send(url, data)
      localStorage.setItem('test_beacon', `${url} ${ok}`)
      return ok
    }
    unmogrowp.track('before_leave')
  })
  await page.goto(landingURL + 'other')
  assert.equal(await page.evaluate(() => localStorage.getItem('test_beacon')), `${ingestURL}/v1/batch true`, 'sent by sendBeacon on page hide')

  // A second visit: the same device, a session.
  const again = await context.newPage()
  await again.goto(landingURL)
  assert.equal(await again.evaluate(() => unmogrowp.device()), device, 'the device id persists')
  await again.evaluate(() => unmogrowp.flush())
  for (let i = 0; i < 50 && !batches.some((b) => b.events.includes('Application Opened')); i++) await again.waitForTimeout(100)
  assert.ok(batches.some((b) => b.events.includes('Application Opened') && b.status === 200), `a session: ${JSON.stringify(batches)}`)
  assert.deepEqual(errors, [], 'no page error')
  console.log(`batches: ${JSON.stringify(batches)}`)
  console.log(`DEVICE=${device}`)
} finally {
  await browser.close()
}
