// Command membership writes the Chorus-rules conformance vectors of package membership
// (spec/README.md, ## membership) to DIR/membership.json.
//
// Every case is a message delivered to its creator, who has no chat yet: the expected state
// (or error class) is written by hand below and the generator fails if the implementation
// disagrees. Keys are sha256("chorus-membership-vectors/v1/<name>"); signatures are RFC 6979
// deterministic, so the output is byte-reproducible.
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/protobuf/proto"

	m "github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/membership/pb"
)

const (
	t0    = uint64(1700000000000)
	nowMs = t0 + 100000
)

var names = []string{"alice", "bob", "carol", "dave", "eve"}

type actor struct {
	key *ecdsa.PrivateKey
	pub string
}

var actors = map[string]*actor{}

func init() {
	for _, n := range names {
		d := sha256.Sum256([]byte("chorus-membership-vectors/v1/" + n))
		k, err := crypto.ToECDSA(d[:])
		if err != nil {
			panic(err)
		}
		actors[n] = &actor{key: k, pub: m.PublicKeyString(&k.PublicKey)}
	}
}

func keys(ns ...string) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = actors[n].pub
	}
	return out
}

func chatID(label string) string {
	d := sha256.Sum256([]byte("chorus-membership-vectors/v1/uuid/" + label))
	d[6] = d[6]&0x0f | 0x40
	d[8] = d[8]&0x3f | 0x80
	h := hex.EncodeToString(d[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32] + "-" + actors["alice"].pub
}

// ev describes one entry: author, event fields, and an optional change to the signed entry.
type ev struct {
	label, author string
	e             m.Event
	mutate        func([]byte) []byte
	note          string
	parents       []string            // labels of earlier entries (causal rules); "?name" names a missing event
	payload       func([]byte) []byte // changes the encoded event before it is signed
	undecodable   bool                // the signed payload does not decode: no h_hex
}

type want struct {
	expect               string // "success" or an error class
	creator, name, color string
	description, image   string
	members, admins      []string
	last                 uint64
	applied, pending     []string
	overridden, heads    []string
	reverse              bool                                                                              // deliver the entries in reverse signing order
	orderedByHash        func(c *built) (applied, pending []string, name string, members, admins []string) // for tie-break cases
	adjust               func(c *built, w *want)                                                           // tie-break cases: fills in what depends on H
}

type scenario struct {
	name, desc string
	entries    []ev // signing order; delivered in this order, or reversed (want.reverse)
	want       want
}

type built struct {
	chat string
	raw  map[string][]byte
	wire []string // labels in delivery order
}

var secpN, _ = new(big.Int).SetString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16)

func malleate(raw []byte) []byte {
	out := bytes.Clone(raw)
	s := new(big.Int).SetBytes(raw[32:64])
	new(big.Int).Sub(secpN, s).FillBytes(out[32:64])
	out[64] ^= 1
	return out
}

func cc(c uint64) m.Event {
	return m.Event{Type: m.ChatCreated, Clock: c, Name: "Group", Color: "#fa6565"}
}
func ma(c uint64, who ...string) m.Event {
	return m.Event{Type: m.MembersAdded, Clock: c, Members: m.MembersOf(keys(who...)...)}
}
func mr(c uint64, who ...string) m.Event {
	return m.Event{Type: m.MemberRemoved, Clock: c, Members: m.MembersOf(keys(who...)...)}
}
func aa(c uint64, who ...string) m.Event {
	return m.Event{Type: m.AdminsAdded, Clock: c, Members: m.MembersOf(keys(who...)...)}
}
func ar(c uint64, who ...string) m.Event {
	return m.Event{Type: m.AdminRemoved, Clock: c, Members: m.MembersOf(keys(who...)...)}
}
func nc(c uint64, n string) m.Event { return m.Event{Type: m.NameChanged, Clock: c, Name: n} }

// orderKey recomputes the specified total-order key independently of the package:
// (clock, SHA-256(OrderLabel || 0x00 || author key string || Keccak256(chat id || payload))).
func orderKey(chat string, raw []byte, author string) string {
	h := sha256.New()
	h.Write([]byte("chorus/v1/membership/order"))
	h.Write([]byte{0})
	h.Write([]byte(author))
	h.Write(crypto.Keccak256([]byte(chat), raw[65:]))
	return hex.EncodeToString(h.Sum(nil))
}

func scenarios() []scenario {
	g := ev{label: "g", author: "alice", e: cc(t0)}
	std := func(members, admins []string, last uint64, applied, pending []string) want {
		return want{expect: "success", creator: "alice", name: "Group", color: "#fa6565",
			members: members, admins: admins, last: last, applied: applied, pending: pending}
	}
	ab := []string{"alice", "bob"}
	a := []string{"alice"}
	var out []scenario
	out = append(out, causalScenarios()...)
	out = append(out, scenario{"create", "CHAT_CREATED alone: the creator is the only member and admin.",
		[]ev{g}, std(a, a, t0, []string{"g"}, nil)})
	rich := m.Event{Type: m.ChatCreated, Clock: t0, Name: "Team", Color: "#887af9", Description: "What we do", Image: []byte("png")}
	out = append(out, scenario{"create_with_description_and_image", "Chorus honours CHAT_CREATED's image and description.",
		[]ev{{label: "g", author: "alice", e: rich}},
		want{expect: "success", creator: "alice", name: "Team", color: "#887af9", description: "What we do", image: hex.EncodeToString([]byte("png")),
			members: a, admins: a, last: t0, applied: []string{"g"}}})
	out = append(out, scenario{"admin_adds_members", "An admin adds members (insertion order).",
		[]ev{{label: "add", author: "alice", e: ma(t0+1, "bob", "carol")}, g},
		std([]string{"alice", "bob", "carol"}, a, t0+1, []string{"g", "add"}, nil)})
	out = append(out, scenario{"member_cannot_add", "A non-admin's MEMBERS_ADDED is dropped on its own; the rest applies.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "bobadd", author: "bob", e: ma(t0+2, "carol")},
			{label: "rename", author: "alice", e: nc(t0+3, "Renamed")}},
		func() want {
			w := std(ab, a, t0+3, []string{"g", "add", "rename"}, []string{"bobadd"})
			w.name = "Renamed"
			return w
		}()})
	out = append(out, scenario{"member_cannot_rename", "A non-admin's NAME_CHANGED is dropped; a later admin rename applies.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "bobname", author: "bob", e: nc(t0+2, "Bob's")},
			{label: "alicename", author: "alice", e: nc(t0+3, "Alice's")}},
		func() want {
			w := std(ab, a, t0+3, []string{"g", "add", "alicename"}, []string{"bobname"})
			w.name = "Alice's"
			return w
		}()})
	out = append(out, scenario{"description_changed", "DESCRIPTION_CHANGED (type 100, field 100) by an admin.",
		[]ev{g, {label: "desc", author: "alice", e: m.Event{Type: m.DescriptionChanged, Clock: t0 + 1, Description: "Hello"}}},
		func() want {
			w := std(a, a, t0+1, []string{"g", "desc"}, nil)
			w.description = "Hello"
			return w
		}()})
	out = append(out, scenario{"admin_cannot_remove_admin", "Admins cannot remove admins.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "promote", author: "alice", e: aa(t0+2, "bob")},
			{label: "kick", author: "alice", e: mr(t0+3, "bob")}},
		std(ab, ab, t0+2, []string{"g", "add", "promote"}, []string{"kick"})})
	out = append(out, scenario{"member_leaves", "A member leaves.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob", "carol")}, {label: "leave", author: "bob", e: mr(t0+2, "bob")}},
		std([]string{"alice", "carol"}, a, t0+2, []string{"g", "add", "leave"}, nil)})
	out = append(out, scenario{"admin_removes_member", "An admin removes a member; a member cannot.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob", "carol")}, {label: "bobkick", author: "bob", e: mr(t0+2, "alice")},
			{label: "kick", author: "alice", e: mr(t0+3, "carol")}},
		std(ab, a, t0+3, []string{"g", "add", "kick"}, []string{"bobkick"})})
	out = append(out, scenario{"admin_steps_down", "An admin drops its own admin right; it cannot drop another's.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "promote", author: "alice", e: aa(t0+2, "bob")},
			{label: "demoteother", author: "alice", e: ar(t0+3, "bob")}, {label: "stepdown", author: "bob", e: ar(t0+4, "bob")}},
		std(ab, a, t0+4, []string{"g", "add", "promote", "stepdown"}, []string{"demoteother"})})
	out = append(out, scenario{"admins_added_requires_members", "ADMINS_ADDED needs every target to be a member.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "promote", author: "alice", e: aa(t0+2, "bob", "eve")}},
		std(ab, a, t0+1, []string{"g", "add"}, []string{"promote"})})
	out = append(out, scenario{"before_genesis_pending", "Events with a clock below CHAT_CREATED are not applied.",
		[]ev{{label: "early", author: "alice", e: ma(t0, "bob")}, {label: "g", author: "alice", e: cc(t0 + 5)}},
		std(a, a, t0+5, []string{"g"}, []string{"early"})})
	out = append(out, scenario{"genesis_by_other_key", "Only a CHAT_CREATED by the key the chat id names is the genesis.",
		[]ev{{label: "fake", author: "carol", e: cc(t0)}, {label: "g", author: "alice", e: cc(t0 + 1)}},
		std(a, a, t0+1, []string{"g"}, []string{"fake"})})
	out = append(out, scenario{"no_genesis", "Without a CHAT_CREATED by the chat id's key there is no group.",
		[]ev{{label: "fake", author: "carol", e: cc(t0)}, {label: "add", author: "alice", e: ma(t0+1, "bob")}},
		want{expect: "no_genesis"}})
	out = append(out, scenario{"unrecoverable_signature_discarded", "An entry whose signature does not recover (V = 27) is discarded alone.",
		[]ev{g, {label: "v27", author: "alice", e: ma(t0+1, "bob"), mutate: func(r []byte) []byte { r = bytes.Clone(r); r[64] += 27; return r }, note: "V += 27"},
			{label: "add", author: "alice", e: ma(t0+2, "carol")}},
		std([]string{"alice", "carol"}, a, t0+2, []string{"g", "add"}, nil)})
	out = append(out, scenario{"tampered_payload_is_a_stranger", "A payload changed after signing recovers to an unrelated key: not an admin.",
		[]ev{g, {label: "tampered", author: "alice", e: nc(t0+1, "Renamed"),
			mutate: func(r []byte) []byte { return bytes.Replace(bytes.Clone(r), []byte("Renamed"), []byte("Hackedd"), 1) }, note: "name changed after signing"}},
		std(a, a, t0, []string{"g"}, []string{"tampered"})})
	out = append(out, scenario{"malleated_duplicate_is_one_event", "A malleated signature (s -> n-s) is the same event; the smaller entry is kept.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "add'", author: "alice", e: ma(t0+1, "bob"), mutate: malleate, note: "s -> n-s, v ^= 1"}},
		std(ab, a, t0+1, []string{"g", "add|add'"}, nil)})
	out = append(out, scenario{"exact_duplicate", "The same entry twice is one event.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "add", author: "alice", e: ma(t0+1, "bob")}},
		std(ab, a, t0+1, []string{"g", "add"}, nil)})
	out = append(out, scenario{"member_joined_discarded", "MEMBER_JOINED changes nothing: neither applied nor kept (a member could otherwise grow everyone's log without bound).",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "joined", author: "bob", e: m.Event{Type: m.MemberJoined, Clock: t0 + 2}},
			{label: "joined2", author: "bob", e: m.Event{Type: m.MemberJoined, Clock: t0 + 3}}},
		std(ab, a, t0+1, []string{"g", "add"}, nil)})
	out = append(out, scenario{"readd_after_leave", "A member who left can be added again.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "leave", author: "bob", e: mr(t0+2, "bob")},
			{label: "readd", author: "alice", e: ma(t0+3, "bob")}},
		std(ab, a, t0+3, []string{"g", "add", "leave", "readd"}, nil)})
	out = append(out, scenario{"empty_image_clears", "IMAGE_CHANGED with no image clears it.",
		[]ev{{label: "g", author: "alice", e: m.Event{Type: m.ChatCreated, Clock: t0, Name: "Group", Color: "#fa6565", Image: []byte{1, 2}}},
			{label: "clear", author: "alice", e: m.Event{Type: m.ImageChanged, Clock: t0 + 1}}},
		std(a, a, t0+1, []string{"g", "clear"}, nil)})
	upper := strings.ToUpper(actors["bob"].pub[2:])
	out = append(out, scenario{"non_canonical_member_key", "Members must be written exactly as PublicKeyString writes them.",
		[]ev{g, {label: "add", author: "alice", e: m.Event{Type: m.MembersAdded, Clock: t0 + 1, Members: m.MembersOf([]string{"0x" + upper}...)}}},
		std(a, a, t0, []string{"g"}, []string{"add"})})
	out = append(out, scenario{"last_admin_leaves", "The last admin may leave; the group then has no admin.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "leave", author: "alice", e: mr(t0+2, "alice")}},
		func() want { w := std([]string{"bob"}, nil, t0+2, []string{"g", "add", "leave"}, nil); return w }()})
	out = append(out, scenario{"future_clock_dropped", "On receipt, an event more than 120 s ahead of now is dropped (not kept).",
		[]ev{g, {label: "future", author: "alice", e: ma(nowMs+120001, "bob")}, {label: "limit", author: "alice", e: ma(nowMs+120000, "carol")}},
		std([]string{"alice", "carol"}, a, nowMs+120000, []string{"g", "limit"}, nil)})
	// Tie-breaks: equal clocks are ordered by the order hash, recomputed here independently.
	out = append(out, scenario{"tie_concurrent_renames", "Two admins rename at the same clock: the later in hash order wins.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "promote", author: "alice", e: aa(t0+2, "bob")},
			{label: "bobname", author: "bob", e: nc(t0+3, "B")}, {label: "alicename", author: "alice", e: nc(t0+3, "A")}},
		want{expect: "success", orderedByHash: func(c *built) ([]string, []string, string, []string, []string) {
			first, second := tieOrder(c, "alicename", "bob", "alice", "bobname")
			name := map[string]string{"alicename": "A", "bobname": "B"}[second]
			return []string{"g", "add", "promote", first, second}, nil, name, keys("alice", "bob"), keys("alice", "bob")
		}}})
	out = append(out, scenario{"tie_concurrent_remove_and_promote", "At one clock an admin removes carol and another promotes her: the first in hash order wins, the other is pending.",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob", "carol")}, {label: "promote", author: "alice", e: aa(t0+2, "bob")},
			{label: "promotecarol", author: "bob", e: aa(t0+3, "carol")}, {label: "kick", author: "alice", e: mr(t0+3, "carol")}},
		want{expect: "success", orderedByHash: func(c *built) ([]string, []string, string, []string, []string) {
			first, second := tieOrder(c, "kick", "bob", "alice", "promotecarol")
			if first == "kick" { // carol gone, the promotion has no member
				return []string{"g", "add", "promote", "kick"}, []string{"promotecarol"}, "Group", keys("alice", "bob"), keys("alice", "bob")
			}
			_ = second // carol became admin, so she cannot be removed
			return []string{"g", "add", "promote", "promotecarol"}, []string{"kick"}, "Group", keys("alice", "bob", "carol"), keys("alice", "bob", "carol")
		}}})
	out = append(out, tieScenarios()...)
	out = append(out, scenario{"v1_noops_applied", "v1 rules: re-adding a member, promoting an admin and renaming to the current name are valid and applied (they change nothing); the causal rules discard them (causal_noops_discarded).",
		[]ev{g, {label: "add", author: "alice", e: ma(t0+1, "bob")}, {label: "readd", author: "alice", e: ma(t0+2, "bob")},
			{label: "promoteself", author: "alice", e: aa(t0+3, "alice")}, {label: "samename", author: "alice", e: nc(t0+4, "Group")}},
		std(ab, a, t0+4, []string{"g", "add", "readd", "promoteself", "samename"}, nil)})
	out = append(out, scenario{"invalid_utf8_name_discarded", "A NAME_CHANGED whose name is not UTF-8 (signed as such) does not decode: the entry is discarded (neither applied nor pending).",
		[]ev{g, {label: "badname", author: "alice", e: nc(t0+1, "Renamed"), undecodable: true, note: "name bytes Re\\xffamed, signed",
			payload: func(pl []byte) []byte { return bytes.Replace(pl, []byte("Renamed"), []byte("Re\xffamed"), 1) }},
			{label: "add", author: "alice", e: ma(t0+2, "bob")}},
		std(ab, a, t0+2, []string{"g", "add"}, nil)})
	out = append(out, scenario{"invalid_utf8_description_pending", "v1 rules: a DESCRIPTION_CHANGED (bytes field 100) that is not UTF-8 decodes but is invalid: pending.",
		[]ev{g, {label: "baddesc", author: "alice", e: m.Event{Type: m.DescriptionChanged, Clock: t0 + 1, Description: "Hi \xff"}}},
		std(a, a, t0, []string{"g"}, []string{"baddesc"})})
	return out
}

// hashOrder returns labels (entries of equal clocks, by the given authors) ascending by H,
// recomputed here independently of the package.
// It panics if that order is the delivery order, so that every tie case fails an
// implementation that keeps ties in arrival order.
func hashOrder(c *built, authors map[string]string, labels ...string) []string {
	out := slices.Clone(labels)
	slices.SortFunc(out, func(x, y string) int {
		return strings.Compare(orderKey(c.chat, c.raw[x], actors[authors[x]].pub), orderKey(c.chat, c.raw[y], actors[authors[y]].pub))
	})
	var wire []string
	for _, l := range c.wire {
		if slices.Contains(labels, l) {
			wire = append(wire, l)
		}
	}
	if slices.Equal(out, wire) {
		panic(fmt.Sprintf("tie case: H order %v is the delivery order", out))
	}
	return out
}

// tieScenarios pin the tie-break H: cases whose outcome depends on the order of entries with
// equal clocks (the expectation is computed from H, recomputed here; hashOrder checks
// that the H order is not the delivery order).
func tieScenarios() []scenario {
	alice := func(ls ...string) map[string]string {
		m := map[string]string{}
		for _, l := range ls {
			m[l] = "alice"
		}
		return m
	}
	std := func(last uint64) want {
		return want{expect: "success", creator: "alice", name: "Group", color: "#fa6565", last: last}
	}
	var out []scenario
	out = append(out, scenario{"tie_genesis_smaller_h", "The creator signed two CHAT_CREATED with one clock: the one with the smaller H is the genesis, the other an ordinary (invalid, pending) event.",
		[]ev{{label: "g1", author: "alice", e: m.Event{Type: m.ChatCreated, Clock: t0, Name: "One", Color: "#fa6565"}},
			{label: "g2", author: "alice", e: m.Event{Type: m.ChatCreated, Clock: t0, Name: "Two", Color: "#fa6565"}}},
		func() want {
			w := std(t0)
			w.members, w.admins = []string{"alice"}, []string{"alice"}
			w.adjust = func(c *built, w *want) {
				o := hashOrder(c, alice("g1", "g2"), "g1", "g2")
				w.applied, w.pending = o[:1], o[1:]
				w.name = map[string]string{"g1": "One", "g2": "Two"}[o[0]]
			}
			return w
		}()})
	out = append(out, scenario{"tie_genesis_clock", "Three MEMBERS_ADDED with the genesis's clock (some with a smaller H than the genesis): the genesis comes first, the three follow in H order, which is the members' insertion order.",
		[]ev{{label: "g", author: "alice", e: cc(t0)}, {label: "addbob", author: "alice", e: ma(t0, "bob")},
			{label: "addcarol", author: "alice", e: ma(t0, "carol")}, {label: "adddave", author: "alice", e: ma(t0, "dave")}},
		func() want {
			w := std(t0)
			w.admins = []string{"alice"}
			w.adjust = func(c *built, w *want) {
				o := hashOrder(c, alice("g", "addbob", "addcarol", "adddave"), "g", "addbob", "addcarol", "adddave")
				if o[0] == "g" {
					panic("tie_genesis_clock: no entry has a smaller H than the genesis")
				}
				w.applied = []string{"g"}
				w.members = []string{"alice"}
				for _, l := range o {
					if l != "g" {
						w.applied = append(w.applied, l)
						w.members = append(w.members, strings.TrimPrefix(l, "add"))
					}
				}
			}
			return w
		}()})
	out = append(out, scenario{"tie_three_renames", "Three renames by the admin with one clock: applied in H order, the last in H order names the group.",
		[]ev{{label: "g", author: "alice", e: cc(t0)}, {label: "r3", author: "alice", e: nc(t0+1, "R3")},
			{label: "r1", author: "alice", e: nc(t0+1, "R1")}, {label: "r2", author: "alice", e: nc(t0+1, "R2")}},
		func() want {
			w := std(t0 + 1)
			w.members, w.admins = []string{"alice"}, []string{"alice"}
			w.adjust = func(c *built, w *want) {
				o := hashOrder(c, alice("r1", "r2", "r3"), "r1", "r2", "r3")
				w.applied = append([]string{"g"}, o...)
				w.name = strings.ToUpper(o[2])
			}
			return w
		}()})
	// Causal rules: T visits the events whose parents are visited by (clock, H).
	cg := ev{label: "g", author: "alice", e: m.Event{Type: m.ChatCreated, Clock: t0, Name: "Group", Color: "#fa6565", Version: m.RulesCausal}}
	p := func(e ev, parents ...string) ev { e.parents = parents; return e }
	out = append(out, scenario{"causal_tie_concurrent_adds", "Causal rules: three concurrent MEMBERS_ADDED with one clock and the genesis as parent: T visits them in H order, the members' insertion order; all three are heads.",
		[]ev{cg, p(ev{label: "addbob", author: "alice", e: ma(t0+1, "bob")}, "g"),
			p(ev{label: "addcarol", author: "alice", e: ma(t0+1, "carol")}, "g"),
			p(ev{label: "adddave", author: "alice", e: ma(t0+1, "dave")}, "g")},
		func() want {
			w := std(t0 + 1)
			w.admins, w.reverse = []string{"alice"}, true
			w.heads = []string{"addbob", "addcarol", "adddave"}
			w.adjust = func(c *built, w *want) {
				o := hashOrder(c, alice("addbob", "addcarol", "adddave"), "addbob", "addcarol", "adddave")
				w.applied, w.members = append([]string{"g"}, o...), []string{"alice"}
				for _, l := range o {
					w.members = append(w.members, strings.TrimPrefix(l, "add"))
				}
			}
			return w
		}()})
	out = append(out, scenario{"causal_tie_concurrent_renames", "Causal rules: alice and bob (admins) rename concurrently with one clock: both are kept and applied in T order, the later in H order names the group.",
		[]ev{cg, p(ev{label: "add", author: "alice", e: ma(t0+1, "bob")}, "g"),
			p(ev{label: "promote", author: "alice", e: aa(t0+2, "bob")}, "add"),
			p(ev{label: "alicename", author: "alice", e: nc(t0+3, "A")}, "promote"),
			p(ev{label: "bobname", author: "bob", e: nc(t0+3, "B")}, "promote")},
		func() want {
			w := std(t0 + 3)
			w.members, w.admins, w.reverse = []string{"alice", "bob"}, []string{"alice", "bob"}, true
			w.heads = []string{"alicename", "bobname"}
			w.adjust = func(c *built, w *want) {
				o := hashOrder(c, map[string]string{"alicename": "alice", "bobname": "bob"}, "alicename", "bobname")
				w.applied = append([]string{"g", "add", "promote"}, o...)
				w.name = map[string]string{"alicename": "A", "bobname": "B"}[o[1]]
			}
			return w
		}()})
	out = append(out, scenario{"causal_tie_genesis", "Causal rules: two CHAT_CREATED (version 2) with one clock: the smaller H is the genesis; the other is discarded (no parents), and so is the add that names it.",
		[]ev{{label: "g2", author: "alice", e: m.Event{Type: m.ChatCreated, Clock: t0, Name: "Two", Color: "#fa6565", Version: m.RulesCausal}},
			{label: "g1", author: "alice", e: m.Event{Type: m.ChatCreated, Clock: t0, Name: "One", Color: "#fa6565", Version: m.RulesCausal}},
			p(ev{label: "add1", author: "alice", e: ma(t0+1, "bob")}, "g1"),
			p(ev{label: "add2", author: "alice", e: ma(t0+1, "carol")}, "g2")},
		func() want {
			w := std(t0 + 1)
			w.admins, w.reverse = []string{"alice"}, true
			w.adjust = func(c *built, w *want) {
				o := hashOrder(c, alice("g1", "g2"), "g1", "g2")
				add := map[string]string{"g1": "add1", "g2": "add2"}[o[0]]
				w.applied, w.heads = []string{o[0], add}, []string{add}
				w.name = map[string]string{"g1": "One", "g2": "Two"}[o[0]]
				w.members = []string{"alice", map[string]string{"add1": "bob", "add2": "carol"}[add]}
			}
			return w
		}()})
	return out
}

// tieOrder returns the two labels in total order (their clocks are equal).
func tieOrder(c *built, la, authorB, authorA, lb string) (string, string) {
	ka := orderKey(c.chat, c.raw[la], actors[authorA].pub)
	kb := orderKey(c.chat, c.raw[lb], actors[authorB].pub)
	if ka < kb {
		return la, lb
	}
	return lb, la
}

// Vector file format.
type vecActor struct {
	Name          string `json:"name"`
	PrivateKeyHex string `json:"private_key_hex"`
	PublicKey     string `json:"public_key"`
}

type vecEntry struct {
	Label  string `json:"label"`
	Author string `json:"author"`
	RawHex string `json:"raw_hex"`
	Note   string `json:"tampering,omitempty"`
	H      string `json:"h_hex,omitempty"`
}

type vecState struct {
	Creator     string   `json:"creator"`
	Name        string   `json:"name"`
	Color       string   `json:"color"`
	Description string   `json:"description"`
	ImageHex    string   `json:"image_hex"`
	Members     []string `json:"members"`
	Admins      []string `json:"admins"`
	LastClock   uint64   `json:"last_clock"`
	Applied     []string `json:"applied"`
	Pending     []string `json:"pending"`
	Overridden  []string `json:"overridden,omitempty"`
	Heads       []string `json:"heads,omitempty"`
}

type vecCase struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Expect      string     `json:"expect"`
	ChatID      string     `json:"chat_id"`
	Receiver    string     `json:"receiver"`
	NowMs       uint64     `json:"now_ms"`
	Entries     []vecEntry `json:"entries"`
	MessageHex  string     `json:"message_hex"`
	State       *vecState  `json:"state,omitempty"`
}

type vecFile struct {
	Description string     `json:"description"`
	Rules       string     `json:"rules"`
	OrderLabel  string     `json:"order_label"`
	Actors      []vecActor `json:"actors"`
	Cases       []vecCase  `json:"cases"`
}

func main() {
	out := flag.String("out", "spec/vectors", "output directory")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen membership:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	f := vecFile{
		Description: "Chorus membership rules (membership.ChorusRules): each case delivers one MembershipUpdateMessage (message_hex: chat_id and the entries in order) to its receiver, who has no chat yet, at now_ms; expect is success (with the resulting state: members/admins in order, applied and pending entries by label in total order) or no_genesis. A label 'a|b' means either entry of a duplicate pair (the one with the smaller signature is kept).",
		Rules:       "chorus",
		OrderLabel:  m.OrderLabel,
	}
	for _, n := range names {
		f.Actors = append(f.Actors, vecActor{Name: n, PrivateKeyHex: hex.EncodeToString(actors[n].key.D.FillBytes(make([]byte, 32))), PublicKey: actors[n].pub})
	}
	for _, s := range scenarios() {
		c, err := buildCase(s)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		f.Cases = append(f.Cases, c)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(f); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "membership.json"), buf.Bytes(), 0o644); err != nil {
		return err
	}
	return writeSnapshotVectors(dir)
}

func buildCase(s scenario) (vecCase, error) {
	b := &built{chat: chatID(s.name), raw: map[string][]byte{}}
	c := vecCase{Name: s.name, Description: s.desc, Expect: s.want.expect, ChatID: b.chat, Receiver: "alice", NowMs: nowMs}
	var entries [][]byte
	ids := map[string]string{} // label -> H (hex), recomputed independently of the package
	for _, e := range s.entries {
		for _, p := range e.parents {
			id, ok := ids[p]
			if strings.HasPrefix(p, "?") {
				d := sha256.Sum256([]byte(p)) // an event nobody has
				id, ok = hex.EncodeToString(d[:]), true
			}
			if !ok {
				return c, fmt.Errorf("parent %s of %s is not an earlier entry", p, e.label)
			}
			raw, _ := hex.DecodeString(id)
			e.e.Parents = append(e.e.Parents, m.EventID(raw))
		}
		signed, err := m.SignEvent(actors[e.author].key, b.chat, e.e)
		if err != nil {
			return c, err
		}
		raw := signed.Raw()
		if e.payload != nil {
			pl := e.payload(bytes.Clone(signed.Payload()))
			sig, err := crypto.Sign(crypto.Keccak256([]byte(b.chat), pl), actors[e.author].key)
			if err != nil {
				return c, err
			}
			raw = append(sig, pl...)
		}
		if e.mutate != nil {
			raw = e.mutate(raw)
		}
		b.raw[e.label] = raw
		h := orderKey(b.chat, raw, actors[e.author].pub)
		if e.mutate != nil || e.undecodable {
			h = "" // the recovered author differs: see the note
		}
		ids[e.label] = h
		entries = append(entries, raw)
		c.Entries = append(c.Entries, vecEntry{Label: e.label, Author: e.author, RawHex: hex.EncodeToString(raw), Note: e.note, H: h})
	}
	if s.want.reverse {
		slices.Reverse(entries)
		slices.Reverse(c.Entries)
	}
	for _, e := range c.Entries {
		b.wire = append(b.wire, e.Label)
	}
	msg, err := proto.Marshal(&pb.MembershipUpdateMessage{ChatId: b.chat, Events: entries})
	if err != nil {
		return c, err
	}
	c.MessageHex = hex.EncodeToString(msg)
	st, _, err := m.Update(nil, msg, actors["alice"].pub, time.UnixMilli(int64(nowMs)), m.ChorusRules())
	if s.want.expect != "success" {
		var re *m.RejectError
		if err == nil || !errors.As(err, &re) || string(re.Stage) != s.want.expect {
			return c, fmt.Errorf("want %s, got %v", s.want.expect, err)
		}
		return c, nil
	}
	if err != nil {
		return c, err
	}
	w := s.want
	if w.adjust != nil {
		w.adjust(b, &w)
	}
	members, admins := keys(w.members...), keys(w.admins...)
	applied, pending := append([]string(nil), w.applied...), w.pending
	if w.orderedByHash != nil {
		applied, pending, w.name, members, admins = w.orderedByHash(b)
		w.creator, w.color = "alice", "#fa6565"
		w.last = st.LastClock // equal clocks: whichever applied last
	}
	label := func(evs []m.Event) []string {
		var out []string
		for _, e := range evs {
			var ls []string
			for l, r := range b.raw {
				if bytes.Equal(r, e.Raw()) {
					ls = append(ls, l)
				}
			}
			out = append(out, strings.Join(ls, "|"))
		}
		return out
	}
	var heads []string
	for _, h := range st.Heads {
		for l, id := range ids {
			if id == h.String() {
				heads = append(heads, l)
			}
		}
	}
	got := vecState{Creator: st.Creator, Name: st.Name, Color: st.Color, Description: st.Description, ImageHex: hex.EncodeToString(st.Image),
		Members: st.Members.Strings(), Admins: st.Admins, LastClock: st.LastClock, Applied: label(st.Events), Pending: label(st.Pending),
		Overridden: label(st.Overridden), Heads: heads}
	// Heads are listed ascending by H (hand-written expectations: any order).
	wantHeads := slices.SortedFunc(slices.Values(w.heads), func(x, y string) int { return strings.Compare(ids[x], ids[y]) })
	exp := vecState{Creator: actors[w.creator].pub, Name: w.name, Color: w.color, Description: w.description, ImageHex: w.image,
		Members: members, Admins: admins, LastClock: w.last, Applied: applied, Pending: pending, Overridden: w.overridden, Heads: wantHeads}
	for i, l := range exp.Applied { // "a|b": the duplicate with the smaller signature is kept
		if x, y, ok := strings.Cut(l, "|"); ok {
			exp.Applied[i] = x
			if bytes.Compare(b.raw[y][:65], b.raw[x][:65]) < 0 {
				exp.Applied[i] = y
			}
		}
	}
	if err := sameState(exp, got); err != nil {
		return c, err
	}
	for _, l := range []*[]string{&got.Members, &got.Admins, &got.Applied, &got.Pending} {
		if *l == nil {
			*l = []string{}
		}
	}
	c.State = &got
	return c, nil
}

func sameState(want, got vecState) error {
	j := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	norm := func(s vecState) vecState {
		if s.Members == nil {
			s.Members = []string{}
		}
		if s.Admins == nil {
			s.Admins = []string{}
		}
		if s.Applied == nil {
			s.Applied = []string{}
		}
		if s.Pending == nil {
			s.Pending = []string{}
		}
		return s
	}
	w, g := norm(cloneState(want)), norm(cloneState(got))
	if j(w) != j(g) {
		return fmt.Errorf("hand-written expectation differs from the implementation:\nwant %s\n got %s", j(w), j(g))
	}
	return nil
}

func cloneState(s vecState) vecState {
	s.Applied = append([]string(nil), s.Applied...)
	s.Pending = append([]string(nil), s.Pending...)
	return s
}
