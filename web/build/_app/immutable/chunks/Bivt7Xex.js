import"./xihTtKlq.js";import{$ as e,B as t,F as n,J as r,L as i,O as a,P as o,Q as s,T as c,U as l,X as u,Z as d,at as f,b as p,et as m,f as h,h as g,it as _,j as v,k as y,m as b,tt as x,ut as S}from"./BbvO4Nbi.js";import{t as C}from"./C2zQNvdD.js";function w(e){return(e||`${location.protocol}//${location.hostname}:8080`).replace(/\/+$/,``)}function T(e){let t=e.platform===`other`?`android`:e.platform,n=`# An install, as the SDK sends it (public SDK key):
curl -s ${e.ingestURL}/v1/events \\
  -H 'Content-Type: application/json' \\
  -H 'X-App-Key: ${e.sdkKey}' \\
  -d '{"event_type":"install","device_id":"6D92078A","platform":"${t}"}'
`;return e.serverKey&&(n+=`
# A purchase from your server (secret server key):
curl -s ${e.ingestURL}/v1/events \\
  -H 'Content-Type: application/json' \\
  -H 'X-Api-Key: ${e.serverKey}' \\
  -d '{"event_type":"purchase","device_id":"6D92078A","revenue":4.99,"currency":"USD"}'
`),n}function E(e){return`// build.gradle.kts: implementation("com.squareup.okhttp3:okhttp:4.12.0")
import okhttp3.*
import okhttp3.MediaType.Companion.toMediaType
import okhttp3.RequestBody.Companion.toRequestBody
import org.json.JSONObject
import java.io.IOException

object Tracker {
    private val client = OkHttpClient()

    // deviceId: a UUID your app makes on first launch and keeps.
    // installReferrer: from the Play Install Referrer API, on the install event.
    fun track(eventType: String, deviceId: String, installReferrer: String? = null) {
        val json = JSONObject()
            .put("event_type", eventType)
            .put("device_id", deviceId)
            .put("platform", "android")
        if (installReferrer != null) json.put("install_referrer", installReferrer)
        val request = Request.Builder()
            .url("${e.ingestURL}/v1/events")
            .header("X-App-Key", "${e.sdkKey}")
            .post(json.toString().toRequestBody("application/json".toMediaType()))
            .build()
        client.newCall(request).enqueue(object : Callback {
            override fun onFailure(call: Call, e: IOException) {}
            override fun onResponse(call: Call, response: Response) = response.close()
        })
    }
}

// Tracker.track("install", deviceId, referrer)
`}function D(e){return`import Foundation

enum Tracker {
    // A UUID made on first launch and kept.
    static var deviceId: String {
        if let id = UserDefaults.standard.string(forKey: "unmogrowp.device_id") { return id }
        let id = UUID().uuidString
        UserDefaults.standard.set(id, forKey: "unmogrowp.device_id")
        return id
    }

    static func track(_ eventType: String, properties: [String: Any] = [:]) {
        var request = URLRequest(url: URL(string: "${e.ingestURL}/v1/events")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("${e.sdkKey}", forHTTPHeaderField: "X-App-Key")
        var body = properties
        body["event_type"] = eventType
        body["device_id"] = deviceId
        body["platform"] = "ios"
        request.httpBody = try? JSONSerialization.data(withJSONObject: body)
        URLSession.shared.dataTask(with: request).resume()
    }
}

// Tracker.track("install")
// Tracker.track("purchase", properties: ["revenue": 4.99, "currency": "USD"])
`}var O=v(`<button type="button" role="tab"> </button>`),k=v(`<div><div class="mb-3 flex flex-col gap-1.5 sm:flex-row sm:items-center sm:gap-3"><label for="ingest-url" class="text-sm font-medium whitespace-nowrap text-zinc-700">Ingestion URL</label> <input id="ingest-url" class="input font-mono sm:max-w-sm"/></div> <div class="overflow-hidden rounded-lg border border-zinc-200"><div class="flex items-center justify-between gap-2 border-b border-zinc-200 bg-zinc-50 pr-2"><div class="flex overflow-x-auto" role="tablist"></div> <!></div> <pre class="max-h-96 overflow-auto bg-zinc-950 p-4 text-[0.8125rem] leading-relaxed text-zinc-100"><code> </code></pre></div></div>`);function A(o,v){f(v,!0);let A=[{id:`curl`,label:`curl`,make:T},{id:`kotlin`,label:`Kotlin (Android)`,make:E},{id:`swift`,label:`Swift (iOS)`,make:D}],j=m(s(t(()=>v.platform===`ios`?`swift`:v.platform===`android`?`kotlin`:`curl`))),M=m(s(t(()=>w(v.ingestUrl)))),N=x(()=>A.find(e=>e.id===i(j)).make({ingestURL:i(M).replace(/\/+$/,``),sdkKey:v.sdkKey,serverKey:v.serverKey,platform:v.platform}));var P=k(),F=r(P),I=d(r(F),2);b(I),S(F);var L=d(F,2),R=r(L),z=r(R);c(z,21,()=>A,e=>e.id,(t,r)=>{var o=O(),s=u(o,!0);l(()=>{g(o,`aria-selected`,i(j)===i(r).id),p(o,1,`border-b-2 px-3.5 py-2.5 text-sm font-medium whitespace-nowrap ${i(j)===i(r).id?`border-accent-600 text-accent-700`:`border-transparent text-zinc-500 hover:text-zinc-800`}`),a(s,i(r).label)}),n(`click`,o,()=>e(j,i(r).id,!0)),y(t,o)}),S(z);var B=d(z,2);C(B,{get text(){return i(N)}}),S(R);var V=d(R,2),H=r(V),U=u(H,!0);S(V),S(L),S(P),l(()=>a(U,i(N))),h(I,()=>i(M),t=>e(M,t)),y(o,P),_()}o([`click`]);export{A as t};