package protocol

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
)

// cutOverriddenBefore is cutOverridden as fix 36 wrote it (f38cdf9), for comparison: every
// event of the log has its author checked, at every key event.
func (m *epochMeta) cutOverriddenBefore(s *epoch.Schedule, st *membership.State) {
	var ids [maxKeptSeeds]epoch.ID
	var idx [maxKeptSeeds]int
	n := 0
	for i, k := range m.Kept {
		if n == len(ids) || len(k.Prev) == 0 {
			continue
		}
		if id, ok := hexID(k.ID); ok && s.Applied(id) {
			ids[n], idx[n] = id, i
			n++
		}
	}
	if n == 0 {
		return
	}
	var out []keptSeed
	cut := func(id epoch.ID) {
		for j := range n {
			if ids[j] == id {
				if out == nil {
					out = slices.Clone(m.Kept)
				}
				out[idx[j]].Prev = nil
			}
		}
	}
	for i := range st.Overridden {
		if ev := &st.Overridden[i]; !st.IsMember(ev.From) {
			cut(epoch.ID(ev.ID()))
		}
	}
	var lookup func(epoch.ID) (*membership.Event, bool)
	for i := range st.Events {
		ev := &st.Events[i]
		if st.IsMember(ev.From) {
			continue
		}
		id := epoch.ID(ev.ID())
		if !slices.Contains(ids[:n], id) {
			continue
		}
		if lookup == nil {
			lookup = stateLookup(st)
		}
		if departedConcurrent(lookup, st, *ev) {
			cut(id)
		}
	}
	if out != nil {
		m.Kept = out
	}
}

// cutScene is a log of n events by members (a creator, a member added, renames, and a
// removed member's events: its add, its renames as an admin, its removal) and six kept
// seeds of a chain of key events applied, none overridden: the cut finds nothing.
func cutScene(tb testing.TB, n int) (*epoch.Schedule, *epochMeta, *membership.State) {
	key, err := crypto.GenerateKey()
	must(tb, err)
	chatID, err := membership.NewChatID(rand.Reader, &key.PublicKey)
	must(tb, err)
	c := &Client{acct: &account{key: key}, now: time.Now}
	evs := []membership.Event{{Type: membership.ChatCreated, Name: "g"}}
	for i := range n {
		evs = append(evs, membership.Event{Type: membership.NameChanged, Name: fmt.Sprint("n", i)})
	}
	signed, err := c.signEvents(chatID, nil, evs...)
	must(tb, err)
	st, err := membership.Derive(chatID, signed, membership.ChorusRules())
	must(tb, err)
	s := epoch.NewSchedule(epoch.ID{9})
	m := &epochMeta{V: 2}
	var prev epoch.ID
	for i := range maxKeptSeeds {
		id := epoch.ID{byte(i + 1), 7}
		ev := epoch.Event{ID: id}
		k := keptSeed{ID: id.String(), Seed: hex.EncodeToString(make([]byte, 32))}
		if i > 0 {
			ev.Prev = epoch.Frontier{prev}
			k.Prev = []string{prev.String()}
		}
		must(tb, s.Apply(ev))
		m.Kept = append(m.Kept, k)
		prev = id
	}
	return s, m, &st
}

// BenchmarkKeptCut: the cut at a key event (storeSchedule) with a log of n events, before
// (every event's author checked) and after fix 39 (the kept seeds looked up in the event
// index, whose check against the state — eventsOf's prefixOf — is counted).
func BenchmarkKeptCut(b *testing.B) {
	for _, n := range []int{100, 1000} {
		s, m, st := cutScene(b, n)
		memo := (*eventMemo)(nil).extend(st, 0)
		b.Run(fmt.Sprint("before/", n), func(b *testing.B) {
			for range b.N {
				m.cutOverriddenBefore(s, st)
			}
		})
		b.Run(fmt.Sprint("after/", n), func(b *testing.B) {
			for range b.N {
				if memo.prefixOf(st) != len(st.Events) {
					b.Fatal("memo")
				}
				m.cutOverridden(s, st, func(id epoch.ID) (*membership.Event, bool) {
					i, ok := memo.lookup(id)
					if !ok {
						return nil, false
					}
					return &st.Events[i], true
				})
			}
		})
	}
}
