package protocol_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/topics"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// seenRows counts the replay markers in p's database file (read through a second
// connection: WAL lets it read while the client runs).
func seenRows(t testing.TB, p *peer) int {
	db, err := sql.Open("sqlite3", "file:"+p.path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM seen`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// junkFrames returns n frames of each kind that fail before any key is found on an inbox
// or group topic: random bytes, session frames with unknown hints, initial frames no
// signed prekey opens.
func junkFrames(n int) [][]byte {
	var out [][]byte
	for i := range n {
		b := make([]byte, 64+i%200)
		rand.Read(b)
		out = append(out, b)
		f := &wire.InboxFrame{Kind: wire.KindSession, Body: b}
		rand.Read(f.Hint[:])
		out = append(out, f.Marshal())
		out = append(out, (&wire.InboxFrame{Kind: wire.KindInitial, Body: b}).Marshal())
	}
	return out
}

// TestFloodStoresNothing: input that fails before any key is found (other accounts'
// traffic and junk on our inbox partition, junk on a group topic) leaves no stored state
// — no replay marker, no pending record — and does not stop real messages (issue 19
// item 5). Real messages still get their replay marker.
func TestFloodStoresNothing(t *testing.T) {
	ctx := context.Background()
	tn := newTestNet(t, memory.Config{}, 0)
	a, b := tn.addPersistent("a"), tn.addPersistent("b")
	tn.connect(a, b)
	g, err := a.c.CreateGroup(ctx, "friends", "", b.id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.c.Send(ctx, g, protocol.Text("before")); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	if b.texts(g)["before"] != 1 {
		t.Fatal("setup: b did not get the first message")
	}
	info, err := b.c.Group(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	inbox := topics.InboxTopic(accountPubOf(t, b.id))
	digest := protocol.StateDigest(b.c)
	before := seenRows(t, b)
	junk := junkFrames(700)
	for _, topic := range []string{inbox, info.Topic, "/chorus/1/not-ours/proto"} {
		for _, f := range junk {
			protocol.Inject(b.c, topic, f)
		}
	}
	for _, f := range junk[:100] { // replays of junk
		protocol.Inject(b.c, inbox, f)
	}
	if after := seenRows(t, b); after != before {
		t.Fatalf("%d junk frames left %d replay markers", 3*len(junk)+100, after-before)
	}
	if protocol.StateDigest(b.c) != digest {
		t.Fatal("junk changed the state")
	}
	if _, err := a.c.Send(ctx, g, protocol.Text("after")); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	if b.texts(g)["after"] != 1 {
		t.Fatal("b did not get the message sent after the flood")
	}
	if seenRows(t, b) <= before {
		t.Fatal("a real message got no replay marker")
	}
}

// BenchmarkJunkInbound measures what one junk frame on our inbox topic costs: fresh
// frames (never seen) and the same frame again (a replay).
func BenchmarkJunkInbound(b *testing.B) {
	tn := newTestNet(b, memory.Config{}, 0)
	p := tn.addAt("p", b.TempDir()+"/p.db")
	p.pause()
	inbox := topics.InboxTopic(accountPubOf(b, p.id))
	for _, kind := range []string{"random", "session", "initial"} {
		k := map[string]int{"random": 0, "session": 1, "initial": 2}[kind]
		b.Run("fresh-"+kind, func(b *testing.B) {
			frames := junkFrames(b.N)
			n0 := seenRows(b, p)
			b.ResetTimer()
			cpu := cpuTime()
			for i := 0; i < b.N; i++ {
				protocol.Inject(p.c, inbox, frames[3*i+k])
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
			b.StopTimer()
			b.ReportMetric(float64(seenRows(b, p)-n0)/float64(b.N), "markers/op")
		})
	}
	b.Run("replay", func(b *testing.B) {
		f := junkFrames(1)[1]
		cpu := cpuTime()
		for i := 0; i < b.N; i++ {
			protocol.Inject(p.c, inbox, f)
		}
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
	})
}

// historySpy records the since bound of every History call.
type historySpy struct {
	protocol.Transport
	mu    sync.Mutex
	since []time.Time
}

func (h *historySpy) History(ctx context.Context, tps []string, since, until time.Time) ([]transport.Envelope, error) {
	h.mu.Lock()
	h.since = append(h.since, since)
	h.mu.Unlock()
	return h.Transport.History(ctx, tps, since, until)
}

// TestFetchContactBounded: an announcement lookup asks for AnnounceLookback of history,
// not all of it, and still finds the device list behind forged announcements (anyone who knows
// the account key can publish them) within its verification budget (issue 19 item 5).
func TestFetchContactBounded(t *testing.T) {
	ctx := context.Background()
	tn := newTestNet(t, memory.Config{}, 0)
	b := tn.add("b")
	if err := b.c.Announce(ctx); err != nil {
		t.Fatal(err)
	}
	pub := accountPubOf(t, b.id)
	secret := protocol.AnnounceSecretForTest(b.c) // mallory is a contact: it holds the secret
	topic := protocol.AnnounceTopicForTest(pub, secret)
	hist, err := tn.net.Join("reader").History(ctx, []string{topic}, time.Time{}, time.Time{})
	if err != nil || len(hist) == 0 {
		t.Fatalf("no announcement: %v", err)
	}
	list, err := protocol.OpenAnnounceForTest(pub, secret, hist[len(hist)-1].Payload)
	if err != nil {
		t.Fatal(err)
	}
	mallory := tn.net.Join("mallory")
	for i := range protocol.MaxAnnounceVerify / 2 {
		forged := bytes.Clone(list)
		forged[len(forged)-1-i%8] ^= 0x40 // the signature: parses, does not verify
		p, _ := protocol.SealAnnounceForTest(b.c, pub, secret, forged)
		if _, err := mallory.Publish(ctx, topic, p); err != nil {
			t.Fatal(err)
		}
		junk := make([]byte, 300)
		rand.Read(junk)
		p, _ = protocol.SealAnnounceForTest(b.c, pub, secret, junk)
		if _, err := mallory.Publish(ctx, topic, p); err != nil {
			t.Fatal(err)
		}
	}
	code, err := b.c.ContactCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := persistence.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	spy := &historySpy{Transport: tn.net.Join("a")}
	a, err := protocol.New(ctx, st, spy, protocol.WithBurstSpread(0))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.CreateAccount(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AddContact(ctx, code); err != nil {
		t.Fatal(err)
	}
	ct, err := a.FetchContact(ctx, b.id)
	if err != nil || ct.ID != b.id {
		t.Fatalf("FetchContact behind forged announcements: %+v %v", ct, err)
	}
	if len(spy.since) != 1 || spy.since[0].IsZero() || time.Since(spy.since[0]) > protocol.AnnounceLookback+time.Minute {
		t.Fatalf("History asked since %v, want at most %v back", spy.since, protocol.AnnounceLookback)
	}
}
