import{$ as e,A as t,D as n,E as r,H as i,I as a,N as o,O as s,P as c,Q as l,T as u,X as d,Y as f,Z as p,b as m,et as h,f as g,h as _,i as v,it as y,lt as b,m as x,q as S,rt as C,z as w}from"./B2iBYaYX.js";import"./xihTtKlq.js";import{t as T}from"./DBUrgaCY.js";function E(e){return(e||`${location.protocol}//${location.hostname}:8080`).replace(/\/+$/,``)}function D(e){let t=e.platform===`other`?`android`:e.platform,n=`# An install, as the SDK sends it (public SDK key):
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
`),n}function O(e){return`// build.gradle.kts: implementation("com.squareup.okhttp3:okhttp:4.12.0")
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
`}function k(e){return`import Foundation

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
`}var A=t(`<button type="button" role="tab"> </button>`),j=t(`<div><div class="mb-3 flex flex-col gap-1.5 sm:flex-row sm:items-center sm:gap-3"><label for="ingest-url" class="text-sm font-medium whitespace-nowrap text-zinc-700">Ingestion URL</label> <input id="ingest-url" class="input font-mono sm:max-w-sm"/></div> <div class="overflow-hidden rounded-lg border border-zinc-200"><div class="flex items-center justify-between gap-2 border-b border-zinc-200 bg-zinc-50 pr-2"><div class="flex overflow-x-auto" role="tablist"></div> <!></div> <pre class="max-h-96 overflow-auto bg-zinc-950 p-4 text-[0.8125rem] leading-relaxed text-zinc-100"><code> </code></pre></div></div>`);function M(t,r){y(r,!0);let o=[{id:`curl`,label:`curl`,make:D},{id:`kotlin`,label:`Kotlin (Android)`,make:O},{id:`swift`,label:`Swift (iOS)`,make:k}],v=e(p(w(()=>r.platform===`ios`?`swift`:r.platform===`android`?`kotlin`:`curl`))),M=e(p(w(()=>E(r.ingestUrl)))),N=h(()=>o.find(e=>e.id===a(v)).make({ingestURL:a(M).replace(/\/+$/,``),sdkKey:r.sdkKey,serverKey:r.serverKey,platform:r.platform}));var P=j(),F=S(P),I=d(S(F),2);x(I),b(F);var L=d(F,2),R=S(L),z=S(R);u(z,21,()=>o,e=>e.id,(e,t)=>{var r=A(),o=f(r,!0);i(()=>{_(r,`aria-selected`,a(v)===a(t).id),m(r,1,`border-b-2 px-3.5 py-2.5 text-sm font-medium whitespace-nowrap ${a(v)===a(t).id?`border-accent-600 text-accent-700`:`border-transparent text-zinc-500 hover:text-zinc-800`}`),n(o,a(t).label)}),c(`click`,r,()=>l(v,a(t).id,!0)),s(e,r)}),b(z);var B=d(z,2);T(B,{get text(){return a(N)}}),b(R);var V=d(R,2),H=S(V),U=f(H,!0);b(V),b(L),b(P),i(()=>n(U,a(N))),g(I,()=>a(M),e=>l(M,e)),s(t,P),C()}o([`click`]);var N=t(`<button type="button" class="btn-secondary px-2.5 py-1.5 text-xs"> </button>`),P=t(`<p class="hint"> </p>`),F=t(`<div><p class="field-label"> </p> <div class="flex items-center gap-2"><code class="block min-w-0 flex-1 truncate rounded-lg border border-zinc-200 bg-zinc-50 px-3 py-2 font-mono text-[0.8125rem] text-zinc-800"> </code> <!> <!></div> <!></div>`);function I(t,o){y(o,!0);let u=v(o,`secret`,3,!1),p=e(!1);var m=F(),g=S(m),x=f(g,!0),w=d(g,2),E=S(w),D=f(E,!0),O=d(E,2),k=e=>{var t=N(),r=f(t,!0);i(()=>n(r,a(p)?`Hide`:`Show`)),c(`click`,t,()=>l(p,!a(p))),s(e,t)};r(O,e=>{u()&&e(k)});var A=d(O,2);{let e=h(()=>o.label.toLowerCase());T(A,{get text(){return o.value},compact:!0,get label(){return`Copy ${a(e)??``}`}})}b(w);var j=d(w,2),M=e=>{var t=P(),r=f(t,!0);i(()=>n(r,o.hint)),s(e,t)};r(j,e=>{o.hint&&e(M)}),b(m),i(e=>{n(x,o.label),_(E,`data-testid`,o.testid),_(E,`data-value`,o.value),n(D,e)},[()=>u()&&!a(p)?`•`.repeat(Math.min(o.value.length,32)):o.value]),s(t,m),C()}o([`click`]);export{M as n,I as t};