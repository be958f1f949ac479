package metadatatest

import (
	"bytes"
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	unmogrowp "github.com/unmogrowp/unmogrowp"
)

// SubjectStoreWithOutbox is what RunSubjectRequestStore tests: the requests, and the
// consent statements and outbox whose devices' rows EraseDevices deletes.
type SubjectStoreWithOutbox interface {
	unmogrowp.SubjectRequestStore
	unmogrowp.ConsentStore
	unmogrowp.Outbox
}

// RunSubjectRequestStore runs the conformance suite of unmogrowp.SubjectRequestStore. open
// must return a fresh, empty store each time it is called, and close it when t ends.
func RunSubjectRequestStore(t *testing.T, open func(t *testing.T) SubjectStoreWithOutbox) {
	t.Run("CreateIsIdempotent", func(t *testing.T) { t.Parallel(); testRequestCreate(t, open(t)) })
	t.Run("Cancel", func(t *testing.T) { t.Parallel(); testRequestCancel(t, open(t)) })
	t.Run("ClaimAndFinish", func(t *testing.T) { t.Parallel(); testRequestClaim(t, open(t)) })
	t.Run("ConcurrentClaims", func(t *testing.T) { t.Parallel(); testRequestConcurrentClaims(t, open(t)) })
	t.Run("Files", func(t *testing.T) { t.Parallel(); testRequestFiles(t, open(t)) })
	t.Run("ProcessorKey", func(t *testing.T) { t.Parallel(); testProcessorKey(t, open(t)) })
	t.Run("EraseDevices", func(t *testing.T) { t.Parallel(); testEraseDevices(t, open(t)) })
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func erasure(app, id string, ids ...unmogrowp.SubjectIdentity) *unmogrowp.SubjectRequest {
	return &unmogrowp.SubjectRequest{
		AppID: app, ID: id, Type: unmogrowp.RequestErasure, Regulation: "gdpr", Identities: ids,
		CallbackURLs: []string{"https://controller.example/cb"}, Submitted: t0.Add(-time.Hour),
		Received: t0, Expected: t0.Add(time.Minute), Response: []byte(`{"subject_request_id":"` + id + `"}`),
	}
}

func deviceIdentity(v string) unmogrowp.SubjectIdentity {
	return unmogrowp.SubjectIdentity{Type: "unmogrowp_device_id", Value: v, Format: unmogrowp.IdentityRaw}
}

func tombstones(t *testing.T, s unmogrowp.SubjectRequestStore) ([]unmogrowp.Tombstone, string) {
	t.Helper()
	ts, err := s.Tombstones(context.Background())
	if err != nil {
		t.Fatalf("Tombstones: %v", err)
	}
	v, err := s.TombstoneVersion(context.Background())
	if err != nil {
		t.Fatalf("TombstoneVersion: %v", err)
	}
	return ts, v
}

func testRequestCreate(t *testing.T, s SubjectStoreWithOutbox) {
	ctx := context.Background()
	_, v0 := tombstones(t, s)
	r := erasure("app-1", "a7551968-d5d6-44b2-9831-815ac9017798", deviceIdentity("dev-1"),
		unmogrowp.SubjectIdentity{Type: "ios_advertising_id", Value: "ABCDEF", Format: unmogrowp.IdentitySHA256})
	got, created, err := s.CreateSubjectRequest(ctx, r)
	if err != nil || !created {
		t.Fatalf("CreateSubjectRequest = %v, %v", created, err)
	}
	if got.Status != unmogrowp.RequestPending || !got.Received.Equal(r.Received) || !got.Expected.Equal(r.Expected) ||
		!reflect.DeepEqual(got.Identities, r.Identities) || !reflect.DeepEqual(got.CallbackURLs, r.CallbackURLs) ||
		!bytes.Equal(got.Response, r.Response) || got.Type != r.Type || got.Regulation != "gdpr" {
		t.Fatalf("stored request = %+v, want %+v pending", got, r)
	}
	ts, v1 := tombstones(t, s)
	want := []unmogrowp.Tombstone{
		{AppID: "app-1", Field: unmogrowp.FieldDeviceID, Hash: unmogrowp.HashIdentity("dev-1"), RequestID: r.ID},
		{AppID: "app-1", Field: unmogrowp.FieldIDFA, Hash: "abcdef", RequestID: r.ID},
	}
	if !reflect.DeepEqual(ts, want) || v1 == v0 {
		t.Fatalf("tombstones = %+v (version %q, before %q), want %+v and a new version", ts, v1, v0, want)
	}

	// The same id again, whatever else it says: the first request, nothing new.
	again := erasure("app-1", r.ID, deviceIdentity("dev-2"))
	again.Response = []byte(`{}`)
	got2, created, err := s.CreateSubjectRequest(ctx, again)
	if err != nil || created || !bytes.Equal(got2.Response, r.Response) {
		t.Fatalf("repeat = %+v, %v, %v; want the first request, not created", got2, created, err)
	}
	if ts2, v2 := tombstones(t, s); len(ts2) != 2 || v2 != v1 {
		t.Fatalf("a repeat added tombstones: %+v", ts2)
	}
	// The id is the app's: another app may use it.
	if _, created, err := s.CreateSubjectRequest(ctx, erasure("app-2", r.ID, deviceIdentity("dev-9"))); err != nil || !created {
		t.Fatalf("another app's request with the same id = %v, %v", created, err)
	}
	// An access request makes no tombstone.
	access := erasure("app-1", "b7551968-d5d6-44b2-9831-815ac9017798", deviceIdentity("dev-3"))
	access.Type = unmogrowp.RequestAccess
	if _, _, err := s.CreateSubjectRequest(ctx, access); err != nil {
		t.Fatal(err)
	}
	if ts, _ := tombstones(t, s); len(ts) != 3 {
		t.Fatalf("tombstones after an access request = %d, want 3", len(ts))
	}
	_, err = s.SubjectRequest(ctx, "app-3", r.ID)
	wantCode(t, err, unmogrowp.ENOTFOUND)

	// AddTombstones adds what the app does not hold yet.
	_, v2 := tombstones(t, s)
	if err := s.AddTombstones(ctx, []unmogrowp.Tombstone{
		{AppID: "app-1", Field: unmogrowp.FieldDeviceID, Hash: unmogrowp.HashIdentity("dev-1"), RequestID: r.ID},
		{AppID: "app-1", Field: unmogrowp.FieldGAID, Hash: unmogrowp.HashIdentity("g"), RequestID: r.ID},
	}); err != nil {
		t.Fatal(err)
	}
	if ts, v3 := tombstones(t, s); len(ts) != 4 || v3 == v2 || ts[3].Field != unmogrowp.FieldGAID {
		t.Fatalf("tombstones after AddTombstones = %+v", ts)
	}
}

func testRequestCancel(t *testing.T, s SubjectStoreWithOutbox) {
	ctx := context.Background()
	r := erasure("app-1", "c7551968-d5d6-44b2-9831-815ac9017798", deviceIdentity("dev-1"))
	if _, _, err := s.CreateSubjectRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	_, v1 := tombstones(t, s)
	_, err := s.CancelSubjectRequest(ctx, "app-2", r.ID)
	wantCode(t, err, unmogrowp.ENOTFOUND)
	got, err := s.CancelSubjectRequest(ctx, "app-1", r.ID)
	if err != nil || got.Status != unmogrowp.RequestCancelled {
		t.Fatalf("Cancel = %+v, %v", got, err)
	}
	if ts, v2 := tombstones(t, s); len(ts) != 0 || v2 == v1 {
		t.Fatalf("tombstones after cancel = %+v, version %q (was %q)", ts, v2, v1)
	}
	_, err = s.CancelSubjectRequest(ctx, "app-1", r.ID)
	wantCode(t, err, unmogrowp.ECONFLICT)
	if c, err := s.ClaimSubjectRequest(ctx, t0, time.Minute); err != nil || c != nil {
		t.Fatalf("a cancelled request was claimed: %+v, %v", c, err)
	}
}

func testRequestClaim(t *testing.T, s SubjectStoreWithOutbox) {
	ctx := context.Background()
	first := erasure("app-1", "d7551968-d5d6-44b2-9831-815ac9017798", deviceIdentity("dev-1"))
	second := erasure("app-1", "e7551968-d5d6-44b2-9831-815ac9017798", deviceIdentity("dev-2"))
	second.Received = t0.Add(time.Second)
	for _, r := range []*unmogrowp.SubjectRequest{second, first} {
		if _, _, err := s.CreateSubjectRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.ClaimSubjectRequest(ctx, t0, time.Minute)
	if err != nil || c == nil || c.ID != first.ID || c.Status != unmogrowp.RequestInProgress || c.Attempts != 1 {
		t.Fatalf("first claim = %+v, %v; want the oldest, in progress", c, err)
	}
	_, err = s.CancelSubjectRequest(ctx, "app-1", first.ID)
	wantCode(t, err, unmogrowp.ECONFLICT)
	c2, err := s.ClaimSubjectRequest(ctx, t0, time.Minute)
	if err != nil || c2 == nil || c2.ID != second.ID {
		t.Fatalf("second claim = %+v, %v; want the other request", c2, err)
	}
	if c3, err := s.ClaimSubjectRequest(ctx, t0.Add(30*time.Second), time.Minute); err != nil || c3 != nil {
		t.Fatalf("a claim while both are leased = %+v, %v", c3, err)
	}
	// A failed attempt ends its lease: claimed again at once (a process that stops
	// without finishing is claimed again once its lease ends).
	c.Error = "the analytics store did not answer"
	if err := s.FinishSubjectRequest(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	again, err := s.ClaimSubjectRequest(ctx, t0.Add(time.Second), time.Minute)
	if err != nil || again == nil || again.ID != first.ID || again.Attempts != 2 || again.Error != c.Error {
		t.Fatalf("claim after a failed attempt = %+v, %v", again, err)
	}
	again.Status, again.Completed, again.LogPurgedBy = unmogrowp.RequestCompleted, t0.Add(5*time.Second), t0.Add(time.Hour)
	if err := s.FinishSubjectRequest(ctx, again, nil); err != nil {
		t.Fatal(err)
	}
	done, err := s.SubjectRequest(ctx, "app-1", first.ID)
	if err != nil || done.Status != unmogrowp.RequestCompleted || !done.Completed.Equal(again.Completed) ||
		!done.LogPurgedBy.Equal(again.LogPurgedBy) || done.Error != "" {
		t.Fatalf("completed request = %+v, %v", done, err)
	}
	// The second one's lease ends; the completed one is never claimed again.
	if c, err := s.ClaimSubjectRequest(ctx, t0.Add(time.Hour), time.Minute); err != nil || c == nil || c.ID != second.ID {
		t.Fatalf("claim after completion = %+v, %v; want only the other one", c, err)
	}
	err = s.FinishSubjectRequest(ctx, erasure("app-9", first.ID), nil)
	wantCode(t, err, unmogrowp.ENOTFOUND)
}

func testRequestConcurrentClaims(t *testing.T, s SubjectStoreWithOutbox) {
	ctx := context.Background()
	if _, _, err := s.CreateSubjectRequest(ctx, erasure("app-1", "f7551968-d5d6-44b2-9831-815ac9017798", deviceIdentity("d"))); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	claimed := 0
	for range 8 {
		wg.Go(func() {
			c, err := s.ClaimSubjectRequest(ctx, t0, time.Minute)
			if err != nil {
				t.Errorf("Claim: %v", err)
			}
			if c != nil {
				mu.Lock()
				claimed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if claimed != 1 {
		t.Fatalf("8 concurrent claims of one request took it %d times, want 1", claimed)
	}
}

func testRequestFiles(t *testing.T, s SubjectStoreWithOutbox) {
	ctx := context.Background()
	r := erasure("app-1", "17551968-d5d6-44b2-9831-815ac9017798", deviceIdentity("d"))
	r.Type = unmogrowp.RequestAccess
	if _, _, err := s.CreateSubjectRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Status, r.Completed, r.Results, r.ResultsExpire = unmogrowp.RequestCompleted, t0, 2, t0.Add(7*24*time.Hour)
	file := []byte("{\"kind\":\"event\"}\n{\"kind\":\"install\"}\n")
	if err := s.FinishSubjectRequest(ctx, r, file); err != nil {
		t.Fatal(err)
	}
	got, err := s.SubjectRequestFile(ctx, "app-1", r.ID, t0.Add(time.Hour))
	if err != nil || !bytes.Equal(got, file) {
		t.Fatalf("file = %q, %v", got, err)
	}
	_, err = s.SubjectRequestFile(ctx, "app-2", r.ID, t0)
	wantCode(t, err, unmogrowp.ENOTFOUND)
	_, err = s.SubjectRequestFile(ctx, "app-1", r.ID, r.ResultsExpire)
	wantCode(t, err, unmogrowp.ENOTFOUND)
	if n, err := s.PruneSubjectRequestFiles(ctx, t0.Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("prune before expiry = %d, %v", n, err)
	}
	if n, err := s.PruneSubjectRequestFiles(ctx, r.ResultsExpire); err != nil || n != 1 {
		t.Fatalf("prune at expiry = %d, %v", n, err)
	}
	_, err = s.SubjectRequestFile(ctx, "app-1", r.ID, t0)
	wantCode(t, err, unmogrowp.ENOTFOUND)
	if done, err := s.SubjectRequest(ctx, "app-1", r.ID); err != nil || done.Results != 2 || !done.ResultsExpire.Equal(r.ResultsExpire) {
		t.Fatalf("request after its file = %+v, %v", done, err)
	}
}

func testProcessorKey(t *testing.T, s SubjectStoreWithOutbox) {
	ctx := context.Background()
	calls := 0
	gen := func(k string) func() ([]byte, []byte, error) {
		return func() ([]byte, []byte, error) { calls++; return []byte("key-" + k), []byte("cert-" + k), nil }
	}
	k1, c1, err := s.ProcessorKey(ctx, gen("1"))
	if err != nil || string(k1) != "key-1" || string(c1) != "cert-1" {
		t.Fatalf("first ProcessorKey = %q, %q, %v", k1, c1, err)
	}
	k2, c2, err := s.ProcessorKey(ctx, gen("2"))
	if err != nil || string(k2) != "key-1" || string(c2) != "cert-1" || calls != 1 {
		t.Fatalf("second ProcessorKey = %q, %q, %v (%d generations); want the first pair", k2, c2, err, calls)
	}
}

func testEraseDevices(t *testing.T, s SubjectStoreWithOutbox) {
	ctx := context.Background()
	if err := s.SetConsents(ctx, []unmogrowp.Consent{
		{AppID: "app-1", DeviceID: "dev-1", Sharing: false},
		{AppID: "app-1", DeviceID: "dev-2", Sharing: false},
		{AppID: "app-2", DeviceID: "dev-1", Sharing: false},
	}); err != nil {
		t.Fatal(err)
	}
	d := func(id, app, device string) unmogrowp.Delivery {
		return unmogrowp.Delivery{ID: id, PostbackID: "pb", AppID: app, DeviceID: device, ActivityKind: "install",
			URL: "https://n.example/p?d=" + device, Host: "n.example", Method: "GET", CreatedAt: t0, NextAttemptAt: t0}
	}
	if err := s.Enqueue(ctx, []unmogrowp.Delivery{d("1", "app-1", "dev-1"), d("2", "app-1", "dev-2"), d("3", "app-2", "dev-1")}); err != nil {
		t.Fatal(err)
	}
	n, err := s.EraseDevices(ctx, "app-1", []string{"dev-1", "unknown"})
	if err != nil || n != 2 {
		t.Fatalf("EraseDevices = %d, %v; want its consent and its delivery", n, err)
	}
	cs, err := s.Consents(ctx, "app-1", []string{"dev-1", "dev-2"})
	if err != nil || len(cs) != 1 || cs["dev-2"].DeviceID != "dev-2" {
		t.Fatalf("consents after = %+v, %v", cs, err)
	}
	if cs, _ := s.Consents(ctx, "app-2", []string{"dev-1"}); len(cs) != 1 {
		t.Fatalf("another app's device was erased: %+v", cs)
	}
	for app, want := range map[string]int{"app-1": 1, "app-2": 1} {
		ds, _, err := s.List(ctx, unmogrowp.DeliveryFilter{AppID: app, PostbackID: "pb"})
		if err != nil || len(ds) != want {
			t.Fatalf("%s's deliveries after = %d, %v; want %d", app, len(ds), err, want)
		}
	}
	if n, err := s.EraseDevices(ctx, "app-1", nil); err != nil || n != 0 {
		t.Fatalf("EraseDevices of none = %d, %v", n, err)
	}
}
