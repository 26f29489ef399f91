package protocol

import (
	"crypto/ecdsa"
	"crypto/rand"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/membership"
)

// TestReview29PendingNeverMemberNamesTwin — rule 1 (fix 41) counts a *pending* event by
// another author as naming a twin (twinIndex.named walks the children of every entry, a
// waiting one included), but the protocol never stores a pending event whose author was
// never a member (boundPending). Scene (fix 41's "unnamed" scene): alice adds bob, carol,
// dave, promotes bob; bob adds eve (E, clock 500), steps down (sb), alice removes him (R,
// naming E); bob's backdated twin T of E (parent pb, clock 450) is named by nobody and held.
// frank, never a member, signs X with parents {T, G}, G an event nobody holds: X waits.
// Asserted: the state a member stores after X (Derive, then boundPending: X dropped) is the
// state of its stored log (Derive of that log), and it holds T as pending as before X.
// Result: fails deterministically (3 of 3 runs): with X, T is kept (overridden, a head);
// boundPending drops X; Derive of the stored log holds T again — the stored state is not a
// function of the stored log, and the receivers of X (any key, no member) differ from the
// others until one names T in its next event (its Heads hold T). Verified cause: named()
// counts waiting children; TestReview29DiscardedEventNamesTwin (membership) shows the same
// with discarded children.
// Suggested root fix: "named" only by a kept event (or a held event whose author could ever
// apply: WasEverMember), so that what names a twin is what every member stores and sends.
func TestReview29PendingNeverMemberNamesTwin(t *testing.T) {
	keys := map[string]*ecdsa.PrivateKey{}
	pub := func(n string) string { return membership.PublicKeyString(&keys[n].PublicKey) }
	for _, n := range []string{"alice", "bob", "carol", "dave", "eve", "frank"} {
		k, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		keys[n] = k
	}
	chat, err := membership.NewChatID(rand.Reader, &keys["alice"].PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	evs := map[string]membership.Event{}
	var all []membership.Event
	add := func(label, author string, ev membership.Event, parents ...string) membership.Event {
		for _, p := range parents {
			ev.Parents = append(ev.Parents, evs[p].ID())
		}
		s, err := membership.SignEvent(keys[author], chat, ev)
		if err != nil {
			t.Fatal(err)
		}
		evs[label] = s
		all = append(all, s)
		return s
	}
	mem := func(typ membership.EventType, clock uint64, names ...string) membership.Event {
		var ks []string
		for _, n := range names {
			ks = append(ks, pub(n))
		}
		return membership.Event{Type: typ, Clock: clock, Members: membership.MembersOf(ks...)}
	}
	add("genesis", "alice", membership.Event{Type: membership.ChatCreated, Name: "g", Clock: 100, Version: membership.RulesCausal})
	add("add", "alice", mem(membership.MembersAdded, 200, "bob", "carol", "dave"), "genesis")
	add("pb", "alice", mem(membership.AdminsAdded, 300, "bob"), "add")
	add("E", "bob", mem(membership.MembersAdded, 500, "eve"), "pb")
	add("sb", "bob", mem(membership.AdminRemoved, 550, "bob"), "E")
	add("R", "alice", mem(membership.MemberRemoved, 600, "bob"), "sb")
	tw := add("T", "bob", mem(membership.MembersAdded, 450, "eve"), "pb")
	derive := func(evs []membership.Event) membership.State {
		st, err := membership.Derive(chat, evs, membership.ChorusRules())
		if err != nil {
			t.Fatal(err)
		}
		boundPending(&st)
		return st
	}
	has := func(list []membership.Event) bool {
		return slices.ContainsFunc(list, func(x membership.Event) bool { return x.ID() == tw.ID() })
	}
	before := derive(all)
	if !has(before.Pending) || has(before.Overridden) || has(before.Events) {
		t.Fatal("setup: T not held before X")
	}
	add("G", "frank", mem(membership.MemberRemoved, 650, "carol"), "R")
	ghost := all[len(all)-1]
	all = all[:len(all)-1] // G is held by nobody
	x, err := membership.SignEvent(keys["frank"], chat, membership.Event{Type: membership.MemberRemoved, Clock: 700,
		Members: membership.MembersOf(pub("carol")), Parents: []membership.EventID{tw.ID(), ghost.ID()}})
	if err != nil {
		t.Fatal(err)
	}
	stored := derive(append(slices.Clone(all), x))
	if slices.ContainsFunc(stored.Log(), func(e membership.Event) bool { return e.ID() == x.ID() }) {
		t.Fatal("setup: boundPending kept the never-member's pending X")
	}
	again := derive(stored.Log())
	if has(stored.Pending) != has(again.Pending) || has(stored.Overridden) != has(again.Overridden) || len(stored.Heads) != len(again.Heads) {
		t.Errorf("stored state after a never-member's pending X is not its log's: T held %v overridden %v heads %d; re-derived: held %v overridden %v heads %d",
			has(stored.Pending), has(stored.Overridden), len(stored.Heads), has(again.Pending), has(again.Overridden), len(again.Heads))
	}
	if !has(stored.Pending) {
		t.Errorf("a pending event by frank (never a member, dropped from the store) named T: T kept (overridden %v), heads %d (were %d)",
			has(stored.Overridden), len(stored.Heads), len(before.Heads))
	}
}
