// Sends calls with Segment's own Node library (@segment/analytics-node), pointed at the
// ingestion listener: INGEST_URL, WRITE_KEY and DEVICE from the environment. It exits 1
// when the library reports a call it could not deliver.
import { Analytics } from '@segment/analytics-node'

const { INGEST_URL, WRITE_KEY, DEVICE, GAID } = process.env
const analytics = new Analytics({ writeKey: WRITE_KEY, host: INGEST_URL, flushAt: 3, maxRetries: 2 })
const failures = []
analytics.on('error', (err) => failures.push(String(err?.reason ?? err)))

const context = {
  os: { name: 'Android', version: '14' },
  device: { advertisingId: GAID, adTrackingEnabled: true, model: 'Pixel 8' },
  app: { version: '2.0.0' },
}
analytics.track({ anonymousId: DEVICE, event: 'Application Installed', properties: { version: '2.0.0' }, context })
analytics.track({ anonymousId: DEVICE, userId: 'node-user', event: 'Order Completed', properties: { revenue: 9.99, currency: 'EUR' }, context })
analytics.identify({ anonymousId: DEVICE, userId: 'node-user', traits: { plan: 'pro' }, context })
analytics.screen({ anonymousId: DEVICE, name: 'Home', context })
analytics.page({ anonymousId: DEVICE, name: 'Pricing', context })
analytics.group({ anonymousId: DEVICE, userId: 'node-user', groupId: 'g1', traits: { name: 'Initech' } })
analytics.alias({ userId: 'node-user', previousId: DEVICE })
await analytics.closeAndFlush({ timeout: 20000 })
if (failures.length > 0) {
  console.error('undelivered:', failures.join('; '))
  process.exit(1)
}
console.log('delivered 7 calls')
