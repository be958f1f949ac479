// Copy-paste integration snippets for a new app: a curl call and minimal Kotlin and Swift
// calls of POST /v1/events.

export interface SnippetKeys {
	ingestURL: string;
	sdkKey: string;
	serverKey?: string;
	platform: string;
}

export function curlSnippet(k: SnippetKeys): string {
	const platform = k.platform === 'other' ? 'android' : k.platform;
	let s = `# An install, as the SDK sends it (public SDK key):
curl -s ${k.ingestURL}/v1/events \\
  -H 'Content-Type: application/json' \\
  -H 'X-App-Key: ${k.sdkKey}' \\
  -d '{"event_type":"install","device_id":"6D92078A","platform":"${platform}"}'
`;
	if (k.serverKey) {
		s += `
# A purchase from your server (secret server key):
curl -s ${k.ingestURL}/v1/events \\
  -H 'Content-Type: application/json' \\
  -H 'X-Api-Key: ${k.serverKey}' \\
  -d '{"event_type":"purchase","device_id":"6D92078A","revenue":4.99,"currency":"USD"}'
`;
	}
	return s;
}

export function kotlinSnippet(k: SnippetKeys): string {
	return `// build.gradle.kts: implementation("com.squareup.okhttp3:okhttp:4.12.0")
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
            .url("${k.ingestURL}/v1/events")
            .header("X-App-Key", "${k.sdkKey}")
            .post(json.toString().toRequestBody("application/json".toMediaType()))
            .build()
        client.newCall(request).enqueue(object : Callback {
            override fun onFailure(call: Call, e: IOException) {}
            override fun onResponse(call: Call, response: Response) = response.close()
        })
    }
}

// Tracker.track("install", deviceId, referrer)
`;
}

export function swiftSnippet(k: SnippetKeys): string {
	return `import Foundation

enum Tracker {
    // A UUID made on first launch and kept.
    static var deviceId: String {
        if let id = UserDefaults.standard.string(forKey: "unmogrowp.device_id") { return id }
        let id = UUID().uuidString
        UserDefaults.standard.set(id, forKey: "unmogrowp.device_id")
        return id
    }

    static func track(_ eventType: String, properties: [String: Any] = [:]) {
        var request = URLRequest(url: URL(string: "${k.ingestURL}/v1/events")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("${k.sdkKey}", forHTTPHeaderField: "X-App-Key")
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
`;
}
