package main

import (
	"slices"

	m "github.com/chorus-im/chorus/membership"
)

// Causal-rules scenarios (spec/README.md, membership › Causal rules): the genesis carries
// version 2 and every other event names its parents by label.
func causalScenarios() []scenario {
	g := ev{label: "g", author: "alice", e: m.Event{Type: m.ChatCreated, Clock: t0, Name: "Group", Color: "#fa6565", Version: m.RulesCausal}}
	p := func(e ev, parents ...string) ev { e.parents = parents; return e }
	std := func(members, admins []string, last uint64, applied, overridden, heads []string) want {
		return want{expect: "success", creator: "alice", name: "Group", color: "#fa6565",
			members: members, admins: admins, last: last, applied: applied, overridden: overridden, heads: heads, reverse: true}
	}
	a := []string{"alice"}
	abc := []string{"alice", "bob", "carol"}
	add := p(ev{label: "add", author: "alice", e: ma(t0+1, "bob", "carol")}, "g")
	var out []scenario
	out = append(out, scenario{"causal_create", "Causal rules: a CHAT_CREATED with version 2 alone.",
		[]ev{g}, std(a, a, t0, []string{"g"}, nil, []string{"g"})})
	out = append(out, scenario{"causal_chain_reversed", "A chain delivered newest first: parents, not arrival order or clocks, decide (the add is signed with a clock below the genesis).",
		[]ev{g, p(ev{label: "add", author: "alice", e: ma(t0-1000, "bob", "carol")}, "g"),
			p(ev{label: "rename", author: "alice", e: nc(t0+5, "Renamed")}, "add")},
		func() want {
			w := std(abc, a, t0+5, []string{"g", "add", "rename"}, nil, []string{"rename"})
			w.name = "Renamed"
			return w
		}()})
	out = append(out, scenario{"causal_admin_cannot_remove_admin", "Whatever the clock: carol, an admin, cannot remove bob, an admin, knowing his promotion (invalid) nor claiming a past without it (her own promotion came after his: invalid there too).",
		[]ev{g, add, p(ev{label: "promotebob", author: "alice", e: aa(t0+2, "bob")}, "add"),
			p(ev{label: "promotecarol", author: "alice", e: aa(t0+3, "carol")}, "promotebob"),
			p(ev{label: "kick", author: "carol", e: mr(t0+4, "bob")}, "promotecarol"),
			p(ev{label: "kickbackdated", author: "carol", e: mr(t0+1, "bob")}, "add")},
		std(abc, abc, t0+3, []string{"g", "add", "promotebob", "promotecarol"}, nil, []string{"promotecarol"})})
	out = append(out, scenario{"causal_promotion_protects", "Carol, an admin, removes bob claiming not to know his (later) promotion: the removal is concurrent with the promotion and overridden (C2).",
		[]ev{g, add, p(ev{label: "promotecarol", author: "alice", e: aa(t0+2, "carol")}, "add"),
			p(ev{label: "promotebob", author: "alice", e: aa(t0+3, "bob")}, "promotecarol"),
			p(ev{label: "kick", author: "carol", e: mr(t0+1, "bob")}, "promotecarol")},
		std(abc, []string{"alice", "carol", "bob"}, t0+3, []string{"g", "add", "promotecarol", "promotebob"}, []string{"kick"}, []string{"kick", "promotebob"})})
	out = append(out, scenario{"causal_departed_admin", "Bob, an admin, leaves, then adds dave after his leave (invalid: not a member there) and eve with a past and a clock from before it (concurrent with his own leave: overridden, C1).",
		[]ev{g, add, p(ev{label: "promote", author: "alice", e: aa(t0+2, "bob")}, "add"),
			p(ev{label: "leave", author: "bob", e: mr(t0+3, "bob")}, "promote"),
			p(ev{label: "adddave", author: "bob", e: ma(t0+4, "dave")}, "leave"),
			p(ev{label: "addeve", author: "bob", e: ma(t0+2, "eve")}, "promote")},
		std([]string{"alice", "carol"}, a, t0+3, []string{"g", "add", "promote", "leave"}, []string{"addeve"}, []string{"addeve", "leave"})})
	out = append(out, scenario{"causal_concurrent_own_removal", "Alice removes carol while carol, unaware, leaves: carol's leave is concurrent with her removal and overridden (C1); she is removed once.",
		[]ev{g, add, p(ev{label: "kick", author: "alice", e: mr(t0+3, "carol")}, "add"),
			p(ev{label: "leave", author: "carol", e: mr(t0+2, "carol")}, "add")},
		std([]string{"alice", "bob"}, a, t0+3, []string{"g", "add", "kick"}, []string{"leave"}, []string{"kick", "leave"})})
	out = append(out, scenario{"causal_mutual_removals", "Bob and carol are promoted concurrently and each removes the other, unaware of the other's promotion: both are removed (C3 before C2).",
		[]ev{g, p(ev{label: "add", author: "alice", e: ma(t0+1, "bob", "carol", "dave")}, "g"),
			p(ev{label: "promotebob", author: "alice", e: aa(t0+2, "bob")}, "add"),
			p(ev{label: "promotecarol", author: "alice", e: aa(t0+2, "carol")}, "add"),
			p(ev{label: "bobkicks", author: "bob", e: mr(t0+3, "carol")}, "promotebob"),
			p(ev{label: "carolkicks", author: "carol", e: mr(t0+3, "bob")}, "promotecarol")},
		want{expect: "success", orderedByHash: func(c *built) ([]string, []string, string, []string, []string) {
			p1, p2 := tieOrder(c, "promotebob", "alice", "alice", "promotecarol")
			k1, k2 := tieOrder(c, "bobkicks", "carol", "bob", "carolkicks")
			return []string{"g", "add", p1, p2, k1, k2}, nil, "Group", keys("alice", "dave"), keys("alice")
		}, heads: []string{"bobkicks", "carolkicks"}, reverse: true}})
	out = append(out, scenario{"causal_remove_and_add_concurrent", "Alice removes bob while carol (admin) adds dave: both apply.",
		[]ev{g, add, p(ev{label: "promote", author: "alice", e: aa(t0+2, "carol")}, "add"),
			p(ev{label: "kick", author: "alice", e: mr(t0+3, "bob")}, "promote"),
			p(ev{label: "adddave", author: "carol", e: ma(t0+4, "dave")}, "promote")},
		std([]string{"alice", "carol", "dave"}, []string{"alice", "carol"}, t0+4, []string{"g", "add", "promote", "kick", "adddave"}, nil, []string{"adddave", "kick"})})
	out = append(out, scenario{"causal_pending_parent", "An event naming a parent nobody has waits (pending); so does its descendant.",
		[]ev{g, add, p(ev{label: "orphan", author: "alice", e: nc(t0+2, "X")}, "add", "?missing"),
			p(ev{label: "child", author: "alice", e: nc(t0+3, "Y")}, "orphan")},
		func() want {
			w := std(abc, a, t0+1, []string{"g", "add"}, nil, []string{"add"})
			w.pending = []string{"orphan", "child"}
			return w
		}()})
	out = append(out, scenario{"causal_noops_discarded", "Events that change nothing are not applied and not kept: MEMBER_JOINED, re-adding a member, promoting an admin, renaming to the current name; so is a v1 (parentless) event and any descendant of a discarded event.",
		[]ev{g, add,
			p(ev{label: "joined", author: "bob", e: m.Event{Type: m.MemberJoined, Clock: t0 + 2}}, "add"),
			p(ev{label: "readd", author: "alice", e: ma(t0+3, "bob")}, "add"),
			p(ev{label: "promoteself", author: "alice", e: aa(t0+4, "alice")}, "add"),
			p(ev{label: "samename", author: "alice", e: nc(t0+5, "Group")}, "add"),
			{label: "v1add", author: "alice", e: ma(t0+6, "dave")},
			p(ev{label: "afterv1", author: "alice", e: ma(t0+7, "eve")}, "v1add")},
		std(abc, a, t0+1, []string{"g", "add"}, nil, []string{"add"})})
	leaves := []ev{p(ev{label: "leave1", author: "bob", e: mr(t0+4, "bob")}, "add"),
		p(ev{label: "leave2", author: "bob", e: mr(t0+2, "bob")}, "add"),
		p(ev{label: "leave3", author: "bob", e: mr(t0+3, "bob")}, "add")}
	rename := p(ev{label: "rename", author: "alice", e: nc(t0+5, "R")}, "leave1")
	out = append(out, scenario{"causal_twins", "Bob signs his leave three times with the same parents and different clocks (twins); alice's rename names leave1, the last in T order. Keeping ignores twins; a twin that no kept event names (not needed) is held (pending) when a twin of it is kept and needed or earlier in T: leave1 (needed) and the rename are kept, leave2 and leave3 held. (Before fix 44 leave2, first in T, was kept and leave1 discarded with alice's rename.)",
		append([]ev{g, add}, append(slices.Clone(leaves), rename)...),
		func() want {
			w := std([]string{"alice", "carol"}, a, t0+5, []string{"g", "add", "leave1", "rename"}, nil, []string{"rename"})
			w.name = "R"
			w.pending = []string{"leave2", "leave3"}
			return w
		}()})
	out = append(out, scenario{"causal_twins_unneeded", "Bob signs his leave three times with the same parents and different clocks, and no event names any of them: the first in T order (leave2) is kept, its twins are held (pending, not applied).",
		append([]ev{g, add}, leaves...),
		func() want {
			w := std([]string{"alice", "carol"}, a, t0+2, []string{"g", "add", "leave2"}, nil, []string{"leave2"})
			w.pending = []string{"leave3", "leave1"}
			return w
		}()})
	out = append(out, scenario{"causal_twins_both_needed", "As causal_twins, and carol leaves naming leave2: leave1 and leave2 are both needed and kept, and twins never threaten each other (rule 3, C1): both apply (a removal is idempotent) and bob stays out; leave3 is held.",
		append([]ev{g, add}, append(slices.Clone(leaves), rename, p(ev{label: "carolleave", author: "carol", e: mr(t0+6, "carol")}, "leave2"))...),
		func() want {
			w := std(a, a, t0+6, []string{"g", "add", "leave2", "leave1", "rename", "carolleave"}, nil, []string{"rename", "carolleave"})
			w.name = "R"
			w.pending = []string{"leave3"}
			return w
		}()})
	// Field 101 is tag 0xaa 0x06 (101 << 3 | 2), field 102 tag 0xb0 0x06 (102 << 3 | 0).
	short := func(pl []byte) []byte { return append(append(pl, 0xaa, 0x06, 31), make([]byte, 31)...) }
	twice := func(pl []byte) []byte { return append(pl, pl[len(pl)-35:]...) } // the parent (tag, length, id) again
	wrongType := func(pl []byte) []byte { return append(pl, 0xb0+2, 0x06, 1, 2) }
	out = append(out, scenario{"causal_malformed_fields", "Malformed causal fields discard the event: a parent of 31 bytes, a parent named twice, field 102 with wire type 2.",
		[]ev{g, add,
			p(ev{label: "short", author: "alice", e: ma(t0+2, "dave"), payload: short, note: "field 101 of 31 bytes appended before signing"}, "add"),
			p(ev{label: "twice", author: "alice", e: ma(t0+3, "dave"), payload: twice, note: "its field 101 repeated before signing"}, "add"),
			p(ev{label: "wrongtype", author: "alice", e: ma(t0+4, "dave"), payload: wrongType, note: "field 102 as bytes appended before signing"}, "add")},
		std(abc, a, t0+1, []string{"g", "add"}, nil, []string{"add"})})
	// Field 103 (epoch_prev, tag 0xba 0x06 = 103 << 3 | 2): the epoch prev digest a membership
	// key event carries on key schedule v2 (cycle12). The rules never read it; its id commits
	// to it like to any signed byte.
	withPrev := ma(t0+2, "dave")
	withPrev.EpochPrev = make([]byte, m.EpochPrevSize)
	for i := range withPrev.EpochPrev {
		withPrev.EpochPrev[i] = byte(0xd0 + i)
	}
	short103 := func(pl []byte) []byte { return append(append(pl, 0xba, 0x06, 31), make([]byte, 31)...) }
	twice103 := func(pl []byte) []byte { return append(pl, pl[len(pl)-35:]...) } // its field 103 (tag, length, digest) again
	out = append(out, scenario{"causal_epoch_prev", "Field 103 (epoch_prev: 32 bytes, a membership key event's epoch prev digest, key schedule v2) rides in the signed payload and the rules ignore it, malformed or not (versions before it apply such events alike): the add carrying it applies, and so do an add whose field 103 has 31 bytes and a rename whose field 103 is repeated (both read as carrying none).",
		[]ev{g, add,
			p(ev{label: "addprev", author: "alice", e: withPrev}, "add"),
			p(ev{label: "short103", author: "alice", e: ma(t0+3, "eve"), payload: short103, note: "field 103 of 31 bytes appended before signing"}, "addprev"),
			p(ev{label: "twice103", author: "alice", e: func() m.Event { e := nc(t0+4, "Renamed"); e.EpochPrev = withPrev.EpochPrev; return e }(), payload: twice103, note: "its field 103 repeated before signing"}, "short103")},
		func() want {
			w := std([]string{"alice", "bob", "carol", "dave", "eve"}, a, t0+4, []string{"g", "add", "addprev", "short103", "twice103"}, nil, []string{"twice103"})
			w.name = "Renamed"
			return w
		}()})
	return out
}
