import{B as e,C as t,E as n,G as r,J as i,L as a,M as o,O as s,P as c,Q as l,T as u,X as d,Y as f,Z as p,f as m,i as h,j as g,nt as _,p as v,q as y,st as b,tt as x,u as S,v as C,w}from"./BTz-7deW.js";import"./xihTtKlq.js";import{o as T}from"./OSH3s_Da.js";function E(e){return(e||`${location.protocol}//${location.hostname}:8080`).replace(/\/+$/,``)}function D(e){let t=e.platform===`other`?`android`:e.platform,n=`# An install, as the SDK sends it (public SDK key):
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
`}var A=s(`<button type="button" role="tab"> </button>`),j=s(`<div><div class="mb-3 flex flex-col gap-1.5 sm:flex-row sm:items-center sm:gap-3"><label for="ingest-url" class="text-sm font-medium whitespace-nowrap text-zinc-700">Ingestion URL</label> <input id="ingest-url" class="input font-mono sm:max-w-sm"/></div> <div class="overflow-hidden rounded-lg border border-zinc-200"><div class="flex items-center justify-between gap-2 border-b border-zinc-200 bg-zinc-50 pr-2"><div class="flex overflow-x-auto" role="tablist"></div> <!></div> <pre class="max-h-96 overflow-auto bg-zinc-950 p-4 text-[0.8125rem] leading-relaxed text-zinc-100"><code> </code></pre></div></div>`);function M(s,h){_(h,!0);let g=[{id:`curl`,label:`curl`,make:D},{id:`kotlin`,label:`Kotlin (Android)`,make:O},{id:`swift`,label:`Swift (iOS)`,make:k}],w=p(f(a(()=>h.platform===`ios`?`swift`:h.platform===`android`?`kotlin`:`curl`))),M=p(f(a(()=>E(h.ingestUrl)))),N=l(()=>g.find(e=>e.id===c(w)).make({ingestURL:c(M).replace(/\/+$/,``),sdkKey:h.sdkKey,serverKey:h.serverKey,platform:h.platform}));var P=j(),F=r(P),I=i(r(F),2);m(I),b(F);var L=i(F,2),R=r(L),z=r(R);t(z,21,()=>g,e=>e.id,(t,r)=>{var i=A(),a=y(i,!0);e(()=>{v(i,`aria-selected`,c(w)===c(r).id),C(i,1,`border-b-2 px-3.5 py-2.5 text-sm font-medium whitespace-nowrap ${c(w)===c(r).id?`border-accent-600 text-accent-700`:`border-transparent text-zinc-500 hover:text-zinc-800`}`),u(a,c(r).label)}),o(`click`,i,()=>d(w,c(r).id,!0)),n(t,i)}),b(z);var B=i(z,2);T(B,{get text(){return c(N)}}),b(R);var V=i(R,2),H=r(V),U=y(H,!0);b(V),b(L),b(P),e(()=>u(U,c(N))),S(I,()=>c(M),e=>d(M,e)),n(s,P),x()}g([`click`]);var N=s(`<button type="button" class="btn-secondary px-2.5 py-1.5 text-xs"> </button>`),P=s(`<p class="hint"> </p>`),F=s(`<div><p class="field-label"> </p> <div class="flex items-center gap-2"><code class="block min-w-0 flex-1 truncate rounded-lg border border-zinc-200 bg-zinc-50 px-3 py-2 font-mono text-[0.8125rem] text-zinc-800"> </code> <!> <!></div> <!></div>`);function I(t,a){_(a,!0);let s=h(a,`secret`,3,!1),f=p(!1);var m=F(),g=r(m),S=y(g,!0),C=i(g,2),E=r(C),D=y(E,!0),O=i(E,2),k=t=>{var r=N(),i=y(r,!0);e(()=>u(i,c(f)?`Hide`:`Show`)),o(`click`,r,()=>d(f,!c(f))),n(t,r)};w(O,e=>{s()&&e(k)});var A=i(O,2);{let e=l(()=>a.label.toLowerCase());T(A,{get text(){return a.value},compact:!0,get label(){return`Copy ${c(e)??``}`}})}b(C);var j=i(C,2),M=t=>{var r=P(),i=y(r,!0);e(()=>u(i,a.hint)),n(t,r)};w(j,e=>{a.hint&&e(M)}),b(m),e(e=>{u(S,a.label),v(E,`data-testid`,a.testid),v(E,`data-value`,a.value),u(D,e)},[()=>s()&&!c(f)?`•`.repeat(Math.min(a.value.length,32)):a.value]),n(t,m),x()}g([`click`]);export{M as n,I as t};