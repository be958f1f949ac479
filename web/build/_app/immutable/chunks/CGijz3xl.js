import{A as e,C as t,D as n,I as r,J as i,K as a,N as o,S as s,T as c,W as l,X as u,Y as d,Z as f,_ as p,d as m,et as h,f as g,i as _,j as v,ot as y,q as b,tt as x,u as S,w as C,z as w}from"./DqPW7gSl.js";import"./xihTtKlq.js";import{n as T,r as E,t as D}from"./SKOiAGol.js";function O(e){let t=e.platform===`other`?`android`:e.platform,n=`# An install, as the SDK sends it (public SDK key):
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
`),n}function k(e){return`// build.gradle.kts: implementation("com.squareup.okhttp3:okhttp:4.12.0")
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
`}function A(e){return`import Foundation

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
`}var j=n(`<button type="button" role="tab"> </button>`),M=n(`<div><div class="mb-3 flex flex-col gap-1.5 sm:flex-row sm:items-center sm:gap-3"><label for="ingest-url" class="text-sm font-medium whitespace-nowrap text-zinc-700">Ingestion URL</label> <input id="ingest-url" class="input font-mono sm:max-w-sm"/></div> <div class="overflow-hidden rounded-lg border border-zinc-200"><div class="flex items-center justify-between gap-2 border-b border-zinc-200 bg-zinc-50 pr-2"><div class="flex overflow-x-auto" role="tablist"></div> <!></div> <pre class="max-h-96 overflow-auto bg-zinc-950 p-4 text-[0.8125rem] leading-relaxed text-zinc-100"><code> </code></pre></div></div>`);function N(e,t){x(t,!0);let n=[{id:`curl`,label:`curl`,make:O},{id:`kotlin`,label:`Kotlin (Android)`,make:k},{id:`swift`,label:`Swift (iOS)`,make:A}],_=u(i(r(()=>t.platform===`ios`?`swift`:t.platform===`android`?`kotlin`:`curl`))),N=u(i(D())),P=f(()=>n.find(e=>e.id===o(_)).make({ingestURL:o(N).replace(/\/+$/,``),sdkKey:t.sdkKey,serverKey:t.serverKey,platform:t.platform}));var F=M(),I=l(F),L=b(l(I),2);m(L),y(I);var R=b(I,2),z=l(R),B=l(z);s(B,21,()=>n,e=>e.id,(e,t)=>{var n=j(),r=a(n,!0);w(()=>{g(n,`aria-selected`,o(_)===o(t).id),p(n,1,`border-b-2 px-3.5 py-2.5 text-sm font-medium whitespace-nowrap ${o(_)===o(t).id?`border-accent-600 text-accent-700`:`border-transparent text-zinc-500 hover:text-zinc-800`}`),C(r,o(t).label)}),v(`click`,n,()=>d(_,o(t).id,!0)),c(e,n)}),y(B);var V=b(B,2);E(V,{get text(){return o(P)}}),y(z);var H=b(z,2),U=l(H),W=a(U,!0);y(H),y(R),y(F),w(()=>C(W,o(P))),v(`change`,L,()=>T(o(N))),S(L,()=>o(N),e=>d(N,e)),c(e,F),h()}e([`change`,`click`]);var P=n(`<button type="button" class="btn-secondary px-2.5 py-1.5 text-xs"> </button>`),F=n(`<p class="hint"> </p>`),I=n(`<div><p class="field-label"> </p> <div class="flex items-center gap-2"><code class="block min-w-0 flex-1 truncate rounded-lg border border-zinc-200 bg-zinc-50 px-3 py-2 font-mono text-[0.8125rem] text-zinc-800"> </code> <!> <!></div> <!></div>`);function L(e,n){x(n,!0);let r=_(n,`secret`,3,!1),i=u(!1);var s=I(),p=l(s),m=a(p,!0),S=b(p,2),T=l(S),D=a(T,!0),O=b(T,2),k=e=>{var t=P(),n=a(t,!0);w(()=>C(n,o(i)?`Hide`:`Show`)),v(`click`,t,()=>d(i,!o(i))),c(e,t)};t(O,e=>{r()&&e(k)});var A=b(O,2);{let e=f(()=>n.label.toLowerCase());E(A,{get text(){return n.value},compact:!0,get label(){return`Copy ${o(e)??``}`}})}y(S);var j=b(S,2),M=e=>{var t=F(),r=a(t,!0);w(()=>C(r,n.hint)),c(e,t)};t(j,e=>{n.hint&&e(M)}),y(s),w(e=>{C(m,n.label),g(T,`data-testid`,n.testid),g(T,`data-value`,n.value),C(D,e)},[()=>r()&&!o(i)?`•`.repeat(Math.min(n.value.length,32)):n.value]),c(e,s),h()}e([`click`]);export{N as n,L as t};