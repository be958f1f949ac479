import{$ as e,D as t,E as n,F as r,J as i,K as a,M as o,N as s,Q as c,R as l,T as u,V as d,X as f,Y as p,Z as m,ct as h,d as g,i as _,k as v,m as y,nt as b,p as x,rt as S,w as C,y as w}from"./BN_RVwXr.js";import"./xihTtKlq.js";import{t as T}from"./B2ATiLjy.js";function E(e){return(e||`${location.protocol}//${location.hostname}:8080`).replace(/\/+$/,``)}function D(e){let t=e.platform===`other`?`android`:e.platform,n=`# An install, as the SDK sends it (public SDK key):
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
`}var A=v(`<button type="button" role="tab"> </button>`),j=v(`<div><div class="mb-3 flex flex-col gap-1.5 sm:flex-row sm:items-center sm:gap-3"><label for="ingest-url" class="text-sm font-medium whitespace-nowrap text-zinc-700">Ingestion URL</label> <input id="ingest-url" class="input font-mono sm:max-w-sm"/></div> <div class="overflow-hidden rounded-lg border border-zinc-200"><div class="flex items-center justify-between gap-2 border-b border-zinc-200 bg-zinc-50 pr-2"><div class="flex overflow-x-auto" role="tablist"></div> <!></div> <pre class="max-h-96 overflow-auto bg-zinc-950 p-4 text-[0.8125rem] leading-relaxed text-zinc-100"><code> </code></pre></div></div>`);function M(o,u){S(u,!0);let _=[{id:`curl`,label:`curl`,make:D},{id:`kotlin`,label:`Kotlin (Android)`,make:O},{id:`swift`,label:`Swift (iOS)`,make:k}],v=c(f(l(()=>u.platform===`ios`?`swift`:u.platform===`android`?`kotlin`:`curl`))),M=c(f(l(()=>E(u.ingestUrl)))),N=e(()=>_.find(e=>e.id===r(v)).make({ingestURL:r(M).replace(/\/+$/,``),sdkKey:u.sdkKey,serverKey:u.serverKey,platform:u.platform}));var P=j(),F=a(P),I=p(a(F),2);x(I),h(F);var L=p(F,2),R=a(L),z=a(R);C(z,21,()=>_,e=>e.id,(e,a)=>{var o=A(),c=i(o,!0);d(()=>{y(o,`aria-selected`,r(v)===r(a).id),w(o,1,`border-b-2 px-3.5 py-2.5 text-sm font-medium whitespace-nowrap ${r(v)===r(a).id?`border-accent-600 text-accent-700`:`border-transparent text-zinc-500 hover:text-zinc-800`}`),n(c,r(a).label)}),s(`click`,o,()=>m(v,r(a).id,!0)),t(e,o)}),h(z);var B=p(z,2);T(B,{get text(){return r(N)}}),h(R);var V=p(R,2),H=a(V),U=i(H,!0);h(V),h(L),h(P),d(()=>n(U,r(N))),g(I,()=>r(M),e=>m(M,e)),t(o,P),b()}o([`click`]);var N=v(`<button type="button" class="btn-secondary px-2.5 py-1.5 text-xs"> </button>`),P=v(`<p class="hint"> </p>`),F=v(`<div><p class="field-label"> </p> <div class="flex items-center gap-2"><code class="block min-w-0 flex-1 truncate rounded-lg border border-zinc-200 bg-zinc-50 px-3 py-2 font-mono text-[0.8125rem] text-zinc-800"> </code> <!> <!></div> <!></div>`);function I(o,l){S(l,!0);let f=_(l,`secret`,3,!1),g=c(!1);var v=F(),x=a(v),C=i(x,!0),w=p(x,2),E=a(w),D=i(E,!0),O=p(E,2),k=e=>{var a=N(),o=i(a,!0);d(()=>n(o,r(g)?`Hide`:`Show`)),s(`click`,a,()=>m(g,!r(g))),t(e,a)};u(O,e=>{f()&&e(k)});var A=p(O,2);{let t=e(()=>l.label.toLowerCase());T(A,{get text(){return l.value},compact:!0,get label(){return`Copy ${r(t)??``}`}})}h(w);var j=p(w,2),M=e=>{var r=P(),a=i(r,!0);d(()=>n(a,l.hint)),t(e,r)};u(j,e=>{l.hint&&e(M)}),h(v),d(e=>{n(C,l.label),y(E,`data-testid`,l.testid),y(E,`data-value`,l.value),n(D,e)},[()=>f()&&!r(g)?`•`.repeat(Math.min(l.value.length,32)):l.value]),t(o,v),b()}o([`click`]);export{M as n,I as t};