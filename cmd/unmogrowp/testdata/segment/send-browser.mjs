// Sends calls with Segment's own browser library (@segment/analytics-next, its UMD build),
// in Debian's headless Chromium driven by playwright-core, pointed at the ingestion
// listener. PAGE_URL is a page of the Go test that loads the library; INGEST_HOST the
// listener's host:port. The library posts each call to http://INGEST_HOST/v1/<t|i|p>, the
// write key in the body, as text/plain. It exits 1 when a call is not answered 200.
import assert from 'node:assert/strict'
import { chromium } from 'playwright-core'

const { PAGE_URL, INGEST_HOST } = process.env
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium' })
try {
  const page = await browser.newPage()
  const answers = []
  page.on('response', (r) => {
    if (r.url().startsWith(`http://${INGEST_HOST}/v1/`)) answers.push(`${new URL(r.url()).pathname} ${r.status()}`)
  })
  const errors = []
  page.on('pageerror', (e) => errors.push(String(e)))
  await page.goto(PAGE_URL)
  const anonymousId = await page.evaluate(async () => {
    const analytics = window.analytics
    await analytics.identify('browser-user', { plan: 'pro' })
    await analytics.track('Order Completed', { revenue: 12.5, currency: 'EUR' })
    await analytics.page('Pricing')
    return (await analytics.user()).anonymousId()
  })
  for (let i = 0; i < 50 && answers.length < 3; i++) await page.waitForTimeout(100)
  assert.deepEqual(answers.sort(), ['/v1/i 200', '/v1/p 200', '/v1/t 200'], `answers: ${answers}`)
  assert.deepEqual(errors, [])
  console.log(`ANONYMOUS_ID=${anonymousId}`)
} finally {
  await browser.close()
}
