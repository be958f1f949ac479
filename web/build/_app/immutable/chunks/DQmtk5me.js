import"./xihTtKlq.js";import{$ as e,A as t,D as n,G as r,H as i,I as a,L as o,N as s,Q as c,S as l,X as u,et as d,ft as f,g as p,h as m,j as h,nt as g,ot as _,p as v,rt as y,st as b,tt as x,z as S}from"./BhFLuN_v.js";import{t as C}from"./CyoYH758.js";function w(e){return(e||`${location.protocol}//${location.hostname}:8080`).replace(/\/+$/,``)}function T(e){let t=e.platform===`other`?`android`:e.platform,n=`# An install, as the SDK sends it (public SDK key):
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
`}var O=s(`<button type="button" role="tab"> </button>`),k=s(`<div><div class="mb-3 flex flex-col gap-1.5 sm:flex-row sm:items-center sm:gap-3"><label for="ingest-url" class="text-sm font-medium whitespace-nowrap text-zinc-700">Ingestion URL</label> <input id="ingest-url" class="input font-mono sm:max-w-sm"/></div> <div class="overflow-hidden rounded-lg border border-zinc-200"><div class="flex items-center justify-between gap-2 border-b border-zinc-200 bg-zinc-50 pr-2"><div class="flex overflow-x-auto" role="tablist"></div> <!></div> <pre class="max-h-96 overflow-auto bg-zinc-950 p-4 text-[0.8125rem] leading-relaxed text-zinc-100"><code> </code></pre></div></div>`);function A(a,s){b(s,!0);let A=[{id:`curl`,label:`curl`,make:T},{id:`kotlin`,label:`Kotlin (Android)`,make:E},{id:`swift`,label:`Swift (iOS)`,make:D}],j=g(d(i(()=>s.platform===`ios`?`swift`:s.platform===`android`?`kotlin`:`curl`))),M=g(d(i(()=>w(s.ingestUrl)))),N=y(()=>A.find(e=>e.id===S(j)).make({ingestURL:S(M).replace(/\/+$/,``),sdkKey:s.sdkKey,serverKey:s.serverKey,platform:s.platform}));var P=k(),F=u(P),I=e(u(F),2);m(I),f(F);var L=e(F,2),R=u(L),z=u(R);n(z,21,()=>A,e=>e.id,(e,n)=>{var i=O(),a=c(i,!0);r(()=>{p(i,`aria-selected`,S(j)===S(n).id),l(i,1,`border-b-2 px-3.5 py-2.5 text-sm font-medium whitespace-nowrap ${S(j)===S(n).id?`border-accent-600 text-accent-700`:`border-transparent text-zinc-500 hover:text-zinc-800`}`),t(a,S(n).label)}),o(`click`,i,()=>x(j,S(n).id,!0)),h(e,i)}),f(z);var B=e(z,2);C(B,{get text(){return S(N)}}),f(R);var V=e(R,2),H=u(V),U=c(H,!0);f(V),f(L),f(P),r(()=>t(U,S(N))),v(I,()=>S(M),e=>x(M,e)),h(a,P),_()}a([`click`]);export{A as t};