package membership_test

import (
	"fmt"
	"testing"

	"github.com/chorus-im/chorus/internal/floor"
	m "github.com/chorus-im/chorus/membership"
)

func BenchmarkFloor(b *testing.B) { floor.Run(b) }

const benchEvents = 1000

// benchLog is a valid 1000-event log (under both rule sets): alice creates the group, adds
// members one by one, promotes some, renames and removes some; each event has its own clock.
func benchLog(b *testing.B) (string, []byte, []m.Event) {
	b.Helper()
	chat := chatIDFor("bench", "alice")
	evs := []m.Event{sign(b, "alice", chat, m.Event{Type: m.ChatCreated, Clock: t0, Name: "Bench", Color: "#fa6565"})}
	var added []string
	for i := 1; len(evs) < benchEvents; i++ {
		var e m.Event
		switch {
		case i%10 == 3 && len(added) > 0:
			e = m.Event{Type: m.AdminsAdded, Members: m.MembersOf([]string{added[len(added)-1]}...)}
		case i%10 == 7:
			e = m.Event{Type: m.NameChanged, Name: fmt.Sprintf("Bench %d", i)}
		case i%10 == 9 && len(added) > 1:
			e = m.Event{Type: m.MemberRemoved, Members: m.MembersOf([]string{added[len(added)-2]}...)}
			added = added[:len(added)-2]
		default:
			key := memberKey(b, i)
			added = append(added, key)
			e = m.Event{Type: m.MembersAdded, Members: m.MembersOf([]string{key}...)}
		}
		e.Clock = t0 + uint64(i)
		evs = append(evs, sign(b, "alice", chat, e))
	}
	msg, err := (&m.Message{ChatID: chat, Events: evs}).MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	return chat, msg, evs
}

// memberKey is the key string of a deterministic key (not an actor).
func memberKey(b *testing.B, i int) string {
	d := m.SigningDigest(fmt.Sprintf("bench-member-%d", i), nil)
	k, err := cryptoToECDSA(d[:])
	if err != nil {
		b.Fatal(err)
	}
	return m.PublicKeyString(&k.PublicKey)
}

// BenchmarkVerifyDerive parses a 1000-event message (one public-key recovery per event) and
// derives the group from it: one op is the whole log.
func BenchmarkVerifyDerive(b *testing.B) {
	_, msg, _ := benchLog(b)
	for _, r := range []m.Rules{m.StatusRules(), m.ChorusRules()} {
		b.Run(r.Name()+"/1000", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				verifyDerive(b, msg, r)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchEvents, "ns/event")
		})
	}
}

// BenchmarkVerifyDerivePerEvent is BenchmarkVerifyDerive with ns/op, B/op and allocs/op
// reported per event (each op still processes the 1000-event log), so that
// testdata/benchtargets.txt can compare it with one Floor/Secp256k1Ecrecover.
func BenchmarkVerifyDerivePerEvent(b *testing.B) {
	_, msg, _ := benchLog(b)
	for _, r := range []m.Rules{m.StatusRules(), m.ChorusRules()} {
		b.Run(r.Name(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				verifyDerive(b, msg, r)
			}
			perEvent(b)
		})
	}
}

// BenchmarkDeriveUnverifiedPerEvent derives from events as loaded from storage (no
// recovered-author binding), so Derive itself recovers every author; per event.
func BenchmarkDeriveUnverifiedPerEvent(b *testing.B) {
	chat, _, evs := benchLog(b)
	bare := make([]m.Event, len(evs))
	for i, e := range evs {
		bare[i] = entryEvent(e.Raw(), m.Event{ChatID: e.ChatID, Clock: e.Clock, Type: e.Type, Members: e.Members, Name: e.Name, Color: e.Color,
			From: e.From})
	}
	for _, r := range []m.Rules{m.StatusRules(), m.ChorusRules()} {
		b.Run(r.Name(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Derive(chat, bare, r); err != nil {
					b.Fatal(err)
				}
			}
			perEvent(b)
		})
	}
}

// BenchmarkDerive is the state derivation alone over already-verified events (1000).
func BenchmarkDerive(b *testing.B) {
	chat, _, evs := benchLog(b)
	for _, r := range []m.Rules{m.StatusRules(), m.ChorusRules()} {
		b.Run(r.Name()+"/1000", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Derive(chat, evs, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSignEvent builds and signs one MEMBERS_ADDED event.
func BenchmarkSignEvent(b *testing.B) {
	chat := chatIDFor("bench", "alice")
	ev := m.Event{Type: m.MembersAdded, Clock: t0, Members: m.MembersOf(pubs("bob")...)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.SignEvent(actors["alice"].key, chat, ev); err != nil {
			b.Fatal(err)
		}
	}
}

func verifyDerive(b *testing.B, msg []byte, r m.Rules) {
	pm, err := m.ParseMessage(msg)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Derive(pm.ChatID, pm.Events, r); err != nil {
		b.Fatal(err)
	}
}

// perEvent rewrites the per-op metrics of a 1000-event op as per-event metrics.
func perEvent(b *testing.B) {
	n := float64(b.N) * benchEvents
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/op")
	b.ReportMetric(0, "B/op")
	b.ReportMetric(0, "allocs/op")
}

// causalBenchLog is benchLog's sequence of changes in a causal group: each event names the
// previous one (a chain, the common case), or, with merges, every tenth event is signed by
// a second admin concurrently with the previous event and the next event names both.
func causalBenchLog(b *testing.B, merges bool) []m.Event {
	b.Helper()
	chat := chatIDFor("bench-causal", "alice")
	g := sign(b, "alice", chat, m.Event{Type: m.ChatCreated, Clock: t0, Name: "Bench", Color: "#fa6565", Version: m.RulesCausal})
	evs := []m.Event{g, sign(b, "alice", chat, m.Event{Type: m.MembersAdded, Clock: t0 + 1, Members: m.MembersOf([]string{actors["bob"].pub}...), Parents: []m.EventID{g.ID()}})}
	evs = append(evs, sign(b, "alice", chat, m.Event{Type: m.AdminsAdded, Clock: t0 + 2, Members: m.MembersOf([]string{actors["bob"].pub}...), Parents: []m.EventID{evs[1].ID()}}))
	heads := []m.EventID{evs[2].ID()}
	for i := 3; len(evs) < benchEvents; i++ {
		author, e := "alice", m.Event{Type: m.MembersAdded, Members: m.MembersOf([]string{memberKey(b, i)}...)}
		if i%10 == 7 {
			e = m.Event{Type: m.NameChanged, Name: fmt.Sprintf("Bench %d", i)}
		}
		e.Clock, e.Parents = t0+uint64(i), heads
		s := sign(b, author, chat, e)
		evs = append(evs, s)
		heads = []m.EventID{s.ID()}
		if merges && i%10 == 5 { // bob, concurrently with s
			c := sign(b, "bob", chat, m.Event{Type: m.MembersAdded, Clock: t0 + uint64(i), Members: m.MembersOf([]string{memberKey(b, -i)}...), Parents: s.Parents})
			evs = append(evs, c)
			heads = append(heads, c.ID())
		}
	}
	return evs
}

// BenchmarkDeriveCausal derives a 1000-event causal log (authors already verified): a
// chain, and a log with a merge every ten events (each merge re-folds the causal past).
func BenchmarkDeriveCausal(b *testing.B) {
	for _, merges := range []bool{false, true} {
		evs := causalBenchLog(b, merges)
		b.Run(fmt.Sprintf("merges=%v/1000", merges), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				st, err := m.Derive(evs[0].ChatID, evs, m.ChorusRules())
				if err != nil || len(st.Events) != len(evs) {
					b.Fatalf("%v: %d of %d applied", err, len(st.Events), len(evs))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(evs)), "ns/event")
		})
	}
}

// BenchmarkParseSnapshot400 decodes a snapshot of a causal group of 400 members (what a
// newcomer of a snapshot add Welcome checks: keys, the carried add); BenchmarkDerive400
// parses and derives that group's creation log (the log an add Welcome carried before).
func BenchmarkParseSnapshot400(b *testing.B) {
	chat, st, add := bench400(b)
	snap, err := m.SnapshotOf(&st, []m.Event{add})
	if err != nil {
		b.Fatal(err)
	}
	enc, err := snap.MarshalSnapshot()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(enc)), "bytes")
	b.ResetTimer()
	for range b.N {
		if _, err := m.ParseSnapshot(chat, enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDerive400(b *testing.B) {
	chat, st, _ := bench400(b)
	msg, err := (&m.Message{ChatID: chat, Events: st.Log()}).MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(msg)), "bytes")
	b.ResetTimer()
	for range b.N {
		pm, err := m.ParseMessage(msg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Derive(chat, pm.Events, m.ChorusRules()); err != nil {
			b.Fatal(err)
		}
	}
}

// bench400 is a causal group created with 399 members, then one more added.
func bench400(b *testing.B) (string, m.State, m.Event) {
	chat := chatIDFor("bench400", "alice")
	g := sign(b, "alice", chat, m.Event{Type: m.ChatCreated, Clock: t0, Name: "Bench", Color: "#fa6565", Version: m.RulesCausal})
	var keys []string
	for i := range 399 {
		keys = append(keys, memberKey(b, i))
	}
	add := sign(b, "alice", chat, m.Event{Type: m.MembersAdded, Clock: t0 + 1, Members: m.MembersOf(keys...), Parents: []m.EventID{g.ID()}})
	one := sign(b, "alice", chat, m.Event{Type: m.MembersAdded, Clock: t0 + 2, Members: m.MembersOf([]string{memberKey(b, 1000)}...), Parents: []m.EventID{add.ID()}})
	st, err := m.Derive(chat, []m.Event{g, add, one}, m.ChorusRules())
	if err != nil || st.Members.Len() != 401 {
		b.Fatalf("%v %d", err, st.Members.Len())
	}
	return chat, st, one
}
